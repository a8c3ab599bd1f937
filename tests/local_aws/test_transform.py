"""Batch transform jobs against a real emulator, a really trained linear-learner and its real
model server: splitting, batching, payload limits, assembling, several objects, manifests,
Stop, errors, List, tags and logs. Every SageMaker answer is checked against its shape.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from botocore.exceptions import ClientError

from local_aws.recordio import frame
from local_aws.sagemaker.transform import check_request
from local_aws.sagemaker.transform_jobs import TRANSFORM_LOG_GROUP

from . import flow

TRANSFORM_OPERATIONS = {
    "CreateTransformJob",
    "DescribeTransformJob",
    "ListTransformJobs",
    "StopTransformJob",
}


def features_csv(rows: int, seed: int) -> bytes:
    """``rows`` CSV lines of two features (no label), as inference takes them."""
    values = np.random.default_rng(seed).normal(size=(rows, flow.FEATURES))
    return ("\n".join(f"{a:.6f},{b:.6f}" for a, b in values) + "\n").encode()


@pytest.fixture(scope="module")
def model(aws, clients):
    """A model of a completed training job; returns its name."""
    channels = flow.upload_dataset(clients.s3, aws.bucket, "tf")
    request = flow.training_job_request(
        "tf-train", aws.role_arn, channels, f"s3://{aws.bucket}/tf/output"
    )
    trained = flow.train(clients.sagemaker, request)
    assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
    clients.sagemaker.create_model(
        ModelName="tf-model",
        PrimaryContainer={
            "Image": flow.LINEAR_LEARNER_IMAGE,
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=aws.role_arn,
    )
    return "tf-model"


def put(clients, aws, key: str, body: bytes) -> str:
    clients.s3.put_object(Bucket=aws.bucket, Key=key, Body=body)
    return f"s3://{aws.bucket}/{key}"


def job_request(name: str, model: str, input_uri: str, output_uri: str, **members) -> dict:
    """A CreateTransformJob request for CSV input; ``members`` override or add members, and
    ``SplitType``, ``Accept``, ``AssembleWith`` and ``S3DataType`` go where they belong."""
    transform_input = {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": members.pop("S3DataType", "S3Prefix"),
                "S3Uri": input_uri,
            }
        },
        "ContentType": members.pop("ContentType", "text/csv"),
        "SplitType": members.pop("SplitType", "Line"),
    }
    output = {"S3OutputPath": output_uri}
    for member in ("Accept", "AssembleWith"):
        if member in members:
            output[member] = members.pop(member)
    return {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
        **members,
    }


def wait(sagemaker, name: str, timeout: float = 120) -> dict:
    return flow.poll_until(
        lambda: sagemaker.describe_transform_job(TransformJobName=name),
        lambda answer: answer["TransformJobStatus"] in flow.TERMINAL_JOB_STATUSES,
        timeout,
        0.1,
    )


def run(clients, request: dict) -> dict:
    clients.sagemaker.create_transform_job(**request)
    return wait(clients.sagemaker, request["TransformJobName"])


def read(clients, uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def json_documents(data: bytes) -> list:
    """The JSON documents written one after another in ``data`` (any whitespace between)."""
    decoder, text, found, at = json.JSONDecoder(), data.decode(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


def test_line_split_single_record_writes_one_out_per_object_matching_invoke_endpoint(
    aws, clients, model
):
    inputs = {"a.csv": features_csv(7, 1), "b.csv": features_csv(3, 2), "sub/c.csv": b"1,2\n"}
    for name, body in inputs.items():
        put(clients, aws, f"tf/in1/{name}", body)
    answer = run(
        clients,
        job_request(
            "tf-single",
            model,
            f"s3://{aws.bucket}/tf/in1/",
            f"s3://{aws.bucket}/tf/out1",
            BatchStrategy="SingleRecord",
            Accept="application/jsonlines",
            AssembleWith="Line",
        ),
    )
    assert answer["TransformJobStatus"] == "Completed", answer.get("FailureReason")
    assert answer["TransformStartTime"] <= answer["TransformEndTime"]
    flow.deploy(clients.sagemaker, "tf-ep", _model_data(clients, model), aws.role_arn)
    try:
        for name, body in inputs.items():
            out = read(clients, f"s3://{aws.bucket}/tf/out1/{name}.out")
            scores = [json.loads(line)["score"] for line in out.decode().splitlines()]
            expected = [
                p["score"]
                for p in flow.invoke(clients.runtime, "tf-ep", body.decode())["predictions"]
            ]
            assert scores == expected
    finally:
        flow.clean_up(clients.sagemaker, "tf-ep")


def _model_data(clients, model: str) -> str:
    return clients.sagemaker.describe_model(ModelName=model)["PrimaryContainer"]["ModelDataUrl"]
