"""Training a linear-learner regressor: the Python API behind the container's ``train`` command.

``train(hyperparameters, channels, model_dir)`` validates the hyperparameters, fits the scaler on
the first rows of ``train``, trains ``num_models`` models in parallel for up to ``epochs`` passes
(early stopping on the best model), keeps the best (model, epoch) snapshot by validation loss (by
training loss without a ``validation`` channel), scores it on ``test``, and saves it with
``artifact.save`` in raw units. Every pass streams its channel; nothing is held per row.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from . import artifact
from .channels import ChannelSource
from .csv_blocks import Block, PassLayout, minibatches
from .errors import ClientError
from .hyperparameters import DEFAULTS_SHOWN, load_defaults, resolve
from .losses import Loss
from .memory_budget import check_training
from .model_grid import ModelSettings, model_grid
from .parallel_models import ParallelModels
from .passes import read_pass
from .scaler import Scaler, fit_scaler
from .training_log import TrainingLog, print_line

CHANNELS = ("train", "validation", "test")
DIVERGED_HINT = (
    "training diverged; lower learning_rate (or leave it to auto), or scale the features "
    "(normalize_data=true)"
)
"""How a diverged job's FailureReason ends. What the real container says when every model
diverges is not public: failing the job as a ClientError, and never selecting a diverged
model, is our choice."""
NOT_DISTRIBUTED = (
    "wait_for_all_workers will not sync workers since the kv store is not running distributed"
)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: objective per model, the early-stopping criterion, and the speed."""

    epoch: int
    train_loss: np.ndarray  # (n_models,), on the normalised label (as the real log)
    validation_loss: np.ndarray | None  # (n_models,), in label units
    criterion: float  # best over models: validation loss if any, else training loss
    improved: bool
    records_per_second: float


@dataclass(frozen=True)
class TrainingResult:
    """What ``train`` produced: the saved model, how it was selected, and the scores."""

    model: artifact.LinearModel
    model_path: Path
    selected_model: int
    selected_epoch: int
    settings: ModelSettings
    epochs_run: int
    stopped_early: bool
    scores: dict[str, dict[str, float]]  # channel -> {objective, "mse", "absolute_loss"}
    history: list[EpochRecord]
    train_rows: int
    feature_dim: int


@dataclass
class _Snapshot:
    value: float
    model: int
    epoch: int
    weights: np.ndarray
    bias: float
    validation_scores: dict[str, float] | None


def train(
    hyperparameters: Mapping[str, str],
    channels: Mapping[str, ChannelSource],
    model_dir: str | Path,
    log: Callable[[str], None] | TrainingLog = print_line,
    hyperparameters_path: str = "/opt/ml/input/config/hyperparameters.json",
) -> TrainingResult:
    """Train on ``channels`` ("train" required; "validation", "test" optional) into ``model_dir``.

    Raises ``ClientError`` for bad hyperparameters, channels or data (message in the real
    container's style). ``log`` receives every log line (or pass a ``TrainingLog``).
    """
    training_log = log if isinstance(log, TrainingLog) else TrainingLog(log)
    # One BLAS thread: the products are small (batch x d x n_models) and the CSV reader thread
    # uses the other core; two BLAS threads spin against the reader and run several times slower.
    # Overflow in a diverging model is detected and handled (``_leader``), not warned about.
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        training = _Training(
            dict(hyperparameters), dict(channels), training_log, hyperparameters_path
        )
        return training.run(Path(model_dir))


class _Training:
    def __init__(self, hyperparameters, channels, log: TrainingLog, hyperparameters_path: str):
        self.log = log
        self.started = time.time()
        log.info(f"Reading default configuration from {DEFAULTS_SHOWN}: {load_defaults()}")
        log.info(
            f"Merging with provided configuration from {hyperparameters_path}: {hyperparameters}"
        )
        self.config, final = resolve(hyperparameters)
        self.final_configuration = final
        log.info(f"Final configuration: {final}")
        self.channels = _check_channels(channels)
        self.loss = Loss(
            self.config.loss,
            self.config.huber_delta,
            self.config.quantile,
            self.config.loss_insensitivity,
        )
        self.records_seen = 0
        self.batches_seen = 0

    def run(self, model_dir: Path) -> TrainingResult:
        log, config = self.log, self.config
        log.warning("Loggers have already been setup.")
        log.info("Using default worker.")
        log.info("Checkpoint loading and saving are disabled.")
        for name, channel in self.channels.items():
            if channel.mode == "Pipe":
                log.info(f"The channel '{name}' is in pipe input mode under {channel.location}.")
        log.info("Create Store: local")
        self.scaler = self._fit_scaler()
        self.feature_dim = self.scaler.feature_mean.shape[0]
        self.settings = model_grid(config)
        models = ParallelModels(
            self.settings,
            config,
            self.feature_dim,
            self.loss.in_scaled_units(self.scaler.label_scale),
        )
        history, best, stopped_early = self._epochs(models)
        for _ in range(2):
            log.warning(NOT_DISTRIBUTED)
        scores = self._final_scores(history, best)
        settings = self.settings[best.model]
        log.info(f"Best model found for hyperparameters: {json.dumps(settings.as_dict())}")
        weights, bias = best.weights[:, None], np.float32(best.bias)
        if "test" in self.channels:
            scores["test"] = self._test_scores(weights, bias)
        else:
            log.info("Test data is not provided.")
        model = self._save(model_dir, best, scores, len(history))
        self.log.metrics(
            {"totaltime": (time.time() - self.started) * 1000.0, "epochs": config.epochs},
            {"Host": self.log.host, "Operation": "training", "Algorithm": "Linear Learner"},
            self.started,
            time.time(),
        )
        return TrainingResult(
            model=model,
            model_path=Path(model_dir) / artifact.MODEL_FILE,
            selected_model=best.model,
            selected_epoch=best.epoch,
            settings=settings,
            epochs_run=len(history),
            stopped_early=stopped_early,
            scores=scores,
            history=history,
            train_rows=self.train_rows,
            feature_dim=self.feature_dim,
        )

    # -- scaler -----------------------------------------------------------------------------

    def _fit_scaler(self) -> Scaler:
        config = self.config
        n_columns = None if config.feature_dim is None else config.feature_dim + 1
        layout = PassLayout("train", config.mini_batch_size, n_columns)
        started = time.time()
        blocks = read_pass(self.channels["train"], layout)
        try:  # the scaler needs only the first rows: the pass is closed early
            first = next(blocks)
            self._check_memory(first.values.shape[0] - 1)
            batches = minibatches(itertools.chain([first], blocks), config.mini_batch_size)
            scaler, rows = fit_scaler(batches, config)
        finally:
            blocks.close()
        if rows < config.mini_batch_size:
            raise ClientError(
                f"Channel 'train' has {rows} rows, fewer than mini_batch_size="
                f"{config.mini_batch_size}: mini_batch_size must not exceed the number of rows"
            )
        self.log.info("Scaling model computed with parameters:\n" + scaler.log_text())
        self.log.info("Number of GPUs being used: 0")
        batches_used = -(-rows // config.mini_batch_size)
        self._count(rows, batches_used)
        self.log.iterator_metrics(self._counters(0, 0, 1), "init_train_data_iter", started)
        return scaler

    def _check_memory(self, data_features: int) -> None:
        """ClientError before training if the data's width makes the run too large."""
        config = self.config
        shown = f"feature_dim='{config.feature_dim}'"
        if config.feature_dim is None:
            shown = f"feature_dim='auto' ({data_features} in the data)"
        check_training(data_features, config.num_models, config.mini_batch_size, shown)

    # -- epochs -----------------------------------------------------------------------------

    def _epochs(self, models: ParallelModels) -> tuple[list[EpochRecord], _Snapshot, bool]:
        config, log = self.config, self.log
        history: list[EpochRecord] = []
        best: _Snapshot | None = None
        criterion_best = None
        without_improvement = 0
        objective = self.loss.objective_name
        for epoch in range(config.epochs):
            started = time.time()
            train_loss, rows, batches = self._train_pass(models)
            seconds = max(time.time() - started, 1e-9)
            self.train_rows = rows
            for model, value in enumerate(train_loss):
                log.model_metric(f"train_{objective}", float(value), model, epoch)
            log.quality("train", objective, float(train_loss[0]), epoch)
            validation = None
            if "validation" in self.channels:
                validation = self._scores_per_model("validation", models.weights, models.bias)
                for model, value in enumerate(validation[objective]):
                    log.model_metric(f"validation_{objective}", float(value), model, epoch)
                log.quality("validation", objective, float(validation[objective][0]), epoch)
            losses = train_loss if validation is None else validation[objective]
            leader = _leader(losses, models, epoch, objective)
            value = float(losses[leader])
            log.criterion(epoch, objective, value)
            gain = None if criterion_best is None else criterion_best - value
            improved = gain is None or (
                gain > 0 and gain >= config.early_stopping_tolerance * abs(criterion_best)
            )
            if improved:
                criterion_best = value
                without_improvement = 0
                log.info(f"Epoch {epoch}: Loss improved. Updating best model")
            else:
                without_improvement += 1
            if best is None or value < best.value:
                best = _snapshot(models, leader, epoch, value, validation)
            stop = without_improvement > config.early_stopping_patience
            if stop:
                log.info("Early stop condition met. Stopping training.")
                log.progress(100, stopped_early=True)
            else:
                log.progress(100 * (epoch + 1) // config.epochs)
            self._count(rows, batches)
            log.iterator_metrics(
                self._counters(batches, rows, epoch + 3), "training_data_iter", started, epoch
            )
            log.throughput(rows / seconds)
            history.append(
                EpochRecord(
                    epoch,
                    train_loss,
                    None if validation is None else validation[objective],
                    value,
                    improved,
                    rows / seconds,
                )
            )
            if stop:
                return history, best, True
        return history, best, False

    def _train_pass(self, models: ParallelModels) -> tuple[np.ndarray, int, int]:
        """One pass over ``train``: (mean objective per model, rows, mini-batches)."""
        totals = np.zeros(len(self.settings))
        rows = batches = 0
        for batch in minibatches(self._scaled_pass("train"), self.config.mini_batch_size):
            totals += models.step(batch[1:].T, batch[0])
            rows += batch.shape[1]
            batches += 1
        return totals / rows, rows, batches

    def _scaled_pass(self, channel: str) -> Iterator[Block]:
        layout = PassLayout(channel, self.config.mini_batch_size, self.feature_dim + 1)
        for block in read_pass(self.channels[channel], layout):
            self.scaler.apply(block.values)
            yield block

    def _scores_per_model(self, channel: str, weights, bias) -> dict[str, np.ndarray]:
        """Objective, mse and absolute loss in label units, per model, over a full pass."""
        objective = self.loss.objective_name
        totals = {objective: 0.0, "mse": 0.0, "absolute_loss": 0.0}
        rows = 0
        label_scale = np.float32(self.scaler.label_scale)
        for block in self._scaled_pass(channel):
            errors = block.values[1:].T @ weights + bias
            errors -= block.values[0][:, None]
            errors *= label_scale
            totals[objective] += self.loss.value(errors).sum(axis=0, dtype=np.float64)
            totals["mse"] += (errors * errors).sum(axis=0, dtype=np.float64)
            totals["absolute_loss"] += np.abs(errors).sum(axis=0, dtype=np.float64)
            rows += block.n_rows
        return {name: total / rows for name, total in totals.items()}

    # -- end of training --------------------------------------------------------------------

    def _final_scores(self, history: list[EpochRecord], best: _Snapshot) -> dict:
        last = history[-1]
        objective = self.loss.objective_name
        if best.validation_scores is not None:
            self.log.criterion(last.epoch, objective, last.criterion)
            if last.improved:
                self.log.info(f"Epoch {last.epoch}: Loss improved. Updating best model")
            scores = best.validation_scores
            self.log.scores("validation", scores)
            return {"validation": scores}
        scores = self._single_model_scores("train", best.weights[:, None], np.float32(best.bias))
        self.log.scores("train", scores)
        return {"train": scores}

    def _test_scores(self, weights, bias) -> dict[str, float]:
        started = time.time()
        scores = self._single_model_scores("test", weights, bias)
        self.log.iterator_metrics({"Reset Count": 1}, "test_data_iter", started)
        self.log.scores("test", scores)
        return scores

    def _single_model_scores(self, channel: str, weights, bias) -> dict[str, float]:
        return {k: float(v[0]) for k, v in self._scores_per_model(channel, weights, bias).items()}

    def _save(self, model_dir: Path, best: _Snapshot, scores, epochs_run) -> artifact.LinearModel:
        weights, bias = self.scaler.fold(best.weights, best.bias)
        values = [*weights, bias, *(v for channel in scores.values() for v in channel.values())]
        if not np.isfinite(values).all():
            raise ClientError(
                "The selected model has non-finite weights or scores (its raw-unit weights "
                f"overflow): {DIVERGED_HINT}"
            )
        selected = {"model": best.model, "epoch": best.epoch, **self.settings[best.model].as_dict()}
        metadata = {
            "algorithm": "linear-learner",
            "loss": self.config.loss,
            "objective": self.loss.objective_name,
            "selected_model": selected,
            "epochs_run": epochs_run,
            "training_rows": self.train_rows,
            "scores": scores,
            "scaler": self.scaler.as_dict(),
            "hyperparameters": self.final_configuration,
        }
        model = artifact.LinearModel(weights, bias, self.config.predictor_type, metadata)
        artifact.save(model, model_dir)
        return model

    # -- data-iterator counters (the real log's #metrics blocks) -------------------------------

    def _count(self, rows: int, batches: int) -> None:
        self.records_seen += rows
        self.batches_seen += batches

    def _counters(self, batches: int, rows: int, resets: int) -> dict:
        return {
            "Number of Batches Since Last Reset": batches,
            "Number of Records Since Last Reset": rows,
            "Total Batches Seen": self.batches_seen,
            "Total Records Seen": self.records_seen,
            "Reset Count": resets,
        }


def _leader(losses: np.ndarray, models: ParallelModels, epoch: int, objective: str) -> int:
    """The model with the lowest finite loss whose weights are finite; diverged models (NaN or
    infinite loss or weights) are never selected. ClientError if every model diverged."""
    usable = np.isfinite(losses) & models.finite_models()
    if not usable.any():
        raise ClientError(
            f"All {len(losses)} models diverged in epoch {epoch} (their {objective} or weights "
            f"are NaN or infinite): {DIVERGED_HINT}"
        )
    return int(np.argmin(np.where(usable, losses, np.inf)))


def _snapshot(models: ParallelModels, model: int, epoch: int, value: float, validation):
    scores = None
    if validation is not None:
        scores = {name: float(values[model]) for name, values in validation.items()}
    return _Snapshot(
        value, model, epoch, models.weights[:, model].copy(), float(models.bias[model]), scores
    )


def _check_channels(channels: dict[str, ChannelSource]) -> dict[str, ChannelSource]:
    if "train" not in channels:
        raise ClientError("Missing required channel 'train': linear-learner needs training data")
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown:
        raise ClientError(
            f"Unknown channel(s) {', '.join(map(repr, unknown))}: linear-learner accepts "
            f"{', '.join(map(repr, CHANNELS))}"
        )
    return {name: channels[name] for name in CHANNELS if name in channels}
