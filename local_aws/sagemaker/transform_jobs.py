"""Batch transform jobs: CreateTransformJob, DescribeTransformJob, StopTransformJob (and the
records ListTransformJobs lists), on the SageMaker backend's models, S3, logs and tags.

A job runs in a ``TransformWorker`` (``local_aws.workers.transform``); its output objects go
to moto's S3 through ``MotoStore`` (written through to ``--state-dir`` by ``durable_s3``), the
model server's output to CloudWatch Logs group ``/aws/sagemaker/TransformJobs``, stream
``<job>/<instance id>-<epoch seconds>``, and the job's own messages to ``<that>/data-log``
(the names AWS's "Log groups and streams" table gives for transform jobs).

Wording: CreateTransformJob on a prefix with no object answers SageMaker's "No S3 objects
found under S3 URL ..." (reported for CreateTransformJob in aws/amazon-sagemaker-examples
#2414); a missing model is CreateEndpointConfig's ``Could not find model "<arn>".``; a missing
job is ``Requested resource not found.``, as SageMaker answers for training jobs (for transform
jobs AWS's text is not public: our choice). Stop of a job not InProgress, and the duplicate
name, are worded as the training job's (ours).
"""

from __future__ import annotations

import functools
import shutil
import threading
import time

from ..moto_store import S3LocationError
from ..workers.processes import error_text
from ..workers.transform import InputObject, TransformSettings, TransformWorker
from .exceptions import ValidationException
from .hosting import instance_id
from .names import NameTable
from .transform import TransformJob, check_request

TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"


class TransformJobs:
    """The transform jobs of one SageMaker backend (``backend``: its models, store, tags)."""

    def __init__(self, backend):
        self.backend = backend
        self.jobs = NameTable()
        self._workers: dict[str, TransformWorker] = {}
        self._lock = threading.Lock()
        self._closed = False

    # ----------------------------------------------------------------- operations

    def create(self, request: dict) -> dict:
        backend = self.backend
        name = request["TransformJobName"]
        check_request(request)
        model = backend._model(request["ModelName"])
        objects = self._input_objects(request, model.request.get("ExecutionRoleArn", ""))
        arn = backend._arn("transform-job", name)
        job = backend._add(
            self.jobs,
            name,
            TransformJob(request, arn),
            "transform job",
            in_use="Transform job names must be unique within an AWS account and region, and a "
            f"transform job with this name already exists ({arn})",
        )
        with job.lock:
            self._record(job)
        threading.Thread(
            target=self._launch,
            args=(job, model.container["ModelDataUrl"], objects),
            name=f"launch-transform-{name}",
            daemon=True,
        ).start()
        return {"TransformJobArn": arn}

    def describe(self, name: str) -> dict:
        job = self._job(name)
        with job.lock:
            return job.describe()

    def stop(self, name: str) -> dict:
        """Answer with the job Stopping; its model server is ended in the background."""
        job = self._job(name)
        with job.lock:
            if job.status != "InProgress":
                raise ValidationException(
                    f"The request was rejected because the transform job is in status {job.status}."
                )
            job.set_status("Stopping")
            self._record(job)
        worker = self._workers.get(job.name)
        if worker is not None:
            threading.Thread(target=worker.stop, name=f"stop-{job.name}", daemon=True).start()
        return {}

    def adopt(self, job: TransformJob) -> None:
        """Add a job read back from the state directory (``TransformJob.from_record``); one
        the server's end interrupted is recorded again with its final status."""
        if self.jobs.setdefault(job.name, job) is job:
            self.backend.tags.register(job.arn, job.request.get("Tags"))
            if job.interrupted:
                with job.lock:
                    self._record(job)

    def shutdown(self) -> None:
        """Kill every running job's model server; their ends are not recorded, so their
        records stay InProgress and a restart with the same state directory shows them
        Failed, as after a crash."""
        with self._lock:
            self._closed = True
            workers = list(self._workers.values())
        for worker in workers:
            worker.kill()

    # ----------------------------------------------------------------- internals

    def _job(self, name: str) -> TransformJob:
        job = self.jobs.get(name)
        if job is None:
            raise ValidationException("Requested resource not found.")
        return job

    def _input_objects(self, request: dict, role_arn: str) -> list[InputObject]:
        """The input objects, listed at the call; ValidationException if there are none
        (SageMaker's wording, naming ``role_arn``, the model's execution role) or the
        manifest cannot be read."""
        source = request["TransformInput"]["DataSource"]["S3DataSource"]
        uri, data_type = source["S3Uri"], source["S3DataType"]
        try:
            found = self.backend.store.list_data_source(data_type, uri)
        except S3LocationError as error:
            if data_type == "ManifestFile":
                raise ValidationException(str(error)) from error
            found = []
        if not found:
            raise ValidationException(self.backend._no_objects_message(uri, role_arn))
        path = uri.removeprefix("s3://")
        base = path[: path.rfind("/") + 1]
        return [
            InputObject(
                name,
                f"{base}{name}" if data_type == "S3Prefix" else f"{name} (listed in {uri})",
                opener,
            )
            for name, opener in found
        ]

    def _launch(self, job: TransformJob, model_data_url: str, objects: list[InputObject]) -> None:
        backend = self.backend
        work_dir = backend.work_root / "transform" / f"{job.name}-{next(backend._serial)}"
        try:
            work_dir.mkdir(parents=True, exist_ok=True)
            model_tar = backend.store.download(model_data_url, work_dir / "model.tar.gz")
        except (S3LocationError, OSError) as error:
            shutil.rmtree(work_dir, ignore_errors=True)
            self._end(
                job, "Failed", f"ClientError: cannot read the model data: {error_text(error)}"
            )
            return
        stream = f"{job.name}/{instance_id(job.name, 0)}-{int(time.time())}"
        for name in (stream, f"{stream}/data-log"):
            backend.store.create_log_stream(backend.region, TRANSFORM_LOG_GROUP, name)
        worker = TransformWorker(
            job.name,
            model_tar,
            work_dir,
            objects,
            _settings(job.request),
            put_output=functools.partial(self._put_output, job),
            on_started=functools.partial(self._started, job),
            on_end=functools.partial(self._end, job),
            on_log=functools.partial(backend._append_log, TRANSFORM_LOG_GROUP, stream),
            on_data_log=functools.partial(
                backend._append_log, TRANSFORM_LOG_GROUP, f"{stream}/data-log"
            ),
        )
        with self._lock, job.lock:
            run = not self._closed and job.status == "InProgress"
            if run:
                self._workers[job.name] = worker
        if not run:  # stopped meanwhile (or the server is closing: then nothing is recorded)
            shutil.rmtree(work_dir, ignore_errors=True)
            self._end(job, "Stopped", None)
            return
        worker.start()

    def _put_output(self, job: TransformJob, name: str, data: bytes) -> None:
        path = job.request["TransformOutput"]["S3OutputPath"].rstrip("/")
        self.backend.store.put_bytes(f"{path}/{name}", data)

    def _started(self, job: TransformJob) -> None:
        with job.lock:
            job.started()

    def _end(self, job: TransformJob, status: str, reason: str | None) -> None:
        """The job's final status; a Stop asked for meanwhile makes any end Stopped."""
        with self._lock:
            self._workers.pop(job.name, None)
            if self._closed:
                return
        with job.lock:
            if job.is_terminal:
                return
            if job.status == "Stopping":
                status, reason = "Stopped", None
            job.set_status(status, reason)
            self._record(job)

    def _record(self, job: TransformJob) -> None:
        """Persist ``job`` (the caller holds ``job.lock``) when a state directory is used."""
        if self.backend.on_job_finished is not None:
            self.backend.on_job_finished(job)


def _settings(request: dict) -> TransformSettings:
    """What a TransformWorker needs of a CreateTransformJob request (defaults filled)."""
    transform_input = request["TransformInput"]
    output = request["TransformOutput"]
    return TransformSettings(
        content_type=transform_input.get("ContentType"),
        accept=output.get("Accept"),
        split_type=transform_input["SplitType"],
        assemble_with=output.get("AssembleWith", "None"),
        batch_strategy=request.get("BatchStrategy"),
        max_payload_mb=request.get("MaxPayloadInMB"),
        max_concurrent=request.get("MaxConcurrentTransforms"),
    )
