"""The grid of settings for the ``num_models`` linear models trained in parallel.

Model ``i`` gets entry ``i`` of the product (outermost first)
``learning_rate in {base, base/10}`` x ``wd in {0, 1e-4, 1e-2, 1e-1}`` x ``l1 in {0, 1e-4}``
x ``(lr_scheduler_step, lr_scheduler_minimum_lr) in {(100, 1e-5), (10, 1e-4)}``, with
``lr_scheduler_factor = 0.99``: 32 entries, entry 0 being the given parameters. ``base`` is the
user's learning rate or the optimizer's ``auto`` rate (adam 0.1, rmsprop and sgd 0.01). A
hyperparameter the user sets is held fixed in every model. More than 32 models cycle through
the grid again with the learning rate halved per cycle.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

from .hyperparameters import AUTO_LEARNING_RATE, Config

LEARNING_RATE_DIVISORS = (1.0, 10.0)
WEIGHT_DECAYS = (0.0, 1e-4, 1e-2, 1e-1)
L1_PENALTIES = (0.0, 1e-4)
SCHEDULES = ((100, 1e-5), (10, 1e-4))  # (lr_scheduler_step, lr_scheduler_minimum_lr)
SCHEDULER_FACTOR = 0.99
GRID_SIZE = len(LEARNING_RATE_DIVISORS) * len(WEIGHT_DECAYS) * len(L1_PENALTIES) * len(SCHEDULES)


@dataclass(frozen=True)
class ModelSettings:
    """The varied hyperparameters of one model (the keys of ``Best model found``)."""

    lr_scheduler_step: int
    wd: float
    optimizer: str
    lr_scheduler_factor: float
    l1: float
    learning_rate: float
    lr_scheduler_minimum_lr: float

    def as_dict(self) -> dict:
        """The settings in the real log's key order."""
        return asdict(self)


def model_grid(config: Config) -> list[ModelSettings]:
    """``config.num_models`` settings; entries are deterministic and in model-id order."""
    base = config.learning_rate or AUTO_LEARNING_RATE[config.optimizer]
    entries = itertools.product(LEARNING_RATE_DIVISORS, WEIGHT_DECAYS, L1_PENALTIES, SCHEDULES)
    grid = list(entries)
    settings = []
    for index in range(config.num_models):
        divisor, wd, l1, (step, minimum_lr) = grid[index % GRID_SIZE]
        cycle_scale = 0.5 ** (index // GRID_SIZE)
        settings.append(
            ModelSettings(
                lr_scheduler_step=_given(config.lr_scheduler_step, step),
                wd=_given(config.wd, wd),
                optimizer=config.optimizer,
                lr_scheduler_factor=_given(config.lr_scheduler_factor, SCHEDULER_FACTOR),
                l1=_given(config.l1, l1),
                learning_rate=_given(config.learning_rate, base / divisor * cycle_scale),
                lr_scheduler_minimum_lr=_given(config.lr_scheduler_minimum_lr, minimum_lr),
            )
        )
    return settings


def _given(user_value, grid_value):
    return grid_value if user_value is None else user_value
