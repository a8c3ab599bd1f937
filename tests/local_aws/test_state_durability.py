"""``--state-dir`` under faults: kill -9 at random points, damaged files, a second server.

The kill -9 campaign's seed is random per run unless ``LOCAL_AWS_FAULT_SEED`` is set; it is
printed and named in every failure message, so a failing run can be replayed.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import urllib.request

import pytest
from botocore.exceptions import ClientError

import local_aws
from local_aws.environment import PROJECT_ROOT, python_environment

from . import flow
from .conftest import stop_and_check_no_leftovers
from .fault_injection import Campaign

ROUNDS = 2
"""Rounds of the kill -9 campaign: one killed at a random moment, one mid-save."""
KILL_AFTER_S = (0.3, 3.0)


def test_kill_9_at_random_points_loses_nothing_acknowledged(tmp_path):
    seed = int(os.environ.get("LOCAL_AWS_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"fault injection seed {seed} (LOCAL_AWS_FAULT_SEED={seed} replays it)")
    campaign = Campaign(tmp_path / "state", seed, KILL_AFTER_S)
    for _ in range(ROUNDS):
        campaign.run_round()
    tally = campaign.check_final()
    print(tally)
    assert tally.injections == ROUNDS
    assert not tally.losses, f"seed {seed}: lost after kill -9: {tally.losses}"
    assert not tally.errors, f"seed {seed}: workload errors: {tally.errors}"
    assert tally.jobs_checked >= ROUNDS, f"seed {seed}: the first round's job was not checked"
    assert tally.operations_in_flight_at_kill > 0, f"seed {seed}: no kill hit an upload"


def _object_file(state, bucket: str, key: str):
    return state / "s3" / bucket / "objects" / hashlib.sha256(key.encode()).hexdigest()


def test_damaged_entries_are_reported_and_skipped_and_nothing_else_is_deleted(tmp_path):
    state = tmp_path / "state"
    first = local_aws.start(state_dir=state)
    try:
        s3 = flow.clients_for(first).s3
        for bucket in ("intact-bucket", "damaged-bucket"):
            s3.create_bucket(Bucket=bucket)
            for key in ("a", "b/c", "truncated", "corrupted", "unreadable", "missing"):
                s3.put_object(Bucket=bucket, Key=key, Body=f"{bucket}/{key}".encode() * 100)
    finally:
        first.stop()

    truncated = _object_file(state, "intact-bucket", "truncated")
    truncated.write_bytes(truncated.read_bytes()[:-10])
    corrupted = _object_file(state, "intact-bucket", "corrupted")
    corrupted.write_bytes(corrupted.read_bytes()[:-1] + b"!")
    unreadable = _object_file(state, "intact-bucket", "unreadable")
    unreadable.unlink()
    unreadable.mkdir()
    _object_file(state, "intact-bucket", "missing").unlink()
    bucket_index = state / "s3" / "damaged-bucket" / "bucket.json"
    bucket_index.write_bytes(bucket_index.read_bytes()[:7])
    job_record = state / "training-jobs" / "us-east-1" / "half-written.json"
    job_record.parent.mkdir(parents=True)
    job_record.write_text('{"Request": {"TrainingJobName": "half-wr')
    damaged = [truncated, corrupted, unreadable, bucket_index, job_record]
    before = {
        path: sorted(path.rglob("*")) if path.is_dir() else path.read_bytes() for path in damaged
    }
    files_before = sorted(state.rglob("*"))

    second = local_aws.start(state_dir=state)
    try:
        clients = flow.clients_for(second)
        for key in ("a", "b/c"):
            body = clients.s3.get_object(Bucket="intact-bucket", Key=key)["Body"].read()
            assert body == f"intact-bucket/{key}".encode() * 100
        for key in ("truncated", "corrupted", "unreadable", "missing"):
            with pytest.raises(ClientError, match="NoSuchKey"):
                clients.s3.get_object(Bucket="intact-bucket", Key=key)
        names = [bucket["Name"] for bucket in clients.s3.list_buckets()["Buckets"]]
        assert "damaged-bucket" not in names
        assert clients.sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
        clients.s3.put_object(Bucket="intact-bucket", Key="new", Body=b"after the damage")
        stderr = second.log_path.read_text()
    finally:
        stop_and_check_no_leftovers(second)

    for path, why in [
        (truncated, "2290 bytes where the header says 2300"),
        (corrupted, "its bytes do not match their SHA-256"),
        (unreadable, "Is a directory"),
        (bucket_index, ""),
        (job_record, ""),
    ]:
        assert f"state dir: skipped damaged entry {path}: {why}" in stderr
    for path in damaged:
        assert (sorted(path.rglob("*")) if path.is_dir() else path.read_bytes()) == before[path]
    assert set(files_before) <= set(state.rglob("*")), "a file of the state dir was deleted"


def test_a_second_server_is_refused_and_a_kill_9_frees_the_state_dir(tmp_path):
    state = tmp_path / "state"
    first = local_aws.start(state_dir=state)
    try:
        flow.clients_for(first).s3.put_object(Bucket=first.bucket, Key="k", Body=b"kept")
        command = [sys.executable, "-m", "local_aws", "serve", "--state-dir", str(state)]
        refused = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            env=python_environment(),
            cwd=PROJECT_ROOT,
        )
        assert refused.returncode == local_aws.StateDirInUse.EXIT_CODE
        assert (
            f"the state directory {state} is in use by another local_aws server "
            f"(pid {first.pid})" in refused.stderr
        )
        with pytest.raises(local_aws.StateDirInUse, match=f"pid {first.pid}"):
            local_aws.start(state_dir=state)
        s3 = flow.clients_for(first).s3
        s3.create_bucket(Bucket="before-reset")
        urllib.request.urlopen(urllib.request.Request(f"{first.url}/moto-api/reset", b""))
        s3.create_bucket(Bucket="after-reset")
        s3.put_object(Bucket="after-reset", Key="k", Body=b"kept")
    finally:
        first.process.kill()  # kill -9: the kernel releases the lock with the process
        first.stop()
    with local_aws.start(state_dir=state) as again:
        s3 = flow.clients_for(again).s3
        assert s3.get_object(Bucket="after-reset", Key="k")["Body"].read() == b"kept"
        names = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
        assert names == {"after-reset", again.bucket}  # the reset forgot the others on disk too
        assert s3.list_objects_v2(Bucket=again.bucket)["KeyCount"] == 0
