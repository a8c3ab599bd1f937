"""``start()``: run the emulator as a child process and hand back how to reach it.

The server runs in its own process (``python -m local_aws serve``) so that a notebook
kernel or a test process stays responsive and a crash on either side stays contained. It
stops with ``stop()``, at interpreter exit, or when this process dies (it watches its
stdin, which only this process holds open). Everything it writes (client config, server log,
working folders of jobs and endpoints) lives in one temporary folder that ``stop()`` removes.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .constants import DEFAULT_REGION, ROLE_ARN, bucket_name
from .environment import PROJECT_ROOT, client_environment, python_environment
from .persistence import StateDirInUse

READY_PREFIX = "Local AWS listening on "


class LocalAWS:
    """A running emulator: its URL, the client environment, and ``stop()``.

    ``env`` holds the variables that point boto3, the SageMaker SDK and the aws CLI at it;
    ``apply()`` sets them in ``os.environ`` (``stop()`` restores the previous values).
    """

    def __init__(self, process: subprocess.Popen, url: str, region: str, folder: Path):
        self.process = process
        self.url = url
        self.region = region
        self.bucket = bucket_name(region)
        self.role_arn = ROLE_ARN
        self.log_path = folder / "server.log"
        self.env = client_environment(url, region, folder / "client")
        self._folder = folder
        self._saved_environ: dict[str, str | None] | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid

    def apply(self) -> LocalAWS:
        """Point this process's AWS clients at the emulator (for a notebook kernel)."""
        if self._saved_environ is None:
            self._saved_environ = {name: os.environ.get(name) for name in self.env}
        os.environ.update(self.env)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout`` s); safe to call twice."""
        with self._lock:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            if self._saved_environ is not None:
                for name, value in self._saved_environ.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
                self._saved_environ = None
            if self.process.stdin is not None and not self.process.stdin.closed:
                self.process.stdin.close()
            shutil.rmtree(self._folder, ignore_errors=True)
            atexit.unregister(self.stop)

    def __enter__(self) -> LocalAWS:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalAWS(url={self.url!r}, region={self.region!r}, pid={self.pid})"


def start(
    port: int = 0,
    state_dir: str | os.PathLike | None = None,
    region: str = DEFAULT_REGION,
    timeout: float = 60.0,
    read_timeout: float | None = None,
) -> LocalAWS:
    """Start the emulator on 127.0.0.1:``port`` (0: a free port) and wait until it serves.

    With ``state_dir``, S3 objects and finished training jobs are kept there across
    restarts. ``read_timeout`` (seconds, default the server's 30) is how long a connection may
    stay silent while a request is read. Raises StateDirInUse if another server uses
    ``state_dir``, RuntimeError (with the server's output) if it does not come up.
    """
    folder = Path(tempfile.mkdtemp(prefix="local-aws-"))
    command = [sys.executable, "-m", "local_aws", "serve", "--port", str(port)]
    command += ["--region", region, "--watch-stdin", "--work-dir", str(folder / "server")]
    if state_dir is not None:
        command += ["--state-dir", str(state_dir)]
    if read_timeout is not None:
        command += ["--read-timeout", str(read_timeout)]
    log = open(folder / "server.log", "ab")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        env=python_environment(),
        cwd=PROJECT_ROOT,
        # Its own session: a Jupyter kernel with children in its process group is shut down
        # without running its exit hooks. --watch-stdin still stops the server if we die.
        start_new_session=True,
    )
    log.close()
    try:
        url = _wait_for_url(process, timeout, folder / "server.log")
    except BaseException:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    threading.Thread(
        target=_drain, args=(process.stdout,), name="local-aws-stdout", daemon=True
    ).start()
    handle = LocalAWS(process, url, region, folder)
    atexit.register(handle.stop)
    return handle


def _wait_for_url(process: subprocess.Popen, timeout: float, log_path: Path) -> str:
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            text = line.decode("utf-8", errors="replace").strip()
            if text.startswith(READY_PREFIX):
                return text[len(READY_PREFIX) :]
            if not line:
                break
        elif process.poll() is not None:
            break
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(1)  # it closed its stdout: let it finish exiting
    output = log_path.read_text(errors="replace")[-4000:] if log_path.exists() else ""
    if process.returncode == StateDirInUse.EXIT_CODE:
        last_line = (output.strip().splitlines() or [f"state directory in use ({log_path})"])[-1]
        raise StateDirInUse(last_line.removeprefix("local_aws: "))
    raise RuntimeError(
        f"the local AWS server did not start within {timeout:.0f} s "
        f"(exit code {process.poll()}); its output:\n{output}"
    )


def _drain(stream) -> None:
    """Read the server's stdout to its end so that it never blocks on a full pipe."""
    while stream.read(65536):
        pass
