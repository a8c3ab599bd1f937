"""The SageMaker backend: state and behaviour of training jobs, models, configs and endpoints.

Training jobs and endpoints run out of the server's process through ``local_aws.workers``;
their events come back here and become statuses, CloudWatch log events, S3 artifacts and
metrics in moto's backends (``MotoStore``). Operation methods take the request's members
(already checked against botocore's input shape) and return the answer's members.
"""

from __future__ import annotations

import functools
import itertools
import logging
import shutil
import threading
import time
from pathlib import Path

from ..constants import TRAINING_LOG_GROUP, endpoint_log_group
from ..moto_store import MotoStore, S3LocationError
from ..validation import shorten
from ..workers.hosting import EndpointWorker, WorkerUnavailable
from ..workers.processes import error_text
from ..workers.training import ChannelData, TrainingEvent, TrainingWorker
from .cloudwatch_metrics import CloudWatchMetrics
from .endpoint_failures import INTERNAL_FAILURE, failure_reason
from .exceptions import ModelError, ResourceInUse, RuntimeValidationError, ValidationException
from .hosting import (
    DEPRECATED_HOSTING_FAMILIES,
    Endpoint,
    EndpointConfig,
    Model,
    Serving,
    instance_id,
    sagemaker_arn,
)
from .names import NameTable
from .tags import TagStore
from .training import TrainingJob, is_linear_learner_image
from .transform_jobs import TransformJobs
from .tuning_jobs import TuningJobs

MAX_INVOCATION_BYTES = 6_291_456
"""InvokeEndpoint's payload limit (6 MB), refused by the HTTP layer before it is read."""

LINEAR_LEARNER_HINT = (
    'only the built-in linear-learner image (image_uris.retrieve("linear-learner", region), '
    "e.g. 382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1) runs on this "
    "local emulator"
)

log = logging.getLogger(__name__)


class SageMakerBackend:
    """SageMaker resources of one account in one region.

    ``work_root`` holds the working folders of jobs and endpoints; ``on_job_finished`` is
    called with each training job that reaches a final status, and with each transform job
    whenever its status changes, holding ``job.lock`` (used to persist it before a Describe
    can answer that status). Transform jobs are ``self.transform`` (``transform_jobs``).
    """

    def __init__(
        self,
        region: str,
        account_id: str,
        store: MotoStore,
        work_root: Path,
        on_job_finished=None,
    ):
        self.region = region
        self.account_id = account_id
        self.store = store
        self.work_root = Path(work_root)
        self.on_job_finished = on_job_finished
        self.cloudwatch = CloudWatchMetrics(store, region)
        self.training_jobs = NameTable()
        self.models = NameTable()
        self.endpoint_configs = NameTable()
        self.endpoints = NameTable()
        self.tags = TagStore()
        self.transform = TransformJobs(self)
        self.tuning = TuningJobs(self)
        self._workers: dict[str, TrainingWorker] = {}
        self._lock = threading.RLock()
        self._serial = itertools.count(1)
        self._closed = False

    def _arn(self, kind: str, name: str) -> str:
        return sagemaker_arn(self.region, self.account_id, kind, name)

    def _find(self, table: NameTable, name: str, kind: str, label: str):
        """``table[name]`` (any case), or ValidationException ``Could not find <label> "<arn>".``"""
        found = table.get(name)
        if found is None:
            raise ValidationException(f'Could not find {label} "{self._arn(kind, name)}".')
        return found

    def _add(self, table: NameTable, name: str, item, label: str, in_use: str | None = None):
        """``table[name] = item`` (returned) with the request's Tags; ValidationException if a
        tag breaks a rule. A name taken in any case is ``ResourceInUse(in_use)`` when given (jobs,
        as SageMaker answers them), else ValidationException ``Cannot create already existing
        <label> "<arn>".``"""
        self.tags.check(item.request.get("Tags"))
        with self._lock:
            if name in table:
                if in_use is not None:
                    raise ResourceInUse(in_use)
                raise ValidationException(f'Cannot create already existing {label} "{item.arn}".')
            table[name] = item
            self.tags.register(item.arn, item.request.get("Tags"))
        return item

    def _delete(self, table: NameTable, name: str, kind: str, label: str) -> dict:
        with self._lock:
            item = self._find(table, name, kind, label)
            del table[name]
            self.tags.forget(item.arn)
        return {}

    # ----------------------------------------------------------------- training jobs

    def create_training_job(self, request: dict) -> dict:
        name = request["TrainingJobName"]
        image = request.get("AlgorithmSpecification", {}).get("TrainingImage")
        if not image or not is_linear_learner_image(image):
            raise ValidationException(
                f"TrainingImage '{image}' cannot run here: {LINEAR_LEARNER_HINT}."
            )
        for channel in request.get("InputDataConfig", []):
            _check_channel(channel)
            self._check_channel_objects(channel, request["RoleArn"])
        arn = self._arn("training-job", name)
        job = self._add(
            self.training_jobs,
            name,
            TrainingJob(request, arn),
            "training job",
            in_use="Training job names must be unique within an AWS account and region, "
            f"and a training job with this name already exists ({arn})",
        )
        _in_background(f"launch-{name}", self._launch_training, job)
        return {"TrainingJobArn": arn}

    def _launch_training(self, job: TrainingJob) -> None:
        try:
            channels = [
                self._channel_data(job, channel)
                for channel in job.request.get("InputDataConfig", [])
            ]
        except S3LocationError as error:
            self._finish_training(job, "Failed", f"ClientError: {error}")
            return
        work_dir = self.work_root / "training" / f"{job.name}-{next(self._serial)}"
        worker = TrainingWorker(
            job.name,
            job.request.get("HyperParameters", {}),
            channels,
            work_dir,
            functools.partial(self._on_training_event, job, work_dir),
        )
        with self._lock:
            if self._closed or job.is_terminal or job.status == "Stopping":
                self._finish_training(job, "Stopped")
                return
            self._workers[job.name] = worker
            worker.start()
        limit = job.request["StoppingCondition"].get("MaxRuntimeInSeconds")
        if limit:
            timer = threading.Timer(limit, self._stop_on_max_runtime, args=(job,))
            timer.daemon = True
            timer.start()

    def _check_channel_objects(self, channel: dict, role_arn: str) -> None:
        """ValidationException at CreateTrainingJob if the channel's S3 prefix holds no object,
        as SageMaker answers (aws/amazon-sagemaker-examples #2489, #2267)."""
        source = channel["DataSource"]["S3DataSource"]
        uri = source["S3Uri"]
        try:
            found = bool(self.store.list_data_source(source["S3DataType"], uri))
        except S3LocationError as error:
            if source["S3DataType"] == "ManifestFile":
                raise ValidationException(str(error)) from error
            found = False
        if not found:
            raise ValidationException(self._no_objects_message(uri, role_arn))

    def _no_objects_message(self, uri: str, role_arn: str) -> str:
        bucket = uri.removeprefix("s3://").partition("/")[0]
        return (
            f'No S3 objects found under S3 URL "{uri}" given in input data source. Please '
            f"ensure that the bucket exists in the selected region ({self.region}), that "
            f'objects exist under that S3 prefix, and that the role "{role_arn}" has '
            f'"s3:ListBucket" permissions on bucket "{bucket}".'
        )

    def _channel_data(self, job: TrainingJob, channel: dict) -> ChannelData:
        """The channel's objects when the job starts (they may have gone since the Create:
        the job then fails with the same message as a ClientError)."""
        source = channel["DataSource"]["S3DataSource"]
        uri = source["S3Uri"]
        objects = self.store.list_data_source(source["S3DataType"], uri)
        if not objects:
            raise S3LocationError(self._no_objects_message(uri, job.request["RoleArn"]))
        mode = (
            channel.get("InputMode") or job.request["AlgorithmSpecification"]["TrainingInputMode"]
        )
        return ChannelData(
            name=channel["ChannelName"],
            content_type=channel.get("ContentType"),
            input_mode="Pipe" if mode == "Pipe" else "File",
            objects=objects,
        )

    def _on_training_event(self, job: TrainingJob, work_dir: Path, event: TrainingEvent) -> None:
        """Turn one worker event into job state; events arrive in order from one thread."""
        if event.kind == "log":
            self._append_training_log(job, event.message or "")
        elif event.kind == "status":
            with job.lock:
                if job.status == "InProgress":
                    job.advance(event.status, event.message)
        elif event.kind == "completed":
            self._complete_training(job, event.model_path)
        elif event.kind == "failed":
            self._finish_training(job, "Failed", event.message)
        elif event.kind == "stopped":
            self._finish_training(
                job, "MaxRuntimeExceeded" if job.max_runtime_exceeded else "Stopped"
            )
        if event.kind in ("completed", "failed", "stopped"):
            with self._lock:
                self._workers.pop(job.name, None)
            shutil.rmtree(work_dir, ignore_errors=True)

    def _append_training_log(self, job: TrainingJob, line: str) -> None:
        now = time.time()
        self.cloudwatch.training_values(job.name, job.metrics.feed(line, now), now)
        if job.log_stream is None:
            job.log_stream = f"{job.name}/algo-1-{int(now)}"
        self._append_log(TRAINING_LOG_GROUP, job.log_stream, line, now)

    def _append_log(self, group: str, stream: str, line: str, now: float | None = None) -> None:
        """Append one line to a CloudWatch Logs stream, stamped ``now`` (epoch seconds; by
        default the time of the call)."""
        stamp = time.time() if now is None else now
        self.store.append_log_events(self.region, group, stream, [(int(stamp * 1000), line)])

    def _complete_training(self, job: TrainingJob, model_path: Path) -> None:
        artifact = job.artifact_uri
        with job.lock:
            if job.secondary_status != "Uploading":
                job.advance("Uploading")
        try:
            self.store.put_bytes(artifact, Path(model_path).read_bytes())
        except (S3LocationError, OSError) as error:
            self._finish_training(
                job, "Failed", f"ClientError: could not upload {artifact}: {error_text(error)}"
            )
            return
        self._finish_training(job, "Completed")

    def _finish_training(self, job: TrainingJob, status: str, reason: str | None = None) -> None:
        with job.lock:
            if job.is_terminal:
                return
            job.final_metrics = job.metrics.final_metric_data()
            if reason is not None:
                job.failure_reason = reason[:1024]
            job.advance(status)
            if self.on_job_finished is not None:  # recorded before a Describe can see it
                self.on_job_finished(job)

    def _stop_on_max_runtime(self, job: TrainingJob) -> None:
        with job.lock:
            if job.is_terminal or job.status == "Stopping":
                return
            job.max_runtime_exceeded = True
            job.advance("Stopping")
        worker = self._workers.get(job.name)
        if worker is not None:
            worker.stop()

    def describe_training_job(self, name: str) -> dict:
        job = self._training_job(name)
        with job.lock:
            return job.describe()

    def _training_job(self, name: str) -> TrainingJob:
        """The job named ``name`` (any case), or SageMaker's answer for a missing job:
        ValidationException ``Requested resource not found.`` (aws/aws-sdk #165,
        aws/amazon-sagemaker-examples #2360), though the model declares ResourceNotFound."""
        job = self.training_jobs.get(name)
        if job is None:
            raise ValidationException("Requested resource not found.")
        return job

    def list_training_jobs(self, request: dict) -> dict:
        return _list_answer(self.training_jobs, request, "TrainingJobSummaries")

    def stop_training_job(self, name: str) -> dict:
        job = self._training_job(name)
        with job.lock:
            if job.status != "InProgress":
                raise ValidationException(
                    f"The request was rejected because the training job is in status {job.status}."
                )
            job.advance("Stopping")
        worker = self._workers.get(job.name)
        if worker is not None:
            worker.stop()
        return {}

    def list_transform_jobs(self, request: dict) -> dict:
        return _list_answer(self.transform.jobs, request, "TransformJobSummaries")

    # ----------------------------------------------------------------- tuning jobs

    def list_hyper_parameter_tuning_jobs(self, request: dict) -> dict:
        return _list_answer(self.tuning.jobs, request, "HyperParameterTuningJobSummaries")

    def list_training_jobs_for_tuning_job(self, request: dict) -> dict:
        trials, objective = self.tuning.trials(request["HyperParameterTuningJobName"])
        return _list_answer(
            trials, request, "TrainingJobSummaries", lambda trial: trial.summary(objective)
        )

    # ----------------------------------------------------------------- models

    def create_model(self, request: dict) -> dict:
        name = request["ModelName"]
        container = request.get("PrimaryContainer") or (request.get("Containers") or [None])[0]
        if container is None:
            raise ValidationException("Either PrimaryContainer or Containers must be specified.")
        image = container.get("Image", "")
        if not is_linear_learner_image(image):
            raise ValidationException(
                f"Image '{image}' cannot be hosted here: {LINEAR_LEARNER_HINT}."
            )
        data_url = container.get("ModelDataUrl")
        if not data_url:
            raise ValidationException(
                "PrimaryContainer.ModelDataUrl is required: the linear-learner container loads "
                "its model from a model.tar.gz in S3."
            )
        if not self.store.exists(data_url):
            raise ValidationException(f"Could not find model data at {data_url}.")
        arn = self._arn("model", name)
        self._add(self.models, name, Model(request, arn), "model")
        return {"ModelArn": arn}

    def describe_model(self, name: str) -> dict:
        return self._model(name).describe()

    def _model(self, name: str) -> Model:
        return self._find(self.models, name, "model", "model")

    def list_models(self, request: dict) -> dict:
        return _list_answer(self.models, request, "Models")

    def delete_model(self, name: str) -> dict:
        return self._delete(self.models, name, "model", "model")

    # ----------------------------------------------------------------- endpoint configs

    def create_endpoint_config(self, request: dict) -> dict:
        name = request["EndpointConfigName"]
        variants = request["ProductionVariants"]
        if len(variants) != 1:
            raise ValidationException(
                f"This local emulator serves one production variant per endpoint config; "
                f"got {len(variants)}."
            )
        if request.get("AsyncInferenceConfig"):
            raise ValidationException(
                "AsyncInferenceConfig: asynchronous inference is not served by this local "
                "emulator; leave it out for a real-time endpoint."
            )
        variant = variants[0]
        instance_type = variant.get("InstanceType")
        if not instance_type:
            raise ValidationException(
                "ProductionVariants.1.InstanceType is required: serverless endpoints are not "
                "served by this local emulator."
            )
        if instance_type.startswith(DEPRECATED_HOSTING_FAMILIES):
            raise ValidationException('Deprecated instance type "T2".')
        self._model(variant["ModelName"])
        arn = self._arn("endpoint-config", name)
        config = EndpointConfig(request, arn)
        self._add(self.endpoint_configs, name, config, "endpoint configuration")
        return {"EndpointConfigArn": arn}

    def describe_endpoint_config(self, name: str) -> dict:
        return self._endpoint_config(name).describe()

    def _endpoint_config(self, name: str) -> EndpointConfig:
        return self._find(self.endpoint_configs, name, "endpoint-config", "endpoint configuration")

    def list_endpoint_configs(self, request: dict) -> dict:
        return _list_answer(self.endpoint_configs, request, "EndpointConfigs")

    def delete_endpoint_config(self, name: str) -> dict:
        return self._delete(
            self.endpoint_configs, name, "endpoint-config", "endpoint configuration"
        )

    # ----------------------------------------------------------------- endpoints

    def create_endpoint(self, request: dict) -> dict:
        name = request["EndpointName"]
        config = self._endpoint_config(request["EndpointConfigName"])
        self._model(config.variant["ModelName"])
        arn = self._arn("endpoint", name)
        endpoint = self._add(self.endpoints, name, Endpoint(request, arn, config), "endpoint")
        _in_background(f"deploy-{name}", self._deploy, endpoint, config)
        return {"EndpointArn": arn}

    def _deploy(self, endpoint: Endpoint, config: EndpointConfig) -> None:
        """Start a worker for ``config`` and make it the endpoint's (Create and Update)."""
        try:
            worker = self._start_endpoint_worker(endpoint, config)
        except Exception as error:
            model = self.models.get(config.variant["ModelName"])
            data_url = model.container.get("ModelDataUrl", "") if model else ""
            reason = failure_reason(error, config.variant["VariantName"], data_url)
            if reason is None:
                log.exception("deploying endpoint %s failed", endpoint.name)
                reason = INTERNAL_FAILURE
            with endpoint.lock:
                if endpoint.status == "Updating":
                    endpoint.set_status("InService", f"Update failed: {reason}")
                elif endpoint.status == "Creating":
                    endpoint.set_status("Failed", reason)
            return
        with endpoint.lock:
            deleted = endpoint.status == "Deleting" or self._closed
            previous = endpoint.serving
            if not deleted:
                endpoint.serving = Serving(worker, config)
                endpoint.config = config
                endpoint.set_status("InService")
        if deleted:
            worker.stop()
        elif previous is not None:
            previous.retire()

    def _start_endpoint_worker(self, endpoint: Endpoint, config: EndpointConfig):
        model = self._model(config.variant["ModelName"])
        deployment = next(self._serial)
        work_dir = self.work_root / "endpoints" / f"{endpoint.name}-{deployment}"
        work_dir.mkdir(parents=True, exist_ok=True)
        try:
            model_tar = self.store.download(
                model.container["ModelDataUrl"], work_dir / "model.tar.gz"
            )
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        group = endpoint_log_group(endpoint.name)
        stream = f"{config.variant['VariantName']}/{instance_id(endpoint.name, deployment)}"
        self.store.create_log_stream(self.region, group, stream)
        holder: list = []
        worker = EndpointWorker(
            endpoint.name,
            model_tar,
            work_dir,
            functools.partial(self._on_endpoint_exit, endpoint, holder),
            on_log=functools.partial(self._append_log, group, stream),
        )
        holder.append(worker)
        worker.start()
        return worker

    def _on_endpoint_exit(self, endpoint: Endpoint, holder: list, reason: str) -> None:
        """A serving worker died unasked: the endpoint fails with the reason."""
        with endpoint.lock:
            serving = endpoint.serving
            if serving is not None and holder and serving.worker is holder[0]:
                variant = endpoint.config.variant["VariantName"]
                endpoint.set_status(
                    "Failed",
                    f"The primary container for production variant {variant} exited: {reason}",
                )

    def describe_endpoint(self, name: str) -> dict:
        endpoint = self._endpoint(name)
        with endpoint.lock:
            return endpoint.describe()

    def _endpoint(self, name: str) -> Endpoint:
        return self._find(self.endpoints, name, "endpoint", "endpoint")

    def list_endpoints(self, request: dict) -> dict:
        return _list_answer(self.endpoints, request, "Endpoints")

    def update_endpoint(self, request: dict) -> dict:
        endpoint = self._endpoint(request["EndpointName"])
        config = self._endpoint_config(request["EndpointConfigName"])
        self._model(config.variant["ModelName"])
        with endpoint.lock:
            if endpoint.status != "InService":
                raise ValidationException(
                    f'Cannot update in-progress endpoint "{endpoint.arn}".'
                    if endpoint.status in ("Creating", "Updating")
                    else f'Cannot update endpoint "{endpoint.arn}" in status {endpoint.status}.'
                )
            endpoint.set_status("Updating")
        _in_background(f"update-{endpoint.name}", self._deploy, endpoint, config)
        return {"EndpointArn": endpoint.arn}

    def delete_endpoint(self, name: str) -> dict:
        """Answer at once with the endpoint ``Deleting``; its server stops in the background
        and the endpoint is gone once it has (as SageMaker's DeleteEndpoint answers before the
        instances are released). A second delete meanwhile is refused; our choice, since
        AWS's answer is not public."""
        endpoint = self._endpoint(name)
        with endpoint.lock:
            if endpoint.status == "Deleting":
                raise ValidationException(
                    f'Cannot delete endpoint "{endpoint.arn}": it is already being deleted.'
                )
            endpoint.set_status("Deleting")
            serving, endpoint.serving = endpoint.serving, None
        _in_background(f"delete-{name}", self._finish_deletion, endpoint, serving)
        return {}

    def _finish_deletion(self, endpoint: Endpoint, serving: Serving | None) -> None:
        """Stop the endpoint's server (requests in flight are answered first), then forget it."""
        try:
            if serving is not None:
                serving.worker.stop()
        finally:
            with self._lock:
                if self.endpoints.get(endpoint.name) is endpoint:
                    del self.endpoints[endpoint.name]
                    self.tags.forget(endpoint.arn)

    def invoke_endpoint(
        self,
        name: str,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        custom_attributes: str | None = None,
    ):
        """Forward one request to the endpoint's container; returns (InvokeResult, variant).

        The HTTP layer has already refused a body over ``MAX_INVOCATION_BYTES``. A request the
        container answers is counted in the endpoint's CloudWatch metrics.
        """
        started = time.perf_counter()
        endpoint = self.endpoints.get(name)
        if endpoint is None or endpoint.name != name:  # "the case ... must be matched"
            raise RuntimeValidationError(f"Endpoint {name} of account {self.account_id} not found.")
        with endpoint.lock:
            serving = endpoint.serving
            if serving is None or endpoint.status not in ("InService", "Updating"):
                raise RuntimeValidationError(
                    f"Endpoint {name} of account {self.account_id} is not in service "
                    f"(status {endpoint.status})."
                )
            serving.__enter__()
        try:
            called = time.perf_counter()
            result = serving.worker.invoke(body, content_type, accept, custom_attributes)
            answered = time.perf_counter()
        except WorkerUnavailable as error:
            raise RuntimeValidationError(
                f"Endpoint {name} of account {self.account_id} is not in service: {error}"
            ) from None
        finally:
            serving.__exit__(None, None, None)
        variant = serving.config.variant["VariantName"]
        model_seconds = answered - called
        self.cloudwatch.invocation(
            name,
            variant,
            serving.config.variant.get("InitialInstanceCount", 1),
            result.status,
            model_seconds,
            time.perf_counter() - started - model_seconds,
            time.time(),
        )
        if result.status >= 400:
            raise self._model_error(name, variant, result)
        return result, variant

    def _model_error(self, name: str, variant: str, result) -> ModelError:
        kind = "client" if result.status < 500 else "server"
        text = result.body.decode("utf-8", errors="replace")
        group = endpoint_log_group(name)
        return ModelError(
            f'Received {kind} error ({result.status}) from primary with message "{text}". '
            f"See https://{self.region}.console.aws.amazon.com/cloudwatch/home?region="
            f"{self.region}#logEventViewer:group={group} in account {self.account_id} for "
            "more information.",
            OriginalStatusCode=result.status,
            OriginalMessage=text,
            LogStreamArn=f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{group}",
        )

    # ----------------------------------------------------------------- lifecycle

    def adopt_finished_job(self, job: TrainingJob) -> None:
        """Add a finished job read back from the state directory."""
        if self.training_jobs.setdefault(job.name, job) is job:
            self.tags.register(job.arn, job.request.get("Tags"))

    def shutdown(self) -> None:
        """Kill every training job and stop every endpoint; nothing outlives the server."""
        self.tuning.close()
        with self._lock:
            self._closed = True
            workers = list(self._workers.values())
            endpoints = list(self.endpoints.values())
        for worker in workers:
            worker.kill()
        self.transform.shutdown()
        for endpoint in endpoints:
            with endpoint.lock:
                serving, endpoint.serving = endpoint.serving, None
            if serving is not None:
                serving.worker.stop()


def _in_background(name: str, target, *args) -> None:
    """Run ``target(*args)`` in a daemon thread called ``name``."""
    threading.Thread(target=target, args=args, name=name, daemon=True).start()


def _check_channel(channel: dict) -> None:
    name = channel["ChannelName"]
    source = channel["DataSource"].get("S3DataSource")
    if source is None:
        raise ValidationException(
            f"Channel '{name}': only S3DataSource channels are supported by this local emulator."
        )
    if source["S3DataType"] not in ("S3Prefix", "ManifestFile"):
        raise ValidationException(
            f"Channel '{name}': S3DataType {source['S3DataType']} is not supported by this local "
            "emulator; use S3Prefix (one object or a prefix of many) or ManifestFile."
        )
    if not source["S3Uri"].startswith("s3://"):
        raise ValidationException(
            f"Channel '{name}': S3Uri '{source['S3Uri']}' is not an s3:// URI."
        )


def _list_answer(resources: dict, request: dict, member: str, summarise=None) -> dict:
    """A List* answer: ``resources`` (name -> record) filtered, sorted and paged per ``request``.

    Filters: NameContains, CreationTimeAfter/Before, LastModifiedTimeAfter/Before,
    StatusEquals; order: SortBy (Name, CreationTime, Status, FinalObjectiveMetricValue) and
    SortOrder; pages: MaxResults (default 10) and NextToken. Each entry is
    ``summarise(record)``, by default ``record.summary()``.
    """
    found = [resource for resource in list(resources.values()) if _matches(resource, request)]
    page, token = _page(found, request)
    summarise = summarise or (lambda resource: resource.summary())
    answer = {member: [summarise(resource) for resource in page]}
    if token:
        answer["NextToken"] = token
    return answer


def _matches(resource, request: dict) -> bool:
    """NameContains, StatusEquals and CreationTime filters of the List* operations."""
    contains = request.get("NameContains")
    if contains and contains.lower() not in resource.name.lower():
        return False
    status = request.get("StatusEquals")
    if status and getattr(resource, "status", None) != status:
        return False
    for stamp, prefix in (("creation_time", "CreationTime"), ("last_modified", "LastModifiedTime")):
        after, before = request.get(f"{prefix}After"), request.get(f"{prefix}Before")
        if after is not None and getattr(resource, stamp) <= after:
            return False
        if before is not None and getattr(resource, stamp) >= before:
            return False
    return True


_SORT_KEYS = {
    "Name": lambda resource: resource.name,
    "Status": lambda resource: getattr(resource, "status", ""),
    "CreationTime": lambda resource: resource.creation_time,
    "FinalObjectiveMetricValue": lambda resource: resource.objective_sort_value,
}


def _page_start(token: str | None) -> int:
    """Where the page ``token`` (a NextToken this emulator gave: a position) starts.

    AWS's wording for a token it did not give is not public; this one is our choice."""
    if not token:
        return 0
    if not (token.isascii() and token.isdigit() and len(token) <= 18):
        raise ValidationException(
            f"Invalid pagination token '{shorten(token)}': pass the NextToken of a previous "
            "answer of the same operation, or none for the first page."
        )
    return int(token)


def _page(resources: list, request: dict) -> tuple[list, str | None]:
    """Sort (SortBy/SortOrder) and cut one page (MaxResults/NextToken) of a List* answer."""
    key = _SORT_KEYS.get(request.get("SortBy", "CreationTime"), _SORT_KEYS["CreationTime"])
    descending = request.get("SortOrder", "Descending") == "Descending"
    ordered = sorted(resources, key=key, reverse=descending)
    start = _page_start(request.get("NextToken"))
    end = start + request.get("MaxResults", 10)
    return ordered[start:end], (str(end) if end < len(ordered) else None)
