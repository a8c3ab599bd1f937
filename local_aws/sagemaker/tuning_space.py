"""A tuning job's search space and strategy: its ParameterRanges, checked, and optuna's sampler.

Ranges follow SageMaker's API reference (``IntegerParameterRange``, ``ContinuousParameterRange``,
``CategoricalParameterRange`` in botocore's service model):

- ``Logarithmic`` "works only for ranges that have only values greater than 0";
  ``ReverseLogarithmic`` "works only for ranges that are entirely within the range
  0 <= x < 1.0" and is not supported for integer ranges. ``Auto`` lets SageMaker choose; here
  it is searched linearly (our choice).
- Strategies: ``Random`` is optuna's RandomSampler; ``Bayesian`` is optuna's TPESampler, our
  stand-in for SageMaker's Gaussian-process Bayesian optimisation (both model the objective
  from the finished jobs to choose the next values; TPE samples at random for its first 10
  trials, optuna's default); ``Grid`` is optuna's GridSampler over every combination of the
  categorical values. As SageMaker's Developer Guide ("How Hyperparameter Tuning Works")
  describes Grid, it takes categorical ranges only and runs every combination once:
  MaxNumberOfTrainingJobs may be left out (it is then the number of combinations) and, if
  given, must equal it. ``Hyperband`` is refused (not served here).
- ``RandomSeed`` seeds the sampler, so the same request proposes the same values again
  (with MaxParallelTrainingJobs 1; with more, which job finishes first may change what a
  Bayesian search proposes next).

The wording of the errors is ours: SageMaker's for these cases is not public.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import optuna

from .exceptions import ValidationException

optuna.logging.set_verbosity(optuna.logging.WARNING)

STRATEGIES = ("Random", "Bayesian", "Grid")


@dataclass(frozen=True)
class Range:
    """One tuned hyperparameter: its name, kind (Integer, Continuous, Categorical), the
    optuna distribution it is sampled from, and whether the sample is ``1 - x`` (reverse
    logarithmic scaling)."""

    name: str
    kind: str
    distribution: optuna.distributions.BaseDistribution
    reverse: bool = False

    def value_text(self, sampled) -> str:
        """The hyperparameter's value as the training job gets it (a string)."""
        if self.kind == "Categorical":
            return str(sampled)
        if self.kind == "Integer":
            return str(int(sampled))
        return repr(float(1.0 - sampled if self.reverse else sampled))


class SearchSpace:
    """The tuned hyperparameters of a tuning job and the optuna study that proposes values.

    ``ask()`` gives ``(trial, {name: value text})``; ``tell(trial, value)`` reports the
    trial's objective (None for a job without one). Not thread-safe: one caller at a time.
    """

    def __init__(self, config: dict, ranges: list[Range]):
        self.ranges = ranges
        self.strategy = config["Strategy"]
        objective = config.get("HyperParameterTuningJobObjective") or {}
        direction = "maximize" if objective.get("Type") == "Maximize" else "minimize"
        self.study = optuna.create_study(
            direction=direction, sampler=_sampler(self.strategy, ranges, config.get("RandomSeed"))
        )

    def ask(self) -> tuple[optuna.trial.Trial, dict[str, str]]:
        trial = self.study.ask({item.name: item.distribution for item in self.ranges})
        return trial, {item.name: item.value_text(trial.params[item.name]) for item in self.ranges}

    def tell(self, trial: optuna.trial.Trial, value: float | None) -> None:
        if value is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, value)


def parse(config: dict) -> tuple[list[Range], int]:
    """The ranges of a HyperParameterTuningJobConfig and how many training jobs it runs;
    ValidationException naming the first range or limit that breaks a rule."""
    strategy = config["Strategy"]
    if strategy not in STRATEGIES:
        raise ValidationException(
            f"Strategy '{strategy}' is not served by this local emulator; use one of "
            f"{', '.join(STRATEGIES)}."
        )
    given = config.get("ParameterRanges") or {}
    if given.get("AutoParameters"):
        raise ValidationException(
            "ParameterRanges.AutoParameters (Autotune) is not served by this local emulator; "
            "give Integer, Continuous or Categorical parameter ranges."
        )
    ranges = (
        [_integer(item) for item in given.get("IntegerParameterRanges", [])]
        + [_continuous(item) for item in given.get("ContinuousParameterRanges", [])]
        + [_categorical(item) for item in given.get("CategoricalParameterRanges", [])]
    )
    if not ranges:
        raise ValidationException(
            "HyperParameterTuningJobConfig.ParameterRanges must name at least one "
            "hyperparameter range to tune."
        )
    names = [item.name for item in ranges]
    for name in names:
        if names.count(name) > 1:
            raise ValidationException(f"Hyperparameter '{name}' is given more than one range.")
    return ranges, _job_count(strategy, config["ResourceLimits"], ranges)


def _job_count(strategy: str, limits: dict, ranges: list[Range]) -> int:
    """MaxNumberOfTrainingJobs, or for Grid the number of combinations."""
    given = limits.get("MaxNumberOfTrainingJobs")
    if strategy != "Grid":
        if given is None:
            raise ValidationException(
                f"ResourceLimits.MaxNumberOfTrainingJobs is required for the {strategy} strategy."
            )
        return given
    numeric = [item.name for item in ranges if item.kind != "Categorical"]
    if numeric:
        raise ValidationException(
            f"The Grid strategy takes categorical parameter ranges only; "
            f"{', '.join(numeric)} {'is' if len(numeric) == 1 else 'are'} not categorical."
        )
    combinations = math.prod(len(item.distribution.choices) for item in ranges)
    if given is not None and given != combinations:
        raise ValidationException(
            f"ResourceLimits.MaxNumberOfTrainingJobs is {given}, but the Grid strategy runs "
            f"every one of the {combinations} combinations of the categorical values: leave "
            f"it out or set it to {combinations}."
        )
    return combinations


def _bounds(item: dict, kind: str, parse_number) -> tuple:
    where = f"{kind}ParameterRange '{item['Name']}'"
    try:
        low, high = parse_number(item["MinValue"]), parse_number(item["MaxValue"])
    except ValueError:
        raise ValidationException(
            f"{where}: MinValue '{item['MinValue']}' and MaxValue '{item['MaxValue']}' must be "
            f"{'whole numbers' if kind == 'Integer' else 'numbers'}."
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValidationException(f"{where}: MinValue and MaxValue must be finite.")
    if low > high:
        raise ValidationException(
            f"{where}: MinValue {item['MinValue']} is greater than MaxValue {item['MaxValue']}."
        )
    scaling = item.get("ScalingType", "Auto")
    if scaling == "Logarithmic" and low <= 0:
        raise ValidationException(
            f"{where}: Logarithmic scaling works only for ranges that have only values greater "
            f"than 0; MinValue is {item['MinValue']}."
        )
    if scaling == "ReverseLogarithmic" and not (0 <= low and high < 1):
        raise ValidationException(
            f"{where}: ReverseLogarithmic scaling works only for ranges that are entirely "
            f"within the range 0 <= x < 1.0."
        )
    return low, high, scaling


def _integer(item: dict) -> Range:
    if item.get("ScalingType") == "ReverseLogarithmic":
        raise ValidationException(
            f"IntegerParameterRange '{item['Name']}': ReverseLogarithmic scaling is not "
            "supported for integer ranges."
        )
    low, high, scaling = _bounds(item, "Integer", int)
    distribution = optuna.distributions.IntDistribution(low, high, log=scaling == "Logarithmic")
    return Range(item["Name"], "Integer", distribution)


def _continuous(item: dict) -> Range:
    low, high, scaling = _bounds(item, "Continuous", float)
    if scaling == "ReverseLogarithmic":  # sample 1 - x on a log scale: dense near 1
        distribution = optuna.distributions.FloatDistribution(1.0 - high, 1.0 - low, log=True)
        return Range(item["Name"], "Continuous", distribution, reverse=True)
    distribution = optuna.distributions.FloatDistribution(low, high, log=scaling == "Logarithmic")
    return Range(item["Name"], "Continuous", distribution)


def _categorical(item: dict) -> Range:
    values = item["Values"]
    if len(set(values)) != len(values):
        raise ValidationException(
            f"CategoricalParameterRange '{item['Name']}': its Values repeat a value."
        )
    return Range(item["Name"], "Categorical", optuna.distributions.CategoricalDistribution(values))


def _sampler(strategy: str, ranges: list[Range], seed: int | None):
    if strategy == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "Bayesian":
        return optuna.samplers.TPESampler(seed=seed)
    grid = {item.name: list(item.distribution.choices) for item in ranges}
    return _AskTellGridSampler(grid, seed=seed)


class _AskTellGridSampler(optuna.samplers.GridSampler):
    """optuna's GridSampler for ask/tell use: its ``after_trial`` stops an ``optimize()`` loop
    once the grid is covered, which raises outside one; a tuning job stops by itself after
    ``max_jobs`` trials, the grid's size."""

    def after_trial(self, study, trial, state, values) -> None:
        return None
