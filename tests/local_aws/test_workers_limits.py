"""Bounded resources on a real server: size-like hyperparameters refused before allocating,
S3 key layouts a file system cannot hold, model archives that extract too much, and the
work folders of jobs and endpoints removed when they end. No answer names a host path."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from . import flow

MiB = 1024 * 1024


def work_folders(aws, kind: str) -> list[str]:
    """Names of the server's work folders of ``kind`` ("training" or "endpoints")."""
    root = aws.log_path.parent / "server" / aws.region / kind
    return sorted(path.name for path in root.iterdir()) if root.is_dir() else []


def folders_gone(aws, kind: str, prefix: str) -> bool:
    """True once no work folder of ``kind`` starts with ``prefix`` (within 10 s)."""
    return not flow.poll_until(
        lambda: [name for name in work_folders(aws, kind) if name.startswith(prefix)],
        lambda names: not names,
        10,
        0.05,
    )


def assert_no_host_path(aws, text: str) -> None:
    assert str(aws.log_path.parent) not in text and "/tmp/" not in text, text
    assert "Traceback" not in text, text


@pytest.fixture(scope="module")
def channels(aws, clients):
    return flow.upload_dataset(clients.s3, aws.bucket, "limits", rows=1500)


def run_job(aws, clients, name: str, channels: dict, mode="Pipe", **hyperparameters) -> dict:
    request = flow.training_job_request(
        name, aws.role_arn, channels, f"s3://{aws.bucket}/limits-out", mode
    )
    request["HyperParameters"].update(hyperparameters)
    return flow.train(clients.sagemaker, request)


@pytest.mark.parametrize(
    ("hyperparameter", "value", "named"),
    [
        ("num_models", "2000000000", "num_models='2000000000'"),
        ("feature_dim", "1000000000000", "feature_dim='1000000000000'"),
        ("mini_batch_size", "1500000000", "mini_batch_size='1500000000'"),
        ("num_classes", "1000001", "num_classes='1000001'"),
        ("epochs", "1000000000000", "epochs='1000000000000'"),
        ("num_calibration_samples", "99999999999", "num_calibration_samples='99999999999'"),
    ],
)
def test_a_size_beyond_its_range_or_memory_fails_the_job_as_a_client_error_naming_it(
    aws, clients, channels, hyperparameter, value, named
):
    name = f"too-big-{hyperparameter.replace('_', '-')}"
    job = run_job(aws, clients, name, channels, **{hyperparameter: value})
    assert job["TrainingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("ClientError: Invalid hyperparameter") and named in reason, reason
    assert_no_host_path(aws, reason)


def test_keys_a_and_a_slash_b_fail_a_file_mode_job_naming_both_keys(aws, clients):
    for key in ("clash/train/a", "clash/train/a/b"):
        clients.s3.put_object(
            Bucket=aws.bucket, Key=key, Body=flow.regression_csv(1500, seed=len(key))
        )
    channels = {"train": f"s3://{aws.bucket}/clash/train/"}
    job = run_job(aws, clients, "key-clash", channels, mode="File")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        "ClientError: channel 'train': S3 keys 'a' and 'a/b' cannot both be downloaded in File "
        "mode: 'a' would have to be a file and a folder"
    )


def test_objects_of_several_read_chunks_train_in_file_and_pipe_mode(aws, clients):
    data = flow.regression_csv(120_000, seed=7)  # about 3.8 MB: four 1 MiB chunks
    assert len(data) > 3 * MiB
    clients.s3.put_object(Bucket=aws.bucket, Key="chunks/train/train.csv", Body=data)
    channels = {"train": f"s3://{aws.bucket}/chunks/train/"}
    for mode in ("File", "Pipe"):
        job = run_job(aws, clients, f"chunks-{mode.lower()}", channels, mode)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        rows = [m for m in job["FinalMetricDataList"] if m["MetricName"] == "train:mse"]
        assert rows and rows[0]["Value"] < 0.01
    assert folders_gone(aws, "training", "chunks-")


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A model.tar.gz holding ``members`` (name -> bytes)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1) as packed:
        with tarfile.open(fileobj=packed, mode="w") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def deploy_archive(aws, clients, name: str, archive: bytes) -> dict:
    key = f"limits-models/{name}/model.tar.gz"
    clients.s3.put_object(Bucket=aws.bucket, Key=key, Body=archive)
    return flow.deploy(clients.sagemaker, name, f"s3://{aws.bucket}/{key}", aws.role_arn)


def test_a_model_archive_extracting_beyond_the_limit_fails_the_endpoint_and_leaves_no_folder(
    aws, clients
):
    bomb = tar_gz({"model.json": b"\0" * (130 * MiB)})
    assert len(bomb) < 1 * MiB
    endpoint = deploy_archive(aws, clients, "bomb", bomb)
    assert endpoint["EndpointStatus"] == "Failed"
    reason = endpoint["FailureReason"]
    assert "model.tar.gz would extract to more than 134,217,728 bytes" in reason, reason
    assert_no_host_path(aws, reason)
    assert folders_gone(aws, "endpoints", "bomb-")
    flow.clean_up(clients.sagemaker, "bomb")


def test_a_model_the_server_cannot_load_is_reported_under_opt_ml(aws, clients):
    """The one-line FailureReason has no path; the server's own words, in the endpoint's log
    stream, name the model folder as a container would see it."""
    endpoint = deploy_archive(aws, clients, "no-model", tar_gz({"notes.txt": b"no model"}))
    assert endpoint["EndpointStatus"] == "Failed"
    assert_no_host_path(aws, endpoint["FailureReason"])
    group = "/aws/sagemaker/Endpoints/no-model"
    (stream,) = clients.logs.describe_log_streams(logGroupName=group)["logStreams"]
    events = clients.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])
    logged = "\n".join(event["message"] for event in events["events"])
    assert "/opt/ml/model" in logged
    assert_no_host_path(aws, logged)
    assert folders_gone(aws, "endpoints", "no-model-")
    flow.clean_up(clients.sagemaker, "no-model")


def test_an_endpoint_work_folder_is_removed_when_the_endpoint_is_deleted(aws, clients, channels):
    job = run_job(aws, clients, "for-endpoint", channels, epochs="1")
    model_data = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert flow.deploy(clients.sagemaker, "kept", model_data, aws.role_arn)["EndpointStatus"] == (
        "InService"
    )
    assert [name for name in work_folders(aws, "endpoints") if name.startswith("kept-")]
    flow.clean_up(clients.sagemaker, "kept")
    assert folders_gone(aws, "endpoints", "kept-")
