"""Training jobs: the algorithm runs as a child process under the SageMaker container contract.

The worker lays out ``work_dir`` like ``/opt/ml`` (``input/config/*.json``, ``input/data/``,
``model/``, ``output/``), fetches File-mode channels into ``input/data/<channel>/``, feeds
Pipe-mode channels pass by pass through the FIFOs ``input/data/<channel>_<n>``, runs
``<command> train --ml-root work_dir``, turns its output into log events as it comes, and
packs ``model/`` into ``output/model.tar.gz`` when the algorithm exits with status 0.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from local_aws.algorithms.linear_learner.artifact import pack
from local_aws.workers.processes import (
    ChildProcess,
    describe_exit,
    error_text,
    register,
    unregister,
)

logger = logging.getLogger(__name__)

LINEAR_LEARNER = (sys.executable, "-m", "local_aws.algorithms.linear_learner")
"""The training command; the worker appends ``train --ml-root <work_dir>``."""

COPY_CHUNK = 1024 * 1024
"""Bytes copied at a time from an S3 object to a file or FIFO."""

FAILURE_REASON_LIMIT = 1024
"""SageMaker keeps the first 1024 characters of ``output/failure`` as ``FailureReason``."""

MODES = ("File", "Pipe")

FEEDER_JOIN_TIMEOUT = 10.0
"""Seconds a finished job waits for a Pipe feeder blocked in reading its S3 object."""

CONTAINER_ROOT = "/opt/ml"
"""How failure reasons name the work folder: as in a SageMaker container, never by its path
on this machine."""


@dataclass(frozen=True)
class ChannelData:
    """One input channel: its name, content type, effective input mode and S3 objects.

    ``objects`` holds ``(key, opener)`` pairs in key order; ``key`` is relative to the
    channel's S3 prefix and ``opener()`` returns a fresh readable binary stream of the
    object's bytes (called once per File download and once per Pipe pass).
    """

    name: str
    content_type: str | None  # None: the request gave none (the algorithm's default applies)
    input_mode: str
    objects: list[tuple[str, Callable[[], BinaryIO]]]

    def __post_init__(self):
        if self.input_mode not in MODES:
            raise ValueError(
                f"channel {self.name!r}: input_mode must be one of {MODES}, got {self.input_mode!r}"
            )


@dataclass(frozen=True)
class TrainingEvent:
    """What happened to a training job.

    ``kind`` is ``"status"`` (``status`` is Downloading, Training or Uploading), ``"log"``
    (``message`` is one output line without its newline), or one final kind:
    ``"completed"`` (``model_path`` is the packed model.tar.gz), ``"failed"`` (``message``
    is the failure reason) or ``"stopped"``.
    """

    kind: str
    status: str | None = None
    message: str | None = None
    model_path: Path | None = None


class InputError(Exception):
    """An S3 object could not be read or placed; becomes a ``ClientError:`` failure."""


class _Aborted(Exception):
    """The job was stopped or killed while its input was being prepared."""


class TrainingWorker:
    """Runs one training job in a child process and reports it through ``on_event``.

    Events come from one thread, in order: statuses, every log line, then exactly one
    final event (``completed``, ``failed`` or ``stopped``). ``command`` is the algorithm's
    command line without ``train --ml-root DIR``; ``stop_grace`` is how many seconds the
    algorithm gets between SIGTERM and SIGKILL on ``stop()``.
    """

    def __init__(
        self,
        job_name: str,
        hyperparameters: dict[str, str],
        channels: list[ChannelData],
        work_dir: Path,
        on_event: Callable[[TrainingEvent], None],
        *,
        command: Sequence[str] = LINEAR_LEARNER,
        stop_grace: float = 10.0,
    ):
        self.job_name = job_name
        self.hyperparameters = dict(hyperparameters)
        self.channels = list(channels)
        self.work_dir = Path(work_dir)
        self.command = tuple(command)
        self.stop_grace = stop_grace
        self._on_event = on_event
        self._lock = threading.Lock()
        self._abort = threading.Event()
        self._stop_requested = False
        self._killed = False
        self._child: ChildProcess | None = None
        self._input_error: str | None = None
        self._thread: threading.Thread | None = None
        self._kill_timer = threading.Timer(stop_grace, self._kill_after_grace)
        self._kill_timer.daemon = True

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "input" / "data"

    @property
    def model_dir(self) -> Path:
        return self.work_dir / "model"

    @property
    def pid(self) -> int | None:
        """Process id of the running algorithm; None before it starts and once it ended."""
        child = self._child
        return child.pid if child is not None and child.returncode is None else None

    def start(self) -> None:
        """Start the job in a background thread and return at once."""
        register(self)
        self._thread = threading.Thread(
            target=self._run, name=f"training-{self.job_name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """StopTrainingJob: SIGTERM the algorithm, SIGKILL it after ``stop_grace`` seconds.

        Returns at once; the ``stopped`` event follows when the process has ended.
        """
        with self._lock:
            first_request = not self._stop_requested
            self._stop_requested = True
            self._abort.set()
            child = self._child
        if child is not None and first_request:
            child.signal_group(signal.SIGTERM)
            self._kill_timer.start()

    def _kill_after_grace(self) -> None:
        child = self._child
        if child is not None and child.returncode is None:
            child.signal_group(signal.SIGKILL)

    def kill(self) -> None:
        """Server shutdown: kill the algorithm at once and wait for the worker; no more events."""
        with self._lock:
            self._killed = True
            self._abort.set()
            child = self._child
        if child is not None:
            child.kill()
        self.join(timeout=10)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the final event to have been delivered; True when the worker is done."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return thread is None
        thread.join(timeout)
        return not thread.is_alive()

    def _emit(self, event: TrainingEvent) -> None:
        if self._killed:
            return
        try:
            self._on_event(event)
        except Exception:
            logger.exception(
                "training job %s: the event handler failed on %s", self.job_name, event
            )

    def _run(self) -> None:
        feeders: list[PipeFeeder] = []
        final = TrainingEvent("failed", message="InternalServerError: the training worker failed")
        try:
            final = self._train(feeders)
        except _Aborted:
            final = TrainingEvent("stopped", message="Training job stopped")
        except InputError as error:
            final = TrainingEvent("failed", message=f"ClientError: {error}")
        except Exception as error:
            logger.exception("training job %s: the worker failed", self.job_name)
            final = TrainingEvent(
                "failed",
                message="InternalServerError: the training worker failed: "
                + self._without_host_paths(error_text(error)),
            )
        finally:
            self._kill_timer.cancel()
            self._abort.set()
            if self._child is not None:
                if self._child.returncode is None:  # only when the worker itself failed
                    self._child.kill()
                self._child.close()
            for feeder in feeders:
                feeder.join(timeout=FEEDER_JOIN_TIMEOUT)
            shutil.rmtree(self.data_dir, ignore_errors=True)
            unregister(self)
            self._emit(final)

    def _train(self, feeders: list[PipeFeeder]) -> TrainingEvent:
        self._emit(TrainingEvent("status", status="Downloading", message="Downloading input data"))
        self._write_config()
        for channel in self.channels:
            if channel.input_mode == "File":
                self._download(channel)
            else:
                feeders.append(PipeFeeder(channel, self.data_dir, self._abort, self._fail_input))
        child = self._spawn()
        self._emit(
            TrainingEvent(
                "status",
                status="Training",
                message="Training image download completed. Training in progress.",
            )
        )
        for feeder in feeders:
            feeder.start()
        last_output = LastOutputLine()
        for line in child.output_lines():
            last_output.see(line)
            self._emit(TrainingEvent("log", message=line))
        return self._outcome(child.wait(), last_output.line)

    def _spawn(self) -> ChildProcess:
        with self._lock:
            if self._abort.is_set():
                raise _Aborted
            argv = [*self.command, "train", "--ml-root", str(self.work_dir)]
            self._child = ChildProcess(argv, cwd=self.work_dir)
            return self._child

    def _outcome(self, returncode: int, last_line: str) -> TrainingEvent:
        if self._stop_requested:
            return TrainingEvent("stopped", message="Training job stopped")
        if self._input_error is not None:
            return TrainingEvent("failed", message=f"ClientError: {self._input_error}")
        if returncode != 0:
            return TrainingEvent("failed", message=self._failure_reason(returncode, last_line))
        if not any(self.model_dir.iterdir()):
            return TrainingEvent(
                "failed",
                message="AlgorithmError: the training process exited with code 0 "
                f"but wrote nothing to {CONTAINER_ROOT}/model",
            )
        self._emit(
            TrainingEvent(
                "status", status="Uploading", message="Uploading generated training model"
            )
        )
        model_path = pack(self.model_dir, self.work_dir / "output" / "model.tar.gz")
        return TrainingEvent("completed", message="Training job completed", model_path=model_path)

    def _failure_reason(self, returncode: int, last_line: str) -> str:
        failure_file = self.work_dir / "output" / "failure"
        if failure_file.is_file():
            reason = failure_file.read_text(encoding="utf-8", errors="replace").strip()
            if reason:
                return reason[:FAILURE_REASON_LIMIT]
        reason = f"AlgorithmError: {describe_exit(returncode, 'training process')}"
        if last_line:
            reason += f"; last output: {self._without_host_paths(last_line)}"
        return reason[:FAILURE_REASON_LIMIT]

    def _without_host_paths(self, text: str) -> str:
        """``text`` with the work folder named as the container names it (``/opt/ml``)."""
        return text.replace(str(self.work_dir.resolve()), CONTAINER_ROOT).replace(
            str(self.work_dir), CONTAINER_ROOT
        )

    def _fail_input(self, reason: str) -> None:
        """A Pipe feeder could not read an object: fail the job rather than train on less."""
        with self._lock:
            if self._input_error is None:
                self._input_error = reason
            child = self._child
        if child is not None:
            child.signal_group(signal.SIGKILL)

    def _write_config(self) -> None:
        config_dir = self.work_dir / "input" / "config"
        for folder in (config_dir, self.data_dir, self.model_dir, self.work_dir / "output"):
            folder.mkdir(parents=True, exist_ok=True)
        input_config = {
            channel.name: {
                **({"ContentType": channel.content_type} if channel.content_type else {}),
                "TrainingInputMode": channel.input_mode,
                "S3DistributionType": "FullyReplicated",
                "RecordWrapperType": "None",
            }
            for channel in self.channels
        }
        resource_config = {
            "current_host": "algo-1",
            "hosts": ["algo-1"],
            "network_interface_name": "eth0",
        }
        for name, document in (
            ("hyperparameters.json", self.hyperparameters),
            ("inputdataconfig.json", input_config),
            ("resourceconfig.json", resource_config),
        ):
            (config_dir / name).write_text(json.dumps(document, indent=1))

    def _download(self, channel: ChannelData) -> None:
        """Copy each object of a File-mode channel to ``input/data/<channel>/<key>``."""
        _check_file_layout(channel)
        channel_dir = (self.data_dir / channel.name).resolve()
        channel_dir.mkdir(parents=True, exist_ok=True)
        for key, opener in channel.objects:
            target = (channel_dir / key).resolve()
            if not target.is_relative_to(channel_dir) or target == channel_dir:
                raise InputError(f"channel {channel.name!r}: S3 key {key!r} is not a file name")
            if key.endswith("/"):  # a zero-byte "folder" object
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as sink:
                for chunk in _read_object(channel.name, key, opener):
                    if self._abort.is_set():
                        raise _Aborted
                    sink.write(chunk)


class LastOutputLine:
    """The last meaningful line of a process's output, for its failure reason.

    Blank lines are skipped. Of a Python crash dump (``Fatal Python error: ...``, then
    thread stacks and the ``Extension modules: ...`` list) only its first line counts,
    because it names the error.
    """

    FATAL_ERROR = "Fatal Python error:"

    def __init__(self):
        self.line = ""
        self._in_crash_dump = False

    def see(self, line: str) -> None:
        """Take the next output line (without its line end) into account."""
        if line.startswith(self.FATAL_ERROR):
            self.line, self._in_crash_dump = line.strip(), True
        elif line.strip() and not self._in_crash_dump:
            self.line = line.strip()


def _check_file_layout(channel: ChannelData) -> None:
    """InputError if two keys of a File-mode channel need one path as a file and a folder.

    S3 may hold both ``a`` and ``a/b``; a file system cannot. AWS documents no message for
    this; failing the job with a ClientError naming the two keys is our choice.
    """
    files = {key for key, _ in channel.objects if not key.endswith("/")}
    for key in sorted(files):
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in files:
                raise InputError(
                    f"channel {channel.name!r}: S3 keys {folder!r} and {key!r} cannot both be "
                    f"downloaded in File mode: {folder!r} would have to be a file and a folder"
                )


def _read_object(channel: str, key: str, opener: Callable[[], BinaryIO]):
    """Yield the bytes of one S3 object in chunks of at most ``COPY_CHUNK`` bytes."""
    try:
        with contextlib.closing(opener()) as stream:
            while chunk := stream.read(COPY_CHUNK):
                yield chunk
    except Exception as error:  # whatever the object store raised: the input is unreadable
        raise InputError(
            f"channel {channel!r}: could not read S3 object {key!r}: {error_text(error)}"
        ) from None


class PipeFeeder:
    """Feeds one Pipe-mode channel, pass ``n`` through the FIFO ``<data_dir>/<channel>_<n>``.

    Each pass streams all objects in key order, then closes the FIFO (end of pass). FIFO
    ``n + 1`` exists before pass ``n`` starts, so the reader finds it however pass ``n``
    ends. A reader that closes a pass early ends that pass. The feeder waits for a reader
    by polling a non-blocking open (at most ``max_poll`` s apart), so it never hangs when the
    algorithm exits; it returns once ``abort`` is set. A failing object is reported
    through ``on_error(reason)``.
    """

    def __init__(
        self,
        channel: ChannelData,
        data_dir: Path,
        abort: threading.Event,
        on_error: Callable[[str], None],
        max_poll: float = 0.02,
    ):
        self.channel = channel
        self.data_dir = data_dir
        self.abort = abort
        self.on_error = on_error
        self.max_poll = max_poll
        self.passes_fed = 0
        self._make_fifo(0)
        self._thread = threading.Thread(target=self._run, name=f"pipe-{channel.name}", daemon=True)

    def fifo(self, n: int) -> Path:
        return self.data_dir / f"{self.channel.name}_{n}"

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the feeder to end (a source stuck in ``read`` may not)."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning(
                "pipe feeder for channel %r is stuck reading its source", self.channel.name
            )

    def _make_fifo(self, n: int) -> None:
        path = self.fifo(n)
        if not path.exists():
            os.mkfifo(path, 0o600)

    def _run(self) -> None:
        try:
            while True:
                self._make_fifo(self.passes_fed + 1)
                fd = self._open_when_read(self.fifo(self.passes_fed))
                if fd is None:
                    return
                try:
                    self._feed(fd)
                finally:
                    os.close(fd)
                    self.fifo(self.passes_fed).unlink(missing_ok=True)
                self.passes_fed += 1
        except InputError as error:
            self.on_error(str(error))
        except OSError as error:
            self.on_error(
                f"channel {self.channel.name!r}: could not feed its FIFO: {error_text(error)}"
            )

    def _open_when_read(self, path: Path) -> int | None:
        """Open ``path`` for writing once a reader has opened it; None if aborted first.

        Polls after 1 ms, then twice as long each time, up to ``max_poll`` seconds.
        """
        delay = 0.001
        while not self.abort.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise
                self.abort.wait(delay)
                delay = min(2 * delay, self.max_poll)
                continue
            os.set_blocking(fd, True)
            return fd
        return None

    def _feed(self, fd: int) -> None:
        """Write every object of the channel to ``fd``; stop early if the reader goes away."""
        for key, opener in self.channel.objects:
            for chunk in _read_object(self.channel.name, key, opener):
                if self.abort.is_set():
                    return
                try:
                    _write_all(fd, chunk)
                except BrokenPipeError:
                    return


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
