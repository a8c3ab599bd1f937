"""Benchmark: a batch transform job against the same rows sent through InvokeEndpoint.

Trains a linear-learner on the emulator, uploads one CSV object of ``--rows`` rows of two
features, then times, side by side:

- ours: CreateTransformJob (SplitType Line, MultiRecord, MaxPayloadInMB 6, Accept JSON Lines)
  until Completed, with the server process's RSS sampled every 10 ms (its growth over the
  RSS before the job: the object is streamed, so it should stay near a few payloads);
- baseline: the same rows in the same 6 MiB requests, sent one after another by a client
  through InvokeEndpoint to an endpoint of the same model (what a user does without batch
  transform), model server start not counted.

Usage: ``python -m bench.transform [--rows 1000000] [--concurrency 1]``
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np
import psutil

import local_aws
from tests.local_aws import flow

MIB = 1024 * 1024


def rows_csv(rows: int) -> bytes:
    values = np.random.default_rng(0).normal(size=(rows, flow.FEATURES))
    return ("\n".join(f"{a:.6f},{b:.6f}" for a, b in values) + "\n").encode()


def requests_of(body: bytes, limit: int) -> list[bytes]:
    """Whole lines, as many as fit in ``limit`` bytes per request (MultiRecord's batching)."""
    found, start = [], 0
    while start < len(body):
        end = (
            body.rfind(b"\n", start, start + limit) + 1 if start + limit < len(body) else len(body)
        )
        found.append(body[start:end])
        start = end
    return found


def peak_rss(pid: int, running: threading.Event, peaks: list[int]) -> None:
    process = psutil.Process(pid)
    while running.is_set():
        peaks.append(process.memory_info().rss)
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    with local_aws.start() as aws:
        clients = flow.clients_for(aws)
        channels = flow.upload_dataset(clients.s3, aws.bucket, "bench")
        request = flow.training_job_request(
            "bench", aws.role_arn, channels, f"s3://{aws.bucket}/bench/out"
        )
        model_data = flow.train(clients.sagemaker, request)["ModelArtifacts"]["S3ModelArtifacts"]
        body = rows_csv(args.rows)
        clients.s3.put_object(Bucket=aws.bucket, Key="bench/batch/rows.csv", Body=body)
        flow.deploy(clients.sagemaker, "bench", model_data, aws.role_arn)

        running, peaks = threading.Event(), []
        running.set()
        before = psutil.Process(aws.pid).memory_info().rss
        sampler = threading.Thread(target=peak_rss, args=(aws.pid, running, peaks))
        sampler.start()
        started = time.perf_counter()
        clients.sagemaker.create_transform_job(
            TransformJobName="bench",
            ModelName="bench",
            BatchStrategy="MultiRecord",
            MaxPayloadInMB=6,
            MaxConcurrentTransforms=args.concurrency,
            TransformInput={
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{aws.bucket}/bench/batch/",
                    }
                },
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            TransformOutput={
                "S3OutputPath": f"s3://{aws.bucket}/bench/predictions",
                "Accept": "application/jsonlines",
            },
            TransformResources={"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
        )
        answer = flow.poll_until(
            lambda: clients.sagemaker.describe_transform_job(TransformJobName="bench"),
            lambda a: a["TransformJobStatus"] in flow.TERMINAL_JOB_STATUSES,
            3600,
            0.05,
        )
        ours = time.perf_counter() - started
        running.clear()
        sampler.join()
        assert answer["TransformJobStatus"] == "Completed", answer.get("FailureReason")

        started = time.perf_counter()
        for payload in requests_of(body, 6 * MIB):
            clients.runtime.invoke_endpoint(
                EndpointName="bench",
                Body=payload,
                ContentType="text/csv",
                Accept="application/jsonlines",
            )["Body"].read()
        baseline = time.perf_counter() - started
        flow.clean_up(clients.sagemaker, "bench")

    size = len(body) / MIB
    print(f"input: {args.rows:,} rows, {size:.1f} MiB; MaxConcurrentTransforms {args.concurrency}")
    print(f"{'':38}{'seconds':>10}{'rows/s':>12}")
    print(f"{'batch transform (Create to Completed)':38}{ours:10.2f}{args.rows / ours:12,.0f}")
    print(f"{'InvokeEndpoint, 6 MiB requests':38}{baseline:10.2f}{args.rows / baseline:12,.0f}")
    growth = (max(peaks) - before) / MIB
    print(f"server RSS during the job: {before / MIB:.0f} MiB before, +{growth:.0f} MiB at peak")


if __name__ == "__main__":
    main()
