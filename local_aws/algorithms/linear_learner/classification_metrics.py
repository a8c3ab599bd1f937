"""Classifier quality metrics, named as the real container logs them.

Binary (reference training log §3, "late 2020"): ``binary_classification_accuracy``,
``binary_f_<f_beta, 3 decimals>``, ``precision``, ``recall`` at the model's threshold, and
``roc_auc_score`` of the scores. Multiclass: ``multiclass_accuracy``,
``multiclass_top_k_accuracy_<accuracy_top_k>``, ``dcg``, ``macro_recall``, ``macro_precision``,
``macro_f_<f_beta, 3 decimals>``. Definitions are the usual ones (the docs' "Tune a linear
learner model" describes them in words); where AWS's exact reading is not public, ours is:
a precision with no predicted example is 0, an ROC AUC without both classes is 0.5, ``dcg``
is the mean over rows of ``1 / log2(1 + rank of the true class)`` (rank 1 = highest
probability), and macro scores average the classes present in the labels or predictions.
"""

from __future__ import annotations

import numpy as np

from .thresholds import cuts


def binary_metrics(
    scores: np.ndarray, labels: np.ndarray, threshold: float, beta: float
) -> dict[str, float]:
    """Metrics of 0/1 ``labels`` predicted as ``scores >= threshold``; ``scores`` in [0, 1]."""
    predicted = scores >= threshold
    actual = labels == 1
    true_positives = int(np.count_nonzero(predicted & actual))
    predicted_positives = int(np.count_nonzero(predicted))
    positives = int(np.count_nonzero(actual))
    precision = true_positives / predicted_positives if predicted_positives else 0.0
    recall = true_positives / positives if positives else 0.0
    return {
        "binary_classification_accuracy": float(np.mean(predicted == actual)),
        f"binary_f_{beta:.3f}": _f_beta(precision, recall, beta),
        "precision": precision,
        "recall": recall,
        "roc_auc_score": roc_auc(scores, labels),
    }


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); 0.5 without both classes."""
    table = cuts(scores, labels)
    if not (table.positives and table.negatives):
        return 0.5
    recall = table.true_positives / table.positives
    false_rate = table.false_positives / table.negatives
    return float(np.trapezoid(recall, false_rate))


class MulticlassTally:
    """Streaming counts for the multiclass metrics; ``add`` blocks, then ``metrics``."""

    def __init__(self, num_classes: int, top_k: int, beta: float):
        self.top_k, self.beta = top_k, beta
        self.rows = 0
        self.correct = self.top_k_hits = 0
        self.dcg = 0.0
        self.true_positives = np.zeros(num_classes, np.int64)
        self.predicted = np.zeros(num_classes, np.int64)
        self.actual = np.zeros(num_classes, np.int64)

    def add(self, probabilities: np.ndarray, labels: np.ndarray) -> None:
        """Count (rows, num_classes) ``probabilities`` against integer ``labels`` (rows,)."""
        labels = labels.astype(np.int64)
        rows = np.arange(len(labels))
        own = probabilities[rows, labels]
        rank = 1 + np.count_nonzero(probabilities > own[:, None], axis=1)
        predicted = np.argmax(probabilities, axis=1)
        hits = predicted == labels
        self.rows += len(labels)
        self.correct += int(np.count_nonzero(hits))
        self.top_k_hits += int(np.count_nonzero(rank <= self.top_k))
        self.dcg += float(np.sum(1.0 / np.log2(1.0 + rank)))
        size = len(self.actual)
        self.true_positives += np.bincount(labels[hits], minlength=size)
        self.predicted += np.bincount(predicted, minlength=size)
        self.actual += np.bincount(labels, minlength=size)

    def metrics(self) -> dict[str, float]:
        """The multiclass metrics over every row added."""
        seen = (self.actual > 0) | (self.predicted > 0)
        precision = _ratio(self.true_positives, self.predicted)[seen]
        recall = _ratio(self.true_positives, self.actual)[seen]
        f_scores = [_f_beta(p, r, self.beta) for p, r in zip(precision, recall, strict=True)]
        return {
            "multiclass_accuracy": self.correct / self.rows,
            f"multiclass_top_k_accuracy_{self.top_k}": self.top_k_hits / self.rows,
            "dcg": self.dcg / self.rows,
            "macro_recall": float(recall.mean()),
            "macro_precision": float(precision.mean()),
            f"macro_f_{self.beta:.3f}": float(np.mean(f_scores)),
        }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def _f_beta(precision: float, recall: float, beta: float) -> float:
    denominator = beta * beta * precision + recall
    if denominator <= 0:
        return 0.0
    return float((1 + beta * beta) * precision * recall / denominator)
