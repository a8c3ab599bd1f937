"""The lab's flow through plain boto3, shared by the emulator's tests and benchmark.

Each step is a function taking boto3 clients, so a caller can time or check it alone:
``upload_dataset`` -> ``train`` -> ``deploy`` -> ``invoke`` -> ``clean_up``.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import boto3
import numpy as np
from botocore.config import Config

LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
FEATURES = 2
TERMINAL_JOB_STATUSES = ("Completed", "Failed", "Stopped")


def regression_csv(rows: int = 2000, seed: int = 0) -> bytes:
    """CSV rows ``label,x1,x2`` with label = 3*x1 - 2*x2 + 1 + small noise (no header)."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, FEATURES))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + rng.normal(scale=0.01, size=rows)
    table = np.column_stack([labels, features])
    return ("\n".join(",".join(f"{v:.6f}" for v in row) for row in table) + "\n").encode()


def upload_dataset(s3, bucket: str, prefix: str, rows: int = 2000) -> dict[str, str]:
    """Put ``train/train.csv`` and ``test/test.csv`` under ``prefix``; returns channel -> S3 URI."""
    uris = {}
    for seed, channel in enumerate(("train", "test")):
        key = f"{prefix}/{channel}/{channel}.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=regression_csv(rows, seed))
        uris[channel] = f"s3://{bucket}/{prefix}/{channel}/"
    return uris


def training_job_request(
    name: str, role_arn: str, channels: dict[str, str], output_path: str, mode: str = "Pipe"
) -> dict:
    """A CreateTrainingJob request shaped as the SageMaker SDK sends it."""
    return {
        "TrainingJobName": name,
        "HyperParameters": {"feature_dim": str(FEATURES), "predictor_type": "regressor"},
        "AlgorithmSpecification": {
            "TrainingInputMode": mode,
            "TrainingImage": LINEAR_LEARNER_IMAGE,
        },
        "RoleArn": role_arn,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for channel, uri in channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": output_path, "CompressionType": "GZIP"},
        "ResourceConfig": {
            "InstanceType": "ml.m4.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def poll_until(describe, finished, timeout: float, interval: float) -> dict:
    """Call ``describe()`` every ``interval`` s until ``finished(answer)`` or ``timeout`` s have
    passed; returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = describe()
        if finished(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(interval)


def wait_for_job(sagemaker, name: str, timeout: float = 120, poll: float = 0.2) -> dict:
    """Poll DescribeTrainingJob until a final status; returns the last answer."""
    return poll_until(
        lambda: sagemaker.describe_training_job(TrainingJobName=name),
        lambda answer: answer["TrainingJobStatus"] in TERMINAL_JOB_STATUSES,
        timeout,
        poll,
    )


def train(sagemaker, request: dict, timeout: float = 120) -> dict:
    """CreateTrainingJob, then wait; returns the final DescribeTrainingJob answer."""
    sagemaker.create_training_job(**request)
    return wait_for_job(sagemaker, request["TrainingJobName"], timeout)


def wait_for_endpoint(
    sagemaker, name: str, pending=("Creating", "Updating"), timeout: float = 60, poll: float = 0.02
) -> dict:
    """Poll DescribeEndpoint while its status is in ``pending``; returns the last answer."""
    return poll_until(
        lambda: sagemaker.describe_endpoint(EndpointName=name),
        lambda answer: answer["EndpointStatus"] not in pending,
        timeout,
        poll,
    )


def wait_for_deletion(sagemaker, name: str, timeout: float = 60, poll: float = 0.05) -> None:
    """Wait with botocore's own ``endpoint_deleted`` waiter (the SDK's ``wait_for_delete``)
    until DescribeEndpoint no longer finds ``name``."""
    sagemaker.get_waiter("endpoint_deleted").wait(
        EndpointName=name, WaiterConfig={"Delay": poll, "MaxAttempts": int(timeout / poll)}
    )


def deploy(sagemaker, name: str, model_data: str, role_arn: str) -> dict:
    """CreateModel, CreateEndpointConfig and CreateEndpoint named ``name``; wait for it."""
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": model_data},
        ExecutionRoleArn=role_arn,
    )
    create_endpoint_config(sagemaker, name, name)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return wait_for_endpoint(sagemaker, name)


def create_endpoint_config(sagemaker, name: str, model: str, instance_type="ml.m4.xlarge"):
    return sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": instance_type,
                "InitialVariantWeight": 1.0,
            }
        ],
    )


def invoke(runtime, endpoint: str, rows: str = "1.0,2.0") -> dict:
    """InvokeEndpoint with CSV rows; returns the parsed JSON answer."""
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=rows.encode(), ContentType="text/csv", Accept="application/json"
    )
    return json.loads(answer["Body"].read())


def clean_up(sagemaker, name: str) -> None:
    """DeleteEndpoint, DeleteEndpointConfig and DeleteModel named ``name``."""
    sagemaker.delete_endpoint(EndpointName=name)
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    sagemaker.delete_model(ModelName=name)


def wait_for_status(sagemaker, name: str, secondary: str, timeout: float = 60) -> dict:
    """Poll DescribeTrainingJob until SecondaryStatus is ``secondary`` (or a final status)."""
    return poll_until(
        lambda: sagemaker.describe_training_job(TrainingJobName=name),
        lambda answer: (
            answer["SecondaryStatus"] == secondary
            or answer["TrainingJobStatus"] in TERMINAL_JOB_STATUSES
        ),
        timeout,
        0.1,
    )


def clients_for(handle, checker=None) -> SimpleNamespace:
    """boto3 clients on a ``local_aws.start()`` server, without retries so every error shows;
    ``checker`` (a ``shapes.ResponseChecker``) validates the answers."""
    session = boto3.Session(
        aws_access_key_id=handle.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=handle.env["AWS_SECRET_ACCESS_KEY"],
        region_name=handle.region,
    )
    if checker is not None:
        checker.attach(session)
    config = Config(retries={"max_attempts": 1, "mode": "standard"})

    def client(service):
        return session.client(service, endpoint_url=handle.url, config=config)

    return SimpleNamespace(
        s3=client("s3"),
        sagemaker=client("sagemaker"),
        runtime=client("sagemaker-runtime"),
        logs=client("logs"),
        iam=client("iam"),
        cloudwatch=client("cloudwatch"),
    )


def unchecked_client(handle, service: str, **config):
    """A boto3 client on ``handle`` that sends whatever it is given (no parameter validation)
    and does not retry; ``config`` overrides botocore Config options."""
    options = {"parameter_validation": False, "retries": {"max_attempts": 1}, **config}
    return boto3.client(
        service,
        endpoint_url=handle.url,
        region_name=handle.region,
        aws_access_key_id=handle.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=handle.env["AWS_SECRET_ACCESS_KEY"],
        config=Config(**options),
    )


def sdk_model_trainer(aws, prefix: str, base_job_name: str):
    """A SageMaker SDK v3 ModelTrainer for linear-learner as the lab builds it.

    Pipe mode, CSV channels ``train`` and ``test`` under ``s3://<bucket>/<prefix>/``, output
    under ``s3://<bucket>/<prefix>/output``. Needs the emulator's environment applied.
    """
    from sagemaker.core import image_uris
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, S3DataSource
    from sagemaker.train import ModelTrainer

    return ModelTrainer(
        training_image=image_uris.retrieve("linear-learner", aws.region),
        compute=Compute(instance_type="ml.m4.xlarge", instance_count=1),
        role=aws.role_arn,
        training_input_mode="Pipe",
        base_job_name=base_job_name,
        hyperparameters={"feature_dim": FEATURES, "predictor_type": "regressor"},
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{aws.bucket}/{prefix}/output"),
        input_data_config=[
            InputData(
                channel_name=channel,
                data_source=S3DataSource(
                    s3_data_type="S3Prefix",
                    s3_uri=f"s3://{aws.bucket}/{prefix}/{channel}/",
                    s3_data_distribution_type="FullyReplicated",
                ),
                content_type="text/csv",
            )
            for channel in ("train", "test")
        ],
    )


def sdk_deploy(aws, name: str, model_data: str):
    """SDK v3 Model, EndpointConfig and Endpoint named ``name``, waited to InService.

    Returns the three resources (delete them in reverse order).
    """
    from sagemaker.core import image_uris
    from sagemaker.core.resources import Endpoint, EndpointConfig, Model
    from sagemaker.core.shapes import ContainerDefinition, ProductionVariant

    image = image_uris.retrieve("linear-learner", aws.region)
    model = Model.create(
        model_name=name,
        primary_container=ContainerDefinition(image=image, model_data_url=model_data),
        execution_role_arn=aws.role_arn,
    )
    config = EndpointConfig.create(
        endpoint_config_name=name,
        production_variants=[
            ProductionVariant(
                variant_name="AllTraffic",
                model_name=name,
                initial_instance_count=1,
                instance_type="ml.m4.xlarge",
            )
        ],
    )
    endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=name)
    endpoint.wait_for_status("InService")
    return model, config, endpoint
