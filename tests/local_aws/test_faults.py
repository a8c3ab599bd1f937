"""Faults: killed training and endpoint processes, and servers that stop or die."""

from __future__ import annotations

import signal
import time

import psutil
import pytest
from botocore.exceptions import ClientError

import local_aws

from . import flow
from .conftest import algorithm_process, stop_and_check_no_leftovers


def long_job(aws, clients, name: str) -> None:
    """Start a training job that runs until stopped."""
    channels = flow.upload_dataset(clients.s3, aws.bucket, f"faults/{name}", rows=2000)
    request = flow.training_job_request(name, aws.role_arn, channels, f"s3://{aws.bucket}/out")
    request["HyperParameters"].update(epochs="100000", early_stopping_patience="100000")
    clients.sagemaker.create_training_job(**request)


@pytest.fixture(scope="module")
def model_data(aws, clients):
    channels = flow.upload_dataset(clients.s3, aws.bucket, "faults/model")
    request = flow.training_job_request("model", aws.role_arn, channels, f"s3://{aws.bucket}/out")
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Completed", answer.get("FailureReason")
    return answer["ModelArtifacts"]["S3ModelArtifacts"]


def test_killed_training_process_fails_the_job_and_spares_the_server(aws, clients):
    long_job(aws, clients, "killed")
    assert (
        flow.wait_for_status(clients.sagemaker, "killed", "Training")["SecondaryStatus"]
        == "Training"
    )
    algorithm_process(aws.pid, "train").send_signal(signal.SIGKILL)
    answer = flow.wait_for_job(clients.sagemaker, "killed")
    assert answer["TrainingJobStatus"] == "Failed"
    assert "SIGKILL" in answer["FailureReason"] or "signal 9" in answer["FailureReason"]
    assert clients.s3.list_buckets()["Buckets"]
    jobs = clients.sagemaker.list_training_jobs()["TrainingJobSummaries"]
    assert [job["TrainingJobStatus"] for job in jobs] == ["Failed"]


def test_killed_endpoint_process_fails_the_endpoint(aws, clients, model_data):
    assert (
        flow.deploy(clients.sagemaker, "killed", model_data, aws.role_arn)["EndpointStatus"]
        == "InService"
    )
    assert flow.invoke(clients.runtime, "killed")["predictions"]
    algorithm_process(aws.pid, "serve").send_signal(signal.SIGKILL)
    with pytest.raises(ClientError) as caught:
        for _ in range(50):  # the server notices the death within milliseconds
            flow.invoke(clients.runtime, "killed")
            time.sleep(0.02)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    answer = flow.wait_for_endpoint(clients.sagemaker, "killed", pending=("InService",))
    assert answer["EndpointStatus"] == "Failed"
    assert "exited" in answer["FailureReason"]
    flow.clean_up(clients.sagemaker, "killed")
    flow.wait_for_deletion(clients.sagemaker, "killed")
    with pytest.raises(ClientError):
        clients.sagemaker.describe_endpoint(EndpointName="killed")


def test_delete_of_a_hung_endpoint_answers_at_once(aws, clients, model_data):
    """A container that hangs (SIGSTOP: it ignores SIGTERM until killed) does not hold up
    DeleteEndpoint: the endpoint is Deleting at once, then gone, and its process with it."""
    assert (
        flow.deploy(clients.sagemaker, "hung", model_data, aws.role_arn)["EndpointStatus"]
        == "InService"
    )
    container = algorithm_process(aws.pid, "serve")
    container.suspend()
    try:
        started = time.monotonic()
        clients.sagemaker.delete_endpoint(EndpointName="hung")
        assert time.monotonic() - started < 2
        assert clients.sagemaker.describe_endpoint(EndpointName="hung")["EndpointStatus"] == (
            "Deleting"
        )
        listed = clients.sagemaker.list_endpoints()["Endpoints"]
        assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [("hung", "Deleting")]
        with pytest.raises(ClientError) as again:
            clients.sagemaker.delete_endpoint(EndpointName="hung")
        assert again.value.response["Error"]["Code"] == "ValidationException"
        assert "already being deleted" in again.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as duplicate:
            clients.sagemaker.create_endpoint(EndpointName="hung", EndpointConfigName="hung")
        assert duplicate.value.response["Error"]["Message"].startswith(
            "Cannot create already existing endpoint"
        )
        with pytest.raises(ClientError) as invoked:
            flow.invoke(clients.runtime, "hung")
        assert "status Deleting" in invoked.value.response["Error"]["Message"]
        flow.wait_for_deletion(clients.sagemaker, "hung")
        _, alive = psutil.wait_procs([container], timeout=30)
        assert alive == []
    finally:
        if container.is_running():
            container.kill()
    clients.sagemaker.delete_endpoint_config(EndpointConfigName="hung")
    clients.sagemaker.delete_model(ModelName="hung")


def test_stopping_the_server_stops_jobs_and_endpoints(model_data, aws, clients):
    second = local_aws.start()
    try:
        other = flow.clients_for(second)
        model = clients.s3.get_object(
            Bucket=aws.bucket, Key=model_data.split(f"{aws.bucket}/", 1)[1]
        )
        other.s3.put_object(Bucket=second.bucket, Key="model.tar.gz", Body=model["Body"].read())
        flow.deploy(
            other.sagemaker, "running", f"s3://{second.bucket}/model.tar.gz", second.role_arn
        )
        long_job(second, other, "running")
        algorithm_process(second.pid, "train")
        algorithm_process(second.pid, "serve")
    finally:
        stop_and_check_no_leftovers(second)


def test_a_killed_server_takes_its_children_along(model_data, aws, clients):
    second = local_aws.start()
    try:
        other = flow.clients_for(second)
        long_job(second, other, "orphan")
        children = [algorithm_process(second.pid, "train")]
        psutil.Process(second.pid).send_signal(signal.SIGKILL)
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
    finally:
        second.stop()
