"""RecordIO-protobuf through the emulator with boto3: training jobs and an endpoint.

The rows of ``flow.regression_csv`` are written as RecordIO-protobuf (one Record per row, as
the SDK's ``write_numpy_to_dense_tensor`` writes them) under an S3 prefix and behind a manifest
(as the SDK's ``upload_numpy_to_s3_shards`` writes it), trained in File and Pipe mode without a
ContentType (linear-learner's default), and must reach the test score of the same rows as CSV.
The endpoint then answers dense and sparse protobuf requests with JSON and with protobuf.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from local_aws import recordio
from local_aws.algorithms.linear_learner.recordio_protobuf import Record

from . import flow

PROTOBUF = "application/x-recordio-protobuf"
ROWS = 1200


def rows_of(seed: int) -> np.ndarray:
    """``flow.regression_csv``'s rows as float32 (n, 1 + features), label first."""
    return np.loadtxt(io.BytesIO(flow.regression_csv(ROWS, seed)), delimiter=",", ndmin=2).astype(
        np.float32
    )


def protobuf_records(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    """Dense Float32 records, one per row (labels if given)."""
    out = io.BytesIO()
    for row, values in enumerate(features):
        record = Record()
        record.features["values"].float32_tensor.values.extend(values.tolist())
        if labels is not None:
            record.label["values"].float32_tensor.values.append(float(labels[row]))
        recordio.write_frame(out, record.SerializeToString())
    return out.getvalue()


@pytest.fixture(scope="module")
def uploads(aws, clients) -> dict:
    """Channel URIs: ``csv``, ``prefix`` (S3Prefix, two shards) and ``manifest`` (ManifestFile)."""
    s3, bucket = clients.s3, aws.bucket
    uploads = {"csv": {}, "prefix": {}, "manifest": {}}
    for seed, channel in enumerate(("train", "test")):
        table = rows_of(seed)
        s3.put_object(
            Bucket=bucket, Key=f"pb/csv/{channel}/part.csv", Body=flow.regression_csv(ROWS, seed)
        )
        uploads["csv"][channel] = f"s3://{bucket}/pb/csv/{channel}/"
        halves = np.array_split(table, 2)
        names = []
        for index, half in enumerate(halves):
            name = f"matrix_{index}.pbr"
            body = protobuf_records(half[:, 1:], half[:, 0])
            s3.put_object(Bucket=bucket, Key=f"pb/shards/{channel}/{name}", Body=body)
            names.append(name)
        uploads["prefix"][channel] = f"s3://{bucket}/pb/shards/{channel}/"
        manifest = [{"prefix": f"s3://{bucket}/pb/shards/{channel}/"}, *names]
        key = f"pb/manifests/{channel}.manifest"
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
        uploads["manifest"][channel] = f"s3://{bucket}/{key}"
    return uploads


def _job(aws, clients, name: str, channels: dict, mode: str, data_type: str, content_type):
    request = flow.training_job_request(
        name, aws.role_arn, channels, f"s3://{aws.bucket}/pb-out", mode
    )
    request["HyperParameters"].update(mini_batch_size="100", epochs="3")
    for channel in request["InputDataConfig"]:
        channel.pop("ContentType")
        if content_type:
            channel["ContentType"] = content_type
        channel["DataSource"]["S3DataSource"]["S3DataType"] = data_type
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Completed", answer.get("FailureReason")
    return answer


def _test_mse(answer: dict) -> float:
    return {m["MetricName"]: m["Value"] for m in answer["FinalMetricDataList"]}["test:mse"]


@pytest.fixture(scope="module")
def csv_job(aws, clients, uploads):
    return _job(aws, clients, "pb-baseline-csv", uploads["csv"], "File", "S3Prefix", "text/csv")


@pytest.mark.parametrize(
    ("mode", "source", "content_type"),
    [
        ("File", "prefix", None),
        ("Pipe", "prefix", PROTOBUF),
        ("File", "manifest", PROTOBUF),
        ("Pipe", "manifest", None),
    ],
)
def test_protobuf_trains_as_well_as_the_same_rows_as_csv(
    aws, clients, uploads, csv_job, mode, source, content_type
):
    data_type = "ManifestFile" if source == "manifest" else "S3Prefix"
    name = f"pb-{mode.lower()}-{source}-{'default' if content_type is None else 'explicit'}"
    answer = _job(aws, clients, name, uploads[source], mode, data_type, content_type)
    assert _test_mse(answer) == pytest.approx(_test_mse(csv_job), rel=1e-3)
    assert _test_mse(answer) < 0.05 * rows_of(1)[:, 0].var()  # a model, not the mean


def _invoke(runtime, endpoint: str, body: bytes, accept: str | None):
    extra = {} if accept is None else {"Accept": accept}
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=body, ContentType=PROTOBUF, **extra
    )
    return answer["ContentType"], answer["Body"].read()


def test_an_endpoint_answers_protobuf_requests_with_json_and_protobuf(aws, clients, csv_job):
    name = "pb-endpoint"
    flow.deploy(
        clients.sagemaker, name, csv_job["ModelArtifacts"]["S3ModelArtifacts"], aws.role_arn
    )
    try:
        features = np.array([[1.0, 2.0], [2.0, 0.0], [0.0, 0.0]], dtype=np.float32)
        sparse = Record()  # the third row, all zeros, as a sparse record
        sparse.features["values"].float32_tensor.shape.append(2)
        body = protobuf_records(features[:2]) + recordio.frame(sparse.SerializeToString())
        content_type, answer = _invoke(clients.runtime, name, body, None)
        assert content_type == "application/json"
        scores = [p["score"] for p in json.loads(answer)["predictions"]]
        as_csv = flow.invoke(clients.runtime, name, "1.0,2.0\n2.0,0.0\n0.0,0.0\n")
        assert scores == [p["score"] for p in as_csv["predictions"]]
        np.testing.assert_allclose(scores, [0.0, 7.0, 1.0], atol=1.0)
        content_type, answer = _invoke(clients.runtime, name, body, PROTOBUF)
        assert content_type == PROTOBUF
        records = [Record.FromString(p) for p in recordio.read_frames(io.BytesIO(answer))]
        from_protobuf = [r.label["score"].float32_tensor.values[0] for r in records]
        np.testing.assert_allclose(from_protobuf, scores, rtol=1e-6)
        with pytest.raises(clients.runtime.exceptions.ModelError) as refused:
            _invoke(clients.runtime, name, b"1.0,2.0\n", None)
        assert "Received client error (400)" in str(refused.value)
        assert "record 1: not RecordIO" in str(refused.value)
    finally:
        flow.clean_up(clients.sagemaker, name)
