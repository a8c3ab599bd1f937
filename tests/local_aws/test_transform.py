"""Batch transform jobs against a real emulator, a really trained linear-learner and its real
model server: splitting, batching, payload limits, assembling, several objects, manifests,
Stop, errors, List, tags and logs. Every SageMaker answer is checked against its shape.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from botocore.exceptions import ClientError

from local_aws.recordio import frame
from local_aws.sagemaker.responses import TRANSFORM_OPERATIONS
from local_aws.sagemaker.transform import check_request
from local_aws.sagemaker.transform_jobs import TRANSFORM_LOG_GROUP

from . import flow
from .test_recordio_protobuf_flow import protobuf_records


def features_csv(rows: int, seed: int) -> bytes:
    """``rows`` CSV lines of two features (no label), as inference takes them."""
    values = np.random.default_rng(seed).normal(size=(rows, flow.FEATURES))
    return ("\n".join(f"{a:.6f},{b:.6f}" for a, b in values) + "\n").encode()


@pytest.fixture(scope="module")
def model(aws, clients):
    """A model of a completed training job; returns its name."""
    channels = flow.upload_dataset(clients.s3, aws.bucket, "tf")
    request = flow.training_job_request(
        "tf-train", aws.role_arn, channels, f"s3://{aws.bucket}/tf/output"
    )
    trained = flow.train(clients.sagemaker, request)
    assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
    clients.sagemaker.create_model(
        ModelName="tf-model",
        PrimaryContainer={
            "Image": flow.LINEAR_LEARNER_IMAGE,
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=aws.role_arn,
    )
    return "tf-model"


def put(clients, aws, key: str, body: bytes) -> str:
    clients.s3.put_object(Bucket=aws.bucket, Key=key, Body=body)
    return f"s3://{aws.bucket}/{key}"


def job_request(name: str, model: str, input_uri: str, output_uri: str, **members) -> dict:
    """A CreateTransformJob request for CSV input; ``members`` override or add members, and
    ``SplitType``, ``Accept``, ``AssembleWith`` and ``S3DataType`` go where they belong."""
    transform_input = {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": members.pop("S3DataType", "S3Prefix"),
                "S3Uri": input_uri,
            }
        },
        "ContentType": members.pop("ContentType", "text/csv"),
        "SplitType": members.pop("SplitType", "Line"),
    }
    output = {"S3OutputPath": output_uri}
    for member in ("Accept", "AssembleWith"):
        if member in members:
            output[member] = members.pop(member)
    return {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
        **members,
    }


def wait(sagemaker, name: str, timeout: float = 120) -> dict:
    return flow.poll_until(
        lambda: sagemaker.describe_transform_job(TransformJobName=name),
        lambda answer: answer["TransformJobStatus"] in flow.TERMINAL_JOB_STATUSES,
        timeout,
        0.1,
    )


def run(clients, request: dict) -> dict:
    clients.sagemaker.create_transform_job(**request)
    return wait(clients.sagemaker, request["TransformJobName"])


def read(clients, uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def json_documents(data: bytes) -> list:
    """The JSON documents written one after another in ``data`` (any whitespace between)."""
    decoder, text, found, at = json.JSONDecoder(), data.decode(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


def test_line_split_single_record_writes_one_out_per_object_matching_invoke_endpoint(
    aws, clients, model
):
    inputs = {"a.csv": features_csv(7, 1), "b.csv": features_csv(3, 2), "sub/c.csv": b"1,2\n"}
    for name, body in inputs.items():
        put(clients, aws, f"tf/in1/{name}", body)
    answer = run(
        clients,
        job_request(
            "tf-single",
            model,
            f"s3://{aws.bucket}/tf/in1/",
            f"s3://{aws.bucket}/tf/out1",
            BatchStrategy="SingleRecord",
            Accept="application/jsonlines",
            AssembleWith="Line",
        ),
    )
    assert answer["TransformJobStatus"] == "Completed", answer.get("FailureReason")
    assert answer["TransformStartTime"] <= answer["TransformEndTime"]
    flow.deploy(clients.sagemaker, "tf-ep", _model_data(clients, model), aws.role_arn)
    try:
        for name, body in inputs.items():
            out = read(clients, f"s3://{aws.bucket}/tf/out1/{name}.out")
            scores = [json.loads(line)["score"] for line in out.decode().splitlines()]
            expected = [
                p["score"]
                for p in flow.invoke(clients.runtime, "tf-ep", body.decode())["predictions"]
            ]
            assert scores == expected
    finally:
        flow.clean_up(clients.sagemaker, "tf-ep")


def _model_data(clients, model: str) -> str:
    return clients.sagemaker.describe_model(ModelName=model)["PrimaryContainer"]["ModelDataUrl"]


def test_multi_record_batches_under_the_payload_limit(aws, clients, model):
    rows = 120_000  # about 2.4 MB of CSV: three requests of at most 1 MiB
    body = features_csv(rows, 3)
    put(clients, aws, "tf/in2/big.csv", body)
    answer = run(
        clients,
        job_request(
            "tf-multi",
            model,
            f"s3://{aws.bucket}/tf/in2/big.csv",
            f"s3://{aws.bucket}/tf/out2/",
            BatchStrategy="MultiRecord",
            MaxPayloadInMB=1,
            Accept="application/json",
            AssembleWith="None",
        ),
    )
    assert answer["TransformJobStatus"] == "Completed", answer.get("FailureReason")
    documents = json_documents(read(clients, f"s3://{aws.bucket}/tf/out2/big.csv.out"))
    assert len(documents) == -(-len(body) // (1024 * 1024))  # as few requests as fit
    assert sum(len(document["predictions"]) for document in documents) == rows


def test_assemble_with_line_puts_each_answer_on_its_own_line(aws, clients, model):
    put(clients, aws, "tf/in3/rows.csv", features_csv(50, 4))
    answer = run(
        clients,
        job_request(
            "tf-line-json",
            model,
            f"s3://{aws.bucket}/tf/in3/",
            f"s3://{aws.bucket}/tf/out3",
            BatchStrategy="SingleRecord",
            Accept="application/json",
            AssembleWith="Line",
            MaxConcurrentTransforms=4,
        ),
    )
    assert answer["TransformJobStatus"] == "Completed", answer.get("FailureReason")
    lines = read(clients, f"s3://{aws.bucket}/tf/out3/rows.csv.out").decode().splitlines()
    assert len(lines) == 50
    assert all(len(json.loads(line)["predictions"]) == 1 for line in lines)


def test_split_none_sends_each_object_whole(aws, clients, model):
    """The prefix ``tf/in4`` has no final slash: output names keep the keys after the
    prefix's last ``/`` (``in4/x.csv``), as File-mode channels name their files."""
    put(clients, aws, "tf/in4/x.csv", features_csv(40, 5))
    put(clients, aws, "tf/in4/y.csv", features_csv(9, 6))
    answer = run(
        clients,
        job_request(
            "tf-none",
            model,
            f"s3://{aws.bucket}/tf/in4",
            f"s3://{aws.bucket}/tf/out4",
            SplitType="None",
            Accept="application/json",
        ),
    )
    assert answer["TransformJobStatus"] == "Completed", answer.get("FailureReason")
    assert answer["TransformInput"]["CompressionType"] == "None"
    for name, rows in (("x.csv", 40), ("y.csv", 9)):
        documents = json_documents(read(clients, f"s3://{aws.bucket}/tf/out4/in4/{name}.out"))
        assert [len(d["predictions"]) for d in documents] == [rows]


def test_manifest_file_input_reads_the_listed_objects(aws, clients, model):
    put(clients, aws, "tf/in5/one.csv", features_csv(4, 7))
    put(clients, aws, "tf/in5/deeper/two.csv", features_csv(6, 8))
    put(clients, aws, "tf/in5/unlisted.csv", features_csv(2, 9))
    manifest = [{"prefix": f"s3://{aws.bucket}/tf/in5/"}, "deeper/two.csv", "one.csv"]
    uri = put(clients, aws, "tf/in5.manifest", json.dumps(manifest).encode())
    answer = run(
        clients,
        job_request(
            "tf-manifest",
            model,
            uri,
            f"s3://{aws.bucket}/tf/out5",
            S3DataType="ManifestFile",
            BatchStrategy="MultiRecord",
            Accept="application/jsonlines",
        ),
    )
    assert answer["TransformJobStatus"] == "Completed", answer.get("FailureReason")
    listed = clients.s3.list_objects_v2(Bucket=aws.bucket, Prefix="tf/out5/")["Contents"]
    assert sorted(o["Key"] for o in listed) == ["tf/out5/deeper/two.csv.out", "tf/out5/one.csv.out"]
    two = read(clients, f"s3://{aws.bucket}/tf/out5/deeper/two.csv.out")
    assert len(two.decode().splitlines()) == 6


def test_defaults_come_from_the_containers_execution_parameters(aws, clients, model):
    put(clients, aws, "tf/in6/rows.csv", features_csv(30, 10))
    request = job_request(
        "tf-defaults", model, f"s3://{aws.bucket}/tf/in6/", f"s3://{aws.bucket}/tf/out6"
    )
    answer = run(clients, request)
    assert answer["TransformJobStatus"] == "Completed", answer.get("FailureReason")
    assert "BatchStrategy" not in answer and "MaxPayloadInMB" not in answer
    # linear-learner's /execution-parameters says MULTI_RECORD: one request, one answer
    assert len(json_documents(read(clients, f"s3://{aws.bucket}/tf/out6/rows.csv.out"))) == 1
    streams = clients.logs.describe_log_streams(
        logGroupName=TRANSFORM_LOG_GROUP, logStreamNamePrefix="tf-defaults/"
    )["logStreams"]
    names = sorted(s["logStreamName"] for s in streams)
    assert len(names) == 2 and names[1] == f"{names[0]}/data-log"
    assert names[0].startswith("tf-defaults/i-")
    data_log = clients.logs.get_log_events(
        logGroupName=TRANSFORM_LOG_GROUP, logStreamName=names[1], startFromHead=True
    )["events"]
    assert any("BatchStrategy=MULTI_RECORD" in e["message"] for e in data_log)
    server_log = clients.logs.get_log_events(
        logGroupName=TRANSFORM_LOG_GROUP, logStreamName=names[0], startFromHead=True
    )["events"]
    assert any(e["message"].startswith("Serving on http://") for e in server_log)


def test_stop_transform_job(aws, clients, model):
    put(clients, aws, "tf/in7/long.csv", features_csv(20_000, 11))
    request = job_request(
        "tf-stop",
        model,
        f"s3://{aws.bucket}/tf/in7/",
        f"s3://{aws.bucket}/tf/out7",
        BatchStrategy="SingleRecord",
        MaxConcurrentTransforms=1,
    )
    clients.sagemaker.create_transform_job(**request)
    flow.poll_until(
        lambda: clients.sagemaker.describe_transform_job(TransformJobName="tf-stop"),
        lambda answer: "TransformStartTime" in answer,
        60,
        0.05,
    )
    clients.sagemaker.stop_transform_job(TransformJobName="tf-stop")
    assert clients.sagemaker.describe_transform_job(TransformJobName="tf-stop")[
        "TransformJobStatus"
    ] in ("Stopping", "Stopped")
    answer = wait(clients.sagemaker, "tf-stop")
    assert answer["TransformJobStatus"] == "Stopped"
    assert "FailureReason" not in answer
    listed = clients.s3.list_objects_v2(Bucket=aws.bucket, Prefix="tf/out7/")
    assert "Contents" not in listed  # the object was not finished: no partial output
    with pytest.raises(ClientError, match="in status Stopped"):
        clients.sagemaker.stop_transform_job(TransformJobName="tf-stop")


def test_recordio_split_sends_protobuf_records_scored_as_their_csv(aws, clients, model):
    """SplitType RecordIO with RecordIO-protobuf records (one Record per row, as the SDK
    writes them), several frames per request; a stream that is no RecordIO fails naming the
    byte offset; a frame whose payload is no Record fails with the model's 400."""
    features = np.random.default_rng(12).normal(size=(300, flow.FEATURES)).astype(np.float32)
    put(clients, aws, "tf/in8/rows.rec", protobuf_records(features))
    csv = "".join(f"{a!r},{b!r}\n" for a, b in features.tolist()).encode()
    put(clients, aws, "tf/in8csv/rows.csv", csv)
    common = {"Accept": "application/jsonlines", "AssembleWith": "Line"}
    protobuf = run(
        clients,
        job_request(
            "tf-recordio",
            model,
            f"s3://{aws.bucket}/tf/in8/",
            f"s3://{aws.bucket}/tf/out8",
            SplitType="RecordIO",
            ContentType="application/x-recordio-protobuf",
            BatchStrategy="MultiRecord",
            MaxPayloadInMB=1,
            **common,
        ),
    )
    assert protobuf["TransformJobStatus"] == "Completed", protobuf.get("FailureReason")
    plain = run(
        clients,
        job_request(
            "tf-recordio-csv",
            model,
            f"s3://{aws.bucket}/tf/in8csv/",
            f"s3://{aws.bucket}/tf/out8csv",
            **common,
        ),
    )
    assert plain["TransformJobStatus"] == "Completed", plain.get("FailureReason")
    scores = [
        [json.loads(line)["score"] for line in read(clients, uri).decode().splitlines()]
        for uri in (
            f"s3://{aws.bucket}/tf/out8/rows.rec.out",
            f"s3://{aws.bucket}/tf/out8csv/rows.csv.out",
        )
    ]
    assert len(scores[0]) == 300
    assert scores[0] == pytest.approx(scores[1], rel=1e-6, abs=1e-6)
    put(clients, aws, "tf/in10rec/frames.rec", b"".join(frame(b"1,2") for _ in range(3)))
    answer = run(
        clients,
        job_request(
            "tf-recordio-not-records",
            model,
            f"s3://{aws.bucket}/tf/in10rec/",
            f"s3://{aws.bucket}/tf/out10rec",
            SplitType="RecordIO",
            ContentType="application/x-recordio-protobuf",
        ),
    )
    assert answer["TransformJobStatus"] == "Failed"
    assert answer["FailureReason"].startswith(
        f"ClientError: {aws.bucket}/tf/in10rec/frames.rec: the model answered 400: "
    )
    put(clients, aws, "tf/in9/bad.rec", b"1,2\n3,4\n")
    answer = run(
        clients,
        job_request(
            "tf-not-recordio",
            model,
            f"s3://{aws.bucket}/tf/in9/",
            f"s3://{aws.bucket}/tf/out9",
            SplitType="RecordIO",
        ),
    )
    assert answer["TransformJobStatus"] == "Failed"
    assert "not RecordIO: expected magic number 0xCED7230A at byte 0" in answer["FailureReason"]


def expect_error(call, code: str, message: str) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == (code, message)


def test_create_refuses_what_cannot_run(aws, clients, model):
    sagemaker = clients.sagemaker
    inputs = f"s3://{aws.bucket}/tf/in3/"
    out = f"s3://{aws.bucket}/tf/out-errors"
    arn = f"arn:aws:sagemaker:{aws.region}:123456789012:model/absent"
    expect_error(
        lambda: sagemaker.create_transform_job(**job_request("tf-e1", "absent", inputs, out)),
        "ValidationException",
        f'Could not find model "{arn}".',
    )
    empty = f"s3://{aws.bucket}/tf/nothing-here/"
    expect_error(
        lambda: sagemaker.create_transform_job(**job_request("tf-e2", model, empty, out)),
        "ValidationException",
        f'No S3 objects found under S3 URL "{empty}" given in input data source. Please ensure '
        f"that the bucket exists in the selected region ({aws.region}), that objects exist "
        f'under that S3 prefix, and that the role "{aws.role_arn}" has "s3:ListBucket" '
        f'permissions on bucket "{aws.bucket}".',
    )
    web = "https://example.com/data/"
    expect_error(
        lambda: sagemaker.create_transform_job(**job_request("tf-e3", model, web, out)),
        "ValidationException",
        f"TransformInput.DataSource.S3DataSource.S3Uri '{web}' is not an s3:// URI.",
    )
    missing_manifest = f"s3://{aws.bucket}/tf/absent.manifest"
    with pytest.raises(ClientError, match=f'No manifest file at "{missing_manifest}"'):
        sagemaker.create_transform_job(
            **job_request("tf-e4", model, missing_manifest, out, S3DataType="ManifestFile")
        )
    two = job_request("tf-e5", model, inputs, out)
    two["TransformResources"]["InstanceCount"] = 2
    with pytest.raises(ClientError, match="InstanceCount 2 is not supported"):
        sagemaker.create_transform_job(**two)
    joined = job_request("tf-e6", model, inputs, out, DataProcessing={"JoinSource": "Input"})
    with pytest.raises(ClientError, match="DataProcessing.JoinSource 'Input' is not supported"):
        sagemaker.create_transform_job(**joined)
    with pytest.raises(ClientError, match="Member must satisfy enum value set"):
        sagemaker.create_transform_job(**job_request("tf-e7", model, inputs, out, SplitType="X"))
    large = job_request("tf-e8", model, inputs, out, MaxPayloadInMB=60, MaxConcurrentTransforms=2)
    with pytest.raises(ClientError, match=r"MaxConcurrentTransforms \* MaxPayloadInMB is 2 \* 60"):
        sagemaker.create_transform_job(**large)
    names = [
        j["TransformJobName"] for j in sagemaker.list_transform_jobs()["TransformJobSummaries"]
    ]
    assert not [name for name in names if name.startswith("tf-e")]


def test_jobs_that_cannot_finish_fail_with_one_line(aws, clients, model):
    put(clients, aws, "tf/in10/empty.csv", b"")
    put(clients, aws, "tf/in11/wide.csv", b"1,2,3\n")
    put(clients, aws, "tf/in12/long-line.csv", b"1," * 600_000 + b"2\n")
    cases = {
        "tf-f1": (
            job_request("tf-f1", model, f"s3://{aws.bucket}/tf/in10/", f"s3://{aws.bucket}/o"),
            f"ClientError: {aws.bucket}/tf/in10/empty.csv: the input object is empty",
        ),
        "tf-f2": (
            job_request("tf-f2", model, f"s3://{aws.bucket}/tf/in11/", f"s3://{aws.bucket}/o"),
            f"ClientError: {aws.bucket}/tf/in11/wide.csv: the model answered 400: ",
        ),
        "tf-f3": (
            job_request(
                "tf-f3",
                model,
                f"s3://{aws.bucket}/tf/in12/",
                f"s3://{aws.bucket}/o",
                MaxPayloadInMB=1,
            ),
            f"ClientError: {aws.bucket}/tf/in12/long-line.csv: a record of more than 1048576 "
            "bytes is larger than MaxPayloadInMB (1 MB, 1048576 bytes)",
        ),
        "tf-f4": (
            job_request("tf-f4", model, f"s3://{aws.bucket}/tf/in3/", "s3://no-such-bucket/out"),
            f"ClientError: {aws.bucket}/tf/in3/rows.csv: could not upload the output: The bucket "
            '"no-such-bucket" does not exist',
        ),
    }
    for request, _ in cases.values():
        clients.sagemaker.create_transform_job(**request)
    for name, (_, reason) in cases.items():
        answer = wait(clients.sagemaker, name)
        assert answer["TransformJobStatus"] == "Failed"
        assert answer["FailureReason"].startswith(reason), answer["FailureReason"]
        assert "\n" not in answer["FailureReason"] and "/tmp" not in answer["FailureReason"]
    failed = clients.sagemaker.list_transform_jobs(StatusEquals="Failed", NameContains="tf-f")
    summaries = failed["TransformJobSummaries"]
    assert sorted(s["TransformJobName"] for s in summaries) == sorted(cases)
    assert all(s["FailureReason"] for s in summaries)


def test_describe_stop_duplicate_and_list(aws, clients, model):
    sagemaker = clients.sagemaker
    expect_error(
        lambda: sagemaker.describe_transform_job(TransformJobName="tf-absent"),
        "ValidationException",
        "Requested resource not found.",
    )
    expect_error(
        lambda: sagemaker.stop_transform_job(TransformJobName="tf-absent"),
        "ValidationException",
        "Requested resource not found.",
    )
    again = job_request("TF-SINGLE", model, f"s3://{aws.bucket}/tf/in3/", f"s3://{aws.bucket}/tf/o")
    with pytest.raises(ClientError) as caught:
        sagemaker.create_transform_job(**again)
    assert caught.value.response["Error"]["Code"] == "ResourceInUse"
    first = sagemaker.list_transform_jobs(
        NameContains="tf-", SortBy="Name", SortOrder="Ascending", MaxResults=2
    )
    rest = sagemaker.list_transform_jobs(
        NameContains="tf-",
        SortBy="Name",
        SortOrder="Ascending",
        NextToken=first["NextToken"],
        MaxResults=100,
    )
    names = [
        s["TransformJobName"]
        for s in first["TransformJobSummaries"] + rest["TransformJobSummaries"]
    ]
    assert names == sorted(names), names
    assert {"tf-single", "tf-multi", "tf-stop"} <= set(names)
    stopped = sagemaker.list_transform_jobs(StatusEquals="Stopped")["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in stopped] == ["tf-stop"]
    described = sagemaker.describe_transform_job(TransformJobName="tf-single")
    later = sagemaker.list_transform_jobs(CreationTimeAfter=described["CreationTime"])
    assert "tf-single" not in [s["TransformJobName"] for s in later["TransformJobSummaries"]]


def test_tags_on_a_transform_job(aws, clients, model):
    request = job_request(
        "tf-tagged",
        model,
        f"s3://{aws.bucket}/tf/in3/",
        f"s3://{aws.bucket}/tf/tagged",
        Tags=[{"Key": "project", "Value": "flights"}],
    )
    arn = clients.sagemaker.create_transform_job(**request)["TransformJobArn"]
    assert arn == f"arn:aws:sagemaker:{aws.region}:123456789012:transform-job/tf-tagged"
    clients.sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "batch"}])
    assert clients.sagemaker.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "project", "Value": "flights"},
        {"Key": "stage", "Value": "batch"},
    ]
    assert "Tags" not in wait(clients.sagemaker, "tf-tagged")


def test_check_request_names_the_member():
    request = job_request("n", "m", "s3://b/in/", "s3://b/out")
    request["TransformInput"]["CompressionType"] = "Gzip"
    with pytest.raises(Exception, match="TransformInput.CompressionType Gzip is not supported"):
        check_request(request)


def test_every_transform_operation_answer_was_validated(response_checker):
    """Runs last in this module: each transform operation was checked against its shape."""
    expected = {("sagemaker", operation) for operation in TRANSFORM_OPERATIONS}
    assert expected - response_checker.checked == set()
