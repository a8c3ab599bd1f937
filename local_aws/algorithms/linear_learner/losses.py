"""Regression losses of linear-learner, per example, with ``e = prediction - label``.

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
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
