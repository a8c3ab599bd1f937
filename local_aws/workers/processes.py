"""Child processes that cannot outlive the emulator.

Every training job and endpoint runs as a child process in its own process group, so a crash
in one never takes the server down and one signal stops it with anything it started. On Linux
the child also asks the kernel (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) to kill it when the
server dies, even by ``kill -9``.

The kernel sends that signal when the *thread* that forked the child ends, not the process.
The server answers requests on short-lived threads, so every child is forked from one
long-lived spawner thread instead of from the caller's thread.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import ctypes
import os
import selectors
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from local_aws.environment import python_environment

READ_CHUNK = 64 * 1024
"""Bytes read from a child's output at a time; also the longest line kept whole."""

_PR_SET_PDEATHSIG = 1
_spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="child-spawner")


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_prctl = _load_prctl()


def _die_with_parent(parent_pid: int):
    """Return a ``preexec_fn`` that makes the child receive SIGKILL when ``parent_pid`` dies."""

    def preexec() -> None:
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def describe_exit(returncode: int, what: str) -> str:
    """Say how a process ended, e.g. ``the training process was killed by signal 9 (SIGKILL)``."""
    if returncode < 0:
        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown signal"
        return f"the {what} was killed by signal {number} ({name})"
    return f"the {what} exited with code {returncode}"


def error_text(error: BaseException) -> str:
    """What went wrong, for a client: without the file names an OSError carries (host paths)."""
    if isinstance(error, OSError) and (error.filename or error.filename2):
        return error.strerror or type(error).__name__
    return str(error) or type(error).__name__


def child_environment() -> dict[str, str]:
    """The server's environment, unbuffered output, with the project importable."""
    return {**python_environment(), "PYTHONUNBUFFERED": "1"}


class ChildProcess:
    """A child process leading its own process group, its stdout and stderr merged in one pipe.

    Parameters
    ----------
    argv : the command line.
    cwd : working directory of the child.
    """

    def __init__(self, argv: Sequence[str], cwd: str | Path | None = None):
        def popen() -> subprocess.Popen:
            return subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=child_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),
            )

        self.popen = _spawner.submit(popen).result()
        self.pid = self.popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal)."""
        return self.popen.poll()

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the whole process group; nothing happens once it is gone."""
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds for the process to end; its exit status or None."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self, grace: float) -> int:
        """SIGTERM the group, SIGKILL it after ``grace`` seconds; return the exit status."""
        self.signal_group(signal.SIGTERM)
        returncode = self.wait(grace)
        if returncode is None:
            self.kill()
        return self.popen.wait()

    def kill(self) -> int:
        """SIGKILL the group at once and reap the process; return the exit status."""
        self.signal_group(signal.SIGKILL)
        returncode = self.popen.wait()
        self.signal_group(signal.SIGKILL)  # anything the leader forked while dying
        return returncode

    def close(self) -> None:
        """Close our end of the output pipe (after the output has been read)."""
        if self.popen.stdout is not None:
            self.popen.stdout.close()

    def output_lines(self, poll: float = 0.1, linger: float = 2.0) -> Iterator[str]:
        """Yield the child's output line by line as it comes, without the line end.

        Ends at end of output. When the leader has exited but something it started still
        holds the pipe open, the rest of the group is killed, and reading stops after
        ``linger`` silent seconds at the latest. The last line is yielded even without a
        final newline; a line longer than ``READ_CHUNK`` bytes comes in pieces so memory
        stays bounded.
        """
        fd = self.popen.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            yield from self._read_lines(fd, selector, poll, linger)

    def _read_lines(self, fd, selector, poll: float, linger: float) -> Iterator[str]:
        pending = b""
        silent_since_exit = 0.0
        while True:
            if not selector.select(poll):
                if self.popen.poll() is not None:
                    self.signal_group(signal.SIGKILL)
                    silent_since_exit += poll
                    if silent_since_exit >= linger:
                        break
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                yield from _pieces(line)
            while len(pending) >= READ_CHUNK:
                yield _decode(pending[:READ_CHUNK])
                pending = pending[READ_CHUNK:]
        if pending:
            yield _decode(pending)


def _pieces(line: bytes) -> Iterator[str]:
    """``line`` decoded, in pieces of at most ``READ_CHUNK`` bytes (an empty line stays one)."""
    for start in range(0, max(len(line), 1), READ_CHUNK):
        yield _decode(line[start : start + READ_CHUNK])


def _decode(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", errors="replace")


class Worker(Protocol):
    def kill(self) -> None: ...


_live_workers: weakref.WeakSet[Worker] = weakref.WeakSet()
_live_lock = threading.Lock()


def register(worker: Worker) -> None:
    """Remember ``worker`` so that ``kill_all`` can stop it at shutdown."""
    with _live_lock:
        _live_workers.add(worker)


def unregister(worker: Worker) -> None:
    """Forget ``worker`` once its process has ended."""
    with _live_lock:
        _live_workers.discard(worker)


def kill_all() -> int:
    """Kill every live training job and endpoint process and wait for them; return how many."""
    with _live_lock:
        workers = list(_live_workers)
    for worker in workers:
        worker.kill()
    return len(workers)


atexit.register(kill_all)
