"""Benchmark: linear-learner training on RecordIO-protobuf against the same rows as CSV.

    python -m bench.linear_learner_protobuf [--rows 100000] [--work-dir build/bench_protobuf]

The lab-like rows of ``bench.linear_learner_train`` (94 features: 3 numeric, 8 one-hot groups)
are written once as CSV and once as dense Float32 RecordIO-protobuf records (one ``Record``
per row, the layout of the SDK's ``write_numpy_to_dense_tensor``). For each format: one read
pass alone (records/second of ``passes.read_pass``, no training), then training with the same
hyperparameters (2 epochs, 32 models, early stopping off): the mean per-epoch records/second
the job logs as ``#throughput_metric``, and the wall time. The baseline column is CSV.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from bench.linear_learner_train import ROOT, lab_like, write_csv
from flights.atomic_file import atomic_output
from local_aws import recordio
from local_aws.algorithms.linear_learner.channels import CSV, FileChannel
from local_aws.algorithms.linear_learner.csv_blocks import PassLayout
from local_aws.algorithms.linear_learner.passes import read_pass
from local_aws.algorithms.linear_learner.recordio_protobuf import CONTENT_TYPE, Record
from local_aws.algorithms.linear_learner.training import train

FEATURES = 94
HYPERPARAMETERS = {
    "predictor_type": "regressor",
    "feature_dim": str(FEATURES),
    "epochs": "2",
    "early_stopping_patience": "3",
}


def write_protobuf(path: Path, labels: np.ndarray, features: np.ndarray) -> Path:
    """Dense Float32 records, label in ``label["values"]``, one frame per row."""
    record = Record()
    with atomic_output(path) as out:
        for label, row in zip(labels.tolist(), features.astype(np.float32), strict=True):
            record.Clear()
            record.features["values"].float32_tensor.values.extend(row.tolist())
            record.label["values"].float32_tensor.values.append(label)
            recordio.write_frame(out, record.SerializeToString())
    return path


def read_rate(channel: FileChannel) -> float:
    """Records per second of one read pass (blocks of 1000 rows), without training."""
    started = time.perf_counter()
    rows = sum(block.n_rows for block in read_pass(channel, PassLayout("train", 1000, None)))
    return rows / (time.perf_counter() - started)


def train_rates(channel: FileChannel, model_dir: Path) -> tuple[float, float]:
    """(mean per-epoch records/second, wall seconds) of a training job on ``channel``."""
    started = time.perf_counter()
    result = train(HYPERPARAMETERS, {"train": channel}, model_dir, log=lambda _: None)
    seconds = time.perf_counter() - started
    return float(np.mean([epoch.records_per_second for epoch in result.history])), seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "build" / "bench_protobuf")
    arguments = parser.parse_args(argv)
    work = arguments.work_dir / f"{arguments.rows}x{FEATURES}"
    labels, features = lab_like(arguments.rows, FEATURES, seed=2)
    csv_path, protobuf_path = work / "csv" / "train.csv", work / "protobuf" / "train.pbr"
    if not csv_path.exists():
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        write_csv(csv_path, labels, features)
    if not protobuf_path.exists():
        protobuf_path.parent.mkdir(parents=True, exist_ok=True)
        write_protobuf(protobuf_path, labels, features)
    channels = {
        "protobuf": FileChannel("train", protobuf_path.parent, CONTENT_TYPE),
        "csv": FileChannel("train", csv_path.parent, CSV),
    }
    reads = {name: read_rate(channel) for name, channel in channels.items()}
    trained = {name: train_rates(c, work / f"model-{name}") for name, c in channels.items()}
    print(f"{arguments.rows:,} rows x {FEATURES} features; baseline = the same rows as CSV")
    print(f"{'measure':44} {'protobuf':>12} {'csv':>12} {'ratio':>8}")
    table = [
        ("records/s, one read pass (no training)", reads["protobuf"], reads["csv"]),
        ("records/s, training (mean per epoch)", trained["protobuf"][0], trained["csv"][0]),
        ("wall s, training job (2 epochs)", trained["protobuf"][1], trained["csv"][1]),
    ]
    for name, ours, baseline in table:
        print(f"{name:44} {ours:12.1f} {baseline:12.1f} {ours / baseline:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
