"""A training job's record: what CreateTrainingJob asked for and how far the job got.

Statuses follow SageMaker: TrainingJobStatus InProgress -> Completed | Failed | Stopping ->
Stopped, and SecondaryStatus Starting -> Downloading -> Training -> Uploading -> Completed
(or Failed, Stopping, Stopped), each step kept in SecondaryStatusTransitions. Times are
epoch seconds (floats), as the JSON protocol carries them.
"""

from __future__ import annotations

import math
import re
import threading
import time

from . import describe_defaults
from .metrics import MetricTracker, metric_definitions_for_describe
from .records import echo_request

LINEAR_LEARNER_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.(amazonaws\.com(\.cn)?|c2s\.ic\.gov|sc2s\.sgov\.gov"
    r"|csp\.hci\.ic\.gov)/linear-learner(:1|:latest)?$"
)
"""What ``image_uris.retrieve("linear-learner", region)`` returns, for any region."""

STATUS_MESSAGES = {
    "Starting": "Launching requested ML instances",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Job stopped because it exceeded MaxRuntimeInSeconds",
}
TERMINAL = ("Completed", "Failed", "Stopped")
FINAL_SECONDARY = {"MaxRuntimeExceeded": "Stopped"}
"""Final secondary statuses whose TrainingJobStatus has another name."""


def is_linear_learner_image(image: str) -> bool:
    """True for a linear-learner image URI of any region, as the SDK's image_uris gives it."""
    return bool(LINEAR_LEARNER_IMAGE.match(image))


class TrainingJob:
    """One training job: its request, statuses, timings, metrics and artifacts."""

    STATE_FOLDER = "training-jobs"
    """Where ``--state-dir`` keeps the records of finished training jobs (``persistence``)."""

    def __init__(self, request: dict, arn: str):
        now = time.time()
        self.request = describe_defaults.training_job_request(request)
        self.name: str = request["TrainingJobName"]
        self.arn = arn
        self.status = "InProgress"
        self.secondary_status = "Starting"
        self.transitions: list[dict] = [
            {"Status": "Starting", "StartTime": now, "StatusMessage": STATUS_MESSAGES["Starting"]}
        ]
        self.creation_time = now
        self.last_modified = now
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.failure_reason: str | None = None
        self.final_metrics: list[dict] = []
        self.log_stream: str | None = None
        self.max_runtime_exceeded = False
        self.metrics = MetricTracker()
        self.lock = threading.Lock()

    @property
    def output_path(self) -> str:
        return self.request["OutputDataConfig"]["S3OutputPath"].rstrip("/")

    @property
    def artifact_uri(self) -> str:
        """Where the model goes: ``<S3OutputPath>/<job>/output/model.tar.gz``."""
        return f"{self.output_path}/{self.name}/output/model.tar.gz"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def advance(self, secondary: str, message: str | None = None) -> None:
        """Enter ``secondary`` status: close the open transition and open a new one."""
        now = time.time()
        if self.transitions and "EndTime" not in self.transitions[-1]:
            self.transitions[-1]["EndTime"] = now
        self.transitions.append(
            {
                "Status": secondary,
                "StartTime": now,
                "StatusMessage": message or STATUS_MESSAGES[secondary],
            }
        )
        self.secondary_status = secondary
        self.last_modified = now
        if secondary == "Downloading" and self.start_time is None:
            self.start_time = now
        if secondary in TERMINAL or secondary in FINAL_SECONDARY:
            self.transitions[-1]["EndTime"] = now
            self.status = FINAL_SECONDARY.get(secondary, secondary)
            self.end_time = now
            if self.start_time is None:
                self.start_time = now
        elif secondary == "Stopping":
            self.status = "Stopping"

    def training_seconds(self) -> int:
        """Whole seconds from the first download to the end, at least 1 (SageMaker rounds up)."""
        return max(1, math.ceil(self.end_time - self.start_time))

    def describe(self) -> dict:
        """The DescribeTrainingJob answer; optional members appear only once they exist."""
        request = self.request
        algorithm = dict(request["AlgorithmSpecification"])
        algorithm.setdefault("MetricDefinitions", metric_definitions_for_describe())
        answer = echo_request(request)
        answer.update(
            {
                "TrainingJobArn": self.arn,
                "TrainingJobStatus": self.status,
                "SecondaryStatus": self.secondary_status,
                "AlgorithmSpecification": algorithm,
                "InputDataConfig": request.get("InputDataConfig", []),
                "ModelArtifacts": {"S3ModelArtifacts": self.artifact_uri},
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified,
                "SecondaryStatusTransitions": [dict(t) for t in self.transitions],
                "ProfilingStatus": describe_defaults.profiling_status(request),
            }
        )
        if self.start_time is not None:
            answer["TrainingStartTime"] = self.start_time
        if self.end_time is not None:
            answer["TrainingEndTime"] = self.end_time
            answer["TrainingTimeInSeconds"] = self.training_seconds()
            answer["BillableTimeInSeconds"] = self.training_seconds()
        if self.failure_reason is not None:
            answer["FailureReason"] = self.failure_reason
        if self.final_metrics:
            answer["FinalMetricDataList"] = self.final_metrics
        return answer

    def summary(self) -> dict:
        """The ListTrainingJobs entry."""
        entry = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified,
            "TrainingJobStatus": self.status,
            "SecondaryStatus": self.secondary_status,
        }
        if self.end_time is not None:
            entry["TrainingEndTime"] = self.end_time
        return entry

    def to_record(self) -> dict:
        """A JSON-able record of a finished job, read back by ``from_record``."""
        return {"Request": self.request, "Arn": self.arn, "Describe": self.describe()}

    @classmethod
    def from_record(cls, record: dict) -> TrainingJob:
        job = cls(record["Request"], record["Arn"])
        described = record["Describe"]
        job.status = described["TrainingJobStatus"]
        job.secondary_status = described["SecondaryStatus"]
        job.transitions = described["SecondaryStatusTransitions"]
        job.creation_time = described["CreationTime"]
        job.last_modified = described["LastModifiedTime"]
        job.start_time = described.get("TrainingStartTime")
        job.end_time = described.get("TrainingEndTime")
        job.failure_reason = described.get("FailureReason")
        job.final_metrics = described.get("FinalMetricDataList", [])
        return job
