"""``--state-dir``: S3 objects and finished training jobs survive a restart; the rest does not."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import local_aws

from . import flow
from .conftest import stop_and_check_no_leftovers


def test_s3_objects_and_finished_jobs_survive_a_restart(tmp_path):
    first = local_aws.start(state_dir=tmp_path)
    try:
        clients = flow.clients_for(first)
        channels = flow.upload_dataset(clients.s3, first.bucket, "kept")
        request = flow.training_job_request(
            "kept", first.role_arn, channels, f"s3://{first.bucket}/kept/out"
        )
        trained = flow.train(clients.sagemaker, request)
        assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
        clients.s3.create_bucket(Bucket="learner-bucket")
        clients.s3.put_object(Bucket="learner-bucket", Key="a/b.txt", Body=b"hello")
        flow.deploy(
            clients.sagemaker, "gone", trained["ModelArtifacts"]["S3ModelArtifacts"], first.role_arn
        )
    finally:
        stop_and_check_no_leftovers(first)

    second = local_aws.start(state_dir=tmp_path)
    try:
        clients = flow.clients_for(second)
        again = clients.sagemaker.describe_training_job(TrainingJobName="kept")
        for key in ("TrainingJobStatus", "ModelArtifacts", "FinalMetricDataList", "CreationTime"):
            assert again[key] == trained[key]
        artifact = again["ModelArtifacts"]["S3ModelArtifacts"].split(f"{second.bucket}/", 1)[1]
        assert clients.s3.head_object(Bucket=second.bucket, Key=artifact)["ContentLength"] > 0
        body = clients.s3.get_object(Bucket="learner-bucket", Key="a/b.txt")["Body"].read()
        assert body == b"hello"
        assert clients.sagemaker.list_models()["Models"] == []
        with pytest.raises(ClientError):
            clients.sagemaker.describe_endpoint(EndpointName="gone")
        with pytest.raises(ClientError) as caught:
            clients.sagemaker.create_training_job(**request)
        assert caught.value.response["Error"]["Code"] == "ResourceInUse"
    finally:
        stop_and_check_no_leftovers(second)
