"""Shared fixtures for the linear-learner tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def linear_data():
    """A known linear function: (features (n, d), labels (n,), weights (d,), bias)."""

    def make(rows: int = 3000, features: int = 4, noise: float = 0.1, seed: int = 7):
        rng = np.random.default_rng(seed)
        scales = rng.uniform(0.5, 20.0, features)
        offsets = rng.uniform(-50.0, 50.0, features)
        x = rng.normal(size=(rows, features)) * scales + offsets
        weights = rng.normal(size=features) * 3.0 / scales
        bias = 4.5
        y = x @ weights + bias + rng.normal(size=rows) * noise
        return x, y, weights, bias

    return make


@pytest.fixture
def write_training_csv():
    """Write label-first rows (no header) to a path: write(path, labels, features) -> path."""

    def write(path: Path, labels: np.ndarray, features: np.ndarray) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savetxt(path, np.column_stack([labels, features]), delimiter=",", fmt="%.10g")
        return path

    return write
