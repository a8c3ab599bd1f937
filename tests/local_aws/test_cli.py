"""The lab's flow through the aws CLI (v1) with ``--endpoint-url``, as a learner would type it."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from local_aws.algorithms.linear_learner import artifact

from . import flow

AWS_CLI = Path(sys.executable).with_name("aws")


@pytest.fixture
def cli(aws):
    """Run ``aws <args> --endpoint-url URL``; returns its JSON output parsed, or its text."""
    environment = {**os.environ, **aws.env}
    environment.pop("AWS_ENDPOINT_URL")

    def run(*args: str):
        command = [str(AWS_CLI), *args, "--endpoint-url", aws.url, "--output", "json"]
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{' '.join(args)} failed: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.startswith("{") else done.stdout

    return run


def poll(cli, args: list[str], field: str, pending: tuple[str, ...], timeout: float = 60):
    """Run ``aws <args>`` every 0.5 s while its ``field`` is in ``pending``; the last answer."""
    return flow.poll_until(
        lambda: cli(*args), lambda answer: answer[field] not in pending, timeout, 0.5
    )


def metric_datapoints(cli, namespace, metric, dimensions, statistic="Average") -> list[dict]:
    """``aws cloudwatch get-metric-statistics`` over the last hour, one-hour period."""
    now = datetime.datetime.now(datetime.UTC)
    return cli(
        "cloudwatch",
        "get-metric-statistics",
        "--namespace",
        namespace,
        "--metric-name",
        metric,
        "--dimensions",
        *dimensions,
        "--start-time",
        (now - datetime.timedelta(hours=1)).isoformat(),
        "--end-time",
        (now + datetime.timedelta(minutes=1)).isoformat(),
        "--period",
        "3600",
        "--statistics",
        statistic,
    )["Datapoints"]


def test_lab_flow_with_the_aws_cli(aws, cli, tmp_path):
    for seed, channel in enumerate(("train", "test")):
        local = tmp_path / f"{channel}.csv"
        local.write_bytes(flow.regression_csv(2000, seed))
        cli("s3", "cp", str(local), f"s3://{aws.bucket}/cli/{channel}/{channel}.csv")
    channels = {c: f"s3://{aws.bucket}/cli/{c}/" for c in ("train", "test")}
    request = flow.training_job_request(
        "cli-job", aws.role_arn, channels, f"s3://{aws.bucket}/cli/out"
    )
    (tmp_path / "job.json").write_text(json.dumps(request))
    cli("sagemaker", "create-training-job", "--cli-input-json", f"file://{tmp_path / 'job.json'}")
    job = poll(
        cli,
        ["sagemaker", "describe-training-job", "--training-job-name", "cli-job"],
        "TrainingJobStatus",
        ("InProgress",),
    )
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    streams = cli(
        "logs",
        "describe-log-streams",
        "--log-group-name",
        "/aws/sagemaker/TrainingJobs",
        "--log-stream-name-prefix",
        "cli-job/",
        "--order-by",
        "LogStreamName",
    )["logStreams"]
    events = cli(
        "logs",
        "get-log-events",
        "--log-group-name",
        "/aws/sagemaker/TrainingJobs",
        "--log-stream-name",
        streams[0]["logStreamName"],
        "--start-from-head",
    )["events"]
    assert any("#quality_metric" in event["message"] for event in events)

    model_data = job["ModelArtifacts"]["S3ModelArtifacts"]
    cli(
        "sagemaker",
        "create-model",
        "--model-name",
        "cli",
        "--execution-role-arn",
        aws.role_arn,
        "--primary-container",
        f"Image={flow.LINEAR_LEARNER_IMAGE},ModelDataUrl={model_data}",
    )
    cli(
        "sagemaker",
        "create-endpoint-config",
        "--endpoint-config-name",
        "cli",
        "--production-variants",
        "VariantName=AllTraffic,ModelName=cli,InitialInstanceCount=1,"
        "InstanceType=ml.m4.xlarge,InitialVariantWeight=1",
    )
    cli("sagemaker", "create-endpoint", "--endpoint-name", "cli", "--endpoint-config-name", "cli")
    endpoint = poll(
        cli,
        ["sagemaker", "describe-endpoint", "--endpoint-name", "cli"],
        "EndpointStatus",
        ("Creating",),
    )
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    out = tmp_path / "out.json"
    answer = cli(
        "sagemaker-runtime",
        "invoke-endpoint",
        "--endpoint-name",
        "cli",
        "--content-type",
        "text/csv",
        "--accept",
        "application/json",
        "--body",
        "1.0,2.0",
        str(out),
    )
    assert answer["ContentType"] == "application/json"
    assert json.loads(out.read_text())["predictions"][0]["score"] == pytest.approx(0.0, abs=1.0)
    invocations = metric_datapoints(
        cli,
        "AWS/SageMaker",
        "Invocations",
        ["Name=EndpointName,Value=cli", "Name=VariantName,Value=AllTraffic"],
        "Sum",
    )
    assert sum(point["Sum"] for point in invocations) == 1
    losses = metric_datapoints(
        cli, "/aws/sagemaker/TrainingJobs", "test:mse", ["Name=TrainingJobName,Value=cli-job"]
    )
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert [point["Average"] for point in losses] == pytest.approx([final["test:mse"]])
    cli("sagemaker", "delete-endpoint", "--endpoint-name", "cli")
    cli("sagemaker", "wait", "endpoint-deleted", "--endpoint-name", "cli")
    cli("sagemaker", "delete-endpoint-config", "--endpoint-config-name", "cli")
    cli("sagemaker", "delete-model", "--model-name", "cli")
    assert cli("sagemaker", "list-models")["Models"] == []


def test_tags_with_the_aws_cli(aws, cli, tmp_path):
    """CreateModel with --tags, then add-tags, list-tags and delete-tags by its ARN."""
    artifact.save(artifact.LinearModel(weights=np.array([1.0]), bias=0.0), tmp_path / "m")
    tar = artifact.pack(tmp_path / "m", tmp_path / "model.tar.gz")
    cli("s3", "cp", str(tar), f"s3://{aws.bucket}/cli-tags/model.tar.gz")
    arn = cli(
        "sagemaker",
        "create-model",
        "--model-name",
        "Cli-Tags",
        "--execution-role-arn",
        aws.role_arn,
        "--primary-container",
        f"Image={flow.LINEAR_LEARNER_IMAGE},ModelDataUrl=s3://{aws.bucket}/cli-tags/model.tar.gz",
        "--tags",
        "Key=project,Value=flights",
    )["ModelArn"]
    assert arn.endswith(":model/cli-tags")
    cli("sagemaker", "add-tags", "--resource-arn", arn, "--tags", "Key=stage,Value=dev")
    cli("sagemaker", "delete-tags", "--resource-arn", arn, "--tag-keys", "project")
    assert cli("sagemaker", "list-tags", "--resource-arn", arn)["Tags"] == [
        {"Key": "stage", "Value": "dev"}
    ]
    cli("sagemaker", "delete-model", "--model-name", "cli-tags")
