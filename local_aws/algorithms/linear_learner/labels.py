"""Classifier labels: the checks every pass applies, and the class weights of the loss.

A binary classifier's labels are 0 or 1; a multiclass classifier's are the integers
0 ... num_classes - 1 (docs "Linear learner hyperparameters", num_classes; "Linear Learner
Algorithm", input format). Any other label fails the job as a ClientError naming the file and
its row (numbered from 1); what the real container says then is not public, the wording is ours.
"""

from __future__ import annotations

import numpy as np

from .csv_blocks import Block
from .errors import ClientError
from .hyperparameters import Config


def check_labels(block: Block, config: Config) -> None:
    """ClientError naming the first row of ``block`` whose label is not a class of ``config``."""
    labels = block.values[0]
    if config.predictor_type == "binary_classifier":
        bad = (labels != 0) & (labels != 1)
        rule = "predictor_type 'binary_classifier' needs labels 0 or 1"
    else:
        bad = (labels < 0) | (labels >= config.num_classes) | (labels != np.floor(labels))
        rule = (
            f"predictor_type 'multiclass_classifier' with num_classes={config.num_classes} needs "
            f"integer labels 0 ... {config.num_classes - 1}"
        )
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ClientError(
            f"Invalid label {float(labels[index]):g} in file {block.file}, row "
            f"{block.file_first_row + index + 1}: {rule}"
        )


def class_weights(config: Config, counts: np.ndarray) -> np.ndarray | None:
    """Per-class loss weights from the class ``counts`` of the scaler's rows, or None (all 1).

    Binary: class 1 gets ``positive_example_weight_mult``; ``balanced`` gives it
    ``negatives / positives`` so both classes weigh the same in the loss (docs), and ``auto``
    does the same here (the docs say the algorithm then chooses a weight; which one is not
    public: our choice). Multiclass with ``balance_multiclass_weights``: class k gets
    ``rows / (num_classes * rows of class k)`` (1 for a class absent from those rows; our
    choice), so every class has the same total weight.
    """
    if config.predictor_type == "binary_classifier":
        multiplier = config.positive_example_weight_mult
        if multiplier in ("balanced", "auto"):
            positives, negatives = float(counts[1]), float(counts[0])
            multiplier = negatives / positives if positives and negatives else 1.0
        return None if multiplier == 1.0 else np.array([1.0, multiplier])
    if not config.balance_multiclass_weights:
        return None
    total = counts.sum()
    present = counts > 0
    weights = np.ones(len(counts))
    weights[present] = total / (len(counts) * counts[present])
    return weights


def class_counts(labels: np.ndarray, config: Config) -> np.ndarray:
    """Rows per class (num_classes, or 2 for a binary classifier) among checked ``labels``."""
    return np.bincount(labels.astype(np.int64), minlength=max(config.num_classes, 2))
