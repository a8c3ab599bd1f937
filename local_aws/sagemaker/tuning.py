"""Hyperparameter tuning jobs: their records, what CreateHyperParameterTuningJob accepts, and
the training-job requests a tuning job makes.

A tuning job runs training jobs (``local_aws.workers.tuning`` drives them) and keeps one
``Trial`` per training job: the tuned values, the job's status and its objective, read from
the job's final metrics (the last value of the objective metric in its log, as
DescribeTrainingJob's FinalMetricDataList reports it). Statuses follow SageMaker:
InProgress -> Completed | Failed | Stopping -> Stopped. Times are epoch seconds.

Behaviour and where it comes from:

- Training jobs are named ``<tuning job>-NNN-<8 hex digits>`` (NNN counting from 001), as
  SageMaker names them; each gets the definition's StaticHyperParameters, the tuned values,
  and ``_tuning_objective_metric`` set to the objective's metric name (the static
  hyperparameter automatic model tuning adds, linear-learner spec §1; the SDK v2 does not send
  it, the service adds it), plus the tuning job's Tags ("Tags that you specify for the tuning
  job are also added to all training jobs that the tuning job launches", botocore's model).
  DescribeTrainingJob names the tuning job in ``TuningJobArn``.
- A failed training job counts as ``NonRetryableError`` with ObjectiveStatus ``Failed``, and
  the tuning goes on; a tuning job none of whose jobs yields an objective ends ``Failed`` with
  SageMaker's reason ``No training job succeeded after N attempts. Please take a look at the
  training job failures to get more details.`` (reported in aws/amazon-sagemaker-examples
  #2436 and #2437).
- ``TrainingJobEarlyStoppingType`` ``Auto`` is accepted but no job is stopped early, and
  ``ResourceLimits.MaxRuntimeInSeconds`` is accepted but not enforced (our choices).
- Not served, refused with a ValidationException naming the member: TrainingJobDefinitions
  (several algorithms), WarmStartConfig, Autotune, TuningJobCompletionCriteria, Hyperband.
- A tuning job in progress when the server stopped is ``Failed`` after a restart with
  ``--state-dir`` (its record is written at every change), as its running training jobs
  are lost, like any training job in progress (our wording for the reason).
"""

from __future__ import annotations

import math
import threading
import time
import uuid

from .exceptions import ValidationException
from .metrics import METRIC_DEFINITIONS
from .records import echo_request
from .training import is_linear_learner_image

TERMINAL = ("Completed", "Failed", "Stopped")
ALL_FAILED = (
    "No training job succeeded after {count} attempts. Please take a look at the training job "
    "failures to get more details."
)
LOST_AT_RESTART = (
    "The local emulator stopped while this tuning job was in progress; a restart does not "
    "resume tuning jobs or the training jobs they were running."
)
NOT_SERVED = {
    "TrainingJobDefinitions": "give one TrainingJobDefinition instead",
    "WarmStartConfig": "start the tuning job without a parent",
    "Autotune": "give the ranges and the strategy yourself",
}
_COPIED_MEMBERS = (
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "VpcConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)
"""TrainingJobDefinition members a training job's request takes as they are."""


def check_request(request: dict) -> None:
    """ValidationException if a CreateHyperParameterTuningJob request asks for what is not
    served here or names an objective the algorithm does not report."""
    for member, hint in NOT_SERVED.items():
        if request.get(member):
            raise ValidationException(f"{member} is not served by this local emulator; {hint}.")
    config = request["HyperParameterTuningJobConfig"]
    if config.get("TuningJobCompletionCriteria"):
        raise ValidationException(
            "HyperParameterTuningJobConfig.TuningJobCompletionCriteria is not served by this "
            "local emulator; the tuning job runs MaxNumberOfTrainingJobs training jobs."
        )
    definition = request.get("TrainingJobDefinition")
    if definition is None:
        raise ValidationException("TrainingJobDefinition is required.")
    image = definition["AlgorithmSpecification"].get("TrainingImage")
    if not image or not is_linear_learner_image(image):
        raise ValidationException(
            f"TrainingJobDefinition.AlgorithmSpecification.TrainingImage '{image}' cannot run "
            "here: only the built-in linear-learner image runs on this local emulator."
        )
    if not (
        definition.get("ResourceConfig") or definition.get("HyperParameterTuningResourceConfig")
    ):
        raise ValidationException(
            "TrainingJobDefinition needs ResourceConfig or HyperParameterTuningResourceConfig."
        )
    objective = config.get("HyperParameterTuningJobObjective")
    if objective is None:
        raise ValidationException(
            "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective is required."
        )
    known = [name for name, _ in METRIC_DEFINITIONS]  # the only ones a job's log is read for
    if objective["MetricName"] not in known:
        raise ValidationException(
            f"The objective metric '{objective['MetricName']}' is not one the algorithm reports; "
            f"linear-learner reports {', '.join(known)}."
        )
    tuned = {
        item["Name"]
        for kind in ("Integer", "Continuous", "Categorical")
        for item in (config.get("ParameterRanges") or {}).get(f"{kind}ParameterRanges", [])
    }
    static = set(definition.get("StaticHyperParameters", {}))
    if tuned & static:
        raise ValidationException(
            f"Hyperparameter(s) {', '.join(sorted(tuned & static))} are given both as static "
            "hyperparameters and as ranges to tune."
        )


class Trial:
    """One training job of a tuning job, as ListTrainingJobsForHyperParameterTuningJob and
    DescribeHyperParameterTuningJob's BestTrainingJob show it."""

    def __init__(self, name: str, arn: str, tuning_name: str, tuned: dict[str, str]):
        self.name = name
        self.arn = arn
        self.tuning_name = tuning_name
        self.tuned = tuned
        self.creation_time = time.time()
        self.status = "InProgress"
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.failure_reason: str | None = None
        self.objective: float | None = None
        self.objective_status = "Pending"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def objective_sort_value(self) -> float:
        """SortBy FinalObjectiveMetricValue's key: jobs without a value sort below all others
        (our choice)."""
        return -math.inf if self.objective is None else self.objective

    def follow(self, training_job, metric_name: str) -> None:
        """Take the training job's status and times; once it is final, its objective."""
        self.status = training_job.status
        self.start_time = training_job.start_time
        self.end_time = training_job.end_time
        self.failure_reason = training_job.failure_reason
        if not training_job.is_terminal:
            return
        values = [m["Value"] for m in training_job.final_metrics if m["MetricName"] == metric_name]
        if training_job.status == "Completed" and values:
            self.objective, self.objective_status = values[-1], "Succeeded"
        else:
            self.objective_status = "Failed"

    def summary(self, objective: dict) -> dict:
        """The HyperParameterTrainingJobSummary; ``objective`` is the tuning job's
        HyperParameterTuningJobObjective (Type and MetricName)."""
        entry = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "TuningJobName": self.tuning_name,
            "CreationTime": self.creation_time,
            "TrainingJobStatus": self.status,
            "TunedHyperParameters": dict(self.tuned),
            "ObjectiveStatus": self.objective_status,
        }
        optional = {
            "TrainingStartTime": self.start_time,
            "TrainingEndTime": self.end_time,
            "FailureReason": self.failure_reason,
        }
        entry.update({key: value for key, value in optional.items() if value is not None})
        if self.objective is not None:
            entry["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": objective["Type"],
                "MetricName": objective["MetricName"],
                "Value": self.objective,
            }
        return entry

    def to_record(self) -> dict:
        return {
            key: getattr(self, key)
            for key in (
                "name",
                "arn",
                "tuning_name",
                "tuned",
                "creation_time",
                "status",
                "start_time",
                "end_time",
                "failure_reason",
                "objective",
                "objective_status",
            )
        }

    @classmethod
    def from_record(cls, record: dict) -> Trial:
        trial = cls(record["name"], record["arn"], record["tuning_name"], record["tuned"])
        for key, value in record.items():
            setattr(trial, key, value)
        return trial


class TuningJob:
    """One hyperparameter tuning job: its request, status, and a Trial per training job.

    ``max_jobs`` is how many training jobs it runs (MaxNumberOfTrainingJobs, or for Grid the
    number of combinations). Hold ``lock`` to read or change it.
    """

    STATE_FOLDER = "tuning-jobs"

    def __init__(self, request: dict, arn: str, max_jobs: int):
        now = time.time()
        self.request = request
        self.name: str = request["HyperParameterTuningJobName"]
        self.arn = arn
        self.max_jobs = max_jobs
        self.status = "InProgress"
        self.creation_time = now
        self.last_modified = now
        self.end_time: float | None = None
        self.failure_reason: str | None = None
        self.trials: list[Trial] = []
        self.lock = threading.Lock()

    @property
    def config(self) -> dict:
        return self.request["HyperParameterTuningJobConfig"]

    @property
    def objective(self) -> dict:
        return self.config["HyperParameterTuningJobObjective"]

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def new_trial(self, tuned: dict[str, str], arn_of) -> tuple[Trial, dict]:
        """The next training job: its Trial (added to this job) and its CreateTrainingJob
        request. ``arn_of(name)`` is the training job's ARN."""
        name = f"{self.name}-{len(self.trials) + 1:03d}-{uuid.uuid4().hex[:8]}"
        trial = Trial(name, arn_of(name), self.name, tuned)
        self.trials.append(trial)
        self.touch()
        return trial, self.training_request(name, tuned)

    def training_request(self, name: str, tuned: dict[str, str]) -> dict:
        """The CreateTrainingJob request of training job ``name`` with the ``tuned`` values."""
        definition = self.request["TrainingJobDefinition"]
        algorithm = definition["AlgorithmSpecification"]
        hyperparameters = {
            **definition.get("StaticHyperParameters", {}),
            **tuned,
            "_tuning_objective_metric": self.objective["MetricName"],
        }
        request = {
            "TrainingJobName": name,
            "HyperParameters": hyperparameters,
            "AlgorithmSpecification": {
                key: algorithm[key]
                for key in ("TrainingImage", "TrainingInputMode", "MetricDefinitions")
                if key in algorithm
            },
            "ResourceConfig": _resource_config(definition),
            "TuningJobArn": self.arn,  # not a CreateTrainingJob member: DescribeTrainingJob's
        }
        request.update({key: definition[key] for key in _COPIED_MEMBERS if key in definition})
        if self.request.get("Tags"):
            request["Tags"] = self.request["Tags"]
        return request

    def touch(self) -> None:
        self.last_modified = time.time()

    def finish(self, stopped: bool) -> None:
        """End the job once its training jobs have: Stopped if asked, Failed if no training
        job yielded an objective, else Completed."""
        succeeded = any(trial.objective_status == "Succeeded" for trial in self.trials)
        if stopped:
            self.status = "Stopped"
        elif succeeded:
            self.status = "Completed"
        else:
            self.status = "Failed"
            self.failure_reason = ALL_FAILED.format(count=len(self.trials))
        self.touch()
        self.end_time = self.last_modified

    def fail(self, reason: str) -> None:
        """End the job Failed with ``reason`` (one line, at most 1,024 characters)."""
        self.status = "Failed"
        self.failure_reason = " ".join(reason.split())[:1024]
        self.touch()
        self.end_time = self.last_modified

    def best_trial(self) -> Trial | None:
        """The trial with the best objective (lowest for Minimize, highest for Maximize);
        the earliest of equals."""
        scored = [trial for trial in self.trials if trial.objective is not None]
        if not scored:
            return None
        sign = -1 if self.objective["Type"] == "Maximize" else 1
        return min(scored, key=lambda trial: sign * trial.objective)

    def trial_table(self) -> dict[str, Trial]:
        """The trials by name, for the List operation's filters, order and pages."""
        return {trial.name: trial for trial in self.trials}

    def counters(self) -> tuple[dict, dict]:
        """TrainingJobStatusCounters and ObjectiveStatusCounters."""
        statuses = [trial.status for trial in self.trials]
        objectives = [trial.objective_status for trial in self.trials]
        training = {
            "Completed": statuses.count("Completed"),
            "InProgress": statuses.count("InProgress") + statuses.count("Stopping"),
            "RetryableError": 0,
            "NonRetryableError": statuses.count("Failed"),
            "Stopped": statuses.count("Stopped"),
        }
        objective = {name: objectives.count(name) for name in ("Succeeded", "Pending", "Failed")}
        return training, objective

    def describe(self) -> dict:
        """The DescribeHyperParameterTuningJob answer."""
        training, objective = self.counters()
        answer = echo_request(self.request)
        answer.update(
            {
                "HyperParameterTuningJobArn": self.arn,
                "HyperParameterTuningJobStatus": self.status,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified,
                "TrainingJobStatusCounters": training,
                "ObjectiveStatusCounters": objective,
            }
        )
        best = self.best_trial()
        if best is not None:
            answer["BestTrainingJob"] = best.summary(self.objective)
        if self.end_time is not None:
            answer["HyperParameterTuningEndTime"] = self.end_time
            answer["ConsumedResources"] = {
                "RuntimeInSeconds": math.ceil(self.end_time - self.creation_time)
            }
        if self.failure_reason is not None:
            answer["FailureReason"] = self.failure_reason
        return answer

    def summary(self) -> dict:
        """The ListHyperParameterTuningJobs entry."""
        training, objective = self.counters()
        entry = {
            "HyperParameterTuningJobName": self.name,
            "HyperParameterTuningJobArn": self.arn,
            "HyperParameterTuningJobStatus": self.status,
            "Strategy": self.config["Strategy"],
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified,
            "TrainingJobStatusCounters": training,
            "ObjectiveStatusCounters": objective,
            "ResourceLimits": self.config["ResourceLimits"],
        }
        if self.end_time is not None:
            entry["HyperParameterTuningEndTime"] = self.end_time
        return entry

    def to_record(self) -> dict:
        """A JSON-able record, read back by ``from_record``."""
        return {
            "Request": self.request,
            "Arn": self.arn,
            "MaxJobs": self.max_jobs,
            "Status": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified,
            "EndTime": self.end_time,
            "FailureReason": self.failure_reason,
            "Trials": [trial.to_record() for trial in self.trials],
        }

    @classmethod
    def from_record(cls, record: dict) -> TuningJob:
        """The job a record describes; one that was still running is Failed (LOST_AT_RESTART),
        and so are its training jobs that had not finished."""
        job = cls(record["Request"], record["Arn"], record["MaxJobs"])
        job.status = record["Status"]
        job.creation_time = record["CreationTime"]
        job.last_modified = record["LastModifiedTime"]
        job.end_time = record["EndTime"]
        job.failure_reason = record["FailureReason"]
        job.trials = [Trial.from_record(item) for item in record["Trials"]]
        if not job.is_terminal:
            for trial in job.trials:
                if not trial.is_terminal:
                    trial.status, trial.objective_status = "Failed", "Failed"
                    trial.failure_reason = LOST_AT_RESTART
            job.fail(LOST_AT_RESTART)
        return job


def _resource_config(definition: dict) -> dict:
    """The training job's ResourceConfig: the definition's, or the first instance of its
    HyperParameterTuningResourceConfig (what the SDK v2's tuner sends)."""
    if definition.get("ResourceConfig"):
        return definition["ResourceConfig"]
    tuning = definition["HyperParameterTuningResourceConfig"]
    first = (tuning.get("InstanceConfigs") or [tuning])[0]
    return {
        key: first[key]
        for key in ("InstanceType", "InstanceCount", "VolumeSizeInGB")
        if first.get(key) is not None
    }
