"""``--state-dir``: S3 objects, finished training jobs, transform jobs and tuning jobs survive a
restart (a transform or tuning job cut short by a kill -9 reads Failed); the rest does not."""

from __future__ import annotations

import json
import signal

import psutil
import pytest
from botocore.exceptions import ClientError

import local_aws
from local_aws.sagemaker.transform import INTERRUPTED_REASON

from . import flow, tuning_flow
from .conftest import stop_and_check_no_leftovers
from .test_transform import features_csv, job_request, wait


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


def test_transform_jobs_survive_and_one_cut_by_kill_9_comes_back_failed(tmp_path):
    first = local_aws.start(state_dir=tmp_path)
    try:
        clients = flow.clients_for(first)
        channels = flow.upload_dataset(clients.s3, first.bucket, "bt")
        request = flow.training_job_request(
            "bt-train", first.role_arn, channels, f"s3://{first.bucket}/bt/out"
        )
        trained = flow.train(clients.sagemaker, request)
        clients.sagemaker.create_model(
            ModelName="bt",
            PrimaryContainer={
                "Image": flow.LINEAR_LEARNER_IMAGE,
                "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
            },
            ExecutionRoleArn=first.role_arn,
        )
        clients.s3.put_object(Bucket=first.bucket, Key="bt/in/a.csv", Body=features_csv(5, 1))
        clients.s3.put_object(
            Bucket=first.bucket, Key="bt/long/b.csv", Body=features_csv(50_000, 2)
        )
        done = job_request(
            "bt-done", "bt", f"s3://{first.bucket}/bt/in/", f"s3://{first.bucket}/bt/pred"
        )
        clients.sagemaker.create_transform_job(**done, Tags=[{"Key": "k", "Value": "v"}])
        finished = wait(clients.sagemaker, "bt-done")
        assert finished["TransformJobStatus"] == "Completed", finished.get("FailureReason")
        cut = job_request(
            "bt-cut",
            "bt",
            f"s3://{first.bucket}/bt/long/",
            f"s3://{first.bucket}/bt/pred-cut",
            BatchStrategy="SingleRecord",
            MaxConcurrentTransforms=1,
        )
        clients.sagemaker.create_transform_job(**cut)
        flow.poll_until(
            lambda: clients.sagemaker.describe_transform_job(TransformJobName="bt-cut"),
            lambda answer: "TransformStartTime" in answer,
            60,
            0.05,
        )
        descendants = psutil.Process(first.pid).children(recursive=True)
    finally:
        first.process.kill()  # kill -9 in the middle of bt-cut
        first.stop()
    _, alive = psutil.wait_procs(descendants, timeout=10)
    assert not alive, f"the model server outlived the killed emulator: {alive}"

    second = local_aws.start(state_dir=tmp_path)
    try:
        clients = flow.clients_for(second)
        again = clients.sagemaker.describe_transform_job(TransformJobName="bt-done")
        assert again == {**finished, "ResponseMetadata": again["ResponseMetadata"]}
        out = clients.s3.get_object(Bucket=second.bucket, Key="bt/pred/a.csv.out")["Body"].read()
        assert len(json.loads(out)["predictions"]) == 5
        assert clients.sagemaker.list_tags(ResourceArn=again["TransformJobArn"])["Tags"] == [
            {"Key": "k", "Value": "v"}
        ]
        failed = clients.sagemaker.describe_transform_job(TransformJobName="bt-cut")
        assert failed["TransformJobStatus"] == "Failed"
        assert failed["FailureReason"] == INTERRUPTED_REASON
        record = tmp_path / "transform-jobs" / second.region / "bt-cut.json"
        assert json.loads(record.read_bytes())["Describe"]["FailureReason"] == INTERRUPTED_REASON
        listed = clients.sagemaker.list_transform_jobs(StatusEquals="Failed")
        assert [s["TransformJobName"] for s in listed["TransformJobSummaries"]] == ["bt-cut"]
        clients.sagemaker.create_model(  # models do not survive a restart
            ModelName="bt",
            PrimaryContainer={
                "Image": flow.LINEAR_LEARNER_IMAGE,
                "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
            },
            ExecutionRoleArn=second.role_arn,
        )
        clients.sagemaker.create_transform_job(**{**cut, "TransformJobName": "bt-cut-2"})
        flow.poll_until(
            lambda: clients.sagemaker.describe_transform_job(TransformJobName="bt-cut-2"),
            lambda answer: "TransformStartTime" in answer,
            60,
            0.05,
        )
    finally:
        stop_and_check_no_leftovers(second)  # a clean stop in the middle of bt-cut-2

    with local_aws.start(state_dir=tmp_path) as third:
        sagemaker = flow.clients_for(third).sagemaker
        answer = sagemaker.describe_transform_job(TransformJobName="bt-cut-2")
        assert (answer["TransformJobStatus"], answer["FailureReason"]) == (
            "Failed",
            INTERRUPTED_REASON,
        )


def test_tuning_jobs_survive_a_restart_and_one_cut_short_reads_failed(tmp_path):
    first = local_aws.start(state_dir=tmp_path)
    try:
        clients = flow.clients_for(first)
        channels = tuning_flow.upload_channels(clients.s3, first.bucket, "kept")
        output = f"s3://{first.bucket}/kept/out"
        done = tuning_flow.tuning_request("kept-done", first.role_arn, channels, output, max_jobs=1)
        clients.sagemaker.create_hyper_parameter_tuning_job(**done)
        finished = tuning_flow.wait_for_tuning(clients.sagemaker, "kept-done")
        assert finished["HyperParameterTuningJobStatus"] == "Completed"
        cut = tuning_flow.tuning_request(
            "kept-cut", first.role_arn, channels, output, static={"epochs": "500"}
        )
        clients.sagemaker.create_hyper_parameter_tuning_job(**cut)
        running = flow.poll_until(
            lambda: tuning_flow.training_jobs_of(clients.sagemaker, "kept-cut"), bool, 60, 0.05
        )
        flow.wait_for_status(clients.sagemaker, running[0]["TrainingJobName"], "Training")
        server = psutil.Process(first.pid)
        children = server.children(recursive=True)
        first.process.send_signal(signal.SIGKILL)  # the server dies mid-tuning
        first.process.wait()
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"processes left behind by the killed server: {alive}"
    finally:
        stop_and_check_no_leftovers(first)

    second = local_aws.start(state_dir=tmp_path)
    try:
        sagemaker = flow.clients_for(second).sagemaker
        again = sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="kept-done"
        )
        for key in ("HyperParameterTuningJobStatus", "BestTrainingJob", "CreationTime"):
            assert again[key] == finished[key]
        best = again["BestTrainingJob"]["TrainingJobName"]
        assert sagemaker.describe_training_job(TrainingJobName=best)["TrainingJobStatus"] == (
            "Completed"
        )
        cut_short = sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="kept-cut"
        )
        assert cut_short["HyperParameterTuningJobStatus"] == "Failed"
        assert cut_short["FailureReason"].startswith(
            "The local emulator stopped while this tuning job was in progress"
        )
        assert cut_short["TrainingJobStatusCounters"]["InProgress"] == 0
        with pytest.raises(ClientError) as caught:
            sagemaker.create_hyper_parameter_tuning_job(**done)
        assert caught.value.response["Error"]["Code"] == "ResourceInUse"
    finally:
        stop_and_check_no_leftovers(second)
