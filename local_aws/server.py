"""The emulator's HTTP server: one WSGI app on 127.0.0.1 in front of moto and our services.

Requests are routed by the SigV4 credential scope (``Credential=<key>/<date>/<region>/
<service>/aws4_request``): scope ``sagemaker`` goes to our control plane or, for
``/endpoints/<name>/invocations``, to our runtime; IAM's SimulatePrincipalPolicy to ours;
everything else (S3, IAM, STS, CloudWatch Logs, ...) to moto's server-mode application.
"""

from __future__ import annotations

import functools
import io
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
from werkzeug.serving import make_server
from werkzeug.wrappers import Request

from . import durable_s3
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
from .sagemaker.models import SageMakerBackend
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
        if service == "sagemaker" or target.startswith("SageMaker."):
            request = Request(environ)
            invocation = runtime.INVOCATIONS_PATH.match(path)
            backend = self.sagemaker(region)
            if invocation:
                response = runtime.invoke_endpoint(backend, request, invocation["name"])
            else:
                response = responses.dispatch(backend, request)
            return response(environ, start_response)
        if service == "iam":
            form = _peek_form(environ)
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

    def shutdown(self) -> None:
        """Stop every job and endpoint (the persisted state is written as it changes)."""
        with self._lock:
            backends = list(self._backends.values())
        for backend in backends:
            backend.shutdown()
        kill_all()


def _peek_form(environ) -> dict[str, list[str]]:
    """Parse a form-encoded body and put it back for the next reader."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return parse_qs(body.decode("utf-8"), keep_blank_values=True)


def _stop_at_end_of(stream, server) -> None:
    """Shut ``server`` down once ``stream`` ends (the process that started us is gone)."""
    while stream.read(4096):
        pass
    server.shutdown()


class QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without a log line per request (errors are still logged)."""

    def log_request(self, code="-", size="-") -> None:
        if str(code).startswith("5"):
            super().log_request(code, size)


def serve(
    port: int = 0,
    state_dir: str | None = None,
    region: str = DEFAULT_REGION,
    watch_stdin: bool = False,
    work_dir: str | None = None,
) -> None:
    """Run the emulator in the foreground until SIGINT or SIGTERM (or stdin's end).

    Prints ``Local AWS listening on http://127.0.0.1:<port>`` on stdout once it accepts
    requests, and the client environment on stderr. Jobs and endpoints work under
    ``work_dir`` (default: a new temporary folder), which is removed when the server stops.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    state = StateDir(state_dir) if state_dir else None  # StateDirInUse if another server has it
    server = make_server(
        "127.0.0.1", port, None, threaded=True, request_handler=QuietRequestHandler
    )
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
