"""The emulator's HTTP server: one WSGI app on 127.0.0.1 in front of moto and our services.

Requests are routed by the SigV4 credential scope (``Credential=<key>/<date>/<region>/
<service>/aws4_request``): scope ``sagemaker`` goes to our control plane or, for
``/endpoints/<name>/invocations``, to our runtime; IAM's SimulatePrincipalPolicy to ours;
everything else (S3, IAM, STS, CloudWatch Logs, ...) to moto's server-mode application.
Before routing, ``http_guard`` checks the Host, the scope's region and the body's declared
length against the route's limit. The server gives each connection one thread, at most
``MAX_CONNECTIONS`` at once, and drops a connection silent for ``READ_TIMEOUT`` seconds.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import ThreadedWSGIServer
from werkzeug.wrappers import Request

from . import durable_s3, http_guard
from .constants import (
    ACCOUNT_ID,
    DEFAULT_REGION,
    ROLE_NAME,
    SAGEMAKER_POLICY_ARN,
    TRAINING_LOG_GROUP,
    bucket_name,
)
from .environment import client_environment
from .iam import simulate_principal_policy
from .moto_store import MotoStore
from .persistence import StateDir
from .sagemaker import responses, runtime
from .sagemaker.models import MAX_INVOCATION_BYTES, SageMakerBackend
from .workers import kill_all

_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")

log = logging.getLogger("local_aws")


class LocalAWSApp:
    """The WSGI application: our SageMaker services, SimulatePrincipalPolicy, and moto.

    ``work_root`` holds the working folders of jobs and endpoints; ``state`` (optional)
    keeps S3 objects and finished jobs across restarts.
    """

    def __init__(self, default_region: str, work_root: Path, state: StateDir | None = None):
        # moto reads this when it first builds the IAM backend: AWS managed policies such as
        # AmazonSageMakerFullAccess become attachable.
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        self.default_region = default_region
        self.work_root = Path(work_root)
        self.state = state
        self.store = MotoStore(ACCOUNT_ID)
        self.moto = DomainDispatcherApplication(create_backend_app)
        self._backends: dict[str, SageMakerBackend] = {}
        self._lock = threading.Lock()

    def sagemaker(self, region: str) -> SageMakerBackend:
        """The SageMaker backend of ``region``, created on first use."""
        with self._lock:
            backend = self._backends.get(region)
            if backend is None:
                on_finished = (
                    functools.partial(self.state.record_job, region)
                    if self.state is not None
                    else None
                )
                backend = SageMakerBackend(
                    region, ACCOUNT_ID, self.store, self.work_root / region, on_finished
                )
                if self.state is not None:
                    for job in self.state.finished_jobs(region):
                        backend.adopt_finished_job(job)
                    for job in self.state.transform_jobs(region):
                        backend.transform.adopt(job)
                    for tuning_job in self.state.tuning_jobs(region):
                        backend.tuning.adopt(tuning_job)
                    backend.tuning.on_change = functools.partial(self.state.record_job, region)
                self._backends[region] = backend
            return backend

    def provision(self, region: str) -> None:
        """Create what the lab's account starts with: the SageMaker bucket, role and log group."""
        if self.state is not None:
            durable_s3.attach(self.state, ACCOUNT_ID)
        if bucket_name(region) not in self.store.s3.buckets:
            self.store.s3.create_bucket(bucket_name(region), region)
        iam = self.store.iam()
        if not any(role.name == ROLE_NAME for role in iam.get_roles()):
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            iam.create_role(
                ROLE_NAME, json.dumps(trust), "/", None, "SageMaker execution role", [], None
            )
            iam.attach_role_policy(SAGEMAKER_POLICY_ARN, ROLE_NAME)
        logs = self.store.logs(region)
        if TRAINING_LOG_GROUP not in logs.groups:
            logs.create_log_group(TRAINING_LOG_GROUP, tags={})
        self.sagemaker(region)

    def __call__(self, environ, start_response):
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope["service"] if scope else ""
        region = scope["region"] if scope else self.default_region
        path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        sagemaker = service == "sagemaker" or target.startswith("SageMaker.")
        invocation = runtime.INVOCATIONS_PATH.match(path) if sagemaker else None
        try:
            limit = _body_limit(service, sagemaker, invocation)
            length = http_guard.admit(environ, region if scope else None, limit, service != "s3")
        except http_guard.Refusal as refusal:
            protocol = _protocol(service, environ, invocation)
            return http_guard.error_response(refusal, protocol)(environ, start_response)
        if service == "s3":
            return http_guard.call_reading_itself(
                self.moto, environ, start_response, length, "rest-xml"
            )
        if sagemaker:
            request = Request(environ)
            backend = self.sagemaker(region)
            if invocation:
                response = runtime.invoke_endpoint(backend, request, invocation["name"])
            else:
                response = responses.dispatch(backend, request)
            return response(environ, start_response)
        if service == "monitoring":
            self.flush_metrics(region)
        if service == "iam":
            form = _form(environ)
            if form.get("Action") == ["SimulatePrincipalPolicy"]:
                status, body = simulate_principal_policy(self.store, form)
                start_response(
                    f"{status} {'OK' if status == 200 else 'Error'}",
                    [
                        ("Content-Type", "text/xml"),
                        ("Content-Length", str(len(body.encode()))),
                    ],
                )
                return [body.encode()]
        return self.moto(environ, start_response)

    def flush_metrics(self, region: str) -> None:
        """Hand the SageMaker metrics counted in ``region`` to moto's CloudWatch, so that the
        CloudWatch request about to be served sees every answered invocation."""
        with self._lock:
            backend = self._backends.get(region)
        if backend is not None:
            backend.cloudwatch.flush()

    def shutdown(self) -> None:
        """Stop every job and endpoint (the persisted state is written as it changes)."""
        with self._lock:
            backends = list(self._backends.values())
        for backend in backends:
            backend.shutdown()
        kill_all()


S3_BODY_LIMIT = http_guard.Limit(
    5 * 1024**3,
    400,
    "EntityTooLarge",
    "Your proposed upload of {size} bytes exceeds the maximum allowed size of {limit} bytes.",
)
"""S3's single PUT limit, 5 GiB (s3transfer's MAX_SINGLE_UPLOAD_SIZE), with S3's error code;
its message, with the sizes added."""

INVOCATION_BODY_LIMIT = http_guard.Limit(
    MAX_INVOCATION_BYTES,
    400,
    "ValidationError",
    "Request payload of {size} bytes exceeds the InvokeEndpoint limit of {limit} bytes.",
)
"""InvokeEndpoint's payload limit, with the runtime's client-error code."""

SAGEMAKER_BODY_LIMIT = http_guard.Limit(
    2 * 1024**2,
    413,
    "RequestEntityTooLarge",
    "The request body of {size} bytes exceeds this emulator's limit of {limit} bytes for "
    "SageMaker requests.",
)
"""Our choice (AWS publishes no limit): far above any request botocore's shapes allow for the
operations served."""

OTHER_BODY_LIMIT = http_guard.Limit(
    10 * 1024**2,
    413,
    "RequestEntityTooLarge",
    "The request body of {size} bytes exceeds this emulator's limit of {limit} bytes.",
)
"""Our choice for IAM, STS, CloudWatch and Logs: ten times their largest documented payload
(PutLogEvents and PutMetricData take at most 1 MB)."""


def _body_limit(service: str, sagemaker: bool, invocation) -> http_guard.Limit:
    if invocation:
        return INVOCATION_BODY_LIMIT
    if sagemaker:
        return SAGEMAKER_BODY_LIMIT
    return S3_BODY_LIMIT if service == "s3" else OTHER_BODY_LIMIT


def _protocol(service: str, environ, invocation) -> str:
    """How the client reads errors: "rest-xml" (S3), "query" (IAM, STS forms), "rest-json"
    (sagemaker-runtime) or "json"."""
    if invocation:
        return "rest-json"
    if service == "s3":
        return "rest-xml"
    if service in ("iam", "sts") or environ.get("CONTENT_TYPE", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return "query"
    return "json"


def _form(environ) -> dict[str, list[str]]:
    """The form of a form-encoded request (its body, already buffered by the guard)."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = environ["wsgi.input"].getvalue()
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def _stop_at_end_of(stream, server) -> None:
    """Shut ``server`` down once ``stream`` ends (the process that started us is gone)."""
    while stream.read(4096):
        pass
    server.shutdown()


READ_TIMEOUT = 30.0
"""Seconds a connection may stay silent while the server waits to read from it (for the
request line, the headers or the body) before it is dropped; our choice."""

MAX_CONNECTIONS = 128
"""Connections served at once (one thread each); more are answered 503 at once; our choice."""

_BUSY_BODY = json.dumps(
    {
        "__type": "ServiceUnavailable",
        "message": f"This local emulator is serving {MAX_CONNECTIONS} connections already; "
        "retry shortly.",
    }
).encode()


class QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without a log line per request (errors are still logged), and
    with the server's read timeout on its connection."""

    def setup(self) -> None:
        self.timeout = self.server.read_timeout
        super().setup()

    def log_request(self, code="-", size="-") -> None:
        if str(code).startswith("5"):
            super().log_request(code, size)


class BoundedWSGIServer(ThreadedWSGIServer):
    """werkzeug's threaded server with at most ``MAX_CONNECTIONS`` connection threads.

    werkzeug closes every connection after one response, so a thread lives for one request,
    or until its connection has been silent for ``read_timeout`` seconds. A connection beyond
    the limit is answered ``503 ServiceUnavailable`` (which the SDKs retry) without a thread.
    """

    def __init__(self, port: int, read_timeout: float = READ_TIMEOUT):
        super().__init__("127.0.0.1", port, None, handler=QuietRequestHandler)
        self.read_timeout = read_timeout
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse_busy(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse_busy(self, request) -> None:
        try:
            request.settimeout(1.0)
            request.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\n"
                b"Content-Type: application/x-amz-json-1.1\r\n"
                b"x-amzn-ErrorType: ServiceUnavailable\r\n"
                + f"Content-Length: {len(_BUSY_BODY)}\r\n".encode()
                + b"Connection: close\r\n\r\n"
                + _BUSY_BODY
            )
        except OSError:
            pass
        finally:
            self.shutdown_request(request)


def serve(
    port: int = 0,
    state_dir: str | None = None,
    region: str = DEFAULT_REGION,
    watch_stdin: bool = False,
    work_dir: str | None = None,
    read_timeout: float = READ_TIMEOUT,
) -> None:
    """Run the emulator in the foreground until SIGINT or SIGTERM (or stdin's end).

    Prints ``Local AWS listening on http://127.0.0.1:<port>`` on stdout once it accepts
    requests, and the client environment on stderr. Jobs and endpoints work under
    ``work_dir`` (default: a new temporary folder), which is removed when the server stops.
    A connection silent for ``read_timeout`` seconds while a request is read is dropped.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    state = StateDir(state_dir) if state_dir else None  # StateDirInUse if another server has it
    server = BoundedWSGIServer(port, read_timeout)
    work_root = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="local-aws-"))
    app = LocalAWSApp(region, work_root, state)
    try:
        app.provision(region)
        server.app = app
        url = f"http://127.0.0.1:{server.server_port}"

        def stop(signum, frame):
            threading.Thread(target=server.shutdown, name="shutdown", daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if watch_stdin:
            threading.Thread(
                target=_stop_at_end_of, args=(sys.stdin.buffer, server), daemon=True
            ).start()
        environment = client_environment(url, region, work_root / "client")
        print(f"Local AWS listening on {url}", flush=True)
        print("Client environment:", file=sys.stderr)
        for name, value in environment.items():
            print(f"  export {name}={value}", file=sys.stderr)
        sys.stderr.flush()
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        app.shutdown()
        shutil.rmtree(work_root, ignore_errors=True)
