"""Training linear-learner (regressor, binary or multiclass classifier): the Python API behind
the container's ``train`` command.

``train(hyperparameters, channels, model_dir)`` validates the hyperparameters, fits the scaler on
the first rows of ``train``, trains ``num_models`` models in parallel for up to ``epochs`` passes
(early stopping on the best model's objective), keeps the best (model, epoch) snapshot, scores it
on ``test``, and saves it with ``artifact.save`` in raw units. The snapshot is the lowest
validation objective (training objective without a ``validation`` channel); a binary classifier
with a validation channel and a threshold criterion (``accuracy``, ``f_beta``, ...) is selected
by that criterion on validation instead, at each model's best threshold (``thresholds``).
Classifiers then set their threshold and metrics on one more pass of the selected model over
validation (train without it). Every pass streams its channel; a binary classifier's scoring
passes hold one float per row (the calibration sample and the ROC curve need them).
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

from . import artifact, thresholds
from .channels import ChannelSource
from .classification_metrics import MulticlassTally, binary_metrics
from .csv_blocks import Block, PassLayout, minibatches
from .errors import ClientError
from .hyperparameters import DEFAULTS_SHOWN, load_defaults, resolve
from .labels import check_labels, class_counts, class_weights
from .losses import ClassifierLoss, Loss
from .memory_budget import check_calibration_sample, check_training
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
    scores: dict[str, dict[str, float]]  # channel -> {metric name as logged: value}
    history: list[EpochRecord]
    train_rows: int
    feature_dim: int
    threshold: float | None = None  # a binary classifier's decision threshold


@dataclass
class _Snapshot:
    value: float  # the selection value (lower is better)
    model: int
    epoch: int
    weights: np.ndarray  # (d, outputs), scaled space
    bias: np.ndarray  # (outputs,)
    validation_scores: dict[str, float] | None  # a regressor's, with a validation channel


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
        self.threshold = None
        self.class_counts = np.zeros(max(self.config.num_classes, 2), np.int64)
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
        if config.is_classifier:
            self.loss = ClassifierLoss(
                config.loss, config.outputs, config.margin, class_weights(config, self.class_counts)
            )
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
        weights, bias = best.weights, best.bias
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
            threshold=self.threshold,
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
            checked = self._checked(itertools.chain([first], blocks))
            batches = minibatches(checked, config.mini_batch_size)
            scaler, rows = fit_scaler(self._counted(batches), config)
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
        columns = config.num_models * config.outputs
        check_training(data_features, columns, config.mini_batch_size, shown)

    def _checked(self, blocks: Iterator[Block]) -> Iterator[Block]:
        """``blocks``, each checked for a classifier's labels (``labels.check_labels``)."""
        for block in blocks:
            if self.config.is_classifier:
                check_labels(block, self.config)
            yield block

    def _counted(self, batches: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """``batches``, their classes counted for the class weights (classifiers)."""
        for batch in batches:
            if self.config.is_classifier:
                self.class_counts += class_counts(batch[0], self.config)
            yield batch

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
            validation, selection = None, None
            if "validation" in self.channels:
                validation, selection = self._validation_per_model(models)
                for model, value in enumerate(validation[objective]):
                    log.model_metric(f"validation_{objective}", float(value), model, epoch)
                log.quality("validation", objective, float(validation[objective][0]), epoch)
            losses = train_loss if validation is None else validation[objective]
            leader = _leader(losses, models, epoch, objective)
            value = float(losses[leader])
            chosen = leader if selection is None else _leader(selection, models, epoch, objective)
            chosen_value = value if selection is None else float(selection[chosen])
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
            if best is None or chosen_value < best.value:
                regression_scores = None if self.config.is_classifier else validation
                best = _snapshot(models, chosen, epoch, chosen_value, regression_scores)
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
        for block in self._checked(read_pass(self.channels[channel], layout)):
            self.scaler.apply(block.values)
            yield block

    def _validation_per_model(self, models: ParallelModels):
        """(objective per model, selection value per model or None) on ``validation``.

        The selection value (lower is better) is minus a binary classifier's criterion at
        its best threshold on the first ``num_calibration_samples`` rows; None when the
        objective selects (regressors, multiclass, loss criteria)."""
        if not self.config.is_classifier:
            return self._scores_per_model("validation", models.weights, models.bias), None
        calibrate = (
            self.config.predictor_type == "binary_classifier"
            and self.config.selection_criteria not in thresholds.LOSS_CRITERIA
        )
        limit = self.config.num_calibration_samples if calibrate else 0
        objective, probabilities, labels = self._classifier_pass(
            "validation", models.weights, models.bias, limit
        )
        if not calibrate:
            return {self.loss.objective_name: objective}, None
        criteria = [
            thresholds.select(probabilities[:, model], labels, self.config)[1]
            for model in range(probabilities.shape[1])
        ]
        return {self.loss.objective_name: objective}, -np.array(criteria)

    def _classifier_pass(self, channel: str, weights, bias, keep_rows: int, tally=None):
        """One pass of classifier models over ``channel``: (mean objective per model,
        P(class 1) of the first ``keep_rows`` rows (rows, models) float32, their labels).
        A ``MulticlassTally`` given as ``tally`` counts every row's class probabilities."""
        totals = np.zeros(weights.shape[1] // self.config.outputs)
        kept_scores, kept_labels = [], []
        rows = 0
        for block in self._scaled_pass(channel):
            labels = block.values[0]
            scores = block.values[1:].T @ weights + bias
            if tally is not None:
                tally.add(self.loss.probabilities(scores), labels)
            if rows < keep_rows:
                take = min(block.n_rows, keep_rows - rows)
                check_calibration_sample(
                    rows + take, totals.size, self.config.num_calibration_samples
                )
                kept_scores.append(self.loss.probabilities(scores[:take]).astype(np.float32))
                kept_labels.append(labels[:take].astype(np.int8))
            totals += self.loss.batch(scores, labels)[0]
            rows += block.n_rows
        kept = np.concatenate(kept_scores) if kept_scores else np.zeros((0, totals.size))
        labels = np.concatenate(kept_labels) if kept_labels else np.zeros(0, np.int8)
        return totals / rows, kept, labels

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
        channel = "validation" if "validation" in self.channels else "train"
        if channel == "validation":
            self.log.criterion(last.epoch, objective, last.criterion)
            if last.improved:
                self.log.info(f"Epoch {last.epoch}: Loss improved. Updating best model")
        if best.validation_scores is not None:
            scores = best.validation_scores
        else:
            scores = self._single_model_scores(channel, best.weights, best.bias)
        self.log.scores(channel, scores)
        return {channel: scores}

    def _test_scores(self, weights, bias) -> dict[str, float]:
        started = time.time()
        scores = self._single_model_scores("test", weights, bias)
        self.log.iterator_metrics({"Reset Count": 1}, "test_data_iter", started)
        self.log.scores("test", scores)
        return scores

    def _classifier_scores(self, channel: str, weights, bias) -> dict[str, float]:
        """One model's objective and metrics over ``channel``; a binary classifier's first
        such pass (validation, else train) also sets ``self.threshold`` (``thresholds``)."""
        config = self.config
        if config.predictor_type == "multiclass_classifier":
            tally = MulticlassTally(config.num_classes, config.accuracy_top_k, config.f_beta)
            objective = self._classifier_pass(channel, weights, bias, 0, tally)[0]
            return {self.loss.objective_name: float(objective[0]), **tally.metrics()}
        objective, probabilities, labels = self._classifier_pass(channel, weights, bias, 2**62)
        probabilities = probabilities[:, 0]
        if self.threshold is None:
            calibration = config.num_calibration_samples
            self.threshold = thresholds.select(
                probabilities[:calibration], labels[:calibration], config
            )[0]
        metrics = binary_metrics(probabilities, labels, self.threshold, config.f_beta)
        return {self.loss.objective_name: float(objective[0]), **metrics}

    def _single_model_scores(self, channel: str, weights, bias) -> dict[str, float]:
        if self.config.is_classifier:
            return self._classifier_scores(channel, weights, bias)
        return {k: float(v[0]) for k, v in self._scores_per_model(channel, weights, bias).items()}

    def _save(self, model_dir: Path, best: _Snapshot, scores, epochs_run) -> artifact.LinearModel:
        multiclass = self.config.predictor_type == "multiclass_classifier"
        snapshot = (best.weights, best.bias) if multiclass else (best.weights[:, 0], best.bias[0])
        weights, bias = self.scaler.fold(*snapshot)
        values = [v for channel in scores.values() for v in channel.values()]
        finite = np.isfinite(weights).all() and np.isfinite(bias).all()
        if not (finite and np.isfinite(values).all()):
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
        if self.config.is_classifier:
            weights_used = self.loss.class_weights
            metadata["class_weights"] = None if weights_used is None else weights_used.tolist()
        threshold = thresholds.DEFAULT_THRESHOLD if self.threshold is None else self.threshold
        model = artifact.LinearModel(weights, bias, self.config.predictor_type, metadata, threshold)
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
    columns = models.columns(model)
    return _Snapshot(
        value, model, epoch, models.weights[:, columns].copy(), models.bias[columns].copy(), scores
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
