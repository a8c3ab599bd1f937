"""A transform job's record: what CreateTransformJob asked for and how far the job got.

TransformJobStatus goes InProgress -> Completed | Failed | Stopping -> Stopped, as botocore's
model lists it. Times are epoch seconds (floats), as the JSON protocol carries them.

What CreateTransformJob accepts here (``check_request``) and why:

- ``TransformResources.InstanceCount`` 1: one model server runs the whole job (our limit).
- ``S3DataType`` ``S3Prefix`` or ``ManifestFile`` (AWS's documentation of
  TransformS3DataSource: ``AugmentedManifestFile`` is "not compatible"); ``SplitType``
  ``None``, ``Line`` or ``RecordIO``; ``CompressionType`` ``None``.
- ``DataProcessing`` only with its documented defaults (InputFilter and OutputFilter ``$``,
  JoinSource ``None``): filtering and joining are not implemented locally.
- ``DataCaptureConfig`` is refused: batch data capture is not implemented locally.
- ``MaxPayloadInMB`` at most 100 MB, also times ``MaxConcurrentTransforms`` (AWS's limits).
"""

from __future__ import annotations

import threading
import time

from . import describe_defaults
from .exceptions import ValidationException
from .records import echo_request

TERMINAL = ("Completed", "Failed", "Stopped")
MAX_PAYLOAD_MB = 100
"""The largest MaxPayloadInMB, and of MaxConcurrentTransforms * MaxPayloadInMB (API reference)."""
INTERRUPTED_REASON = (
    "The local emulator stopped while this transform job was in progress; its output is "
    "incomplete. Create a new transform job to run it again."
)
"""FailureReason of a job found InProgress in the state directory after a restart (ours)."""
_SUPPORTED_SPLITS = ("None", "Line", "RecordIO")
_DEFAULT_DATA_PROCESSING = {"InputFilter": "$", "OutputFilter": "$", "JoinSource": "None"}


def check_request(request: dict) -> None:
    """ValidationException naming the member if the request asks for what is not served here."""
    count = request["TransformResources"]["InstanceCount"]
    if count != 1:
        raise ValidationException(
            f"TransformResources.InstanceCount {count} is not supported by this local emulator: "
            "one instance runs each transform job; use InstanceCount 1."
        )
    transform_input = request["TransformInput"]
    source = transform_input["DataSource"]["S3DataSource"]
    if source["S3DataType"] not in ("S3Prefix", "ManifestFile"):
        raise ValidationException(
            f"TransformInput.DataSource.S3DataSource.S3DataType {source['S3DataType']} is not "
            "supported for batch transform; use S3Prefix or ManifestFile."
        )
    for member, uri in (
        ("TransformInput.DataSource.S3DataSource.S3Uri", source["S3Uri"]),
        ("TransformOutput.S3OutputPath", request["TransformOutput"]["S3OutputPath"]),
    ):
        if not uri.startswith("s3://") or len(uri) <= len("s3://"):
            raise ValidationException(f"{member} '{uri}' is not an s3:// URI.")
    split = transform_input.get("SplitType", "None")
    if split not in _SUPPORTED_SPLITS:
        raise ValidationException(
            f"TransformInput.SplitType {split} is not supported by this local emulator; use "
            "None, Line or RecordIO."
        )
    if transform_input.get("CompressionType", "None") != "None":
        raise ValidationException(
            "TransformInput.CompressionType Gzip is not supported by this local emulator; "
            "upload the input uncompressed."
        )
    processing = request.get("DataProcessing") or {}
    for member, default in _DEFAULT_DATA_PROCESSING.items():
        if processing.get(member, default) != default:
            raise ValidationException(
                f"DataProcessing.{member} '{processing[member]}' is not supported by this local "
                f"emulator: input filtering, output filtering and joining are not implemented; "
                f"leave it out (or '{default}')."
            )
    _check_payload(request)
    if "DataCaptureConfig" in request:
        raise ValidationException(
            "DataCaptureConfig is not supported by this local emulator; leave it out."
        )


def _check_payload(request: dict) -> None:
    """MaxPayloadInMB at most 100, and MaxConcurrentTransforms * MaxPayloadInMB at most 100
    (both limits from the CreateTransformJob API reference; the wording is ours)."""
    payload = request.get("MaxPayloadInMB")
    if payload is None:
        return
    if payload > MAX_PAYLOAD_MB:
        raise ValidationException(
            f"MaxPayloadInMB {payload} is more than the {MAX_PAYLOAD_MB} MB allowed."
        )
    concurrent = request.get("MaxConcurrentTransforms") or 1
    if concurrent * payload > MAX_PAYLOAD_MB:
        raise ValidationException(
            f"MaxConcurrentTransforms * MaxPayloadInMB is {concurrent} * {payload} = "
            f"{concurrent * payload} MB, more than the {MAX_PAYLOAD_MB} MB allowed."
        )


class TransformJob:
    """One transform job: its request (defaults filled), status and times."""

    STATE_FOLDER = "transform-jobs"
    """Where ``--state-dir`` keeps the records of transform jobs (``persistence``)."""

    def __init__(self, request: dict, arn: str):
        now = time.time()
        self.request = describe_defaults.transform_job_request(request)
        self.name: str = request["TransformJobName"]
        self.arn = arn
        self.status = "InProgress"
        self.creation_time = now
        self.last_modified = now
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.failure_reason: str | None = None
        self.interrupted = False
        """True for a job read back InProgress or Stopping: its new status is not on disk yet."""
        self.lock = threading.Lock()

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def set_status(self, status: str, reason: str | None = None) -> None:
        """Enter ``status``; a final one stamps the end time, ``reason`` (cut to 1,024
        characters, the shape's limit) becomes FailureReason."""
        now = time.time()
        self.status = status
        self.last_modified = now
        if reason is not None:
            self.failure_reason = reason[:1024]
        if status in TERMINAL:
            self.end_time = now
            if self.start_time is None:
                self.start_time = now

    def started(self) -> None:
        """The model server is up and the first request is about to go."""
        self.start_time = self.last_modified = time.time()

    def describe(self) -> dict:
        """The DescribeTransformJob answer; optional members appear only once they exist."""
        answer = echo_request(self.request)
        answer.update(
            {
                "TransformJobArn": self.arn,
                "TransformJobStatus": self.status,
                "CreationTime": self.creation_time,
            }
        )
        if self.start_time is not None:
            answer["TransformStartTime"] = self.start_time
        if self.end_time is not None:
            answer["TransformEndTime"] = self.end_time
        if self.failure_reason is not None:
            answer["FailureReason"] = self.failure_reason
        return answer

    def summary(self) -> dict:
        """The ListTransformJobs entry."""
        entry = {
            "TransformJobName": self.name,
            "TransformJobArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified,
            "TransformJobStatus": self.status,
        }
        if self.end_time is not None:
            entry["TransformEndTime"] = self.end_time
        if self.failure_reason is not None:
            entry["FailureReason"] = self.failure_reason
        return entry

    def to_record(self) -> dict:
        """A JSON-able record, read back by ``from_record``."""
        return {
            "Request": self.request,
            "Arn": self.arn,
            "Describe": self.describe(),
            "LastModifiedTime": self.last_modified,
        }

    @classmethod
    def from_record(cls, record: dict) -> TransformJob:
        """The job a record holds. A job that was InProgress (Stopping) when the server died
        comes back Failed with ``INTERRUPTED_REASON`` (Stopped): nothing runs it any more."""
        job = cls(record["Request"], record["Arn"])
        described = record["Describe"]
        job.status = described["TransformJobStatus"]
        job.creation_time = described["CreationTime"]
        job.last_modified = record["LastModifiedTime"]
        job.start_time = described.get("TransformStartTime")
        job.end_time = described.get("TransformEndTime")
        job.failure_reason = described.get("FailureReason")
        job.interrupted = job.status in ("InProgress", "Stopping")
        if job.status == "InProgress":
            job.set_status("Failed", INTERRUPTED_REASON)
        elif job.status == "Stopping":
            job.set_status("Stopped")
        return job
