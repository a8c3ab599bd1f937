"""Benchmark: the linear-learner inference server against the issue's serving targets.

Starts the real server (``python -m local_aws.algorithms.linear_learner.serve``) on a free port
with a 102-feature model, then, from this process over one keep-alive loopback connection:

- scores 6 MB CSV payloads shaped like the lab's test set (5 integer columns, 97 one-hot columns,
  about 27,000 rows each) and reports rows/s against the 200,000 rows/s target;
- sends single-row CSV requests and reports p50/p99 latency against the 2 ms target;
- for reference, parses one payload in-process with the columnar parser the server uses and with
  a per-row Python parse (the naive baseline), and reports JSON/JSON Lines throughput (no target).

Run: ``python -m bench.linear_learner_serve``.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil
from tqdm import tqdm

from local_aws.algorithms.linear_learner import artifact, csv_records, payloads

FEATURES = 102
PAYLOAD_BYTES = 6_000_000
TARGET_ROWS_PER_S = 200_000
TARGET_P50_MS = 2.0
LARGE_REQUESTS = 12
SINGLE_REQUESTS = 3000


def flight_like_rows(n_rows: int, seed: int = 0) -> np.ndarray:
    """(n_rows, FEATURES) int64: 5 count-like columns, then sparse 0/1 one-hot columns."""
    rng = np.random.default_rng(seed)
    rows = (rng.random((n_rows, FEATURES)) < 0.05).astype(np.int64)
    rows[:, :5] = rng.integers(1, 3000, size=(n_rows, 5))
    return rows


def csv_payload(rows: np.ndarray, max_bytes: int) -> tuple[bytes, int]:
    """As many whole CSV lines of ``rows`` as fit in ``max_bytes``; returns (body, n_rows)."""
    lines = [",".join(map(str, row)) for row in rows.tolist()]
    body, size = [], 0
    for line in lines:
        size += len(line) + 1
        if size > max_bytes:
            break
        body.append(line)
    return ("\n".join(body) + "\n").encode(), len(body)


def json_payloads(rows: np.ndarray) -> tuple[bytes, bytes]:
    """The same rows as an ``application/json`` and an ``application/jsonlines`` body."""
    instances = [{"features": row} for row in rows.tolist()]
    as_json = json.dumps({"instances": instances}, separators=(",", ":")).encode()
    as_lines = "\n".join(json.dumps(item, separators=(",", ":")) for item in instances).encode()
    return as_json, as_lines


def start_server(model_dir: str) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "local_aws.algorithms.linear_learner.serve"]
    process = subprocess.Popen(
        [*command, "--model-dir", model_dir, "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline()
    if not line.startswith("Serving on "):
        process.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    return process, int(line.rsplit(":", 1)[1])


def post(connection: http.client.HTTPConnection, body: bytes, content_type: str) -> bytes:
    connection.request("POST", "/invocations", body, {"Content-Type": content_type})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {answer[:300]!r}")
    return answer


def rows_per_second(connection, server: psutil.Process, payload: bytes, n_rows: int, kind: str):
    """Over LARGE_REQUESTS requests: (best rows/s, overall rows/s, server CPU ms per request)."""
    post(connection, payload, kind)  # warm-up
    timings = []
    cpu_before = sum(server.cpu_times()[:2])
    for _ in tqdm(range(LARGE_REQUESTS), desc=kind, leave=False):
        start = time.perf_counter()
        answer = post(connection, payload, kind)
        timings.append(time.perf_counter() - start)
    cpu_ms = (sum(server.cpu_times()[:2]) - cpu_before) * 1000 / LARGE_REQUESTS
    if len(json.loads(answer)["predictions"]) != n_rows:
        raise RuntimeError("the server did not answer one prediction per row")
    return n_rows / min(timings), n_rows * len(timings) / sum(timings), cpu_ms


def single_row_latency_ms(connection, row: bytes) -> tuple[float, float]:
    """(p50, p99) in ms of SINGLE_REQUESTS single-row CSV requests."""
    for _ in range(200):
        post(connection, row, payloads.CSV)
    timings = []
    for _ in tqdm(range(SINGLE_REQUESTS), desc="single-row requests", leave=False):
        start = time.perf_counter()
        post(connection, row, payloads.CSV)
        timings.append(time.perf_counter() - start)
    p50, p99 = np.percentile(timings, [50, 99]) * 1000
    return float(p50), float(p99)


def parse_ms(parse, body: bytes, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        parse(body, FEATURES, np.float64)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    load_before = os.getloadavg()[0]
    rows = flight_like_rows(40_000)
    body, n_rows = csv_payload(rows, PAYLOAD_BYTES)
    as_json, as_lines = json_payloads(rows[:n_rows])
    model = artifact.LinearModel(np.random.default_rng(1).normal(size=FEATURES), bias=12.5)
    with tempfile.TemporaryDirectory() as model_dir:
        artifact.save(model, model_dir)
        process, port = start_server(model_dir)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port)
            server = psutil.Process(process.pid)
            best, overall, cpu_ms = rows_per_second(connection, server, body, n_rows, payloads.CSV)
            p50, p99 = single_row_latency_ms(connection, body[: body.index(b"\n") + 1])
            json_best, _, _ = rows_per_second(connection, server, as_json, n_rows, payloads.JSON)
            lines_best, _, _ = rows_per_second(
                connection, server, as_lines, n_rows, payloads.JSONLINES
            )
            connection.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
    columnar_ms = parse_ms(csv_records.read_columnar, body)
    per_row_ms = parse_ms(csv_records.read_records, body)

    print(
        f"linear-learner serving, {FEATURES} features, loopback, one keep-alive client "
        f"({os.cpu_count()} CPUs, 1-min load average {load_before:.1f} at start)"
    )
    print(f"  CSV payload: {len(body) / 1e6:.2f} MB, {n_rows} rows")
    print(
        f"  6 MB CSV throughput: best {best:,.0f} rows/s (all {LARGE_REQUESTS} requests: "
        f"{overall:,.0f}) vs target {TARGET_ROWS_PER_S:,} -> {best / TARGET_ROWS_PER_S:.2f}x target"
    )
    print(
        f"  server CPU time per 6 MB CSV request: {cpu_ms:.0f} ms "
        f"(= {n_rows / cpu_ms * 1000:,.0f} rows per CPU-second, less sensitive to other load)"
    )
    print(
        f"  single-row CSV latency: p50 {p50:.3f} ms, p99 {p99:.3f} ms vs target p50 "
        f"{TARGET_P50_MS} ms -> {TARGET_P50_MS / p50:.1f}x faster than the target"
    )
    print(
        f"  parsing one 6 MB CSV payload: columnar {columnar_ms:.1f} ms vs naive per-row Python "
        f"{per_row_ms:.1f} ms -> {per_row_ms / columnar_ms:.1f}x faster"
    )
    print(
        f"  same rows as JSON ({len(as_json) / 1e6:.1f} MB): {json_best:,.0f} rows/s; "
        f"as JSON Lines ({len(as_lines) / 1e6:.1f} MB): {lines_best:,.0f} rows/s (no target)"
    )


if __name__ == "__main__":
    main()
