"""The inference HTTP server: SageMaker's container contract for a trained linear-learner.

``GET /ping`` answers 200 (the model is loaded before the port opens), ``POST /invocations``
scores CSV, JSON, JSON Lines or RecordIO-protobuf rows and answers JSON (the default), JSON
Lines or RecordIO-protobuf (see ``payloads`` and ``content_types``), and
``GET /execution-parameters`` gives batch transform its defaults. A request that cannot be scored
gets a 4xx with a plain-text reason; the server keeps serving.

Usage::

    python -m local_aws.algorithms.linear_learner.serve --model-dir DIR [--port 8080] [--host H]

``--model-dir`` is a directory holding ``model.json`` or ``model.tar.gz``, or either file itself.
Port 0 picks a free port. Once listening, the server prints one line to stdout,
``Serving on http://HOST:PORT``. SIGTERM or SIGINT stops it gracefully: it stops accepting
connections, answers POSTs that arrive from then on with 503, lets the ones in progress finish
(up to ``DRAIN_TIMEOUT`` seconds) and exits with status 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socketserver
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from threadpoolctl import threadpool_limits

from . import artifact
from .content_types import request_format, response_format
from .payloads import InvocationError, decode, encode_predictions

DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_PORT = 8080
MAX_PAYLOAD_BYTES = 100 * 1024 * 1024  # batch transform's largest MaxPayloadInMB
EXECUTION_PARAMETERS = {
    "MaxConcurrentTransforms": os.cpu_count() or 1,
    "BatchStrategy": "MULTI_RECORD",
    "MaxPayloadInMB": 6,
}
_GET_ROUTES = ("/ping", "/execution-parameters")
DRAIN_TIMEOUT = 30.0
"""Seconds a stopping server waits for the POST requests in progress to be answered."""
STOPPING_MESSAGE = b"the server is shutting down and accepts no new invocations"
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def load_model(model_dir: str | Path) -> artifact.LinearModel:
    """The model in ``model_dir`` (``model.json`` or ``model.tar.gz``, or that file itself)."""
    path = Path(model_dir)
    tarball = path / "model.tar.gz"
    if path.is_dir() and not (path / artifact.MODEL_FILE).exists() and tarball.exists():
        path = tarball
    return artifact.load(path)


def invoke(
    model: artifact.LinearModel, body: bytes, content_type: str | None, accept: str | None
) -> tuple[str, bytes]:
    """Score one ``/invocations`` request: returns (response Content-Type, response body).

    Raises InvocationError (status 400, 406 or 415) for a request that cannot be answered.
    """
    request_type = request_format(content_type)
    response_type = response_format(accept)
    features = decode(request_type, body, model.feature_dim)
    return response_type, encode_predictions(response_type, model.predictions(features))


class InferenceServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server scoring requests with ``model``; bind with port 0 for any port.

    Handler threads are daemons so that idle keep-alive connections never delay an exit; the
    POST requests in progress are counted instead, so that ``drain`` can wait for them before
    the interpreter shuts down under threads still inside numpy or pyarrow.
    """

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, model: artifact.LinearModel, address: tuple[str, int]):
        self.model = model
        self.stopping = False
        self._posts_in_progress = 0
        self._post_ended = threading.Condition()
        super().__init__(address, InvocationsHandler)

    def begin_post(self) -> bool:
        """Count one more POST in progress; False (and nothing counted) once stopping."""
        with self._post_ended:
            if self.stopping:
                return False
            self._posts_in_progress += 1
            return True

    def end_post(self) -> None:
        """The POST counted by ``begin_post`` has been answered."""
        with self._post_ended:
            self._posts_in_progress -= 1
            if not self._posts_in_progress:
                self._post_ended.notify_all()

    def drain(self, timeout: float = DRAIN_TIMEOUT) -> int:
        """Refuse new POSTs, close the listening socket, then wait up to ``timeout`` s for the
        POSTs in progress; returns how many are left."""
        with self._post_ended:
            self.stopping = True
        self.server_close()
        with self._post_ended:
            self._post_ended.wait_for(lambda: not self._posts_in_progress, timeout)
            return self._posts_in_progress

    def server_bind(self):
        # HTTPServer.server_bind looks the host name up in DNS, which can stall; skip that.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self) -> str:
        return f"http://{self.server_name}:{self.server_port}"


class InvocationsHandler(BaseHTTPRequestHandler):
    """Routes ``/ping``, ``/execution-parameters`` and ``/invocations``; keeps connections open."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: InferenceServer

    def do_GET(self):
        route = self.path.partition("?")[0]
        if route == "/ping":
            self._answer(HTTPStatus.OK, "text/plain", b"")
        elif route == "/execution-parameters":
            parameters = json.dumps(EXECUTION_PARAMETERS).encode()
            self._answer(HTTPStatus.OK, "application/json", parameters)
        else:
            self._refuse_route(route, "POST" if route == "/invocations" else None)

    def do_POST(self):
        if not self.server.begin_post():
            self._refuse_while_stopping()
            return
        try:
            self._answer_post()
        finally:
            self.server.end_post()

    def _refuse_while_stopping(self) -> None:
        """503 and close; the body is read first so that the client sees the answer whole."""
        self.close_connection = True
        try:
            self._read_body()
        except InvocationError:
            pass
        self._answer(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", STOPPING_MESSAGE)

    def _answer_post(self) -> None:
        route = self.path.partition("?")[0]
        try:
            body = self._read_body()
        except InvocationError as error:
            self.close_connection = True
            self._answer(error.status, "text/plain", error.message.encode())
            return
        if route != "/invocations":
            self._refuse_route(route, "GET" if route in _GET_ROUTES else None)
            return
        try:
            headers = self.headers
            content_type, answer = invoke(
                self.server.model, body, headers.get("Content-Type"), headers.get("Accept")
            )
        except InvocationError as error:
            self._answer(error.status, "text/plain", error.message.encode())
        except Exception as error:  # a bug must not stop the server
            self.log_error("scoring failed: %r", error)
            self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain", repr(error).encode())
        else:
            self._answer(HTTPStatus.OK, content_type, answer)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = _size(self.headers.get("Content-Length", "0"), "Content-Length")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            size = _size(self.rfile.readline(1024).split(b";")[0], "a chunk size", base=16)
            if size == 0:
                while self.rfile.readline(65537).strip():  # trailer fields, up to the blank line
                    pass
                return b"".join(chunks)
            total += size
            _check_limit(total, "the chunked body")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _refuse_route(self, route: str, allowed_method: str | None) -> None:
        if allowed_method is None:
            self._answer(HTTPStatus.NOT_FOUND, "text/plain", f"no route {route}".encode())
        else:
            message = f"{route} accepts {allowed_method} only".encode()
            self._answer(HTTPStatus.METHOD_NOT_ALLOWED, "text/plain", message, allow=allowed_method)

    def _answer(self, status: int, content_type: str, body: bytes, allow: str | None = None):
        status = HTTPStatus(status)
        if status >= 400:
            self.log_error("%s %s -> %d %s", self.command, self.path, status, body.decode()[:300])
        head = (
            f"{self.protocol_version} {status.value} {status.phrase}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            + (f"Allow: {allow}\r\n" if allow else "")
            + ("Connection: close\r\n" if self.close_connection else "")
            + "\r\n"
        )
        self.wfile.write(head.encode() + body)


def _size(text: str | bytes, what: str, base: int = 10) -> int:
    """A byte count read from the request; 400 if malformed, 413 if above MAX_PAYLOAD_BYTES."""
    try:
        size = int(text, base)
    except ValueError:
        size = -1
    if size < 0:
        raise InvocationError(f"{what} is not a byte count: {text!r}")
    return _check_limit(size, what)


def _check_limit(size: int, what: str) -> int:
    if size > MAX_PAYLOAD_BYTES:
        raise InvocationError(
            f"{what} has {size} bytes; the limit is {MAX_PAYLOAD_BYTES}", status=413
        )
    return size


def run(model_dir: str | Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
    """Load the model, listen on ``host:port`` and serve until SIGTERM or SIGINT.

    Raises artifact.ArtifactError if the model cannot be loaded, OSError if the port is taken.
    """
    serve_until_stopped(InferenceServer(load_model(model_dir), (host, port)))


def serve_until_stopped(server: InferenceServer) -> None:
    """Print ``Serving on <url>`` to stdout, serve until SIGTERM or SIGINT, close ``server``.

    Stopping refuses new POSTs, closes the listening socket and waits (``InferenceServer.drain``)
    until the POSTs in progress are answered; further SIGTERM or SIGINT are ignored meanwhile.
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    original_handlers = {signum: signal.getsignal(signum) for signum in _STOP_SIGNALS}
    if in_main_thread:
        _handle_stop_signals(_stop_once)
    # One BLAS thread: scoring is a matrix-vector product bound by memory, and idle BLAS
    # threads spinning after it take the cores that the CSV parser and other requests need.
    blas_limit = threadpool_limits(limits=1, user_api="blas")
    try:
        print(f"Serving on {server.url}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if in_main_thread:
            _handle_stop_signals(signal.SIG_IGN)
        left = server.drain()
        if left:
            print(f"stopping with {left} requests still in progress", file=sys.stderr)
        blas_limit.restore_original_limits()
        if in_main_thread:
            for signum, handler in original_handlers.items():
                signal.signal(signum, handler)


def _handle_stop_signals(handler) -> None:
    for signum in _STOP_SIGNALS:
        signal.signal(signum, handler)


def _stop_once(signum, frame):
    """Leave ``serve_forever`` on the first SIGTERM or SIGINT; ignore the ones after it."""
    _handle_stop_signals(signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--model-dir DIR [--port N] [--host H]``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m local_aws.algorithms.linear_learner.serve",
        description="Serve a trained linear-learner over HTTP (SageMaker inference contract).",
    )
    parser.add_argument(
        "--model-dir",
        default=DEFAULT_MODEL_DIR,
        help="directory holding model.json or model.tar.gz, or either file (default %(default)s)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    arguments = parser.parse_args(argv)
    try:
        model = load_model(arguments.model_dir)
    except (artifact.ArtifactError, OSError, KeyError, TypeError, ValueError) as error:
        print(f"error: cannot load a model from {arguments.model_dir}: {error}", file=sys.stderr)
        return 1
    try:
        server = InferenceServer(model, (arguments.host, arguments.port))
    except OSError as error:
        address = f"{arguments.host}:{arguments.port}"
        print(f"error: cannot listen on {address}: {error}", file=sys.stderr)
        return 1
    serve_until_stopped(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
