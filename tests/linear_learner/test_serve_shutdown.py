"""Stopping the inference server while it scores: SIGTERM lets the requests in progress finish.

One test holds a chunked request open across SIGTERM (the server has started it: it sent
``100 Continue``), to see new work refused (no new connections, 503 on a keep-alive one)
while that request still gets its scores. The
other repeats a stress cycle: start the real server, put several large ``/invocations``
requests in flight, send SIGTERM, ask once more on an idle and on a new connection. Every
request must get a whole, correct answer (200 with the right scores) or a whole 503, or find
the server gone before it answered anything; the server must exit with status 0 and no fatal
error.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time

import numpy as np
import pytest

from local_aws.algorithms.linear_learner import artifact
from local_aws.algorithms.linear_learner.serve import STOPPING_MESSAGE

from .test_serve_http import BIAS, WEIGHTS, expected_scores, running_server

CYCLES = 4
IN_FLIGHT = 6
ROWS = 60_000
GONE_BEFORE_ANSWERING = (ConnectionError, http.client.RemoteDisconnected)
"""What a client sees when the server is gone before sending any byte of an answer."""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("model")
    artifact.save(artifact.LinearModel(weights=WEIGHTS, bias=BIAS), directory)
    return directory


@pytest.fixture(scope="module")
def large_request():
    """(CSV body of ROWS rows, about 2 MB; the scores expected for it, shape (ROWS,))."""
    rows = np.random.default_rng(3).uniform(-100, 100, size=(ROWS, len(WEIGHTS))).round(3)
    body = "\n".join(",".join(f"{value:g}" for value in row) for row in rows).encode()
    return body, expected_scores(rows)


class Exchange:
    """One POST on an open connection, run in a thread: its answer or the error it met."""

    def __init__(self, connection: http.client.HTTPConnection, body: bytes):
        self.connection = connection
        self.body = body
        self.sent = threading.Event()
        self.answer: tuple[int, bytes] | None = None
        self.answered_at = 0.0
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.connection.request("POST", "/invocations", self.body, {"Content-Type": "text/csv"})
            self.sent.set()
            response = self.connection.getresponse()
            self.answer = response.status, response.read()
            self.answered_at = time.monotonic()
        except Exception as error:
            self.error = error
        finally:
            self.sent.set()
            self.connection.close()

    def result(self) -> tuple[int, bytes] | None:
        """The (status, body) answered, or None if the server was gone before answering."""
        self.thread.join(30)
        assert not self.thread.is_alive(), "no answer within 30 s"
        assert self.answer is not None or isinstance(self.error, GONE_BEFORE_ANSWERING), (
            f"broken answer: {self.error!r}"
        )
        return self.answer


def check_answer(answer, expected) -> None:
    status, body = answer
    if status == 503:
        assert body == STOPPING_MESSAGE
    else:
        assert status == 200, body
        scores = [prediction["score"] for prediction in json.loads(body)["predictions"]]
        np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-6)


def connect(port: int) -> http.client.HTTPConnection:
    """A keep-alive connection the server has accepted (a ping was answered on it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/ping")
    assert connection.getresponse().read() == b""
    return connection


def stop_during_requests(model_dir, stderr_path, large_request) -> int:
    """One cycle; returns how many large requests were answered 200 after SIGTERM was sent."""
    body, expected = large_request
    with running_server(model_dir, stderr_path) as server:
        port, process = server.port, server.process
        connections = [connect(port) for _ in range(IN_FLIGHT + 1)]
        in_flight = [Exchange(connection, body) for connection in connections[:IN_FLIGHT]]
        for exchange in in_flight:
            exchange.sent.wait(30)
        os.kill(process.pid, signal.SIGTERM)
        signalled_at = time.monotonic()
        late = Exchange(connections[-1], b"1,2,3,4")
        new = Exchange(http.client.HTTPConnection("127.0.0.1", port, timeout=30), b"1,2,3,4")
        for exchange in in_flight:
            answer = exchange.result()
            assert answer is not None, f"a request in flight was dropped: {exchange.error!r}"
            check_answer(answer, expected)
        for exchange in (late, new):
            if (answer := exchange.result()) is not None:
                check_answer(answer, expected_scores([[1, 2, 3, 4]]))
        assert process.wait(timeout=30) == 0, stderr_path.read_text()
        errors = stderr_path.read_text()
        assert "Fatal Python error" not in errors and "Traceback" not in errors, errors
        return sum(
            exchange.answer[0] == 200 and exchange.answered_at > signalled_at
            for exchange in in_flight
        )


def test_a_stopping_server_refuses_new_work_and_finishes_the_request_in_progress(
    model_dir, tmp_path
):
    stderr_path = tmp_path / "stderr.txt"
    with running_server(model_dir, stderr_path) as server:
        idle = connect(server.port)
        in_progress = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        in_progress.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: test\r\nContent-Type: text/csv\r\n"
            b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = in_progress.recv(1024)  # sent by the server as it starts the POST
        assert interim.startswith(b"HTTP/1.1 100 "), interim
        in_progress.sendall(b"8\r\n1,2,3,4\n\r\n")  # the body goes on: not finished yet
        time.sleep(0.1)
        server.process.send_signal(signal.SIGTERM)
        assert listener_closes(server.port), "the server kept accepting connections"

        idle.request("POST", "/invocations", b"0,0,0,0", {"Content-Type": "text/csv"})
        refused = idle.getresponse()
        assert (refused.status, refused.read()) == (503, STOPPING_MESSAGE)
        assert refused.headers["Connection"] == "close"

        in_progress.sendall(b"7\r\n0,0,0,0\r\n0\r\n\r\n")
        answer = http.client.HTTPResponse(in_progress)
        answer.begin()
        assert answer.status == 200
        scores = [prediction["score"] for prediction in json.load(answer)["predictions"]]
        np.testing.assert_allclose(scores, expected_scores([[1, 2, 3, 4], [0, 0, 0, 0]]))
        in_progress.close()
        assert server.process.wait(timeout=10) == 0, stderr_path.read_text()


def listener_closes(port: int, timeout: float = 10) -> bool:
    """True once connecting to ``port`` is refused, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.01)
    return False


def test_sigterm_lets_requests_in_flight_finish_and_exits_0(model_dir, tmp_path, large_request):
    finished_after_sigterm = [
        stop_during_requests(model_dir, tmp_path / f"stderr-{cycle}.txt", large_request)
        for cycle in range(CYCLES)
    ]
    assert sum(finished_after_sigterm) > 0, "SIGTERM never came while a request was scored"
