"""``num_models`` linear models trained together on the same mini-batches.

All models live in one float32 weight matrix (d, n_models * outputs) and one bias vector, so a
mini-batch costs two BLAS matrix products whatever the number of models. ``outputs`` is 1 for
a regressor or binary classifier and ``num_classes`` for a multiclass classifier; model ``i``
owns columns ``i * outputs ... (i + 1) * outputs - 1``. Each model has its own
learning rate, schedule, L2 (``wd``) and L1 (``l1``) penalty from the model grid.

Update for a batch (x (B, d), y (B,)), per model: scores ``s = x @ w + b``,
``g = x.T @ loss'(s, y) / B + wd * w + l1 * sign(w)``, then the optimizer step with the scheduled
rate ``lr * factor ** (t // lr_scheduler_step)`` (never below ``lr_scheduler_minimum_lr``). The
bias uses ``lr * bias_lr_mult`` and ``wd * bias_wd_mult``; it stays 0 when ``use_bias`` is false.
Optimizers: adam (beta_1, beta_2, eps 1e-8, bias-corrected), rmsprop (decay 0.9, eps 1e-8) and
sgd (``momentum``).
"""

from __future__ import annotations

import numpy as np

from .hyperparameters import Config
from .losses import ClassifierLoss, Loss
from .model_grid import ModelSettings

EPSILON = 1e-8
RMSPROP_DECAY = 0.9
INIT_SEED = 0


class ParallelModels:
    """Weights (d, n_models * outputs) and biases in the scaled feature and label space."""

    def __init__(
        self,
        settings: list[ModelSettings],
        config: Config,
        feature_dim: int,
        loss: Loss | ClassifierLoss,
    ):
        self.settings = settings
        self.config = config
        self.loss = loss
        self.outputs = config.outputs
        n_columns = len(settings) * self.outputs
        rng = np.random.default_rng(INIT_SEED)
        shape = (feature_dim, n_columns)
        if config.init_method == "uniform":
            weights = rng.uniform(-config.init_scale, config.init_scale, size=shape)
        else:
            weights = rng.normal(0.0, config.init_sigma, size=shape)
        self.weights = weights.astype(np.float32)
        self.bias = np.full(n_columns, config.init_bias if config.use_bias else 0.0, np.float32)
        per_model = {
            name: [getattr(s, name) for s in settings]
            for name in ("learning_rate", "wd", "l1", "lr_scheduler_step")
        }
        per_model["factor"] = [s.lr_scheduler_factor for s in settings]
        per_model["minimum_lr"] = [s.lr_scheduler_minimum_lr for s in settings]
        self._column = {
            name: np.repeat(np.array(values, dtype=np.float64), self.outputs)
            for name, values in per_model.items()
        }
        self._wd = self._column["wd"].astype(np.float32)
        self._l1 = self._column["l1"].astype(np.float32)
        self._bias_wd = (self._column["wd"] * config.bias_wd_mult).astype(np.float32)
        self._state = [np.zeros_like(self.weights), np.zeros_like(self.weights)]
        self._bias_state = [np.zeros_like(self.bias), np.zeros_like(self.bias)]
        self.steps = 0

    def finite_models(self) -> np.ndarray:
        """(n_models,) bool: True where a model's weights and bias are all finite."""
        finite = np.isfinite(self.weights).all(axis=0) & np.isfinite(self.bias)
        return finite.reshape(-1, self.outputs).all(axis=1)

    def columns(self, model: int) -> slice:
        """The weight columns of ``model``."""
        return slice(model * self.outputs, (model + 1) * self.outputs)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Scaled scores (rows, n_models * outputs) for scaled features (rows, d)."""
        return features @ self.weights + self.bias

    def step(self, features: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """One update on a scaled batch; returns its loss sum per model (before the update)."""
        loss_sums, slopes = self.loss.batch(self.predict(features), labels)
        slopes *= np.float32(1.0 / labels.shape[0])
        gradient = features.T @ slopes
        gradient += self._wd * self.weights
        gradient += self._l1 * np.sign(self.weights)
        self.steps += 1
        rate = self.learning_rates()
        self._apply(self.weights, gradient, rate, self._state)
        if self.config.use_bias:
            bias_gradient = slopes.sum(axis=0) + self._bias_wd * self.bias
            bias_rate = rate * np.float32(self.config.bias_lr_mult)
            self._apply(self.bias, bias_gradient, bias_rate, self._bias_state)
        return loss_sums

    def learning_rates(self) -> np.ndarray:
        """The scheduled learning rate of every model for the current step (n_models,) float32."""
        rate = self._column["learning_rate"]
        if self.config.use_lr_scheduler:
            decays = (self.steps - 1) // self._column["lr_scheduler_step"]
            rate = np.maximum(rate * self._column["factor"] ** decays, self._column["minimum_lr"])
        return rate.astype(np.float32)

    def _apply(self, values: np.ndarray, gradient: np.ndarray, rate: np.ndarray, state) -> None:
        optimizer = self.config.optimizer
        if optimizer == "adam":
            beta_1, beta_2 = self.config.beta_1, self.config.beta_2
            first, second = state
            first *= np.float32(beta_1)
            first += np.float32(1 - beta_1) * gradient
            second *= np.float32(beta_2)
            second += np.float32(1 - beta_2) * gradient * gradient
            correction = np.sqrt(1 - beta_2**self.steps) / (1 - beta_1**self.steps)
            values -= (rate * np.float32(correction)) * first / (np.sqrt(second) + EPSILON)
        elif optimizer == "rmsprop":
            second = state[1]
            second *= np.float32(RMSPROP_DECAY)
            second += np.float32(1 - RMSPROP_DECAY) * gradient * gradient
            values -= rate * gradient / (np.sqrt(second) + EPSILON)
        else:
            velocity = state[0]
            velocity *= np.float32(self.config.momentum)
            velocity -= rate * gradient
            values += velocity
