"""Endpoints: the model server runs as a child process; requests reach it over keep-alive HTTP.

``EndpointWorker.start`` extracts ``model.tar.gz`` into ``work_dir/model``, starts
``<command> --model-dir work_dir/model --port 0``, reads ``Serving on http://HOST:PORT``
from its output and polls ``GET /ping`` until it answers 200. ``invoke`` forwards one
``POST /invocations`` over a pool of persistent connections. ``work_dir`` is removed once the
server is gone: stopped, killed, failed to start, or ended by itself.
"""

from __future__ import annotations

import http.client
import logging
import re
import shutil
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from local_aws.algorithms.linear_learner.artifact import ArtifactError, extract
from local_aws.workers.processes import ChildProcess, describe_exit, register, unregister

logger = logging.getLogger(__name__)

LINEAR_LEARNER_SERVE = (sys.executable, "-m", "local_aws.algorithms.linear_learner.serve")
"""The serving command; the worker appends ``--model-dir <dir> --port 0``."""

SERVING_LINE = re.compile(r"Serving on http://(\S+):(\d+)")
PING_INTERVAL = 0.02
"""Seconds between two ``GET /ping`` while the endpoint starts."""
PING_TIMEOUT = 2.0
"""SageMaker allows a container 2 s to answer a ping."""
INVOCATION_TIMEOUT = 60.0
"""SageMaker allows a container 60 s to answer an invocation."""
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
OUTPUT_TAIL = 40
"""Lines of the server's output kept to explain a failure."""
CONTAINER_ROOT = "/opt/ml"
"""How the server's output names the work folder: as in a SageMaker container, never by its
path on this machine."""


class WorkerError(RuntimeError):
    """The endpoint process could not be started; the message says why, with its output.

    ``reason`` says why in one line, without the output or any path on this machine.
    """

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


class ModelArchiveError(WorkerError):
    """The model artifact is not a tar archive that can be extracted."""


class WorkerUnavailable(RuntimeError):
    """The endpoint process is gone or does not answer; the message says why."""


@dataclass(frozen=True)
class InvokeResult:
    """The model server's answer: HTTP status, body bytes and content type."""

    status: int
    body: bytes
    content_type: str
    custom_attributes: str | None = None


class ConnectionPool:
    """Persistent HTTP/1.1 connections to one server, shared safely between threads.

    A request takes an idle connection (or opens one), and gives it back afterwards
    unless the server closes it. A request that fails on a reused connection is sent
    once more on a fresh one, since the server may have dropped an idle connection.
    """

    def __init__(self, host: str, port: int, timeout: float, max_idle: int = 16):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.max_idle = max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """Send one request; return the response (headers, status) and its body."""
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is not None:
            try:
                return self._exchange(connection, method, path, body, headers or {})
            except (ConnectionError, http.client.HTTPException):
                pass
        return self._exchange(self._connect(), method, path, body, headers or {})

    def close(self) -> None:
        """Close every idle connection; connections in use close when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _exchange(self, connection, method, path, body, headers):
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            connection.close()
            raise
        with self._lock:
            keep = not response.will_close and not self._closed and len(self._idle) < self.max_idle
            if keep:
                self._idle.append(connection)
        if not keep:
            connection.close()
        return response, data


class EndpointWorker:
    """Runs one endpoint's model server in a child process and forwards invocations to it.

    ``on_exit(reason)`` is called (from a watcher thread) when the process ends after a
    successful ``start`` without ``stop`` or ``kill`` having been called. ``on_log(line)``,
    when given, receives each line the server prints, as it comes, from that same thread
    (for the endpoint's CloudWatch log). ``command`` is the serving command line without
    ``--model-dir DIR --port 0``; ``stop_grace`` is how many seconds the server gets between
    SIGTERM and SIGKILL on ``stop()``.
    """

    def __init__(
        self,
        name: str,
        model_tar: Path,
        work_dir: Path,
        on_exit: Callable[[str], None],
        *,
        command: Sequence[str] = LINEAR_LEARNER_SERVE,
        stop_grace: float = 5.0,
        on_log: Callable[[str], None] | None = None,
    ):
        self.name = name
        self.model_tar = Path(model_tar)
        self.work_dir = Path(work_dir)
        self.command = tuple(command)
        self.stop_grace = stop_grace
        self._on_exit = on_exit
        self._on_log = on_log
        self._lock = threading.Lock()
        self._child: ChildProcess | None = None
        self._pool: ConnectionPool | None = None
        self._address: tuple[str, int] | None = None
        self._listening = threading.Event()
        self._ended = threading.Event()
        self._ready = False
        self._stopping = False
        self._in_flight = 0
        self._drained = threading.Condition(self._lock)
        self._exit_reason: str | None = None
        self._tail: deque[str] = deque(maxlen=OUTPUT_TAIL)
        self._watcher: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running model server."""
        if self._address is None:
            raise WorkerUnavailable(f"endpoint {self.name!r}: the model server has not started")
        host, port = self._address
        return f"http://{host}:{port}"

    @property
    def pid(self) -> int | None:
        """Process id of the model server; None before start and once it ended."""
        child = self._child
        return child.pid if child is not None and child.returncode is None else None

    @property
    def output_tail(self) -> list[str]:
        """The last lines the model server printed (at most ``OUTPUT_TAIL``)."""
        return list(self._tail)

    def start(self, timeout: float = 30) -> None:
        """Start the model server and return once ``GET /ping`` answers 200.

        Raises ``WorkerError`` (with the server's last output) if the model cannot be
        extracted, the process ends, or it is not healthy within ``timeout`` seconds; the
        process is gone by then.
        """
        deadline = time.monotonic() + timeout
        try:
            self._launch(self._extract_model())
            self._wait_until_healthy(deadline)
        except WorkerError:
            if self._child is None:
                shutil.rmtree(self.work_dir, ignore_errors=True)
            else:
                self._shutdown(self._child.kill)
            raise

    def _launch(self, model_dir: Path) -> None:
        argv = [*self.command, "--model-dir", str(model_dir), "--port", "0"]
        with self._lock:
            if self._stopping:
                raise WorkerError(f"endpoint {self.name!r} was stopped before it started")
            self._child = ChildProcess(argv, cwd=self.work_dir)
        register(self)
        self._watcher = threading.Thread(
            target=self._watch, name=f"endpoint-{self.name}", daemon=True
        )
        self._watcher.start()

    def invoke(
        self,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        custom_attributes: str | None = None,
    ) -> InvokeResult:
        """Forward one invocation; ``WorkerUnavailable`` if the server is gone or stopping."""
        with self._lock:
            pool = self._pool
            if pool is None or self._stopping or self._ended.is_set():
                raise WorkerUnavailable(self._unavailable_reason())
            self._in_flight += 1
        try:
            return self._forward(pool, body, content_type, accept, custom_attributes)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._drained.notify_all()

    @property
    def in_flight(self) -> int:
        """How many invocations are being answered right now."""
        return self._in_flight

    def _forward(self, pool, body, content_type, accept, custom_attributes) -> InvokeResult:
        headers = {}
        for header, value in (
            ("Content-Type", content_type),
            ("Accept", accept),
            (CUSTOM_ATTRIBUTES, custom_attributes),
        ):
            if value:
                headers[header] = value
        try:
            response, data = pool.request("POST", "/invocations", body, headers)
        except TimeoutError:
            raise WorkerUnavailable(
                f"endpoint {self.name!r}: the model server did not answer within {pool.timeout:g} s"
            ) from None
        except (OSError, http.client.HTTPException) as error:
            self._ended.wait(0.5)  # the watcher sees a dead process within a few ms
            raise WorkerUnavailable(self._unavailable_reason(error)) from None
        return InvokeResult(
            status=response.status,
            body=data,
            content_type=response.getheader("Content-Type", "application/octet-stream"),
            custom_attributes=response.getheader(CUSTOM_ATTRIBUTES),
        )

    def stop(self) -> None:
        """Refuse new invocations, let those in flight finish, then SIGTERM the server (SIGKILL
        after ``stop_grace`` seconds) and wait until it is gone."""
        with self._lock:
            self._stopping = True
            self._drained.wait_for(lambda: self._in_flight == 0, INVOCATION_TIMEOUT)
        self._shutdown(lambda: self._child.terminate(self.stop_grace))

    def kill(self) -> None:
        """Server shutdown: SIGKILL the model server at once and wait until it is gone."""
        self._shutdown(lambda: self._child.kill())

    def _shutdown(self, end_process: Callable[[], object]) -> None:
        with self._lock:
            self._stopping = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        if self._child is not None:
            end_process()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join()
        unregister(self)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _extract_model(self) -> Path:
        model_dir = self.work_dir / "model"
        shutil.rmtree(model_dir, ignore_errors=True)
        model_dir.mkdir(parents=True)
        try:
            extract(self.model_tar, model_dir)
        except ArtifactError as error:
            raise ModelArchiveError(
                f"endpoint {self.name!r}: cannot extract the model: {error}", reason=str(error)
            ) from None
        return model_dir

    def _wait_until_healthy(self, deadline: float) -> None:
        if not self._listening.wait(max(0.0, deadline - time.monotonic())) or not self._address:
            raise self._start_error("did not print 'Serving on http://HOST:PORT'")
        host, port = self._address
        ping = ConnectionPool(host, port, timeout=PING_TIMEOUT, max_idle=1)
        try:
            while True:
                status = self._ping(ping)
                if status == 200:
                    break
                if self._ended.is_set():
                    raise self._start_error("ended before answering GET /ping")
                if time.monotonic() >= deadline:
                    raise self._start_error(f"GET /ping did not answer 200 (last: {status})")
                time.sleep(PING_INTERVAL)
        finally:
            ping.close()
        with self._lock:
            if self._stopping:
                raise WorkerError(f"endpoint {self.name!r} was stopped while it started")
            if self._ended.is_set():
                raise self._start_error("ended right after answering GET /ping")
            self._ready = True
            self._pool = ConnectionPool(host, port, timeout=INVOCATION_TIMEOUT)

    @staticmethod
    def _ping(ping: ConnectionPool) -> int | str:
        try:
            return ping.request("GET", "/ping")[0].status
        except (OSError, http.client.HTTPException) as error:
            return type(error).__name__

    def _start_error(self, what: str) -> WorkerError:
        if self._ended.is_set():
            what = f"{what}; {self._exit_reason}"
        tail = "\n".join(self._tail)
        return WorkerError(
            f"endpoint {self.name!r}: the model server {what}. Output:\n{tail}",
            reason=f"the model server {what}",
        )

    def _unavailable_reason(self, error: Exception | None = None) -> str:
        if self._exit_reason is not None:
            return f"endpoint {self.name!r} is unavailable: {self._exit_reason}"
        if error is not None:
            return f"endpoint {self.name!r} is unavailable: {type(error).__name__}: {error}"
        if self._stopping:
            return f"endpoint {self.name!r} is unavailable: it is being stopped"
        return f"endpoint {self.name!r} is unavailable: its model server is not running"

    def _watch(self) -> None:
        """Read the server's output (kept as a tail) until it ends, then report its exit.

        A server that ended unasked leaves nothing to serve: its work folder goes at once.
        """
        child = self._child
        for raw_line in child.output_lines():
            line = raw_line.replace(str(self.work_dir), CONTAINER_ROOT)
            self._tail.append(line)
            if self._on_log is not None:
                self._report(self._on_log, line)
            if self._address is None and (match := SERVING_LINE.search(line)):
                self._address = (match.group(1), int(match.group(2)))
                self._listening.set()
        returncode = child.wait()
        child.close()
        with self._lock:
            self._exit_reason = describe_exit(returncode, "model server process")
            self._ended.set()
            report = self._ready and not self._stopping
        self._listening.set()
        unregister(self)
        if report:
            self._report(self._on_exit, self._exit_reason)
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def _report(self, handler: Callable[[str], None], text: str) -> None:
        try:
            handler(text)
        except Exception:
            logger.exception("endpoint %s: the handler %r failed on %r", self.name, handler, text)
