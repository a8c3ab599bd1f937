"""A binary classifier's decision threshold, chosen per binary_classifier_model_selection_criteria.

``predicted_label`` is 1 when the score (probability of class 1) is >= the threshold. The
candidates are every cut between two distinct scores of the calibration rows (the first
``num_calibration_samples`` rows of the validation channel, or of train without one), plus
"no positive prediction"; each is scored on those rows:

| criterion | the threshold maximises |
| --- | --- |
| accuracy | accuracy |
| f_beta (f1: beta 1) | F-beta = (1 + b^2) P R / (b^2 P + R) |
| precision_at_target_recall | precision among cuts with recall >= target_recall |
| recall_at_target_precision | recall among cuts with precision >= target_precision |
| loss_function, cross_entropy_loss | (none: 0.5, the probability midpoint) |

Ties go to the higher threshold. A cut lies midway between two neighbouring distinct scores,
so the metrics on the calibration rows are those of the chosen cut exactly. When no cut reaches
``target_precision``, the cut of highest precision is taken (likewise the highest recall when
no cut reaches ``target_recall``, which happens only without positive rows). These
definitions follow the docs ("Linear learner hyperparameters",
binary_classifier_model_selection_criteria); how the real container enumerates cuts is not
public (our choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hyperparameters import Config

LOSS_CRITERIA = ("loss_function", "cross_entropy_loss")
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Cuts:
    """Counts for every candidate cut, highest threshold first (index 0 = predict no 1)."""

    thresholds: np.ndarray  # float64: predict 1 when score >= threshold
    true_positives: np.ndarray
    false_positives: np.ndarray
    positives: int
    negatives: int

    @property
    def precision(self) -> np.ndarray:
        predicted = self.true_positives + self.false_positives
        return np.divide(
            self.true_positives, predicted, out=np.zeros(len(predicted)), where=predicted > 0
        )

    @property
    def recall(self) -> np.ndarray:
        if not self.positives:
            return np.zeros(len(self.thresholds))
        return self.true_positives / self.positives

    @property
    def accuracy(self) -> np.ndarray:
        correct = self.true_positives + self.negatives - self.false_positives
        return correct / (self.positives + self.negatives)

    def f_beta(self, beta: float) -> np.ndarray:
        precision, recall = self.precision, self.recall
        denominator = beta * beta * precision + recall
        numerator = (1 + beta * beta) * precision * recall
        return np.divide(
            numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0
        )


def cuts(scores: np.ndarray, labels: np.ndarray) -> Cuts:
    """Every candidate cut of ``scores`` (n,) against 0/1 ``labels`` (n,)."""
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order].astype(np.float64)
    positives_so_far = np.cumsum(labels[order] == 1)
    group_ends = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
    values = ordered[group_ends]
    lower = np.r_[values[1:], values[-1]]
    middles = np.where(group_ends == len(ordered) - 1, values, (values + lower) / 2)
    true_positives = positives_so_far[group_ends]
    false_positives = group_ends + 1 - true_positives
    positives = int(positives_so_far[-1])
    return Cuts(
        thresholds=np.r_[np.nextafter(values[0], np.inf), middles],
        true_positives=np.r_[0, true_positives],
        false_positives=np.r_[0, false_positives],
        positives=positives,
        negatives=len(ordered) - positives,
    )


def select(scores: np.ndarray, labels: np.ndarray, config: Config) -> tuple[float, float]:
    """(threshold, criterion value at it; higher is better) for one model's scores.

    Loss criteria give (0.5, nan): they rank models by the objective instead."""
    criterion = config.selection_criteria
    if criterion in LOSS_CRITERIA:
        return DEFAULT_THRESHOLD, float("nan")
    table = cuts(scores, labels)
    if criterion == "accuracy":
        values = table.accuracy
    elif criterion in ("f_beta", "f1"):
        values = table.f_beta(1.0 if criterion == "f1" else config.f_beta)
    elif criterion == "precision_at_target_recall":
        values = np.where(table.recall >= config.target_recall, table.precision, -np.inf)
        if not np.isfinite(values).any():  # no positive row: no cut reaches the target
            values = table.recall
    else:
        values = np.where(table.precision >= config.target_precision, table.recall, -np.inf)
        if not np.isfinite(values).any():
            values = table.precision
    best = int(np.argmax(values))
    return float(table.thresholds[best]), float(values[best])
