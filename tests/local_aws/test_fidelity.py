"""SageMaker API fidelity beyond the lab's flow: Describe defaults, tags, names that differ
only in case, strict JSON, and a diverged training job, against a real emulator.

Every answer here goes through the ``clients`` fixture's shape and strict-JSON checker.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from local_aws.algorithms.linear_learner import artifact
from local_aws.moto_store import MotoStore
from local_aws.sagemaker.models import SageMakerBackend
from local_aws.sagemaker.responses import dispatch
from local_aws.sagemaker.training import TrainingJob

from . import flow
from .test_errors import error_of, raw_sagemaker_error

TAGS = [{"Key": "project", "Value": "flights"}, {"Key": "team", "Value": "ml"}]


@pytest.fixture(scope="module")
def channels(aws, clients):
    return flow.upload_dataset(clients.s3, aws.bucket, "fidelity")


@pytest.fixture(scope="module")
def job(aws, clients, channels):
    """A completed job created without the members SageMaker defaults, and with Tags."""
    request = flow.training_job_request(
        "Fidelity-Job", aws.role_arn, channels, f"s3://{aws.bucket}/fidelity/out"
    )
    del request["StoppingCondition"], request["ResourceConfig"]["VolumeSizeInGB"]
    del request["OutputDataConfig"]["CompressionType"]
    request["Tags"] = TAGS
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Completed", answer.get("FailureReason")
    return answer


@pytest.fixture(scope="module")
def model_data(aws, clients, tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    artifact.save(artifact.LinearModel(weights=np.array([3.0, -2.0]), bias=1.0), folder / "m")
    tar = artifact.pack(folder / "m", folder / "model.tar.gz")
    clients.s3.put_object(Bucket=aws.bucket, Key="fidelity/model.tar.gz", Body=tar.read_bytes())
    return f"s3://{aws.bucket}/fidelity/model.tar.gz"


def create_model(aws, clients, name, model_data, **extra):
    return clients.sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": flow.LINEAR_LEARNER_IMAGE, "ModelDataUrl": model_data},
        ExecutionRoleArn=aws.role_arn,
        **extra,
    )


def test_describe_training_job_carries_sagemakers_defaults(job):
    assert job["OutputDataConfig"]["KmsKeyId"] == ""
    assert job["OutputDataConfig"]["CompressionType"] == "GZIP"
    assert job["ResourceConfig"]["VolumeSizeInGB"] == 30
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert job["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is False
    for channel in job["InputDataConfig"]:
        assert channel["CompressionType"] == channel["RecordWrapperType"] == "None"
    for flag in (
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "EnableManagedSpotTraining",
    ):
        assert job[flag] is False
    assert job["ProfilingStatus"] == "Disabled"
    assert not {"CheckpointConfig", "RetryStrategy", "DebugHookConfig", "Tags"} & set(job)


def test_sdk_v2_attach_reads_and_the_tags_given_at_create(clients, job):
    """What v2's Estimator.attach reads unconditionally (estimator.py, v2.257.6), then its
    ListTags call: the job's tags come back."""
    init = {
        "role": job["RoleArn"],
        "instance_count": job["ResourceConfig"]["InstanceCount"],
        "instance_type": job["ResourceConfig"]["InstanceType"],
        "volume_size": job["ResourceConfig"]["VolumeSizeInGB"],
        "max_run": job["StoppingCondition"]["MaxRuntimeInSeconds"],
        "input_mode": job["AlgorithmSpecification"]["TrainingInputMode"],
        "output_path": job["OutputDataConfig"]["S3OutputPath"],
        "output_kms_key": job["OutputDataConfig"]["KmsKeyId"],
    }
    assert init["output_kms_key"] == "" and init["max_run"] == 86400
    assert clients.sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"] == TAGS


def test_hosting_describes_carry_sagemakers_defaults(aws, clients, model_data):
    create_model(aws, clients, "defaults", model_data)
    container = clients.sagemaker.describe_model(ModelName="defaults")["PrimaryContainer"]
    assert container["Mode"] == "SingleModel"
    clients.sagemaker.create_endpoint_config(
        EndpointConfigName="defaults",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "defaults",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m4.xlarge",
            }
        ],
    )
    config = clients.sagemaker.describe_endpoint_config(EndpointConfigName="defaults")
    assert config["ProductionVariants"][0]["InitialVariantWeight"] == 1.0


def test_names_differing_only_in_case_are_one_name(aws, clients, model_data, channels, job):
    arn = create_model(aws, clients, "Case-Model", model_data)["ModelArn"]
    assert arn.endswith(":model/case-model")
    code, message, _ = error_of(
        create_model, aws=aws, clients=clients, name="case-model", model_data=model_data
    )
    assert (code, message) == (
        "ValidationException",
        f'Cannot create already existing model "{arn}".',
    )
    described = clients.sagemaker.describe_model(ModelName="CASE-MODEL")
    assert (described["ModelName"], described["ModelArn"]) == ("Case-Model", arn)
    models = clients.sagemaker.list_models(NameContains="case")["Models"]
    assert [m["ModelName"] for m in models] == ["Case-Model"]

    request = flow.training_job_request("fidelity-job", aws.role_arn, channels, "s3://b/o")
    code, _, _ = error_of(clients.sagemaker.create_training_job, **request)
    assert code == "ResourceInUse"
    assert (
        clients.sagemaker.describe_training_job(TrainingJobName="FIDELITY-JOB")["TrainingJobName"]
        == "Fidelity-Job"
    )
    clients.sagemaker.delete_model(ModelName="case-MODEL")
    assert clients.sagemaker.list_models(NameContains="case")["Models"] == []


def test_stop_training_job_in_another_case_stops_the_job(aws, clients, channels):
    request = flow.training_job_request("Long-Job", aws.role_arn, channels, "s3://b/o")
    request["HyperParameters"].update(epochs="100000", early_stopping_patience="100000")
    clients.sagemaker.create_training_job(**request)
    flow.wait_for_status(clients.sagemaker, "long-job", "Training")
    clients.sagemaker.stop_training_job(TrainingJobName="LONG-JOB")
    answer = flow.wait_for_job(clients.sagemaker, "long-job", timeout=60)
    assert answer["TrainingJobStatus"] == "Stopped"


def test_endpoint_names_are_case_insensitive_but_invoke_matches_the_case(aws, clients, model_data):
    create_model(aws, clients, "err-ep", model_data)
    flow.create_endpoint_config(clients.sagemaker, "err-ep", "ERR-EP")
    clients.sagemaker.create_endpoint(EndpointName="ERR-EP", EndpointConfigName="Err-Ep")
    code, message, _ = error_of(
        clients.sagemaker.create_endpoint, EndpointName="err-ep", EndpointConfigName="err-ep"
    )
    assert code == "ValidationException" and message.startswith("Cannot create already existing")
    answer = flow.wait_for_endpoint(clients.sagemaker, "err-ep")
    assert (answer["EndpointName"], answer["EndpointStatus"]) == ("ERR-EP", "InService")
    assert answer["EndpointArn"].endswith(":endpoint/err-ep")
    assert flow.invoke(clients.runtime, "ERR-EP")["predictions"][0]["score"] == pytest.approx(0.0)
    code, message, _ = error_of(
        clients.runtime.invoke_endpoint, EndpointName="err-ep", Body=b"1,2", ContentType="text/csv"
    )
    assert (code, message) == (
        "ValidationError",
        "Endpoint err-ep of account 123456789012 not found.",
    )
    clients.sagemaker.delete_endpoint(EndpointName="Err-Ep")
    clients.sagemaker.delete_endpoint_config(EndpointConfigName="ERR-EP")
    clients.sagemaker.delete_model(ModelName="ERR-EP")


def test_tags_follow_the_resource_and_its_rules(aws, clients, model_data):
    arn = create_model(aws, clients, "tag-rules", model_data, Tags=TAGS)["ModelArn"]
    sagemaker = clients.sagemaker
    assert sagemaker.list_tags(ResourceArn=arn.replace("tag-rules", "Tag-Rules"))["Tags"] == TAGS
    many = [{"Key": f"k{i}", "Value": str(i)} for i in range(48)]
    sagemaker.add_tags(ResourceArn=arn, Tags=many)
    answer = sagemaker.list_tags(ResourceArn=arn, MaxResults=50)
    assert len(answer["Tags"]) == 50 and "NextToken" not in answer
    code, message, _ = error_of(
        sagemaker.add_tags, ResourceArn=arn, Tags=[{"Key": "one-too-many", "Value": ""}]
    )
    assert code == "ValidationException" and "at most 50 tags" in message
    code, message, _ = error_of(
        sagemaker.add_tags, ResourceArn=arn, Tags=[{"Key": "aws:owner", "Value": "x"}]
    )
    assert code == "ValidationException" and "reserved for AWS" in message
    code, message, _ = error_of(
        sagemaker.add_tags, ResourceArn=arn, Tags=[{"Key": "a#b", "Value": "x"}]
    )
    assert message.startswith(
        "1 validation error detected: Value 'a#b' at 'tags.1.member.key' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
    )
    code, message, _ = error_of(
        sagemaker.add_tags, ResourceArn=arn, Tags=[{"Key": "k" * 129, "Value": "x"}]
    )
    assert "Member must have length less than or equal to 128" in message
    code, message, _ = error_of(sagemaker.list_tags, ResourceArn=arn, NextToken="x")
    assert code == "ValidationException" and "NextToken" in message
    code, message, _ = error_of(
        create_model,
        aws=aws,
        clients=clients,
        name="tag-refused",
        model_data=model_data,
        Tags=[{"Key": "aws:cost", "Value": "1"}],
    )
    assert code == "ValidationException"
    code, _, _ = error_of(sagemaker.describe_model, ModelName="tag-refused")
    assert code == "ValidationException"  # the refused Create created nothing
    sagemaker.delete_model(ModelName="tag-rules")
    create_model(aws, clients, "tag-rules", model_data)
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == []  # tags went with the model


def test_a_diverged_job_fails_and_its_answer_stays_strict_json(aws, clients, channels):
    request = flow.training_job_request(
        "diverged", aws.role_arn, channels, f"s3://{aws.bucket}/fidelity/out"
    )
    request["HyperParameters"].update(learning_rate="1e30", epochs="2")
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Failed"
    assert answer["FailureReason"].startswith("ClientError: All 32 models diverged in epoch 0")
    assert all(np.isfinite(m["Value"]) for m in answer.get("FinalMetricDataList", []))
    code, message, _ = error_of(
        clients.s3.head_object, Bucket=aws.bucket, Key="fidelity/out/diverged/output/model.tar.gz"
    )
    assert code == "404"


def test_a_request_carrying_nan_is_refused(aws):
    body = b'{"EndpointConfigName": "nan", "ProductionVariants": [{"VariantName": "v", '
    body += b'"ModelName": "m", "InitialVariantWeight": NaN}]}'
    status, answer = raw_sagemaker_error(aws, "CreateEndpointConfig", body)
    assert (status, answer["__type"]) == (400, "ValidationException")


def test_an_answer_holding_nan_is_an_internal_failure_not_bad_json(tmp_path):
    """A regression that lets NaN reach an answer fails loudly (500 InternalFailure, which
    the tests see) instead of sending a body strict parsers reject: the real backend and
    dispatcher, in process."""
    backend = SageMakerBackend("us-east-1", "123456789012", MotoStore(), tmp_path)
    request = flow.training_job_request("nan-job", "arn:aws:iam::1:role/r", {}, "s3://b/o")
    job = TrainingJob(request, "arn:aws:sagemaker:us-east-1:123456789012:training-job/nan-job")
    job.final_metrics = [{"MetricName": "train:mse", "Value": float("nan"), "Timestamp": 0.0}]
    backend.adopt_finished_job(job)
    environ = EnvironBuilder(
        method="POST",
        headers={"X-Amz-Target": "SageMaker.DescribeTrainingJob"},
        data=json.dumps({"TrainingJobName": "nan-job"}),
    ).get_environ()
    response = dispatch(backend, Request(environ))
    assert response.status_code == 500
    assert json.loads(response.get_data())["__type"] == "InternalFailure"
