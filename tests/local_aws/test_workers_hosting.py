"""EndpointWorker serving a model trained by the real linear-learner: start, invoke over
keep-alive connections, errors passed through, stop, kill -9 and failed starts."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sys
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psutil
import pytest

from local_aws.algorithms.linear_learner import artifact
from local_aws.workers import (
    ChannelData,
    EndpointWorker,
    TrainingWorker,
    WorkerError,
    WorkerUnavailable,
    kill_all,
)

from .conftest_workers import (
    EventRecorder,
    bytes_opener,
    nothing_left_behind,
    process_gone,
    regression_csv,
    wait_until,
)

_nothing_left_behind = pytest.fixture(autouse=True)(nothing_left_behind)

ROWS = np.array([[1.0, 2.0, 3.0], [-0.5, 0.0, 4.25]])
CSV_ROWS = b"1,2,3\n-0.5,0,4.25\n"


@pytest.fixture(scope="module")
def model_tar(tmp_path_factory):
    """model.tar.gz of a linear-learner trained by a TrainingWorker (Pipe mode)."""
    folder = tmp_path_factory.mktemp("trained")
    recorder = EventRecorder()
    train = ChannelData(
        "train", "text/csv", "Pipe", [("a.csv", bytes_opener(regression_csv(2000, 1)))]
    )
    hyperparameters = {"feature_dim": "3", "predictor_type": "regressor", "epochs": "2"}
    TrainingWorker("for-hosting", hyperparameters, [train], folder / "job", recorder).start()
    final = recorder.final()
    assert final.kind == "completed", final
    return final.model_path


class ExitRecorder:
    def __init__(self):
        self.reasons: list[str] = []
        self.called = threading.Event()

    def __call__(self, reason: str) -> None:
        self.reasons.append(reason)
        self.called.set()


@pytest.fixture
def endpoint(tmp_path, model_tar):
    """A started EndpointWorker and its exit recorder; stopped afterwards."""
    exits = ExitRecorder()
    worker = EndpointWorker("ep", model_tar, tmp_path / "ep", exits)
    try:
        worker.start()
        yield worker, exits
    finally:
        worker.stop()


def scores(result) -> list[float]:
    assert result.status == 200, result
    assert result.content_type == "application/json"
    return [p["score"] for p in json.loads(result.body)["predictions"]]


def test_invocations_score_rows_with_the_trained_model(endpoint, model_tar):
    worker, exits = endpoint
    expected = artifact.load(model_tar).predict(ROWS)
    assert worker.url.startswith("http://127.0.0.1:")
    np.testing.assert_allclose(scores(worker.invoke(CSV_ROWS, "text/csv", None)), expected)
    document = json.dumps({"instances": [{"features": list(row)} for row in ROWS]}).encode()
    result = worker.invoke(document, "application/json", "application/json")
    np.testing.assert_allclose(scores(result), expected)
    lines = worker.invoke(CSV_ROWS, "text/csv", "application/jsonlines")
    assert lines.content_type == "application/jsonlines"
    assert [json.loads(line)["score"] for line in lines.body.splitlines()] == pytest.approx(
        expected
    )
    assert not exits.reasons


def test_the_server_output_reaches_on_log_as_it_comes(tmp_path, model_tar):
    lines = []
    worker = EndpointWorker("ep", model_tar, tmp_path / "ep", ExitRecorder(), on_log=lines.append)
    try:
        worker.start()
        assert lines == [f"Serving on {worker.url}"]
        assert worker.invoke(b"1,2\n", "text/csv", None).status == 400
        assert wait_until(lambda: len(lines) == 2)
        assert "POST /invocations -> 400" in lines[1]
    finally:
        worker.stop()


def test_sequential_invocations_reuse_one_connection(endpoint):
    worker, _ = endpoint
    for _ in range(30):
        worker.invoke(CSV_ROWS, "text/csv", None)
    server = psutil.Process(worker.pid)
    established = [c for c in server.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED]
    assert len(established) == 1


def test_concurrent_invocations_all_get_their_own_answer(endpoint, model_tar):
    worker, _ = endpoint
    model = artifact.load(model_tar)

    def one(i):
        row = np.array([[i, -i, 0.5 * i]])
        body = f"{i},{-i},{0.5 * i}\n".encode()
        return scores(worker.invoke(body, "text/csv", None))[0], model.predict(row)[0]

    with ThreadPoolExecutor(8) as pool:
        pairs = list(pool.map(one, range(200)))
    got, expected = zip(*pairs, strict=True)
    np.testing.assert_allclose(got, expected)


def test_client_errors_of_the_model_server_are_passed_through(endpoint):
    worker, _ = endpoint
    wrong_width = worker.invoke(b"1,2\n", "text/csv", None)
    assert wrong_width.status == 400
    assert wrong_width.content_type == "text/plain"
    assert wrong_width.body
    assert worker.invoke(b"\x00", "image/png", None).status == 415
    assert scores(worker.invoke(CSV_ROWS, "text/csv", None))  # still serving, same pool


def test_stop_ends_the_server_and_frees_its_port(tmp_path, model_tar):
    exits = ExitRecorder()
    worker = EndpointWorker("ep", model_tar, tmp_path / "ep", exits)
    worker.start()
    pid, port = worker.pid, int(worker.url.rsplit(":", 1)[1])
    worker.stop()
    assert process_gone(pid)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(WorkerUnavailable, match="endpoint 'ep' is unavailable"):
        worker.invoke(CSV_ROWS, "text/csv", None)
    assert worker.pid is None
    assert not exits.reasons
    worker.stop()  # a second stop is harmless


def test_stop_lets_invocations_in_flight_finish_and_refuses_new_ones(tmp_path, model_tar):
    worker = EndpointWorker("ep", model_tar, tmp_path / "ep", ExitRecorder())
    worker.start()
    rows = 400_000  # 5.6 MB, scored in a few hundred ms
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(worker.invoke, b"1.25,2.5,3.75\n" * rows, "text/csv", None)
        assert wait_until(lambda: worker.in_flight == 1)
        worker.stop()
        assert len(scores(answer.result())) == rows
    with pytest.raises(WorkerUnavailable, match="endpoint 'ep' is unavailable"):
        worker.invoke(CSV_ROWS, "text/csv", None)


def test_kill_9_of_the_server_is_reported_and_invocations_fail_clearly(endpoint):
    worker, exits = endpoint
    worker.invoke(CSV_ROWS, "text/csv", None)  # leaves a pooled keep-alive connection
    os.kill(worker.pid, signal.SIGKILL)
    assert exits.called.wait(5)
    reason = "the model server process was killed by signal 9 (SIGKILL)"
    assert exits.reasons == [reason]
    with pytest.raises(WorkerUnavailable) as raised:
        worker.invoke(CSV_ROWS, "text/csv", None)
    assert str(raised.value) == f"endpoint 'ep' is unavailable: {reason}"
    worker.stop()
    assert exits.reasons == [reason]


def test_a_tarball_without_a_model_fails_the_start_with_the_server_output(tmp_path):
    tar_path = tmp_path / "model.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        tar.addfile(info, io.BytesIO(b""))
    worker = EndpointWorker("ep", tar_path, tmp_path / "ep", ExitRecorder())
    with pytest.raises(WorkerError) as raised:
        worker.start()
    message = str(raised.value)
    assert "the model server did not print 'Serving on http://HOST:PORT'" in message
    assert "exited with code 1" in message
    assert "error: cannot load a model from" in message
    assert worker.pid is None


def test_a_file_that_is_not_a_tarball_fails_the_start(tmp_path):
    not_tar = tmp_path / "model.tar.gz"
    not_tar.write_bytes(b"not a tarball")
    worker = EndpointWorker("ep", not_tar, tmp_path / "ep", ExitRecorder())
    with pytest.raises(WorkerError, match="endpoint 'ep': cannot extract the model"):
        worker.start()


def test_a_server_that_never_listens_is_killed_after_the_timeout(tmp_path, model_tar):
    silent = (sys.executable, "-c", "import time; time.sleep(120)")
    worker = EndpointWorker("ep", model_tar, tmp_path / "ep", ExitRecorder(), command=silent)
    with pytest.raises(WorkerError, match="did not print 'Serving on http://HOST:PORT'"):
        worker.start(timeout=0.5)
    assert worker.pid is None


def test_kill_all_ends_every_endpoint(tmp_path, model_tar):
    workers = [
        EndpointWorker(f"ep-{i}", model_tar, tmp_path / f"ep-{i}", ExitRecorder()) for i in range(2)
    ]
    for worker in workers:
        worker.start()
    pids = [worker.pid for worker in workers]
    assert kill_all() == 2
    assert all(process_gone(pid, timeout=1) for pid in pids)
