"""The lab's flow through the SageMaker Python SDK v3, with nothing but the loopback reachable.

ModelTrainer trains with Pipe-mode CSV channels (``train(wait=True, logs=True)``), then the
resource classes create the Model, EndpointConfig and Endpoint, wait, invoke and delete.
Every host name lookup other than the loopback address fails the test.
"""

from __future__ import annotations

import json
import logging
import socket

import boto3
import pytest

from . import flow
from .loopback_lookups import loopback_only


@pytest.fixture
def offline(aws, monkeypatch):
    """The emulator's client environment, and host lookups limited to the loopback address."""
    for name, value in aws.env.items():
        monkeypatch.setenv(name, value)
    refused: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", loopback_only(refused))
    return refused


def test_lab_flow_with_sdk_v3(aws, offline, caplog):
    flow.upload_dataset(boto3.client("s3"), aws.bucket, "sdk")
    trainer = flow.sdk_model_trainer(aws, "sdk", "flights-sdk")
    with caplog.at_level(logging.INFO, logger="sagemaker.core.resources"):
        trainer.train(wait=True, logs=True)
    job = trainer._latest_training_job
    assert job.training_job_status == "Completed"
    assert job.algorithm_specification.training_input_mode == "Pipe"
    assert "Docker entrypoint called with argument(s): train" in caplog.text
    assert "#quality_metric: host=algo-1, test mse <loss>=" in caplog.text

    artifact = job.model_artifacts.s3_model_artifacts
    assert artifact.endswith(f"/sdk/output/{job.training_job_name}/output/model.tar.gz")
    model, config, endpoint = flow.sdk_deploy(aws, "sdk", artifact)
    assert endpoint.endpoint_status == "InService"
    answer = endpoint.invoke(body="1.0,2.0", content_type="text/csv", accept="application/json")
    score = json.loads(answer.body.read())["predictions"][0]["score"]
    assert score == pytest.approx(0.0, abs=1.0)  # label = 3*x1 - 2*x2 + 1
    endpoint.delete()
    config.delete()
    model.delete()
    endpoint.wait_for_delete(poll=1, timeout=60)
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []
    assert offline == [], f"the SDK tried to reach {offline}"


def test_batch_transform_with_sdk_v3_transformer(aws, offline, caplog):
    """``sagemaker.core.transformer.Transformer`` unchanged: transform(wait=True, logs=True)."""
    from sagemaker.core.transformer import Transformer

    s3 = boto3.client("s3")
    flow.upload_dataset(s3, aws.bucket, "sdk-bt")
    trainer = flow.sdk_model_trainer(aws, "sdk-bt", "flights-bt")
    trainer.train(wait=True, logs=False)
    artifact = trainer._latest_training_job.model_artifacts.s3_model_artifacts
    boto3.client("sagemaker").create_model(
        ModelName="sdk-bt",
        PrimaryContainer={"Image": flow.LINEAR_LEARNER_IMAGE, "ModelDataUrl": artifact},
        ExecutionRoleArn=aws.role_arn,
    )
    s3.put_object(Bucket=aws.bucket, Key="sdk-bt/batch/rows.csv", Body=b"1.0,2.0\n0.5,0.5\n")
    transformer = Transformer(
        model_name="sdk-bt",
        instance_count=1,
        instance_type="ml.m4.xlarge",
        strategy="MultiRecord",
        assemble_with="Line",
        accept="application/jsonlines",
        output_path=f"s3://{aws.bucket}/sdk-bt/predictions",
    )
    with caplog.at_level(logging.INFO):
        transformer.transform(
            f"s3://{aws.bucket}/sdk-bt/batch/",
            content_type="text/csv",
            split_type="Line",
            wait=True,
            logs=True,
        )
    job = transformer.latest_transform_job
    job.refresh()
    assert job.transform_job_status == "Completed"
    assert "Serving on http://" in caplog.text  # the model server's log, read by the SDK
    out = s3.get_object(Bucket=aws.bucket, Key="sdk-bt/predictions/rows.csv.out")["Body"].read()
    assert [set(json.loads(line)) for line in out.decode().splitlines()] == [{"score"}] * 2


def test_tuning_with_sdk_v3_hyperparameter_tuner(aws, offline):
    from sagemaker.core.parameter import ContinuousParameter
    from sagemaker.core.training.configs import InputData
    from sagemaker.train.tuner import HyperparameterTuner

    flow.upload_dataset(boto3.client("s3"), aws.bucket, "sdk-tune", rows=300)
    trainer = flow.sdk_model_trainer(aws, "sdk-tune", "flights-tune")
    trainer.hyperparameters.update({"epochs": 3, "mini_batch_size": 50})
    tuner = HyperparameterTuner(
        trainer,
        objective_metric_name="test:mse",
        hyperparameter_ranges={"learning_rate": ContinuousParameter(1e-3, 0.3, "Logarithmic")},
        strategy="Random",
        objective_type="Minimize",
        max_jobs=3,
        max_parallel_jobs=2,
        random_seed=11,
    )
    # the tuner copies a ModelTrainer's InputData channels unconverted (pydantic refuses
    # them), so the channels are given to tune() as InputData with S3 URIs, which it converts
    inputs = [
        InputData(
            channel_name=c, data_source=f"s3://{aws.bucket}/sdk-tune/{c}/", content_type="text/csv"
        )
        for c in ("train", "test")
    ]
    tuner.tune(inputs=inputs, job_name="sdk-v3-tune", wait=True)
    described = tuner.describe()
    assert described.hyper_parameter_tuning_job_status == "Completed"
    best = tuner.best_training_job()
    assert best.startswith("sdk-v3-tune-00")
    jobs = boto3.client("sagemaker").list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="sdk-v3-tune",
        SortBy="FinalObjectiveMetricValue",
        SortOrder="Ascending",
    )["TrainingJobSummaries"]
    assert len(jobs) == 3 and jobs[0]["TrainingJobName"] == best
    assert offline == [], f"the SDK tried to reach {offline}"
