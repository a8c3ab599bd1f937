"""Errors as AWS sends them: codes, messages and 4xx statuses for the caller's mistakes."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.request

import numpy as np
import pytest
from botocore.exceptions import ClientError

from local_aws.algorithms.linear_learner import artifact
from local_aws.sagemaker.models import MAX_INVOCATION_BYTES

from . import flow

ACCOUNT = "123456789012"
ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"
SCOPE = "Credential=testing/20260101/us-east-1/sagemaker/aws4_request"


@pytest.fixture(scope="module")
def model_data(aws, clients, tmp_path_factory):
    """A real linear-learner artifact (score = 3*x1 - 2*x2 + 1) uploaded to S3."""
    folder = tmp_path_factory.mktemp("model")
    model = artifact.LinearModel(weights=np.array([3.0, -2.0]), bias=1.0)
    artifact.save(model, folder / "model")
    tar = artifact.pack(folder / "model", folder / "model.tar.gz")
    clients.s3.put_object(Bucket=aws.bucket, Key="models/model.tar.gz", Body=tar.read_bytes())
    return f"s3://{aws.bucket}/models/model.tar.gz"


@pytest.fixture(scope="module")
def endpoint(aws, clients, model_data):
    answer = flow.deploy(clients.sagemaker, "errors", model_data, aws.role_arn)
    assert answer["EndpointStatus"] == "InService", answer.get("FailureReason")
    return "errors"


def error_of(call, **kwargs) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


@pytest.fixture(scope="module")
def train_prefix(aws, clients):
    """An S3 prefix holding a small training set."""
    clients.s3.put_object(Bucket=aws.bucket, Key="data/train/x.csv", Body=flow.regression_csv(500))
    return f"s3://{aws.bucket}/data/train/"


def job_request(aws, train_prefix, name="job", **changes):
    """A job that fails fast (epochs is not a number) on ``train_prefix``."""
    channels = {"train": train_prefix}
    request = flow.training_job_request(name, aws.role_arn, channels, f"s3://{aws.bucket}/out")
    request["HyperParameters"]["epochs"] = "many"
    request.update(changes)
    return request


def test_duplicate_training_job_is_resource_in_use(aws, clients, train_prefix):
    clients.sagemaker.create_training_job(**job_request(aws, train_prefix, "twice"))
    code, message, status = error_of(
        clients.sagemaker.create_training_job, **job_request(aws, train_prefix, "twice")
    )
    assert (code, status) == ("ResourceInUse", 400)
    assert f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/twice" in message
    assert flow.wait_for_job(clients.sagemaker, "twice")["TrainingJobStatus"] == "Failed"


def test_empty_input_prefix_is_refused_at_the_call(aws, clients, train_prefix):
    empty = f"s3://{aws.bucket}/nothing-here/"
    request = job_request(aws, train_prefix, "no-data")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = empty
    code, message, status = error_of(clients.sagemaker.create_training_job, **request)
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        f'No S3 objects found under S3 URL "{empty}" given in input data source. Please ensure '
        "that the bucket exists in the selected region (us-east-1), that objects exist under "
        f'that S3 prefix, and that the role "{aws.role_arn}" has "s3:ListBucket" permissions '
        f'on bucket "{aws.bucket}".'
    )
    code, message, _ = error_of(clients.sagemaker.describe_training_job, TrainingJobName="no-data")
    assert (code, message) == ("ValidationException", "Requested resource not found.")


def test_algorithm_failure_reason_reaches_describe(aws, clients):
    clients.s3.put_object(Bucket=aws.bucket, Key="bad/train/x.csv", Body=flow.regression_csv(2000))
    request = flow.training_job_request(
        "bad-hp", aws.role_arn, {"train": f"s3://{aws.bucket}/bad/train/"}, f"s3://{aws.bucket}/o"
    )
    request["HyperParameters"]["epochs"] = "many"
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Failed"
    assert "epochs" in answer["FailureReason"]


def test_stop_of_a_finished_job_is_refused(clients):
    code, message, status = error_of(clients.sagemaker.stop_training_job, TrainingJobName="twice")
    assert (code, status) == ("ValidationException", 400)
    assert "status Failed" in message


def test_training_instance_type_outside_the_enum(aws, clients, train_prefix):
    request = job_request(aws, train_prefix, "bad-type")
    request["ResourceConfig"]["InstanceType"] = "ml.t2.medium"
    code, message, status = error_of(clients.sagemaker.create_training_job, **request)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith(
        "1 validation error detected: Value 'ml.t2.medium' at 'resourceConfig.instanceType' "
        "failed to satisfy constraint: Member must satisfy enum value set: [ml.m4.xlarge,"
    )


def test_another_image_cannot_train(aws, clients, train_prefix):
    request = job_request(aws, train_prefix, "xgb")
    request["AlgorithmSpecification"]["TrainingImage"] = (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )
    code, message, _ = error_of(clients.sagemaker.create_training_job, **request)
    assert code == "ValidationException"
    assert "sagemaker-xgboost" in message and "linear-learner" in message


def test_linear_learner_image_of_any_region_trains(aws, clients, train_prefix):
    request = job_request(aws, train_prefix, "eu-image")
    request["AlgorithmSpecification"]["TrainingImage"] = (
        "438346466558.dkr.ecr.eu-west-1.amazonaws.com/linear-learner:1"
    )
    assert "TrainingJobArn" in clients.sagemaker.create_training_job(**request)


def test_augmented_manifest_channels_are_refused_clearly(aws, clients, train_prefix):
    request = job_request(aws, train_prefix, "augmented")
    source = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    source["S3DataType"] = "AugmentedManifestFile"
    code, message, _ = error_of(clients.sagemaker.create_training_job, **request)
    assert code == "ValidationException"
    assert "AugmentedManifestFile" in message and "ManifestFile" in message


@pytest.mark.parametrize(
    ("manifest", "wording"),
    [
        (None, "No manifest file at"),
        (b"not json", "is not a JSON array"),
        (b'[{"prefix": "s3://b/p/"}, 3]', "is not a JSON array"),
        (b'[{"prefix": "s3://local-aws-bucket/data/train/"}, "gone.csv"]', "gone.csv"),
    ],
)
def test_bad_manifest_files_are_refused_at_the_call(aws, clients, train_prefix, manifest, wording):
    key = f"manifests/bad-{abs(hash(manifest))}.json"
    if manifest is not None:
        manifest = manifest.replace(b"local-aws-bucket", aws.bucket.encode())
        clients.s3.put_object(Bucket=aws.bucket, Key=key, Body=manifest)
    request = job_request(aws, train_prefix, f"bad-manifest-{abs(hash(manifest)) % 10**6}")
    source = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    source.update(S3DataType="ManifestFile", S3Uri=f"s3://{aws.bucket}/{key}")
    code, message, status = error_of(clients.sagemaker.create_training_job, **request)
    assert (code, status) == ("ValidationException", 400)
    assert wording in message and f"s3://{aws.bucket}/{key}" in message


def test_manifest_file_channel_trains_on_the_objects_it_lists(aws, clients):
    for name in ("a.csv", "b.csv", "unlisted.csv"):
        body = flow.regression_csv(600) if name != "unlisted.csv" else b"not,a,number\n"
        clients.s3.put_object(Bucket=aws.bucket, Key=f"listed/part/{name}", Body=body)
    manifest = json.dumps([{"prefix": f"s3://{aws.bucket}/listed/"}, "part/a.csv", "part/b.csv"])
    clients.s3.put_object(Bucket=aws.bucket, Key="listed/train.manifest", Body=manifest.encode())
    for mode in ("File", "Pipe"):
        channels = {"train": f"s3://{aws.bucket}/listed/train.manifest"}
        name = f"manifest-{mode.lower()}"
        request = flow.training_job_request(
            name, aws.role_arn, channels, f"s3://{aws.bucket}/out", mode=mode
        )
        request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"
        clients.sagemaker.create_training_job(**request)
        job = flow.wait_for_job(clients.sagemaker, name)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")


def test_malformed_request_is_a_validation_exception(aws):
    unchecked = flow.unchecked_client(aws, "sagemaker")
    code, message, status = error_of(unchecked.create_endpoint, EndpointName="no-config")
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "1 validation error detected: Value null at 'endpointConfigName' failed to satisfy "
        "constraint: Member must not be null"
    )
    code, message, _ = error_of(unchecked.create_model, ModelName="no-container")
    assert (code, message) == (
        "ValidationException",
        "Either PrimaryContainer or Containers must be specified.",
    )
    code, message, _ = error_of(unchecked.describe_model, ModelName="bad name!")
    assert code == "ValidationException"
    assert "Member must satisfy regular expression pattern" in message


def test_unknown_operation_is_a_client_error(clients):
    code, _, status = error_of(clients.sagemaker.list_domains)
    assert (code, status) == ("UnknownOperationException", 400)


def test_duplicates_are_validation_exceptions_naming_the_arn(aws, clients, model_data, endpoint):
    container = {"Image": flow.LINEAR_LEARNER_IMAGE, "ModelDataUrl": model_data}
    code, message, _ = error_of(
        clients.sagemaker.create_model,
        ModelName="errors",
        PrimaryContainer=container,
        ExecutionRoleArn=aws.role_arn,
    )
    assert code == "ValidationException"
    assert message == f'Cannot create already existing model "{ARN}:model/errors".'
    code, message, _ = error_of(
        flow.create_endpoint_config, sagemaker=clients.sagemaker, name="errors", model="errors"
    )
    assert message.startswith("Cannot create already existing endpoint configuration")
    code, message, _ = error_of(
        clients.sagemaker.create_endpoint, EndpointName="errors", EndpointConfigName="errors"
    )
    assert message == f'Cannot create already existing endpoint "{ARN}:endpoint/errors".'


@pytest.mark.parametrize(
    ("operation", "member", "what"),
    [
        ("describe_model", "ModelName", "model"),
        ("delete_model", "ModelName", "model"),
        ("describe_endpoint_config", "EndpointConfigName", "endpoint configuration"),
        ("delete_endpoint_config", "EndpointConfigName", "endpoint configuration"),
        ("describe_endpoint", "EndpointName", "endpoint"),
        ("delete_endpoint", "EndpointName", "endpoint"),
    ],
)
def test_missing_resources_could_not_be_found(clients, operation, member, what):
    code, message, status = error_of(getattr(clients.sagemaker, operation), **{member: "Ghost"})
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith(f'Could not find {what} "arn:aws:sagemaker:us-east-1:{ACCOUNT}:')
    assert message.endswith('/ghost".')


@pytest.mark.parametrize("operation", ["describe_training_job", "stop_training_job"])
def test_a_missing_training_job_is_not_found_as_sagemaker_words_it(clients, operation):
    code, message, status = error_of(getattr(clients.sagemaker, operation), TrainingJobName="Ghost")
    assert (code, message, status) == ("ValidationException", "Requested resource not found.", 400)


def test_t2_hosting_is_deprecated(clients, endpoint):
    code, message, status = error_of(
        flow.create_endpoint_config,
        sagemaker=clients.sagemaker,
        name="t2",
        model="errors",
        instance_type="ml.t2.medium",
    )
    assert (code, message, status) == ("ValidationException", 'Deprecated instance type "T2".', 400)


def test_hosting_instance_type_outside_the_enum(clients, endpoint):
    code, message, _ = error_of(
        flow.create_endpoint_config,
        sagemaker=clients.sagemaker,
        name="t3",
        model="errors",
        instance_type="ml.t3.medium",
    )
    assert code == "ValidationException"
    assert "Value 'ml.t3.medium' at 'productionVariants.1.member.instanceType'" in message


def test_endpoint_config_needs_an_existing_model(clients):
    code, message, _ = error_of(
        flow.create_endpoint_config, sagemaker=clients.sagemaker, name="orphan", model="Ghost"
    )
    assert code == "ValidationException"
    assert message.startswith('Could not find model "')


def test_model_needs_its_model_data(aws, clients):
    code, message, _ = error_of(
        clients.sagemaker.create_model,
        ModelName="no-data",
        PrimaryContainer={
            "Image": flow.LINEAR_LEARNER_IMAGE,
            "ModelDataUrl": f"s3://{aws.bucket}/missing/model.tar.gz",
        },
        ExecutionRoleArn=aws.role_arn,
    )
    assert (code, message) == (
        "ValidationException",
        f"Could not find model data at s3://{aws.bucket}/missing/model.tar.gz.",
    )


def test_endpoint_with_a_broken_artifact_fails_with_a_reason(aws, clients):
    clients.s3.put_object(Bucket=aws.bucket, Key="broken/model.tar.gz", Body=b"not a tarball")
    answer = flow.deploy(
        clients.sagemaker, "broken", f"s3://{aws.bucket}/broken/model.tar.gz", aws.role_arn
    )
    assert answer["EndpointStatus"] == "Failed"
    assert answer["FailureReason"] == (
        f'Failed to extract model data archive from URL "s3://{aws.bucket}/broken/model.tar.gz": '
        "model.tar.gz is not a readable tar archive. Please ensure that the object located at "
        "the URL is "
        "a valid tar.gz archive."
    )
    code, _, status = error_of(
        clients.runtime.invoke_endpoint, EndpointName="broken", Body=b"1,2", ContentType="text/csv"
    )
    assert (code, status) == ("ValidationError", 400)
    flow.clean_up(clients.sagemaker, "broken")


def test_a_model_server_that_cannot_start_fails_in_one_line_and_logs_its_output(aws, clients):
    """The server's output (a path, an error) goes to CloudWatch Logs; FailureReason is one
    line with neither a traceback nor a path of this machine."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("notes.txt"), io.BytesIO(b""))
    clients.s3.put_object(Bucket=aws.bucket, Key="empty/model.tar.gz", Body=archive.getvalue())
    answer = flow.deploy(
        clients.sagemaker, "no-model", f"s3://{aws.bucket}/empty/model.tar.gz", aws.role_arn
    )
    assert answer["EndpointStatus"] == "Failed"
    reason = answer["FailureReason"]
    assert reason.startswith(
        "The primary container for production variant AllTraffic did not pass the ping health "
        "check: the model server did not print 'Serving on http://HOST:PORT'; the model server "
        "process exited with code 1."
    )
    assert "\n" not in reason and "Traceback" not in reason
    assert "local-aws-" not in reason and "/tmp" not in reason
    group = "/aws/sagemaker/Endpoints/no-model"
    stream = clients.logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    events = clients.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])[
        "events"
    ]
    assert any("cannot load a model" in event["message"] for event in events)
    flow.clean_up(clients.sagemaker, "no-model")


def test_failed_update_keeps_the_endpoint_on_its_config(aws, clients, endpoint):
    clients.s3.put_object(Bucket=aws.bucket, Key="broken/update.tar.gz", Body=b"not a tarball")
    clients.sagemaker.create_model(
        ModelName="broken-update",
        PrimaryContainer={
            "Image": flow.LINEAR_LEARNER_IMAGE,
            "ModelDataUrl": f"s3://{aws.bucket}/broken/update.tar.gz",
        },
        ExecutionRoleArn=aws.role_arn,
    )
    flow.create_endpoint_config(clients.sagemaker, "broken-update", "broken-update")
    clients.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName="broken-update")
    answer = flow.wait_for_endpoint(clients.sagemaker, endpoint)
    assert answer["EndpointStatus"] == "InService"
    assert answer["EndpointConfigName"] == "errors"
    assert answer["FailureReason"].startswith("Update failed: ")
    assert flow.invoke(clients.runtime, endpoint)["predictions"][0]["score"] == pytest.approx(0.0)


def test_invoke_of_a_missing_endpoint(clients):
    code, message, status = error_of(
        clients.runtime.invoke_endpoint, EndpointName="ghost", Body=b"1,2", ContentType="text/csv"
    )
    assert (code, status) == ("ValidationError", 400)
    assert message == f"Endpoint ghost of account {ACCOUNT} not found."


def test_invoke_body_over_the_limit(clients, endpoint):
    body = b"1," * (MAX_INVOCATION_BYTES // 2 + 1)
    code, message, status = error_of(
        clients.runtime.invoke_endpoint, EndpointName=endpoint, Body=body, ContentType="text/csv"
    )
    assert (code, status) == ("ValidationError", 400)
    assert str(MAX_INVOCATION_BYTES) in message


def test_invoke_body_at_the_limit_reaches_the_container(clients, endpoint):
    body = (b"1,2\n" * (MAX_INVOCATION_BYTES // 4))[:MAX_INVOCATION_BYTES]
    answer = clients.runtime.invoke_endpoint(
        EndpointName=endpoint, Body=body, ContentType="text/csv"
    )
    assert len(json.loads(answer["Body"].read())["predictions"]) == MAX_INVOCATION_BYTES // 4


def test_container_client_error_is_a_model_error(aws, clients, endpoint):
    with pytest.raises(ClientError) as caught:
        clients.runtime.invoke_endpoint(
            EndpointName=endpoint, Body=b"1,2,3", ContentType="text/csv"
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400
    assert error["Error"]["Message"].startswith(
        "Received client error (400) from primary with message"
    )
    assert error["OriginalMessage"] in error["Error"]["Message"]
    assert error["LogStreamArn"].endswith(f"log-group:/aws/sagemaker/Endpoints/{endpoint}")


def test_update_of_a_missing_endpoint(clients):
    code, message, _ = error_of(
        clients.sagemaker.update_endpoint, EndpointName="ghost", EndpointConfigName="errors"
    )
    assert code == "ValidationException"
    assert message.startswith('Could not find endpoint "')


def raw_sagemaker_error(aws, operation: str, body: bytes) -> tuple[int, dict]:
    """POST ``body`` as SageMaker ``operation`` without botocore; the refusal's (status, body)."""
    request = urllib.request.Request(
        aws.url,
        data=body,
        headers={
            "X-Amz-Target": f"SageMaker.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"AWS4-HMAC-SHA256 {SCOPE}",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    return caught.value.code, json.loads(caught.value.read())


def test_invalid_json_body_is_a_client_error(aws):
    status, answer = raw_sagemaker_error(aws, "ListModels", b"{not json")
    assert (status, answer["__type"]) == (400, "ValidationException")


def test_model_error_body_carries_the_members_of_botocores_shape(aws, endpoint):
    """The 424 body's keys are the ModelError shape's member names (botocore's model), and
    a runtime error's message is under ``Message`` as that shape names it."""
    request = urllib.request.Request(
        f"{aws.url}/endpoints/{endpoint}/invocations",
        data=b"1,2,3",
        headers={"Content-Type": "text/csv", "Authorization": f"AWS4-HMAC-SHA256 {SCOPE}"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 424
    body = json.loads(caught.value.read())
    assert set(body) == {
        "__type",
        "Message",
        "OriginalStatusCode",
        "OriginalMessage",
        "LogStreamArn",
    }
    assert body["OriginalStatusCode"] == 400
