"""linear-learner's losses: regression losses of the residual, classifier losses of the score.

Every loss has ``objective_name`` (its name in the log), ``in_scaled_units`` and
``batch(scores, labels)``, which the parallel models call once per mini-batch:
``(loss sum per model, d loss / d score per score column)``.

Regression losses, per example, with ``e = prediction - label``:

| loss | value | derivative in the prediction |
| --- | --- | --- |
| squared_loss | e^2 | 2e |
| absolute_loss | abs(e) | sign(e) |
| huber_loss | e^2/2 if abs(e) < delta else delta*abs(e) - delta^2/2 | clip(e, -delta, delta) |
| quantile_loss | q*max(0, -e) + (1-q)*max(0, e) | 1-q if e > 0 else -q |
| eps_insensitive_squared_loss | max(0, e^2 - eps^2) | 2e where abs(e) > eps |
| eps_insensitive_absolute_loss | max(0, abs(e) - eps) | sign(e) where abs(e) > eps |

``delta`` (huber_delta) and ``eps`` (loss_insensitivity) are in label units; training runs on the
normalised label, so ``Loss.in_scaled_units`` divides them by the label's scale.

Classifier losses (``ClassifierLoss``), per example, of the linear score ``s`` (one per model;
``num_classes`` per model for softmax) and the label ``y``, times the example's class weight:

| loss | value | derivative in the score |
| --- | --- | --- |
| logistic (binary) | log(1 + exp(s)) - y*s (cross-entropy of sigmoid(s)) | sigmoid(s) - y |
| hinge_loss (binary, t = 2y - 1) | max(0, margin - t*s) | -t where t*s < margin |
| softmax_loss (multiclass) | log(sum_k exp(s_k)) - s_y | softmax(s) - onehot(y) |
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Loss:
    """One loss function; arrays are float32 of any shape (rows, models)."""

    name: str
    huber_delta: float = 1.0
    quantile: float = 0.5
    insensitivity: float = 0.01

    @property
    def objective_name(self) -> str:
        """The name in the log: ``mse_objective`` for squared loss, else ``<loss>_objective``."""
        return "mse_objective" if self.name == "squared_loss" else f"{self.name}_objective"

    def in_scaled_units(self, label_scale: float) -> Loss:
        """The same loss for a label divided by ``label_scale``."""
        return replace(
            self,
            huber_delta=self.huber_delta / label_scale,
            insensitivity=self.insensitivity / label_scale,
        )

    def batch(self, scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(loss sum per model (float64), slopes) of (rows, models) scores; ``scores`` is
        overwritten with the residuals."""
        residuals = scores
        residuals -= labels[:, None]
        return self.value(residuals).sum(axis=0, dtype=np.float64), self.derivative(residuals)

    def value(self, e: np.ndarray) -> np.ndarray:
        """Per-example loss of the residuals ``e``."""
        if self.name == "squared_loss":
            return e * e
        if self.name == "absolute_loss":
            return np.abs(e)
        if self.name == "huber_loss":
            a, d = np.abs(e), self.huber_delta
            return np.where(a < d, 0.5 * e * e, d * a - 0.5 * d * d)
        if self.name == "quantile_loss":
            q = self.quantile
            return np.where(e > 0, (1 - q) * e, -q * e)
        if self.name == "eps_insensitive_squared_loss":
            return np.maximum(e * e - self.insensitivity**2, 0)
        return np.maximum(np.abs(e) - self.insensitivity, 0)

    def derivative(self, e: np.ndarray) -> np.ndarray:
        """d loss / d prediction at the residuals ``e``."""
        if self.name == "squared_loss":
            return 2 * e
        if self.name == "absolute_loss":
            return np.sign(e)
        if self.name == "huber_loss":
            return np.clip(e, -self.huber_delta, self.huber_delta)
        if self.name == "quantile_loss":
            return np.where(e > 0, 1 - self.quantile, -self.quantile).astype(e.dtype)
        outside = np.abs(e) > self.insensitivity
        if self.name == "eps_insensitive_squared_loss":
            return np.where(outside, 2 * e, 0).astype(e.dtype)
        return np.where(outside, np.sign(e), 0).astype(e.dtype)


def sigmoid(scores: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-s)), without overflow for large ``|s|``."""
    return 0.5 * (1.0 + np.tanh(0.5 * scores))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis (classes)."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class ClassifierLoss:
    """logistic, hinge_loss or softmax_loss; scores are (rows, models * outputs) float32.

    ``class_weights`` (one per class, or None for all 1) multiply each example's loss and
    slope: ``positive_example_weight_mult`` for class 1 of a binary classifier,
    ``balance_multiclass_weights`` for a multiclass one.
    """

    name: str
    outputs: int = 1
    margin: float = 1.0
    class_weights: np.ndarray | None = field(default=None, compare=False)

    @property
    def objective_name(self) -> str:
        """The log's name: the real container's for logistic and softmax (reference training
        log §3); ``hinge_loss_objective`` is our choice (not observed)."""
        if self.name == "softmax_loss":
            return "multiclass_cross_entropy_objective"
        if self.name == "logistic":
            weighted = self.class_weights is not None and self.class_weights[1] != 1.0
            kind = "weighted_cross_entropy" if weighted else "cross_entropy"
            return f"binary_classification_{kind}_objective"
        return f"{self.name}_objective"

    def in_scaled_units(self, label_scale: float) -> ClassifierLoss:
        """The same loss: a classifier's label is never scaled."""
        return self

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """P(class 1) of binary scores, or class probabilities (..., outputs) of softmax."""
        return softmax(scores) if self.name == "softmax_loss" else sigmoid(scores)

    def batch(self, scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(loss sum per model (float64), slopes (rows, models * outputs) float32)."""
        rows = scores.shape[0]
        if self.name == "softmax_loss":
            grouped = scores.reshape(rows, -1, self.outputs)
            probabilities = softmax(grouped)
            picked = np.arange(rows), slice(None), labels.astype(np.int64)
            losses = -np.log(np.maximum(probabilities[picked], np.finfo(np.float32).tiny))
            probabilities[picked] -= 1.0
            slopes = probabilities.reshape(rows, -1)
        elif self.name == "logistic":
            y = labels[:, None]
            losses = np.logaddexp(np.float32(0), scores) - y * scores
            slopes = sigmoid(scores) - y
        else:
            signs = (2 * labels - 1)[:, None]
            gaps = self.margin - signs * scores
            losses = np.maximum(gaps, 0)
            slopes = np.where(gaps > 0, -signs, 0).astype(scores.dtype)
        weights = self.example_weights(labels)
        if weights is not None:
            losses = losses * weights[:, None]
            slopes *= weights[:, None]
        return losses.sum(axis=0, dtype=np.float64), slopes.astype(np.float32, copy=False)

    def example_weights(self, labels: np.ndarray) -> np.ndarray | None:
        """(rows,) float32 weights of the examples' classes, or None when all are 1."""
        if self.class_weights is None:
            return None
        return self.class_weights.astype(np.float32)[labels.astype(np.int64)]
