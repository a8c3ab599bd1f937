"""The real container's log lines (2020 "G3" formats), written one line at a time.

Logger lines carry ``[MM/DD/YYYY HH:MM:SS LEVEL <thread id>] ``; ``#metrics`` lines carry none.
Numbers in ``#quality_metric``, criterion and throughput lines use Python 2's ``str(float)``
(12 significant digits); ``*_score`` tuples use the shortest repr. SageMaker's published metric
regexes (train:objective_loss, test:mse, train:throughput, ...) match these lines.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable

HOST = "algo-1"
ALGORITHM = "Linear Learner"
LOSS_TAGGED = ("mse", "absolute_loss")
"""Metrics tagged ``<loss>`` besides the ``*_objective`` ones; every other is ``<score>``
(reference training log §3)."""


def py2_float(value: float) -> str:
    """Python 2's ``str(float)``: ``'%.12g'``, with ``.0`` for integral values."""
    text = f"{value:.12g}"
    if all(mark not in text for mark in (".", "e", "n", "i")):
        text += ".0"
    return text


def print_line(line: str) -> None:
    """Write one log line to stdout and flush (the emulator streams stdout live)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class TrainingLog:
    """Formats and writes the training log through ``write`` (one call per message)."""

    def __init__(self, write: Callable[[str], None] = print_line, host: str = HOST):
        self.write = write
        self.host = host
        self.thread_id = threading.get_ident()

    def info(self, message: str) -> None:
        self._logger_line("INFO", message)

    def warning(self, message: str) -> None:
        self._logger_line("WARNING", message)

    def _logger_line(self, level: str, message: str) -> None:
        stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
        self.write(f"[{stamp} {level} {self.thread_id}] {message}")

    def metrics(self, values: dict, dimensions: dict, start: float, end: float) -> None:
        """A ``#metrics`` JSON line; ``values`` maps name -> number (stats of one sample)."""
        metrics = {
            name: {"count": 1, "max": value, "sum": float(value), "min": value}
            for name, value in values.items()
        }
        document = {
            "Metrics": metrics,
            "EndTime": round(end, 6),
            "Dimensions": dimensions,
            "StartTime": round(start, 6),
        }
        self.write("#metrics " + json.dumps(document))

    def model_metric(self, name: str, value: float, model: int, epoch: int) -> None:
        """A per-model, per-epoch ``#metrics`` line (e.g. ``train_mse_objective``)."""
        now = time.time()
        dimensions = {"model": model, "Host": self.host, "Operation": "training"}
        dimensions.update({"Algorithm": ALGORITHM, "epoch": epoch})
        self.metrics({name: value}, dimensions, now, now)

    def iterator_metrics(self, counters: dict, meta: str, start: float, epoch=None) -> None:
        """A data-iterator ``#metrics`` block (e.g. ``training_data_iter``)."""
        dimensions = {"Host": self.host, "Meta": meta, "Operation": "training"}
        dimensions["Algorithm"] = ALGORITHM
        if epoch is not None:
            dimensions["epoch"] = epoch
        self.metrics(counters, dimensions, start, time.time())

    def quality(self, channel: str, name: str, value: float, epoch: int | None = None) -> None:
        """``#quality_metric: host=algo-1, [epoch=N, ]<channel> <name> <loss|score>=<value>``."""
        epoch_part = "" if epoch is None else f"epoch={epoch}, "
        tag = "loss" if name.endswith("_objective") or name in LOSS_TAGGED else "score"
        value_text = py2_float(value)
        self.info(
            f"#quality_metric: host={self.host}, {epoch_part}{channel} {name} <{tag}>={value_text}"
        )

    def criterion(self, epoch: int, name: str, value: float) -> None:
        self.info(
            f"#early_stopping_criteria_metric: host={self.host}, epoch={epoch}, "
            f"criteria={name}, value={py2_float(value)}"
        )

    def progress(self, percent: int, stopped_early: bool = False) -> None:
        tail = "epochs" if stopped_early else "of epochs"
        self.info(f"#progress_metric: host={self.host}, completed {percent} % {tail}")

    def throughput(self, records_per_second: float) -> None:
        self.info(
            f"#throughput_metric: host={self.host}, train throughput="
            f"{py2_float(records_per_second)} records/second"
        )

    def scores(self, channel: str, scores: dict[str, float]) -> None:
        """The ``#<channel>_score`` tuples, then the final ``#quality_metric`` lines (no epoch)."""
        for name, value in scores.items():
            self.info(f"#{channel}_score ({self.host}) : ({name!r}, {float(value)!r})")
        for name, value in scores.items():
            self.quality(channel, name, value)
