"""A channel's ContentType: none means linear-learner's default, RecordIO-protobuf.

The same CSV files train with ``ContentType: text/csv``; without it the job fails as it would
on AWS (CSV read as RecordIO-protobuf), with a ClientError naming the channel, the type
assumed and how to ask for CSV.
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
def test_a_channel_read_as_recordio_protobuf_fails_the_job_naming_it(aws, clients, channels, given):
    name = f"no-content-type-{'default' if given is None else 'explicit'}"
    request = _request(aws, name, channels, {"train": "text/csv", "test": given})
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Failed"
    reason = answer["FailureReason"]
    assert reason.startswith("ClientError: Channel 'test' has ")
    assert "application/x-recordio-protobuf (linear-learner's default content type)" in reason
    assert "set the channel's ContentType to 'text/csv'" in reason
    described = {c["ChannelName"]: c for c in answer["InputDataConfig"]}
    assert ("ContentType" in described["test"]) == (given is not None)  # echoed as sent


def test_the_same_files_train_with_text_csv(aws, clients, channels):
    request = _request(aws, "text-csv", channels, {"train": "text/csv", "test": "text/csv"})
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Completed", answer.get("FailureReason")
    assert json.dumps(answer["InputDataConfig"]).count('"text/csv"') == 2
