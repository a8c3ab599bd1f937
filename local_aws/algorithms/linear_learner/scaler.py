"""The data scaler: feature and label standardisation fitted on the first rows of ``train``.

Statistics use whole mini-batches until at least ``num_point_for_scaler`` rows are seen (a
trailing partial batch is used only when it is the only one), population standard deviation
(ddof=0), and scale 1 for zero-variance columns. A classifier's label is never scaled (mean 0,
scale 1, logged as ``None`` as the real container does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .hyperparameters import Config
from .memory_budget import check_scaler_sample


@dataclass(frozen=True)
class Scaler:
    """``scaled = (raw - mean) / scale`` for the features (d,) and the label (scalars)."""

    feature_mean: np.ndarray
    feature_scale: np.ndarray
    label_mean: float
    label_scale: float
    label_statistics: bool = True  # False for a classifier: the label is left as it is

    def apply(self, values: np.ndarray) -> None:
        """Scale a (1 + d, n_rows) float32 block in place (row 0 = label)."""
        values[1:] -= self.feature_mean.astype(np.float32)[:, None]
        values[1:] *= (1.0 / self.feature_scale).astype(np.float32)[:, None]
        values[0] -= np.float32(self.label_mean)
        values[0] *= np.float32(1.0 / self.label_scale)

    def fold(self, weights: np.ndarray, bias):
        """Weights (d,) or (d, k) and bias (scalar or (k,)) of a scaled-space model, in raw
        units: ``score = x @ w + b``."""
        weights = np.asarray(weights, dtype=np.float64)
        per_feature = self.feature_scale.reshape((-1,) + (1,) * (weights.ndim - 1))
        raw_weights = self.label_scale * weights / per_feature
        centred = np.asarray(bias, np.float64) - (self.feature_mean / self.feature_scale) @ weights
        raw_bias = self.label_scale * centred + self.label_mean
        return raw_weights, (float(raw_bias) if raw_bias.ndim == 0 else raw_bias)

    def as_dict(self) -> dict:
        """JSON-ready statistics (stored in the model's metadata)."""
        return {
            "mean_weight": self.feature_mean.tolist(),
            "stdev_weight": self.feature_scale.tolist(),
            "mean_label": self.label_mean if self.label_statistics else None,
            "stdev_label": self.label_scale if self.label_statistics else None,
        }

    def log_text(self) -> str:
        """The real container's multi-line ``Scaling model computed`` message body."""

        def ndarray(values) -> str:
            vector = np.atleast_1d(np.asarray(values, dtype=np.float32))
            return f"\n{np.array2string(vector)}\n<NDArray {vector.size} @cpu(0)>"

        def label(values) -> str:
            return ndarray(values) if self.label_statistics else "None"

        return (
            f" {{'stdev_weight': {ndarray(self.feature_scale)}, "
            f"'stdev_label': {label(self.label_scale)}, "
            f"'mean_label': {label(self.label_mean)}, "
            f"'mean_weight': {ndarray(self.feature_mean)}}}"
        )


def fit_scaler(batches: Iterable[np.ndarray], config: Config) -> tuple[Scaler, int]:
    """Fit on (1 + d, rows) mini-batches; returns the scaler and the number of rows used.

    ClientError (``memory_budget``) before a sample too large for memory is gathered."""
    taken: list[np.ndarray] = []
    rows = 0
    for batch in batches:
        if batch.shape[1] < config.mini_batch_size and taken:
            break  # a trailing partial batch counts only when it is the only one
        check_scaler_sample(rows + batch.shape[1], batch.shape[0], config.num_point_for_scaler)
        taken.append(np.array(batch, dtype=np.float64))
        rows += batch.shape[1]
        if rows >= config.num_point_for_scaler:
            break
    sample = np.concatenate(taken, axis=1)
    mean = sample.mean(axis=1)
    scale = sample.std(axis=1)
    scale[~(scale > 0)] = 1.0
    if not config.unbias_data:
        mean[1:] = 0.0
    if not config.normalize_data:
        scale[1:] = 1.0
    if not config.unbias_label:
        mean[0] = 0.0
    if not config.normalize_label:
        scale[0] = 1.0
    scaler = Scaler(mean[1:], scale[1:], float(mean[0]), float(scale[0]), not config.is_classifier)
    return scaler, rows
