"""The memory a training run will need, checked before anything of that size is allocated.

The arrays that grow with the size-like hyperparameters are, all float32 (4 bytes):
the models' state, ``feature_dim x num_models`` for each of the weights, their gradient,
the two optimizer states, the L1 sign and the best snapshot (6 of them); one mini-batch,
``mini_batch_size x (feature_dim + 1)``, held up to 3 times while it is cut, scaled and
multiplied; and ``mini_batch_size x num_models`` for each of the residuals, the loss values,
the slopes and a product (4 of them). The scaler's sample is float64 (8 bytes) rows of
``feature_dim + 1`` values, held up to 3 times while its mean and deviation are computed.

SageMaker documents no memory limit of its own (the container has its instance's memory);
refusing a run beyond ``limit_bytes()`` with a ClientError that names the hyperparameters is
our choice, so a value such as ``num_models=1e12`` fails at once instead of exhausting the
machine.
"""

from __future__ import annotations

import os

from .errors import ClientError

FLOAT32 = 4
FLOAT64 = 8
LIMIT_CAP_BYTES = 4 * 1024**3
"""The most a training run may need (our choice), or half the machine's memory if less."""
GIB = 1024**3


def limit_bytes() -> int:
    """The memory a run may use: ``LIMIT_CAP_BYTES`` or half the physical memory if less."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return LIMIT_CAP_BYTES
    return min(LIMIT_CAP_BYTES, physical // 2)


def training_bytes(feature_dim: int, num_models: int, mini_batch_size: int) -> int:
    """Bytes of the arrays a run holds at once (module docstring), for these sizes."""
    model_state = 6 * feature_dim * num_models
    batch = 3 * mini_batch_size * (feature_dim + 1)
    batch_per_model = 4 * mini_batch_size * num_models
    return FLOAT32 * (model_state + batch + batch_per_model)


def check_training(feature_dim: int, num_models: int, mini_batch_size: int, shown: str) -> None:
    """ClientError if the run would need more than ``limit_bytes()``.

    ``shown`` is how the message names feature_dim (e.g. ``feature_dim='auto' (3 in the data)``).
    """
    _refuse_over_limit(
        training_bytes(feature_dim, num_models, mini_batch_size),
        f"Invalid hyperparameters {shown}, num_models='{num_models}', mini_batch_size="
        f"'{mini_batch_size}': training",
        "num_models, mini_batch_size or feature_dim",
    )


def check_scaler_sample(rows: int, n_columns: int, num_point_for_scaler: int) -> None:
    """ClientError if a scaler sample of ``rows`` rows would need more than ``limit_bytes()``."""
    _refuse_over_limit(
        3 * FLOAT64 * rows * n_columns,
        f"Invalid hyperparameter num_point_for_scaler='{num_point_for_scaler}': a scaler "
        f"sample of {rows:,} rows of {n_columns} columns",
        "num_point_for_scaler",
    )


def check_calibration_sample(rows: int, models: int, num_calibration_samples: int) -> None:
    """ClientError if a binary classifier's kept scores (``rows`` x ``models`` float32 and one
    label byte per row, held up to twice while joined) would need more than ``limit_bytes()``."""
    _refuse_over_limit(
        2 * (FLOAT32 * models + 1) * rows,
        f"Invalid hyperparameter num_calibration_samples='{num_calibration_samples}': "
        f"keeping the scores of {rows:,} rows for {models} models (to choose thresholds and "
        "score the model)",
        "num_calibration_samples or num_models",
    )


def _refuse_over_limit(need: int, what: str, lower: str) -> None:
    """ClientError ``<what> would need about N GiB of memory, more than the L GiB a training job
    may use here; lower <lower>`` if ``need`` bytes exceed ``limit_bytes()``."""
    limit = limit_bytes()
    if need > limit:
        raise ClientError(
            f"{what} would need about {need / GIB:,.1f} GiB of memory, more than the "
            f"{limit / GIB:,.1f} GiB a training job may use here; lower {lower}"
        )
