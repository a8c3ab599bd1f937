"""Benchmark of the local AWS emulator against the issue's targets, printed side by side.

Measures, on one emulator started for the run:
- the lab's whole flow through plain boto3, phase by phase (emulator time only: 0.2 s polls);
- the same flow through the SageMaker SDK v3, with the SDK's own 5 s polling included;
- CreateEndpoint -> InService (target <= 2 s), best and median of several endpoints;
- InvokeEndpoint single-row round trip through boto3 (target p50 <= 10 ms), p50 and p99;
- load: 8 client threads x 500 invocations (target: zero errors, server memory flat).

Usage: ``python -m bench.local_aws_flow [--rounds N]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import statistics
import time

import boto3
import psutil
from botocore.config import Config
from tqdm import tqdm

import local_aws
from tests.local_aws import flow

TARGET_IN_SERVICE_S = 2.0
TARGET_INVOKE_P50_MS = 10.0
LOAD_THREADS = 8
LOAD_CALLS_PER_THREAD = 500
SDK_POLL_S = 5.0


def row(what: str, ours: float, target: float | None, unit: str) -> None:
    ratio = f"{ours / target:6.2f}x target" if target else ""
    shown_target = f"{target:9.3f} {unit}" if target is not None else " " * 12
    print(f"  {what:<52} {ours:9.3f} {unit:<3} | target {shown_target} | {ratio}")


def boto3_flow(clients, aws) -> dict[str, float]:
    """Wall time (s) of each phase of the lab's flow through boto3."""
    phases = {}
    start = time.perf_counter()
    channels = flow.upload_dataset(clients.s3, aws.bucket, "bench")
    phases["upload train.csv + test.csv (2000 rows each)"] = time.perf_counter() - start
    request = flow.training_job_request("bench", aws.role_arn, channels, f"s3://{aws.bucket}/out")
    start = time.perf_counter()
    job = flow.train(clients.sagemaker, request)
    phases["CreateTrainingJob -> Completed"] = time.perf_counter() - start
    start = time.perf_counter()
    flow.deploy(clients.sagemaker, "bench", job["ModelArtifacts"]["S3ModelArtifacts"], aws.role_arn)
    phases["CreateModel/EndpointConfig/Endpoint -> InService"] = time.perf_counter() - start
    start = time.perf_counter()
    flow.invoke(clients.runtime, "bench")
    phases["first InvokeEndpoint"] = time.perf_counter() - start
    start = time.perf_counter()
    flow.clean_up(clients.sagemaker, "bench")
    phases["DeleteEndpoint/EndpointConfig/Model"] = time.perf_counter() - start
    return phases


def in_service_times(clients, aws, model_data: str, rounds: int) -> list[float]:
    """Seconds from CreateEndpoint to InService, for ``rounds`` fresh endpoints."""
    clients.sagemaker.create_model(
        ModelName="speed",
        PrimaryContainer={"Image": flow.LINEAR_LEARNER_IMAGE, "ModelDataUrl": model_data},
        ExecutionRoleArn=aws.role_arn,
    )
    flow.create_endpoint_config(clients.sagemaker, "speed", "speed")
    times = []
    for number in tqdm(range(rounds), desc="CreateEndpoint -> InService", leave=False):
        name = f"speed-{number}"
        start = time.perf_counter()
        clients.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="speed")
        answer = flow.wait_for_endpoint(clients.sagemaker, name, poll=0.01)
        times.append(time.perf_counter() - start)
        assert answer["EndpointStatus"] == "InService", answer.get("FailureReason")
        if number < rounds - 1:
            clients.sagemaker.delete_endpoint(EndpointName=name)
    return times


def invoke_latencies(runtime, endpoint: str, calls: int) -> list[float]:
    """Milliseconds per single-row InvokeEndpoint through boto3."""
    latencies = []
    for _ in tqdm(range(calls), desc="InvokeEndpoint latency", leave=False):
        start = time.perf_counter()
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1.0,2.0", ContentType="text/csv")[
            "Body"
        ].read()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def load(aws, endpoint: str) -> tuple[int, float]:
    """8 threads x 500 invocations, one boto3 client per thread; returns (errors, seconds)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")

    def worker(_):
        runtime = session.client(
            "sagemaker-runtime",
            endpoint_url=aws.url,
            region_name=aws.region,
            config=Config(retries={"max_attempts": 1}),
        )
        errors = 0
        for _ in range(LOAD_CALLS_PER_THREAD):
            try:
                runtime.invoke_endpoint(
                    EndpointName=endpoint, Body=b"1.0,2.0", ContentType="text/csv"
                )["Body"].read()
            except Exception:  # every failure counts
                errors += 1
        return errors

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(LOAD_THREADS) as pool:
        errors = sum(pool.map(worker, range(LOAD_THREADS)))
    return errors, time.perf_counter() - start


def sdk_v3_flow(aws) -> dict[str, float]:
    """Wall time (s) of each phase of the lab's flow through the SageMaker SDK v3."""
    aws.apply()
    phases = {}
    start = time.perf_counter()
    import sagemaker.core.resources  # noqa: F401
    import sagemaker.train  # noqa: F401

    phases["import sagemaker (SDK's own cost)"] = time.perf_counter() - start
    start = time.perf_counter()
    trainer = flow.sdk_model_trainer(aws, "bench", "bench-sdk")
    phases["ModelTrainer(...) (role check)"] = time.perf_counter() - start
    start = time.perf_counter()
    trainer.train(wait=True, logs=True)
    phases["train(wait=True, logs=True)"] = time.perf_counter() - start
    job = trainer._latest_training_job
    job_seconds = job.training_end_time.timestamp() - job.creation_time.timestamp()
    phases["  of which the job itself (Create -> End)"] = job_seconds
    start = time.perf_counter()
    model, config, endpoint = flow.sdk_deploy(
        aws, "bench-sdk", job.model_artifacts.s3_model_artifacts
    )
    phases["Model/EndpointConfig/Endpoint + wait_for_status"] = time.perf_counter() - start
    created = endpoint.creation_time.timestamp()
    phases["  of which the endpoint itself (Create -> InService)"] = (
        endpoint.last_modified_time.timestamp() - created
    )
    start = time.perf_counter()
    endpoint.invoke(body="1.0,2.0", content_type="text/csv", accept="application/json")
    phases["endpoint.invoke"] = time.perf_counter() - start
    start = time.perf_counter()
    endpoint.delete()
    config.delete()
    model.delete()
    phases["delete x3"] = time.perf_counter() - start
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="endpoints created for timing")
    parser.add_argument("--calls", type=int, default=1000, help="invocations for latency")
    args = parser.parse_args()

    start = time.perf_counter()
    aws = local_aws.start()
    started = time.perf_counter() - start
    try:
        server = psutil.Process(aws.pid)
        clients = flow.clients_for(aws)
        print(f"Local AWS emulator at {aws.url} (server pid {aws.pid})")
        print("\nServer start (local_aws.start())")
        row("start -> listening", started, None, "s")

        phases = boto3_flow(clients, aws)
        print("\nLab flow through boto3 (polling every 0.2 s)")
        for what, seconds in phases.items():
            row(what, seconds, None, "s")
        row("whole flow", sum(phases.values()), None, "s")

        job = clients.sagemaker.describe_training_job(TrainingJobName="bench")
        model_data = job["ModelArtifacts"]["S3ModelArtifacts"]
        times = in_service_times(clients, aws, model_data, args.rounds)
        endpoint = f"speed-{args.rounds - 1}"
        print(f"\nCreateEndpoint -> InService ({args.rounds} endpoints, polled every 10 ms)")
        row("best", min(times), TARGET_IN_SERVICE_S, "s")
        row("median", statistics.median(times), TARGET_IN_SERVICE_S, "s")
        row("worst", max(times), TARGET_IN_SERVICE_S, "s")

        latencies = sorted(invoke_latencies(clients.runtime, endpoint, args.calls))
        print(f"\nInvokeEndpoint, one CSV row, through boto3 ({args.calls} calls)")
        row("p50", latencies[len(latencies) // 2], TARGET_INVOKE_P50_MS, "ms")
        row("p99", latencies[math.ceil(len(latencies) * 0.99) - 1], None, "ms")

        rss_before = server.memory_info().rss / 2**20
        rounds = []
        for _ in tqdm(range(2), desc="load rounds", leave=False):
            errors, seconds = load(aws, endpoint)
            rounds.append((errors, seconds, server.memory_info().rss / 2**20))
        print(f"\nLoad: {LOAD_THREADS} threads x {LOAD_CALLS_PER_THREAD} invocations, two rounds")
        for number, (errors, seconds, rss) in enumerate(rounds, start=1):
            calls = LOAD_THREADS * LOAD_CALLS_PER_THREAD
            row(f"round {number}: errors", errors, 0, "")
            row(f"round {number}: throughput", calls / seconds, None, "/s")
            row(
                f"round {number}: server RSS after (before: {rss_before:.1f} MiB)", rss, None, "MiB"
            )
        row("server RSS growth, round 1 -> round 2", rounds[1][2] - rounds[0][2], None, "MiB")
        clients.sagemaker.delete_endpoint(EndpointName=endpoint)

        phases = sdk_v3_flow(aws)
        print(f"\nLab flow through the SageMaker SDK v3 (its polls: every {SDK_POLL_S:g} s)")
        for what, seconds in phases.items():
            row(what, seconds, None, "s")
        total = sum(s for what, s in phases.items() if not what.startswith("  "))
        row("whole flow", total, None, "s")
    finally:
        aws.stop()


if __name__ == "__main__":
    main()
