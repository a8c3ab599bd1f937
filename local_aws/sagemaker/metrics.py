"""linear-learner's metric definitions, and the final values a training log yields.

The regexes are those SageMaker attaches to the built-in linear-learner image (reference
training log §8), plus ``{train,validation,test}:roc_auc_score``, our addition in the same
pattern: the real container logs ``roc_auc_score <score>=`` lines (since late 2020) but the
published 2020 definitions do not capture them. The value of a metric is its last match in the
log, reported in DescribeTrainingJob's FinalMetricDataList.
"""

from __future__ import annotations

import math
import re

_CHANNELS = ("train", "validation", "test")


def _definitions() -> list[tuple[str, str]]:
    host = r"#quality_metric: host=\S+,"
    definitions = [
        ("train:progress", r"#progress_metric: host=\S+, completed (\S+) %"),
        (
            "train:throughput",
            r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
        ),
        ("train:objective_loss", host + r" epoch=\S+, train \S+_objective <loss>=(\S+)"),
        ("validation:objective_loss", host + r" epoch=\S+, validation \S+_objective <loss>=(\S+)"),
        ("train:objective_loss:final", host + r" train \S+_objective <loss>=(\S+)"),
        ("validation:objective_loss:final", host + r" validation \S+_objective <loss>=(\S+)"),
        ("test:objective_loss", host + r" test \S+_objective <loss>=(\S+)"),
    ]
    every_channel = {
        "mse": r"mse <loss>",
        "absolute_loss": r"absolute_loss <loss>",
        "binary_classification_accuracy": r"binary_classification_accuracy <score>",
        "binary_f_beta": r"binary_f_\S+ <score>",
        "precision": r"precision <score>",
        "recall": r"recall <score>",
        "roc_auc_score": r"roc_auc_score <score>",
    }
    scored_channels = {
        "multiclass_accuracy": r"multiclass_accuracy <score>",
        "multiclass_top_k_accuracy": r"multiclass_top_k_accuracy_\S+ <score>",
        "dcg": r"dcg <score>",
        "macro_precision": r"macro_precision <score>",
        "macro_recall": r"macro_recall <score>",
        "macro_f_beta": r"macro_f_\S+ <score>",
    }
    for name, text in every_channel.items():
        definitions += [(f"{ch}:{name}", f"{host} {ch} {text}=(\\S+)") for ch in _CHANNELS]
    for name, text in scored_channels.items():
        definitions += [(f"{ch}:{name}", f"{host} {ch} {text}=(\\S+)") for ch in _CHANNELS[1:]]
    return definitions


METRIC_DEFINITIONS: list[tuple[str, str]] = _definitions()
"""(metric name, regex) pairs; the regex's first group is the value."""


class MetricTracker:
    """Keeps the last value of every metric seen in log lines fed in order."""

    def __init__(self):
        self._compiled = [(name, re.compile(regex)) for name, regex in METRIC_DEFINITIONS]
        self._last: dict[str, tuple[float, float]] = {}

    def feed(self, line: str, timestamp: float) -> list[tuple[str, float]]:
        """Record the metrics ``line`` carries (``timestamp`` in epoch seconds) and return
        them as ``(metric name, value)`` pairs."""
        if "#" not in line:
            return []
        found = []
        for name, regex in self._compiled:
            match = regex.search(line)
            if match is None:
                continue
            try:
                value = float(match.group(1))
            except ValueError:
                continue
            if math.isfinite(value):  # JSON carries no NaN or infinity (RFC 8259)
                self._last[name] = (value, timestamp)
                found.append((name, value))
        return found

    def final_metric_data(self) -> list[dict]:
        """FinalMetricDataList entries, in definition order."""
        order = {name: index for index, (name, _) in enumerate(METRIC_DEFINITIONS)}
        return [
            {"MetricName": name, "Value": value, "Timestamp": timestamp}
            for name, (value, timestamp) in sorted(self._last.items(), key=lambda i: order[i[0]])
        ]


def metric_definitions_for_describe() -> list[dict]:
    """AlgorithmSpecification.MetricDefinitions as DescribeTrainingJob shows built-in ones."""
    return [{"Name": name, "Regex": regex} for name, regex in METRIC_DEFINITIONS]
