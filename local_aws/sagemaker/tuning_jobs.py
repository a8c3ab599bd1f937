"""The hyperparameter tuning operations of one SageMaker backend (account and region).

CreateHyperParameterTuningJob checks the request (``tuning.check_request``, the ranges and
limits in ``tuning_space.parse``), records the job and starts its ``workers.tuning.TuningRun``;
Describe, Stop and the two List operations read the records. Errors, and where their wording
comes from:

- DescribeHyperParameterTuningJob, StopHyperParameterTuningJob and
  ListTrainingJobsForHyperParameterTuningJob of a missing job: ``ResourceNotFound``, the
  error botocore's model declares for them, ``Amazon SageMaker can't find a tuning job with
  name <name>`` (our wording).
- A duplicate name (in any case): ``ResourceInUse``, the error botocore's model declares for
  CreateHyperParameterTuningJob (our wording, after CreateTrainingJob's).
- StopHyperParameterTuningJob of a job not InProgress: ValidationException (our wording,
  after StopTrainingJob's).
"""

from __future__ import annotations

from ..workers.tuning import TuningRun
from .exceptions import ResourceNotFound, ValidationException
from .names import NameTable
from .tuning import TuningJob, check_request
from .tuning_space import SearchSpace, parse


class TuningJobs:
    """Tuning jobs by name, run against ``backend`` (a ``models.SageMakerBackend``).

    ``on_change(job)``, if set, is called holding ``job.lock`` whenever a job's record changes
    (the server uses it to write the record to the state directory).
    """

    def __init__(self, backend):
        self.backend = backend
        self.jobs = NameTable()
        self.on_change = None
        self._runs: dict[str, object] = {}

    # ------------------------------------------------------------ what a TuningRun calls

    def training_arn(self, name: str) -> str:
        return self.backend._arn("training-job", name)

    def create_training_job(self, request: dict) -> dict:
        return self.backend.create_training_job(request)

    def training_job_named(self, name: str):
        return self.backend.training_jobs.get(name)

    def stop_training_job(self, name: str) -> dict:
        return self.backend.stop_training_job(name)

    def _changed(self, job: TuningJob) -> None:
        if self.on_change is not None:
            self.on_change(job)

    # ------------------------------------------------------------ operations

    def create(self, request: dict) -> dict:
        check_request(request)
        ranges, max_jobs = parse(request["HyperParameterTuningJobConfig"])
        name = request["HyperParameterTuningJobName"]
        arn = self.backend._arn("hyper-parameter-tuning-job", name)
        space = SearchSpace(request["HyperParameterTuningJobConfig"], ranges)
        job = self.backend._add(
            self.jobs,
            name,
            TuningJob(request, arn, max_jobs),
            "tuning job",
            in_use="Hyperparameter tuning job names must be unique within an AWS account and "
            f"region, and a tuning job with this name already exists ({arn})",
        )
        run = TuningRun(job, space, self, self._changed)
        self._runs[job.name] = run
        with job.lock:
            self._changed(job)
        run.start()
        return {"HyperParameterTuningJobArn": arn}

    def find(self, name: str) -> TuningJob:
        job = self.jobs.get(name)
        if job is None:
            raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
        return job

    def describe(self, name: str) -> dict:
        job = self.find(name)
        with job.lock:
            return job.describe()

    def stop(self, name: str) -> dict:
        job = self.find(name)
        with job.lock:
            if job.status != "InProgress":
                raise ValidationException(
                    f"The request was rejected because the tuning job is in status {job.status}."
                )
            job.status = "Stopping"
            job.touch()
            self._changed(job)
        self._runs[job.name].stop()
        return {}

    def trials(self, name: str) -> dict:
        """The job's training jobs by name, for ListTrainingJobsForHyperParameterTuningJob."""
        job = self.find(name)
        with job.lock:
            return job.trial_table(), job.objective

    # ------------------------------------------------------------ lifecycle

    def adopt(self, job: TuningJob) -> None:
        """Add a job read back from the state directory."""
        if self.jobs.setdefault(job.name, job) is job:
            self.backend.tags.register(job.arn, job.request.get("Tags"))

    def close(self) -> None:
        """The server is stopping: end every run's thread, leaving its job's status."""
        for run in list(self._runs.values()):
            run.close()
