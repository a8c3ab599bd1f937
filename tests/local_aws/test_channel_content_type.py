"""A channel's ContentType: none means linear-learner's default, RecordIO-protobuf.

The same CSV files train with ``ContentType: text/csv``; without it they are read as
RecordIO-protobuf, as on AWS, and the job fails with a ClientError naming the file, saying it is
not RecordIO and how to ask for CSV. A type that is neither fails with the real algorithm's
``No iterator has been registered`` message.
"""

from __future__ import annotations

import json

import pytest

from . import flow


@pytest.fixture(scope="module")
def channels(aws, clients):
    return flow.upload_dataset(clients.s3, aws.bucket, "content-type", rows=300)


def _request(aws, name: str, channels: dict, content_types: dict) -> dict:
    request = flow.training_job_request(name, aws.role_arn, channels, f"s3://{aws.bucket}/ct")
    request["HyperParameters"].update(mini_batch_size="100", epochs="2")
    for channel in request["InputDataConfig"]:
        channel.pop("ContentType")
        if content_types.get(channel["ChannelName"]):
            channel["ContentType"] = content_types[channel["ChannelName"]]
    return request


@pytest.mark.parametrize("given", [None, "application/x-recordio-protobuf"])
def test_csv_files_read_as_recordio_protobuf_fail_the_job_naming_the_file(
    aws, clients, channels, given
):
    name = f"no-content-type-{'default' if given is None else 'explicit'}"
    request = _request(aws, name, channels, {"train": "text/csv", "test": given})
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Failed"
    reason = answer["FailureReason"]
    assert reason.startswith(
        "ClientError: Unable to read RecordIO-protobuf: record 1, file "
        "/opt/ml/input/data/test_0: not RecordIO: expected magic number 0xCED7230A at byte 0"
    ), reason
    assert "a channel without ContentType is read as application/x-recordio-protobuf" in reason
    assert "set the channel's ContentType to 'text/csv'" in reason
    described = {c["ChannelName"]: c for c in answer["InputDataConfig"]}
    assert ("ContentType" in described["test"]) == (given is not None)  # echoed as sent


def test_an_unknown_content_type_has_no_iterator(aws, clients, channels):
    request = _request(aws, "csv-short-name", channels, {"train": "csv", "test": "text/csv"})
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Failed"
    assert answer["FailureReason"].startswith(
        "ClientError: No iterator has been registered for ContentType ('csv', '1.0'): "
        "channel 'train' must be one of 'text/csv', 'application/x-recordio-protobuf'"
    )


def test_the_same_files_train_with_text_csv(aws, clients, channels):
    request = _request(aws, "text-csv", channels, {"train": "text/csv", "test": "text/csv"})
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Completed", answer.get("FailureReason")
    assert json.dumps(answer["InputDataConfig"]).count('"text/csv"') == 2
