"""Benchmark: a hyperparameter tuning job of 8 trainings, 2 at a time, against 1 at a time.

    python -m bench.tuning_job [--rows 100000] [--features 94] [--epochs 5] [--jobs 8]

Data: lab-shaped synthetic rows (``bench.linear_learner_train.lab_like``: 3 numeric columns
and 8 one-hot groups, 94 features by default, like the lab's prepared flights), 80 % in a
``train`` channel and 20 % in ``validation``, CSV, File mode. Each run starts a fresh emulator
(``local_aws.start()``), uploads the data, and runs one Random tuning job (seed 7) over
``learning_rate`` and ``wd`` (the ranges linear-learner's tuning guide gives, logarithmic),
Minimize ``validation:objective_loss``; it reports the wall time from
CreateHyperParameterTuningJob to the final status and the peak RSS of the server's process
tree (the server and every training process, sampled every 50 ms). Ours: MaxParallelTrainingJobs
2; baseline: the same 8 trainings with MaxParallelTrainingJobs 1. Inputs go under a temporary
folder, never into the repository.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil

import local_aws
from bench.linear_learner_train import lab_like, write_csv
from tests.local_aws import flow, tuning_flow

SAMPLE_S = 0.05
RANGES = {
    "ContinuousParameterRanges": [
        {
            "Name": "learning_rate",
            "MinValue": "1e-5",
            "MaxValue": "1",
            "ScalingType": "Logarithmic",
        },
        {"Name": "wd", "MinValue": "1e-7", "MaxValue": "1", "ScalingType": "Logarithmic"},
    ]
}


class TreeRss:
    """Samples the RSS of ``pid`` and its descendants every ``SAMPLE_S`` s in a thread;
    ``stop()`` returns the peak in bytes."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(SAMPLE_S):
            total = 0
            for process in [self.root, *self.root.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


def make_data(folder: Path, rows: int, features: int) -> dict[str, Path]:
    """Label-first CSVs ``train.csv`` (80 %) and ``validation.csv`` (20 %)."""
    labels, values = lab_like(rows, features)
    cut = int(rows * 0.8)
    return {
        "train": write_csv(folder / "train.csv", labels[:cut], values[:cut]),
        "validation": write_csv(folder / "validation.csv", labels[cut:], values[cut:]),
    }


def run(files: dict[str, Path], features: int, epochs: int, jobs: int, parallel: int) -> dict:
    """One tuning job on a fresh emulator; its wall time, peak tree RSS and best objective."""
    with local_aws.start() as aws:
        clients = flow.clients_for(aws)
        channels = {}
        for channel, path in files.items():
            clients.s3.upload_file(str(path), aws.bucket, f"bench/{channel}/{path.name}")
            channels[channel] = f"s3://{aws.bucket}/bench/{channel}/"
        request = tuning_flow.tuning_request(
            "bench-tuning",
            aws.role_arn,
            channels,
            f"s3://{aws.bucket}/bench/out",
            ranges=RANGES,
            max_jobs=jobs,
            max_parallel=parallel,
            static={"feature_dim": str(features), "epochs": str(epochs), "mini_batch_size": "1000"},
        )
        memory = TreeRss(aws.pid)
        started = time.perf_counter()
        clients.sagemaker.create_hyper_parameter_tuning_job(**request)
        answer = tuning_flow.wait_for_tuning(clients.sagemaker, "bench-tuning", timeout=3600)
        wall = time.perf_counter() - started
        peak = memory.stop()
    best = answer.get("BestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric", {})
    return {
        "status": answer["HyperParameterTuningJobStatus"],
        "wall": wall,
        "peak_mb": peak / 1e6,
        "best": best.get("Value", float("nan")),
        "completed": answer["TrainingJobStatusCounters"]["Completed"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=94)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=8)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        files = make_data(Path(folder), options.rows, options.features)
        size = sum(path.stat().st_size for path in files.values()) / 1e6
        print(
            f"tuning job: {options.jobs} trainings of {options.rows:,} rows x {options.features} "
            f"features ({size:.0f} MB of CSV), {options.epochs} epochs each",
            flush=True,
        )
        results = {
            parallel: run(files, options.features, options.epochs, options.jobs, parallel)
            for parallel in (2, 1)
        }
    print(f"{'':28} {'ours (2 at a time)':>20} {'baseline (1 at a time)':>24}")
    ours, base = results[2], results[1]
    print(
        f"{'status / completed':28} {ours['status']:>14} / {ours['completed']} "
        f"{base['status']:>18} / {base['completed']}"
    )
    print(f"{'wall time (s)':28} {ours['wall']:>20.1f} {base['wall']:>24.1f}")
    print(f"{'peak RSS, server tree (MB)':28} {ours['peak_mb']:>20.0f} {base['peak_mb']:>24.0f}")
    print(f"{'best validation loss':28} {ours['best']:>20.4f} {base['best']:>24.4f}")
    print(f"speed-up: {base['wall'] / ours['wall']:.2f}x on {psutil.cpu_count()} CPUs", flush=True)


if __name__ == "__main__":
    main()
