"""kill -9 the emulator at random points of a real workload; check that nothing acknowledged
is lost. Shared by ``test_state_durability.py`` and ``bench/state_soak.py``.

A ``Campaign`` runs rounds on one state directory. Each round starts a server on it
(``local_aws.start``), checks everything the clients were told in earlier rounds, then runs
on threads, through boto3: PutObject (small and up to 2 MiB), multipart uploads,
CopyObject, DeleteObject, a real training job on a tiny CSV, and endpoint
create/delete churn on an earlier job's model; after a random delay it kills the server
with SIGKILL (the first round waits for its training job to complete first, so that later
rounds have a model to serve; odd rounds then wait for an object file being written, to kill
the server mid-save). All randomness comes from one seed.

The ``Ledger`` holds what the clients were told: an object's bytes once PutObject (or the
multipart completion, the copy) returned, its absence once DeleteObject returned, and each
training job seen Completed. A change under way at the kill may show as old or new.
"""

from __future__ import annotations

import io
import os
import random
import signal
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from botocore.exceptions import ClientError

import local_aws
from local_aws.persistence import TEMPORARY_PREFIX

from . import flow

BUCKET = "durability"
MULTIPART_PART = 5 * 1024 * 1024
"""moto's (and S3's) smallest part but the last, in bytes."""
WRITERS = 3
"""Threads writing objects in each round."""
TRAINING_ROWS = 200
MID_SAVE_WAIT_S = 3.0
"""How long a mid-save kill waits for an object file being written, in seconds."""


@dataclass
class Ledger:
    """What the clients were told, and what they are waiting to hear.

    ``objects`` maps ``(bucket, key)`` to the acknowledged bytes, or None once a deletion
    was acknowledged; ``pending`` maps a key with a change under way to the states it may
    be found in; ``jobs`` maps a job seen Completed to its artifact's S3 URI.
    """

    objects: dict[tuple[str, str], bytes | None] = field(default_factory=dict)
    pending: dict[tuple[str, str], tuple[bytes | None, ...]] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self, where: tuple[str, str], new: bytes | None) -> None:
        with self.lock:
            self.pending[where] = (self.objects.get(where), new)

    def acknowledge(self, where: tuple[str, str], new: bytes | None) -> None:
        with self.lock:
            self.objects[where] = new
            del self.pending[where]


@dataclass
class Tally:
    """Counts over a campaign; ``lost_objects`` and ``lost_jobs`` must stay 0."""

    seed: int
    injections: int = 0
    operations_in_flight_at_kill: int = 0
    kills_mid_write: int = 0
    objects_checked: int = 0
    lost_objects: int = 0
    jobs_checked: int = 0
    lost_jobs: int = 0
    losses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Workload failures other than the killed server's dropped connections."""

    def __str__(self) -> str:
        return (
            f"seed {self.seed}: {self.injections} kill -9 injections "
            f"({self.operations_in_flight_at_kill} operations in flight at the kills, "
            f"{self.kills_mid_write} kills left a half-written state file), "
            f"{self.objects_checked} object checks, {self.lost_objects} lost objects, "
            f"{self.jobs_checked} job checks, {self.lost_jobs} lost jobs"
        )


class Campaign:
    """Rounds of workload and ``kill -9`` on the state directory ``state_dir``."""

    def __init__(self, state_dir: Path, seed: int, kill_after: tuple[float, float]):
        self.state_dir = Path(state_dir)
        self.rng = random.Random(seed)
        self.kill_after = kill_after
        self.ledger = Ledger()
        self.tally = Tally(seed)
        self._round = 0
        self._job_done = threading.Event()

    def run_round(self) -> None:
        """Start a server, check the state so far, run the workload, kill -9 the server."""
        handle = local_aws.start(state_dir=self.state_dir)
        try:
            clients = flow.clients_for(handle)
            self.check(clients)
            if self._round == 0:
                clients.s3.create_bucket(Bucket=BUCKET)
            self._workload(handle, clients)
        finally:
            handle.stop()
        self._round += 1

    def check_final(self) -> Tally:
        """Start a server once more, check everything, stop it cleanly; returns the tally."""
        with local_aws.start(state_dir=self.state_dir) as handle:
            self.check(flow.clients_for(handle))
        return self.tally

    def check(self, clients) -> None:
        """Compare the server's objects and jobs with the ledger; settle pending changes.

        An object must hold its acknowledged state, or, if a change was under way at the
        kill, its state before or after that change.
        """
        ledger = self.ledger
        for where in sorted(ledger.objects.keys() | ledger.pending.keys()):
            allowed = ledger.pending.get(where, (ledger.objects.get(where),))
            self.tally.objects_checked += 1
            found = _read(clients.s3, *where)
            if found not in allowed:
                self._lose(
                    f"object s3://{where[0]}/{where[1]}: "
                    f"{' or '.join(map(_show, allowed))}, found {_show(found)}"
                )
            ledger.objects[where] = found
        ledger.pending.clear()
        for name, artifact in sorted(self.ledger.jobs.items()):
            self.tally.jobs_checked += 1
            problem = _job_problem(clients, name, artifact)
            if problem:
                self.tally.lost_jobs += 1
                self.tally.losses.append(f"training job {name}: {problem}")

    def _lose(self, what: str) -> None:
        self.tally.lost_objects += 1
        self.tally.losses.append(what)

    def _workload(self, handle, clients) -> None:
        stop = threading.Event()
        self._job_done.clear()
        threads = [
            threading.Thread(target=self._guarded, args=(work, stop), daemon=True)
            for work in [
                *(self._writer(clients, number, self.rng.random()) for number in range(WRITERS)),
                self._trainer(handle, clients),
                self._endpoint_churn(handle, clients),
            ]
        ]
        for thread in threads:
            thread.start()
        if self._round == 0:
            self._job_done.wait(timeout=120)
        time.sleep(self.rng.uniform(*self.kill_after))
        if self._round % 2:
            self._wait_for_a_write(MID_SAVE_WAIT_S)
        self._kill(handle, stop)
        for thread in threads:
            thread.join(timeout=30)

    def _guarded(self, work, stop: threading.Event) -> None:
        """Run ``work`` (a generator, one step per operation) until ``stop`` (the kill); a
        failure before it goes to ``tally.errors``."""
        try:
            for _ in work:
                if stop.is_set():
                    return
        except Exception as error:  # noqa: BLE001 - reported, the test fails on it
            if not stop.is_set():  # else: a connection to the killed server broke
                self.tally.errors.append(f"{type(error).__name__}: {error}")

    def _wait_for_a_write(self, timeout: float) -> None:
        """Return as soon as an object file of the bucket is being written (or ``timeout``)."""
        objects = self.state_dir / "s3" / BUCKET / "objects"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with os.scandir(objects) as entries:
                if any(entry.name.startswith(TEMPORARY_PREFIX) for entry in entries):
                    return

    def _kill(self, handle, stop: threading.Event) -> None:
        """Set ``stop`` and SIGKILL the server (failures from then on are the kill's); wait
        until it and every process it started are gone."""
        server = psutil.Process(handle.pid)
        children = server.children(recursive=True)
        with self.ledger.lock:
            self.tally.operations_in_flight_at_kill += len(self.ledger.pending)
            stop.set()
            handle.process.send_signal(signal.SIGKILL)
        handle.process.wait()
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"processes left behind by the killed server: {alive}"
        self.tally.injections += 1
        if any(self.state_dir.rglob(f"{TEMPORARY_PREFIX}*")):
            self.tally.kills_mid_write += 1

    # ----------------------------------------------------------------- the workload

    def _writer(self, clients, number: int, seed: float):
        """Puts (small, large, multipart), copies, overwrites and deletes of its own keys."""
        rng = random.Random(seed)
        prefix = f"round{self._round}/writer{number}"
        mine: list[str] = []
        for serial in range(10_000):
            choice = rng.random()
            if mine and choice < 0.15:
                self._change(clients, mine.pop(rng.randrange(len(mine))), None)
                yield
                continue
            if mine and choice < 0.25:
                source = rng.choice(mine)
                key = f"{prefix}/copy-{serial}"
                self._copy(clients, source, key)
            else:
                key = rng.choice(mine) if mine and choice < 0.35 else f"{prefix}/{serial}"
                size = rng.randrange(1, 64 * 1024) if choice < 0.9 else rng.randrange(2 << 20)
                if choice > 0.98:
                    size = MULTIPART_PART + rng.randrange(1, 64 * 1024)
                self._change(clients, key, rng.randbytes(size))
            if key not in mine:
                mine.append(key)
            yield

    def _change(self, clients, key: str, data: bytes | None) -> None:
        """Put ``data`` at ``key`` (multipart from 5 MiB), or delete it if None."""
        where = (BUCKET, key)
        self.ledger.begin(where, data)
        if data is None:
            clients.s3.delete_object(Bucket=BUCKET, Key=key)
        elif len(data) >= MULTIPART_PART:
            _multipart_upload(clients.s3, key, data)
        else:
            clients.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        self.ledger.acknowledge(where, data)

    def _copy(self, clients, source: str, key: str) -> None:
        with self.ledger.lock:
            data = self.ledger.objects[(BUCKET, source)]
        self.ledger.begin((BUCKET, key), data)
        clients.s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": source})
        self.ledger.acknowledge((BUCKET, key), data)

    def _trainer(self, handle, clients):
        """Upload a tiny dataset, train on it; the job counts once seen Completed."""
        name = f"durability-{self._round}"
        prefix = f"round{self._round}/training"
        channels = {}
        try:
            for seed, channel in enumerate(("train", "test")):
                key = f"{prefix}/{channel}/{channel}.csv"
                self._change(clients, key, flow.regression_csv(TRAINING_ROWS, seed))
                channels[channel] = f"s3://{BUCKET}/{prefix}/{channel}/"
                yield
            request = flow.training_job_request(
                name, handle.role_arn, channels, f"s3://{BUCKET}/{prefix}/output", mode="File"
            )
            request["HyperParameters"]["mini_batch_size"] = str(TRAINING_ROWS // 4)
            clients.sagemaker.create_training_job(**request)
            answer = clients.sagemaker.describe_training_job(TrainingJobName=name)
            while answer["TrainingJobStatus"] not in flow.TERMINAL_JOB_STATUSES:
                yield
                time.sleep(0.1)
                answer = clients.sagemaker.describe_training_job(TrainingJobName=name)
            assert answer["TrainingJobStatus"] == "Completed", answer.get("FailureReason")
            with self.ledger.lock:
                self.ledger.jobs[name] = answer["ModelArtifacts"]["S3ModelArtifacts"]
        finally:
            self._job_done.set()

    def _endpoint_churn(self, handle, clients):
        """Create and delete endpoints on the model of a job completed earlier."""
        with self.ledger.lock:
            artifacts = sorted(self.ledger.jobs.values())
        if not artifacts:
            return
        for serial in range(1000):
            name = f"churn-{self._round}-{serial}"
            flow.deploy(clients.sagemaker, name, artifacts[-1], handle.role_arn)
            yield
            flow.clean_up(clients.sagemaker, name)
            yield


def _multipart_upload(s3, key: str, data: bytes) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    parts = []
    for number, start in enumerate(range(0, len(data), MULTIPART_PART), start=1):
        chunk = data[start : start + MULTIPART_PART]
        answer = s3.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=chunk
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
    )


def _read(s3, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None if there is no such key."""
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def _job_problem(clients, name: str, artifact: str) -> str | None:
    """What is wrong with a completed job after a restart, or None."""
    try:
        answer = clients.sagemaker.describe_training_job(TrainingJobName=name)
    except ClientError as error:
        return f"DescribeTrainingJob failed: {error}"
    if answer["TrainingJobStatus"] != "Completed":
        return f"status {answer['TrainingJobStatus']}"
    bucket, key = artifact[len("s3://") :].split("/", 1)
    data = _read(clients.s3, bucket, key)
    if data is None:
        return f"no artifact at {artifact}"
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.getmembers()
    except (tarfile.TarError, OSError) as error:
        return f"artifact {artifact} is not a model.tar.gz: {error}"
    return None


def _show(data: bytes | None) -> str:
    return "absent" if data is None else f"{len(data)} bytes"
