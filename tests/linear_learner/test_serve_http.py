"""The inference server as a real subprocess on a free loopback port, spoken to over HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from local_aws.algorithms.linear_learner import artifact
from local_aws.algorithms.linear_learner.channels import FileChannel
from local_aws.algorithms.linear_learner.training import train

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVE_MODULE = "local_aws.algorithms.linear_learner.serve"
WEIGHTS = np.array([1.5, -2.0, 0.25, 3.0])
BIAS = 0.5
ROWS = np.array(
    [[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0], [-1.5, 2.5e3, 1e-3, 7.0], [10, 20, 30, 40]]
)
CSV_ROWS = "1,2,3,4\n0,0,0,0\n-1.5,2.5e3,0.001,7\n10,20,30,40\n"


def expected_scores(rows) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64) @ WEIGHTS + BIAS


class Server:
    """A running server subprocess: its port, process, and the file its stderr goes to."""

    def __init__(self, process: subprocess.Popen, banner: str, stderr_path: Path):
        self.process = process
        self.banner = banner
        self.port = int(banner.rsplit(":", 1)[1])
        self.stderr_path = stderr_path

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, headers=None, connection=None):
        """(status, headers, body bytes); a new connection unless one is given."""
        own = connection is None
        connection = connection or self.connect()
        try:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            if own:
                connection.close()

    def invoke(self, body, content_type="text/csv", accept=None, connection=None):
        headers = {} if content_type is None else {"Content-Type": content_type}
        if accept is not None:
            headers["Accept"] = accept
        if isinstance(body, str):
            body = body.encode()
        return self.request("POST", "/invocations", body, headers, connection)


def start_process(
    model_path, stderr_path: Path, port="0", entry=("-m", SERVE_MODULE)
) -> subprocess.Popen:
    command = [sys.executable, *entry, "--model-dir", str(model_path), "--port", port]
    with open(stderr_path, "w") as stderr:
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, cwd=REPO_ROOT, text=True
        )


def read_banner(process: subprocess.Popen, timeout: float = 30) -> str:
    """The first stdout line, or '' if the process exits (or stays silent) first."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline().strip() if ready else ""


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    process.stdout.close()


@contextlib.contextmanager
def running_server(model_path, stderr_path: Path):
    process = start_process(model_path, stderr_path)
    try:
        banner = read_banner(process)
        assert banner.startswith("Serving on "), (banner, stderr_path.read_text())
        yield Server(process, banner, stderr_path)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("model")
    artifact.save(artifact.LinearModel(weights=WEIGHTS, bias=BIAS), directory)
    return directory


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    with running_server(model_dir, tmp_path_factory.mktemp("logs") / "stderr.txt") as running:
        yield running


def scores_of(status, headers, body, media_type="application/json") -> list[float]:
    assert status == 200, body
    assert headers["Content-Type"] == media_type
    if media_type == "application/json":
        return [item["score"] for item in json.loads(body)["predictions"]]
    lines = body.decode().splitlines()
    return [json.loads(line)["score"] for line in lines]


# --- start-up, routes and lifecycle -------------------------------------------------------------


def test_prints_one_serving_line_then_answers_ping(server):
    assert re.fullmatch(r"Serving on http://127\.0\.0\.1:\d+", server.banner)
    assert server.port != 0
    status, _, body = server.request("GET", "/ping")
    assert (status, body) == (200, b"")


def test_execution_parameters_describe_batch_transform_defaults(server):
    status, headers, body = server.request("GET", "/execution-parameters")
    assert status == 200 and headers["Content-Type"] == "application/json"
    parameters = json.loads(body)
    assert parameters["BatchStrategy"] == "MULTI_RECORD"
    assert parameters["MaxPayloadInMB"] == 6
    assert parameters["MaxConcurrentTransforms"] >= 1


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/invocations", 405, "POST"),
        ("POST", "/ping", 405, "GET"),
        ("GET", "/predict", 404, None),
        ("POST", "/endpoints/x/invocations", 404, None),
    ],
)
def test_unknown_routes_and_wrong_methods_are_refused(server, method, path, status, allow):
    answer_status, headers, body = server.request(
        method, path, b"1,2,3,4" if method == "POST" else None
    )
    assert answer_status == status
    assert headers.get("Allow") == allow
    assert path.encode() in body


@pytest.mark.parametrize(
    ("entry", "signal_number"),
    [
        (("-m", SERVE_MODULE), signal.SIGTERM),
        (("-m", SERVE_MODULE), signal.SIGINT),
        (("-m", "local_aws.algorithms.linear_learner", "serve"), signal.SIGTERM),
    ],
)
def test_serves_then_stops_cleanly_on_signal(model_dir, tmp_path, entry, signal_number):
    process = start_process(model_dir, tmp_path / "stderr.txt", entry=entry)
    try:
        banner = read_banner(process)
        assert banner.startswith("Serving on http://127.0.0.1:")
        scores = scores_of(*Server(process, banner, tmp_path / "stderr.txt").invoke(CSV_ROWS))
        np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)
        process.send_signal(signal_number)
        assert process.wait(timeout=10) == 0
        assert process.stdout.read() == ""  # exactly one line was printed
    finally:
        stop(process)


def test_model_load_failure_exits_non_zero_with_a_clear_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    process = start_process(empty, tmp_path / "stderr.txt")
    try:
        assert process.wait(timeout=30) == 1
        assert process.stdout.read() == ""
    finally:
        stop(process)
    message = (tmp_path / "stderr.txt").read_text()
    assert f"cannot load a model from {empty}" in message
    assert "no model artifact" in message


def test_a_taken_port_exits_non_zero(server, model_dir, tmp_path):
    process = start_process(model_dir, tmp_path / "stderr.txt", port=str(server.port))
    try:
        assert process.wait(timeout=30) == 1
    finally:
        stop(process)
    assert f"cannot listen on 127.0.0.1:{server.port}" in (tmp_path / "stderr.txt").read_text()


@pytest.mark.parametrize("layout", ["directory holding model.tar.gz", "model.tar.gz path"])
def test_serves_a_model_tar_gz(model_dir, tmp_path, layout):
    packed = tmp_path / "packed"
    packed.mkdir()
    tarball = artifact.pack(model_dir, packed / "model.tar.gz")
    model_path = packed if layout.startswith("directory") else tarball
    with running_server(model_path, tmp_path / "stderr.txt") as running:
        scores = scores_of(*running.invoke(CSV_ROWS))
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)


# --- formats ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/csv", CSV_ROWS),
        ("text/csv", CSV_ROWS.rstrip("\n")),
        ("text/csv", CSV_ROWS.replace("\n", "\r\n")),
        ("text/csv; charset=utf-8", CSV_ROWS),
        ("text/csv;label_size=0", CSV_ROWS),
        ("Text/CSV", CSV_ROWS),
        ("text/csv", CSV_ROWS.replace(",", ", ")),
    ],
)
def test_csv_rows_are_scored_in_request_order(server, content_type, body):
    scores = scores_of(*server.invoke(body, content_type))
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)


def test_a_single_csv_row(server):
    scores = scores_of(*server.invoke("1,2,3,4"))
    assert scores == [1.5 * 1 - 2.0 * 2 + 0.25 * 3 + 3.0 * 4 + BIAS]


def json_instances(shape: str) -> list[dict]:
    if shape == "features":
        return [{"features": row} for row in ROWS.tolist()]
    if shape == "data.features.values":
        return [{"data": {"features": {"values": row}}} for row in ROWS.tolist()]
    sparse = []
    for row in ROWS.tolist():
        keys = [k for k, value in enumerate(row) if value != 0]
        values = [row[k] for k in keys]
        sparse.append({"data": {"features": {"keys": keys, "shape": [4], "values": values}}})
    return sparse


@pytest.mark.parametrize("shape", ["features", "data.features.values", "sparse keys"])
def test_json_instances(server, shape):
    body = json.dumps({"instances": json_instances(shape)})
    scores = scores_of(*server.invoke(body, "application/json"))
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)


def test_json_instances_of_mixed_shapes(server):
    mixed = [json_instances(shape)[i] for i, shape in enumerate(["features", "sparse", "features"])]
    mixed.append(json_instances("data.features.values")[3])
    body = json.dumps({"instances": mixed})
    scores = scores_of(*server.invoke(body, "application/json; charset=utf-8"))
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)


@pytest.mark.parametrize("trailing", ["", "\n", "\r\n"])
def test_jsonlines_instances(server, trailing):
    body = "\n".join(json.dumps({"features": row}) for row in ROWS.tolist()) + trailing
    scores = scores_of(*server.invoke(body, "application/jsonlines"))
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("application/json", "application/json"),
        ("application/json; verbose=True", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("text/csv", "application/json"),  # the real service answers JSON too
        ("application/jsonlines", "application/jsonlines"),
        ("Application/JSONLines; charset=utf-8", "application/jsonlines"),
        ("application/json;q=0.5, application/jsonlines", "application/jsonlines"),
        ("text/html, application/jsonlines;q=0.2", "application/jsonlines"),
        ("text/csv, application/jsonlines", "application/jsonlines"),
    ],
)
def test_accept_chooses_the_response_format(server, accept, media_type):
    scores = scores_of(*server.invoke(CSV_ROWS, accept=accept), media_type=media_type)
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)


def test_jsonlines_response_has_one_score_object_per_line(server):
    _, _, body = server.invoke(CSV_ROWS, accept="application/jsonlines")
    lines = body.decode().split("\n")
    assert lines[-1] == "" and len(lines) == len(ROWS) + 1
    assert all(list(json.loads(line)) == ["score"] for line in lines[:-1])


# --- errors -------------------------------------------------------------------------------------

PREFIX = "Unable to evaluate payload provided: "


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/csv", "1,2,3,4\n1,2,3,4\n1,2,3\n", "row 3 has 3 features; the model expects 4"),
        ("text/csv", "1,2,3,4,5", "row 1 has 5 features; the model expects 4"),
        ("text/csv", "1,2,3,4\n1,2,x,4", "row 2, feature 3: 'x' is not a number"),
        ("text/csv", "1,2,,4", "row 1, feature 3: '' is not a number"),
        ("text/csv", '1,"2",3,4', "row 1, feature 2: '\"2\"' is not a number"),
        ("text/csv", "1,2,3,4\n\n1,2,3,4", "row 2 is empty"),
        ("text/csv", "1,2,3,4\n1,nan,3,4", "row 2, feature 2: nan is not a finite number"),
        ("text/csv", "1,2,3,inf", "row 1, feature 4: inf is not a finite number"),
        ("text/csv", "1,2,3,4\n1e308,1e308,0,1e308", "row 2: the score overflows"),
        ("text/csv", "", "the payload is empty"),
        ("text/csv", " \n\r\n", "the payload is empty"),
        ("application/json", "", "the payload is empty"),
        ("application/json", "{", "the payload is not valid JSON: Expecting property name"),
        ("application/json", '[{"features": [1,2,3,4]}]', 'expected a JSON object {"instances"'),
        ("application/json", '{"instances": []}', "the payload holds no instances"),
        ("application/json", '{"rows": [[1,2,3,4]]}', 'expected a JSON object {"instances"'),
        (
            "application/json",
            '{"instances": [{"features": [1,2,3,4]}, {"features": [1,2]}]}',
            "row 2 has 2 features; the model expects 4",
        ),
        (
            "application/json",
            '{"instances": [{"features": [1,2,3,4]}, {"values": [1,2,3,4]}]}',
            'row 2: expected an instance {"features": [...]}',
        ),
        (
            "application/json",
            '{"instances": [{"features": [1,2,3,4]}, {"features": [1,"2",3,4]}]}',
            'row 2, feature 2: "2" is not a number',
        ),
        (
            "application/json",
            '{"instances": [{"features": [1,2,3,true]}]}',
            "row 1, feature 4: true is not a number",
        ),
        (
            "application/json",
            '{"instances": [{"features": [1,2,null,4]}]}',
            "row 1, feature 3: null is not a number",
        ),
        (
            "application/json",
            '{"instances": [{"features": [[1],[2],[3],[4]]}]}',
            "row 1, feature 1: [1] is not a number",
        ),
        (
            "application/json",
            '{"instances": [{"features": [1,2,3,NaN]}]}',
            "row 1, feature 4: nan is not a finite number",
        ),
        (
            "application/json",
            '{"instances": [{"data": {"features": {"keys": [9], "shape": [4], "values": [1]}}}]}',
            "row 1: key 9 is not an index in [0, 4)",
        ),
        (
            "application/json",
            '{"instances": [{"data": {"features": {"keys": [1], "shape": [5], "values": [1]}}}]}',
            "row 1 has shape [5]; the model expects [4]",
        ),
        (
            "application/jsonlines",
            '{"features": [1,2,3,4]}\n{"features": [1,2,3,4]\n',
            "row 2 is not valid JSON",
        ),
        (
            "application/jsonlines",
            '{"features": [1,2,3,4]}\n\n{"features": [1,2,3,4]}',
            "row 2 is empty",
        ),
        (
            "application/jsonlines",
            '{"features": [1,2,3,4]}\n{"features": [1,2,3,4,5]}',
            "row 2 has 5 features; the model expects 4",
        ),
        (
            "application/jsonlines",
            '{"features": [1,2,3,4]}, {"features": [1,2,3,4]}',
            "row 1 is not valid JSON: Extra data",
        ),
    ],
)
def test_bad_payloads_get_400_naming_the_row(server, content_type, body, message):
    status, headers, answer = server.invoke(body, content_type)
    assert status == 400
    assert headers["Content-Type"] == "text/plain"
    assert answer.decode().startswith(PREFIX + message), answer


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("text/plain", "Content-Type 'text/plain' is not supported; use one of text/csv, "),
        ("application/x-protobuf", "Content-Type 'application/x-protobuf' is not supported"),
        ("csv", "Content-Type 'csv' is not supported"),
        (None, "a Content-Type is not supported"),
        ("text/csv;label_size=1", "inference rows carry no label, send features only"),
    ],
)
def test_unsupported_content_types_get_415(server, content_type, message):
    status, _, answer = server.invoke(CSV_ROWS, content_type)
    assert status == 415
    assert message in answer.decode()


@pytest.mark.parametrize(
    "accept",
    ["application/xml", "application/x-protobuf", "text/*", "application/json;q=0"],
)
def test_unsupported_accept_gets_406(server, accept):
    status, _, answer = server.invoke(CSV_ROWS, accept=accept)
    assert status == 406
    assert answer.decode() == (
        f"Accept {accept!r} is not supported; use one of application/json, "
        "application/jsonlines, application/x-recordio-protobuf"
    )


def test_keeps_serving_on_the_same_connection_after_errors(server):
    connection = server.connect()
    try:
        for body, content_type, status in [
            ("1,2", "text/csv", 400),
            (CSV_ROWS, "text/plain", 415),
            ("{", "application/json", 400),
            (CSV_ROWS, "text/csv", 200),
        ]:
            assert server.invoke(body, content_type, connection=connection)[0] == status
        assert server.invoke(CSV_ROWS, accept="image/png", connection=connection)[0] == 406
        scores = scores_of(*server.invoke(CSV_ROWS, connection=connection))
    finally:
        connection.close()
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)
    assert server.process.poll() is None
    assert "-> 400 Unable to evaluate payload provided: row 1 has 2 features" in (
        server.stderr_path.read_text()
    )


def test_a_chunked_request_body(server):
    connection = server.connect()
    try:
        lines = (line.encode() + b"\n" for line in CSV_ROWS.splitlines())
        connection.request(
            "POST", "/invocations", lines, {"Content-Type": "text/csv"}, encode_chunked=True
        )
        response = connection.getresponse()
        scores = scores_of(response.status, response.headers, response.read())
    finally:
        connection.close()
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)


@pytest.mark.parametrize(
    ("length_header", "status", "message"),
    [
        ("Content-Length: 209715200", 413, "Content-Length has 209715200 bytes; the limit is "),
        ("Content-Length: -5", 400, "Content-Length is not a byte count: '-5'"),
        ("Content-Length: ten", 400, "Content-Length is not a byte count: 'ten'"),
        ("Transfer-Encoding: chunked\r\n\r\nzz", 400, "a chunk size is not a byte count"),
    ],
)
def test_bad_body_lengths_are_refused_and_the_connection_closed(
    server, length_header, status, message
):
    request = f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n{length_header}"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(request.encode() + (b"\r\n" if "zz" in length_header else b"\r\n\r\n"))
        answer = b""
        while chunk := raw.recv(65536):  # the server closes the connection after answering
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Connection: close" in head
    assert message in body.decode()


# --- large payloads and concurrency -------------------------------------------------------------


def large_rows(n_rows: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    rows = np.round(rng.normal(scale=50.0, size=(n_rows, 4)), 3)
    rows[:, 1] = rng.integers(0, 2, size=n_rows)
    return rows


def to_csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(map(repr, row)) for row in rows.tolist()) + "\n"


def test_a_6_mb_csv_payload_keeps_row_order(server):
    rows = large_rows(240_000)
    body = to_csv(rows)
    assert 5_000_000 < len(body) <= 6_291_456
    scores = scores_of(
        *server.invoke(body, accept="application/jsonlines"), "application/jsonlines"
    )
    np.testing.assert_allclose(scores, expected_scores(rows), rtol=1e-12, atol=1e-9)


def test_a_bad_row_deep_in_a_large_csv_payload_is_named(server):
    lines = to_csv(large_rows(100_000)).splitlines()
    lines[87_654] = lines[87_654].replace(",", ",abc,", 1).rsplit(",", 1)[0]
    status, _, answer = server.invoke("\n".join(lines))
    assert status == 400
    assert answer.decode() == PREFIX + "row 87655, feature 2: 'abc' is not a number"


def test_a_large_json_payload(server):
    rows = large_rows(50_000)
    body = json.dumps({"instances": [{"features": row} for row in rows.tolist()]})
    scores = scores_of(*server.invoke(body, "application/json"))
    np.testing.assert_allclose(scores, expected_scores(rows), rtol=1e-12, atol=1e-9)


def test_concurrent_clients_each_get_their_own_scores(server):
    failures = []

    def client(offset: int):
        connection = server.connect()
        try:
            for step in range(25):
                rows = ROWS + offset * 100 + step
                scores = scores_of(*server.invoke(to_csv(rows), connection=connection))
                if not np.allclose(scores, expected_scores(rows), rtol=1e-12):
                    failures.append((offset, step))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []


def test_serves_what_training_wrote_once_packed_as_model_tar_gz(
    tmp_path, linear_data, write_training_csv
):
    x, y, _, _ = linear_data(rows=2000, features=4, noise=0.05)
    write_training_csv(tmp_path / "train" / "part-0", y, x)
    hyperparameters = {"predictor_type": "regressor", "mini_batch_size": "100", "feature_dim": "4"}
    channels = {"train": FileChannel("train", tmp_path / "train")}
    trained = train(hyperparameters, channels, tmp_path / "model", log=lambda _: None).model
    (tmp_path / "output").mkdir()
    artifact.pack(tmp_path / "model", tmp_path / "output" / "model.tar.gz")
    with running_server(tmp_path / "output", tmp_path / "stderr.txt") as running:
        scores = scores_of(*running.invoke(to_csv(x[:500])))
    np.testing.assert_allclose(scores, trained.predict(x[:500]), rtol=1e-9, atol=1e-9)
    assert np.sqrt(np.mean((np.array(scores) - y[:500]) ** 2)) < 0.2
