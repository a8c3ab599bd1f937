"""Benchmark: the emulator server's memory under a large S3 object and an endless chatty job.

1. Uploads one CSV object of ``--size-mb`` MB (multipart, as boto3's ``upload_file`` does),
   runs a linear-learner job on it in File mode and one in Pipe mode (1 epoch, so 2 Pipe
   passes: the scaler's and the epoch's) and samples the server process's RSS every 10 ms:
   the RSS before the job, the peak during it, and the growth.
2. Runs a job that never ends on 20 rows (2 mini-batches an epoch, about 40 log lines an
   epoch) for ``--chatty-s`` seconds: the bytes it has logged and the server's RSS over time.

Both for our server and, with ``--baseline-rev REV``, for the server of that git revision
(``git archive``), side by side.

Usage: ``python -m bench.local_aws_memory [--size-mb 64] [--chatty-s 30] [--baseline-rev REV]``
(``--size-mb 1024`` for a 1 GB object).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import boto3
import psutil
from botocore.config import Config

from local_aws.constants import ROLE_ARN, bucket_name
from tests.local_aws import flow

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
MB = 1_000_000
SAMPLE_S = 0.01


class Server:
    """``python -m local_aws serve`` run from ``root`` (our tree or a baseline's)."""

    def __init__(self, root: Path):
        env = {
            **os.environ,
            "PYTHONPATH": str(root),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_aws", "serve", "--port", "0"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline()
        self.url = line.strip().rsplit(" ", 1)[-1]
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the server did not start (it printed {line!r})")

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(read_timeout=900, retries={"max_attempts": 1}),
        )

    def rss(self) -> int:
        """The server process's resident memory in bytes (its children not included)."""
        return psutil.Process(self.process.pid).memory_info().rss

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class PeakSampler:
    """Samples ``read()`` every ``SAMPLE_S`` seconds in a thread; ``peak`` is the largest."""

    def __init__(self, read):
        self.read = read
        self.peak = read()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(SAMPLE_S):
            self.peak = max(self.peak, self.read())


def write_csv(path: Path, size: int) -> int:
    """A regression CSV (``flow.regression_csv`` rows repeated) of about ``size`` bytes."""
    block = flow.regression_csv(20_000)
    written = 0
    with open(path, "wb") as sink:
        while written < size:
            sink.write(block)
            written += len(block)
    return written


def measure(root: Path, data: Path, size: int) -> dict[str, tuple[int, int]]:
    """Per input mode: (server RSS before the job, peak RSS during it), in bytes."""
    server = Server(root)
    try:
        s3, sagemaker = server.client("s3"), server.client("sagemaker")
        bucket = bucket_name(REGION)
        s3.upload_file(str(data), bucket, "bench/train/train.csv")
        results = {}
        for mode in ("File", "Pipe"):
            name = f"memory-{mode.lower()}"
            request = flow.training_job_request(
                name,
                ROLE_ARN,
                {"train": f"s3://{bucket}/bench/train/"},
                f"s3://{bucket}/out",
                mode,
            )
            request["HyperParameters"].update({"epochs": "1", "num_models": "1"})
            time.sleep(1.0)  # let the upload's buffers go back to the system
            before = server.rss()
            with PeakSampler(server.rss) as sampler:
                job = flow.train(sagemaker, request, timeout=3600)
            if job["TrainingJobStatus"] != "Completed":
                raise RuntimeError(f"{name}: {job.get('FailureReason')}")
            results[mode] = (before, sampler.peak)
        return results
    finally:
        server.stop()


def chatty(root: Path, seconds: float, points: int = 6) -> list[tuple[float, int, int]]:
    """An endless job on tiny data: ``(seconds, bytes logged, server RSS)`` at ``points + 1``
    moments, evenly spread over ``seconds``."""
    server = Server(root)
    try:
        s3, sagemaker, logs = (server.client(name) for name in ("s3", "sagemaker", "logs"))
        bucket = bucket_name(REGION)
        s3.put_object(Bucket=bucket, Key="chatty/train.csv", Body=flow.regression_csv(20))
        request = flow.training_job_request(
            "chatty", ROLE_ARN, {"train": f"s3://{bucket}/chatty/"}, f"s3://{bucket}/out", "File"
        )
        endless = {"mini_batch_size": "10", "epochs": "2000000000"}
        request["HyperParameters"].update({**endless, "early_stopping_patience": "2000000000"})
        sagemaker.create_training_job(**request)
        flow.wait_for_status(sagemaker, "chatty", "Training")
        started, samples = time.monotonic(), []
        for point in range(points + 1):
            time.sleep(max(0.0, started + seconds * point / points - time.monotonic()))
            streams = logs.describe_log_streams(
                logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="chatty/"
            )["logStreams"]
            logged = sum(stream.get("storedBytes", 0) for stream in streams)
            samples.append((time.monotonic() - started, logged, server.rss()))
        sagemaker.stop_training_job(TrainingJobName="chatty")
        return samples
    finally:
        server.stop()


@contextlib.contextmanager
def revision_tree(revision: str):
    """The project's ``local_aws`` at ``revision``, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as folder:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", revision, "local_aws"],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


def report(size: int, ours: dict, baseline: dict | None, revision: str | None) -> None:
    print(f"Server RSS (MB) while a job reads one {size / MB:,.0f} MB S3 object:")
    header = f"  {'mode':<5} {'ours: before':>13} {'peak':>8} {'growth':>8}"
    if baseline:
        header += f" | {revision + ': before':>15} {'peak':>8} {'growth':>8}"
    print(header)
    for mode, (before, peak) in ours.items():
        line = f"  {mode:<5} {before / MB:13.0f} {peak / MB:8.0f} {(peak - before) / MB:8.0f}"
        if baseline:
            base_before, base_peak = baseline[mode]
            line += (
                f" | {base_before / MB:15.0f} {base_peak / MB:8.0f}"
                f" {(base_peak - base_before) / MB:8.0f}"
            )
        print(line)


def report_chatty(ours: list, baseline: list | None, revision: str | None) -> None:
    print("An endless chatty job (MB logged so far, server RSS in MB):")
    header = f"  {'s':>5} {'ours: logged':>13} {'RSS':>6}"
    if baseline:
        header += f" | {revision + ': logged':>16} {'RSS':>6}"
    print(header)
    for index, (elapsed, logged, rss) in enumerate(ours):
        line = f"  {elapsed:5.0f} {logged / MB:13.1f} {rss / MB:6.0f}"
        if baseline:
            _, base_logged, base_rss = baseline[index]
            line += f" | {base_logged / MB:16.1f} {base_rss / MB:6.0f}"
        print(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=64, help="object size (1024 for 1 GB)")
    parser.add_argument("--chatty-s", type=float, default=30, help="chatty job duration (s)")
    parser.add_argument("--baseline-rev", help="also measure this git revision's server")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        data = Path(folder) / "train.csv"
        size = write_csv(data, args.size_mb * MB)
        ours = measure(PROJECT_ROOT, data, size), chatty(PROJECT_ROOT, args.chatty_s)
        baseline = None, None
        if args.baseline_rev:
            with revision_tree(args.baseline_rev) as tree:
                baseline = measure(tree, data, size), chatty(tree, args.chatty_s)
    report(size, ours[0], baseline[0], args.baseline_rev)
    report_chatty(ours[1], baseline[1], args.baseline_rev)
    print(f"  (RSS sampled every {SAMPLE_S * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
