"""Helpers shared by the worker tests: event recording, generated S3 objects, leftover checks."""

from __future__ import annotations

import hashlib
import io
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from local_aws.workers import TrainingEvent

FAKE_ALGORITHM = (sys.executable, str(Path(__file__).with_name("fake_training_algorithm.py")))
"""Command of the test double for the training contract (see that file)."""

FINAL_KINDS = ("completed", "failed", "stopped")
TRUE_WEIGHTS = np.array([2.0, -3.0, 0.5])
TRUE_BIAS = 5.0


WORKER_THREADS = ("training-", "pipe-", "endpoint-")
"""Name prefixes of the threads the workers start."""


def nothing_left_behind():
    """Fixture body: after the test, no child process it started may remain (zombies count)
    and no worker thread may still run."""
    me = psutil.Process()
    before = {child.pid for child in me.children(recursive=True)}
    yield
    assert wait_until(
        lambda: not [c for c in me.children(recursive=True) if c.pid not in before], timeout=5
    ), f"processes left behind: {[describe(c) for c in me.children(recursive=True)]}"
    assert wait_until(lambda: not worker_threads(), timeout=5), (
        f"threads left behind: {worker_threads()}"
    )


def worker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(WORKER_THREADS)]


def describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {process.status()} {' '.join(process.cmdline())}"
    except psutil.Error:
        return f"{process.pid} (gone)"


def process_gone(pid: int, timeout: float = 5) -> bool:
    """True once ``pid`` has ended within ``timeout`` seconds (a zombie has ended)."""
    deadline = time.monotonic() + timeout
    while _running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def wait_until(condition, timeout: float = 10) -> bool:
    """Poll ``condition()`` every millisecond; True once it holds, False after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class EventRecorder:
    """An ``on_event`` callback that keeps every event and the threads it came from."""

    def __init__(self):
        self.events: list[TrainingEvent] = []
        self.threads: set[int] = set()
        self._changed = threading.Condition()

    def __call__(self, event: TrainingEvent) -> None:
        with self._changed:
            self.events.append(event)
            self.threads.add(threading.get_ident())
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float = 30) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self.events), timeout), (
                f"timed out; events so far: {self.events}"
            )

    def final(self, timeout: float = 60) -> TrainingEvent:
        """Wait for the final event and return it."""
        self.wait_for(lambda events: any(e.kind in FINAL_KINDS for e in events), timeout)
        return next(e for e in self.events if e.kind in FINAL_KINDS)

    @property
    def logs(self) -> list[str]:
        return [e.message for e in self.events if e.kind == "log"]

    @property
    def statuses(self) -> list[str]:
        return [e.status for e in self.events if e.kind == "status"]


class GeneratedObject:
    """An S3 object of ``size`` pseudo-random bytes, produced on the fly as a stream.

    Records the largest read it was asked for and how many of its streams were opened and
    closed, to check that feeding streams without loading whole objects.
    """

    def __init__(self, size: int, seed: int):
        self.size = size
        self.seed = seed
        self.largest_read = 0
        self.opened = 0
        self.closed = 0

    def open(self) -> io.RawIOBase:
        self.opened += 1
        return _GeneratedStream(self)

    def content(self) -> bytes:
        return _pattern(self.seed, 0, self.size)


class _GeneratedStream(io.RawIOBase):
    def __init__(self, source: GeneratedObject):
        self.source = source
        self.position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.source.largest_read = max(self.source.largest_read, size)
        if size < 0:
            size = self.source.size
        end = min(self.source.size, self.position + size)
        data = _pattern(self.source.seed, self.position, end)
        self.position = end
        return data

    def close(self) -> None:
        if not self.closed:
            self.source.closed += 1
        super().close()


def _pattern(seed: int, start: int, end: int) -> bytes:
    """Bytes ``start:end`` of an endless seeded byte pattern (cheap to compute anywhere)."""
    block = hashlib.sha256(str(seed).encode()).digest() * 8  # 256 bytes
    first = start // len(block)
    last = -(-end // len(block))
    return (block * (last - first))[start - first * len(block) : end - first * len(block)]


def digest(data: bytes) -> dict:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def regression_csv(rows: int, seed: int) -> bytes:
    """CSV rows ``label,x1,x2,x3`` with label = x @ TRUE_WEIGHTS + TRUE_BIAS + small noise."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, len(TRUE_WEIGHTS)))
    labels = features @ TRUE_WEIGHTS + TRUE_BIAS + rng.normal(scale=0.01, size=rows)
    buffer = io.StringIO()
    np.savetxt(buffer, np.column_stack([labels, features]), delimiter=",", fmt="%.6f")
    return buffer.getvalue().encode()


def bytes_opener(data: bytes):
    """An opener returning a fresh in-memory stream of ``data`` each time."""
    return lambda: io.BytesIO(data)
