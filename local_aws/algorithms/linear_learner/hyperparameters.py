"""Linear-learner hyperparameters: defaults, validation and ``auto`` resolution.

Values arrive as strings (``hyperparameters.json`` is a dict of strings). ``resolve`` merges them
over ``resources/default-input.json``, checks every value against its rule, and returns a
``Config`` with typed values. Values that vary across the parallel models (learning rate,
regularisation, scheduler) stay ``None`` when ``auto``; ``model_grid`` fills them in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from . import memory_budget
from .errors import ClientError

DEFAULTS_PATH = Path(__file__).with_name("resources") / "default-input.json"
# How the log names it: from the project root, never a machine's absolute path.
DEFAULTS_SHOWN = DEFAULTS_PATH.relative_to(Path(__file__).parents[3]).as_posix()
PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
REGRESSION_LOSSES = (
    "squared_loss",
    "absolute_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
)
CLASSIFIER_LOSSES = ("logistic", "hinge_loss", "softmax_loss")
LOSSES_BY_PREDICTOR_TYPE = {
    "regressor": REGRESSION_LOSSES,
    "binary_classifier": ("logistic", "hinge_loss"),
    "multiclass_classifier": ("softmax_loss",),
}
"""The losses each predictor type trains with; the first one is what ``loss=auto`` means
(linear-learner-spec.md §1.2; docs "Linear learner hyperparameters": auto is logistic for
binary classifiers and softmax_loss for multiclass ones)."""
SELECTION_CRITERIA = (
    "accuracy",
    "f_beta",
    "f1",
    "precision_at_target_recall",
    "recall_at_target_precision",
    "loss_function",
    "cross_entropy_loss",
)
"""binary_classifier_model_selection_criteria values: the documented five, plus the SDK's
``f1`` and ``cross_entropy_loss`` (sagemaker-python-sdk ``amazon/linear_learner.py``)."""
AUTO_LEARNING_RATE = {"adam": 0.1, "rmsprop": 0.01, "sgd": 0.01}
INT_LIMIT = 2**31 - 1
"""The largest integer hyperparameter (our choice: a signed 32-bit integer; AWS documents
no upper bound except num_classes')."""


@dataclass(frozen=True)
class Rule:
    """What one hyperparameter accepts: a kind, an optional range, optional ``auto``."""

    kind: str  # "int", "float", "bool", "choice" or "text"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    auto: bool = False
    choices: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # other accepted words, returned as given (e.g. 'balanced')

    def describe(self) -> str:
        """The rule in words, for error messages."""
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "bool":
            text = "'true' or 'false'"
        elif self.kind == "text":
            text = "a string"
        else:
            text = "an integer" if self.kind == "int" else "a number"
            bounds = []
            if self.low is not None:
                bounds.append(f"{'>' if self.low_open else '>='} {self._shown(self.low)}")
            if self.high is not None:
                bounds.append(f"{'<' if self.high_open else '<='} {self._shown(self.high)}")
            if bounds:
                text += " " + " and ".join(bounds)
        return text + "".join(f" or {word!r}" for word in ("auto",) * self.auto + self.words)

    def _shown(self, bound: float) -> str:
        return str(int(bound)) if self.kind == "int" else f"{bound:g}"

    def parse(self, name: str, text: str):
        """The typed value of ``text`` (None for ``auto``); ClientError naming ``name``."""
        value = str(text).strip()
        if self.auto and value.lower() == "auto":
            return None
        if value in self.words:
            return value
        parsed = self._parse_kind(value)
        if parsed is None or not self._in_range(parsed):
            raise ClientError(
                f"Invalid hyperparameter {name}={text!r}: {name} must be {self.describe()}"
            )
        return parsed

    def _parse_kind(self, value: str):
        if self.kind == "text":
            return value
        if self.kind == "choice":
            return value if value in self.choices else None
        if self.kind == "bool":
            return {"true": True, "false": False}.get(value.lower())
        try:
            number = int(value) if self.kind == "int" else float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None

    def _in_range(self, number) -> bool:
        if self.kind not in ("int", "float"):
            return True
        if self.low is not None and (number <= self.low if self.low_open else number < self.low):
            return False
        return self.high is None or (number < self.high if self.high_open else number <= self.high)


def _int(low: float = 1, auto: bool = False, high: float = INT_LIMIT) -> Rule:
    return Rule("int", low=low, high=high, auto=auto)


def _float(low=None, high=None, low_open=False, high_open=False, auto=False) -> Rule:
    return Rule("float", low, high, low_open, high_open, auto)


def _choice(*choices: str) -> Rule:
    return Rule("choice", choices=choices)


_AUTO_BOOL = Rule("bool", auto=True)

RULES: dict[str, Rule] = {
    "predictor_type": _choice(*PREDICTOR_TYPES),
    "feature_dim": _int(auto=True),
    "mini_batch_size": _int(),
    "epochs": _int(),
    "loss": _choice("auto", *REGRESSION_LOSSES, *CLASSIFIER_LOSSES),
    "optimizer": _choice("auto", "sgd", "adam", "rmsprop"),
    "learning_rate": _float(0, low_open=True, auto=True),
    "wd": _float(0, auto=True),
    "l1": _float(0, auto=True),
    "momentum": _float(0, 1, high_open=True, auto=True),
    "beta_1": _float(0, 1, high_open=True, auto=True),
    "beta_2": _float(0, 1, high_open=True, auto=True),
    "bias_lr_mult": _float(0, low_open=True, auto=True),
    "bias_wd_mult": _float(0, auto=True),
    "use_lr_scheduler": Rule("bool"),
    "lr_scheduler_step": _int(auto=True),
    "lr_scheduler_factor": _float(0, 1, low_open=True, high_open=True, auto=True),
    "lr_scheduler_minimum_lr": _float(0, low_open=True, auto=True),
    "normalize_data": _AUTO_BOOL,
    "normalize_label": _AUTO_BOOL,
    "unbias_data": _AUTO_BOOL,
    "unbias_label": _AUTO_BOOL,
    "num_point_for_scaler": _int(),
    "use_bias": Rule("bool"),
    "init_method": _choice("uniform", "normal"),
    "init_scale": _float(0, low_open=True),
    "init_sigma": _float(0, low_open=True),
    "init_bias": _float(),
    "num_models": _int(auto=True),
    "early_stopping_patience": _int(),
    "early_stopping_tolerance": _float(0, low_open=True),
    "huber_delta": _float(0, low_open=True),
    "quantile": _float(0, 1, low_open=True, high_open=True),
    "loss_insensitivity": _float(0, low_open=True),
    # Classifier-only: checked, then ignored by the regressor.
    "margin": _float(0),
    "num_calibration_samples": _int(auto=True),
    "binary_classifier_model_selection_criteria": _choice(*SELECTION_CRITERIA),
    "target_recall": _float(0, 1, low_open=True),
    "target_precision": _float(0, 1, low_open=True),
    "positive_example_weight_mult": Rule("float", 0, low_open=True, words=("auto", "balanced")),
    "f_beta": _float(0, low_open=True),
    "accuracy_top_k": _int(),
    "balance_multiclass_weights": Rule("bool"),
    # Documented "Integers from 3 to 1,000,000"; the container's default is 1.
    "num_classes": _int(high=1_000_000),
    # Hidden keys of the real default-input.json.
    "_kvstore": Rule("text"),
    "_num_gpus": Rule("text"),
    "_num_kv_servers": Rule("text"),
    "_log_level": Rule("text"),
    "_tuning_objective_metric": Rule("text"),
    "_enable_profiler": Rule("text"),
}

GRID_PARAMETERS = (
    "learning_rate",
    "wd",
    "l1",
    "lr_scheduler_step",
    "lr_scheduler_factor",
    "lr_scheduler_minimum_lr",
)


@dataclass(frozen=True)
class Config:
    """Resolved hyperparameters of a regressor run (``None`` = varied by the model grid)."""

    feature_dim: int | None
    mini_batch_size: int
    epochs: int
    loss: str
    optimizer: str
    learning_rate: float | None
    wd: float | None
    l1: float | None
    momentum: float
    beta_1: float
    beta_2: float
    bias_lr_mult: float
    bias_wd_mult: float
    use_lr_scheduler: bool
    lr_scheduler_step: int | None
    lr_scheduler_factor: float | None
    lr_scheduler_minimum_lr: float | None
    normalize_data: bool
    normalize_label: bool
    unbias_data: bool
    unbias_label: bool
    num_point_for_scaler: int
    use_bias: bool
    init_method: str
    init_scale: float
    init_sigma: float
    init_bias: float
    num_models: int
    early_stopping_patience: int
    early_stopping_tolerance: float
    huber_delta: float
    quantile: float
    loss_insensitivity: float
    predictor_type: str = "regressor"
    num_classes: int = 1  # score columns per model: num_classes for multiclass, else 1
    selection_criteria: str = "accuracy"
    target_recall: float = 0.8
    target_precision: float = 0.8
    positive_example_weight_mult: float | str = 1.0  # a number, 'auto' or 'balanced'
    f_beta: float = 1.0
    accuracy_top_k: int = 3
    balance_multiclass_weights: bool = False
    margin: float = 1.0
    num_calibration_samples: int = 10_000_000

    @property
    def outputs(self) -> int:
        """Score columns per model: ``num_classes`` for a multiclass classifier, else 1."""
        return self.num_classes if self.predictor_type == "multiclass_classifier" else 1

    @property
    def is_classifier(self) -> bool:
        return self.predictor_type != "regressor"


def load_defaults() -> dict[str, str]:
    """The defaults, as strings, in the order of ``resources/default-input.json``."""
    return json.loads(DEFAULTS_PATH.read_text())


def merge(provided: dict[str, str]) -> dict[str, str]:
    """Defaults overlaid by ``provided``; unknown names fail with ClientError."""
    defaults = load_defaults()
    for name in provided:
        if name not in RULES:
            raise ClientError(
                f"Additional properties are not allowed ({name!r} was unexpected): "
                f"{name!r} is not a linear-learner hyperparameter"
            )
    if "predictor_type" not in provided:
        raise ClientError(
            "Missing required hyperparameter predictor_type: predictor_type must be "
            + RULES["predictor_type"].describe()
        )
    merged = {name: provided.get(name, value) for name, value in defaults.items()}
    merged.update({name: value for name, value in provided.items() if name not in merged})
    return {name: str(value) for name, value in merged.items()}


def resolve(provided: dict[str, str]) -> tuple[Config, dict[str, str]]:
    """Validate ``provided`` and resolve every ``auto``; returns (config, final string dict)."""
    final = merge(provided)
    values = {name: RULES[name].parse(name, text) for name, text in final.items()}
    predictor_type = values["predictor_type"]
    allowed_losses = LOSSES_BY_PREDICTOR_TYPE[predictor_type]
    loss = allowed_losses[0] if values["loss"] == "auto" else values["loss"]
    if loss not in allowed_losses:
        raise ClientError(
            f"Invalid hyperparameter loss={loss!r}: for predictor_type {predictor_type!r} loss "
            f"must be 'auto' or one of {', '.join(map(repr, allowed_losses))}"
        )
    num_classes = _num_classes(predictor_type, provided, values["num_classes"])
    classifier = predictor_type != "regressor"
    optimizer = "adam" if values["optimizer"] == "auto" else values["optimizer"]
    use_bias = values["use_bias"]
    num_models = values["num_models"] or 32
    if values["_tuning_objective_metric"]:
        num_models = 1  # automatic model tuning trains one model per job
    config = Config(
        feature_dim=values["feature_dim"],
        mini_batch_size=values["mini_batch_size"],
        epochs=values["epochs"],
        loss=loss,
        optimizer=optimizer,
        learning_rate=values["learning_rate"],
        wd=values["wd"],
        l1=values["l1"],
        momentum=_or(values["momentum"], 0.0),
        beta_1=_or(values["beta_1"], 0.9),
        beta_2=_or(values["beta_2"], 0.999),
        bias_lr_mult=_or(values["bias_lr_mult"], 10.0),
        bias_wd_mult=_or(values["bias_wd_mult"], 0.0),
        use_lr_scheduler=values["use_lr_scheduler"],
        lr_scheduler_step=values["lr_scheduler_step"],
        lr_scheduler_factor=values["lr_scheduler_factor"],
        lr_scheduler_minimum_lr=values["lr_scheduler_minimum_lr"],
        normalize_data=_flag(values["normalize_data"], True),
        # A classifier's label is a class: never shifted or scaled (docs: normalize_label and
        # unbias_label apply to regression).
        normalize_label=not classifier and _flag(values["normalize_label"], True),
        unbias_data=_flag(values["unbias_data"], use_bias),
        unbias_label=not classifier and _flag(values["unbias_label"], use_bias),
        num_point_for_scaler=values["num_point_for_scaler"],
        use_bias=use_bias,
        init_method=values["init_method"],
        init_scale=values["init_scale"],
        init_sigma=values["init_sigma"],
        init_bias=values["init_bias"],
        num_models=num_models,
        early_stopping_patience=values["early_stopping_patience"],
        early_stopping_tolerance=values["early_stopping_tolerance"],
        huber_delta=values["huber_delta"],
        quantile=values["quantile"],
        loss_insensitivity=values["loss_insensitivity"],
        predictor_type=predictor_type,
        num_classes=num_classes,
        selection_criteria=values["binary_classifier_model_selection_criteria"],
        target_recall=values["target_recall"],
        target_precision=values["target_precision"],
        positive_example_weight_mult=values["positive_example_weight_mult"],
        f_beta=values["f_beta"],
        accuracy_top_k=values["accuracy_top_k"],
        balance_multiclass_weights=values["balance_multiclass_weights"],
        margin=values["margin"],
        num_calibration_samples=values["num_calibration_samples"] or 10_000_000,
    )
    memory_budget.check_training(
        config.feature_dim or 1,
        num_models * config.outputs,
        config.mini_batch_size,
        f"feature_dim={final['feature_dim']!r}",
    )
    return config, final


def _num_classes(predictor_type: str, provided: dict[str, str], value: int) -> int:
    """num_classes: required, 3 to 1,000,000, for a multiclass classifier (docs "Linear
    learner hyperparameters"); ignored (1) otherwise."""
    if predictor_type != "multiclass_classifier":
        return 1
    if "num_classes" not in provided or value < 3:
        shown = repr(provided["num_classes"]) if "num_classes" in provided else "(not set)"
        raise ClientError(
            f"Invalid hyperparameter num_classes={shown}: predictor_type 'multiclass_classifier' "
            "requires num_classes, an integer >= 3 and <= 1000000 (the classes are labelled "
            "0 ... num_classes - 1)"
        )
    return value


def _or(value, default):
    return default if value is None else value


def _flag(value: bool | None, auto_value: bool) -> bool:
    return auto_value if value is None else value
