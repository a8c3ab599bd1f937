"""What survives a restart with ``--state-dir``: S3 buckets and objects, finished training jobs,
transform jobs, hyperparameter tuning jobs.

Every change is on disk before it is acknowledged (``durable_s3`` writes S3 through as moto
makes each change; the SageMaker backend records a job as it finishes). Layout under the
state directory::

    server.lock                          held (flock) by the server using the directory; its pid
    s3/<bucket>/bucket.json              {"name": ..., "region": ...}, written at CreateBucket
    s3/<bucket>/objects/<sha256(key)>    one object: a header line, then the object's bytes
    training-jobs/<region>/<job>.json    the job's request and last DescribeTrainingJob answer
    transform-jobs/<region>/<job>.json   the job's request and DescribeTransformJob answer, written
                                         at Create and at each status change
    tuning-jobs/<region>/<job>.json      a tuning job's request, status and training jobs,
                                         rewritten at each change (a job read back InProgress
                                         was cut short by the server's end: it reads Failed)

An object file starts with one line of JSON, ``{"key": ..., "size": ..., "sha256": ...}``
(the key, and the byte count and SHA-256 hex digest of what follows), then the bytes; its name
is the SHA-256 hex digest of the key's UTF-8 bytes. Only the latest version of an object is
kept, bytes only (no metadata, tags or older versions).

Crash safety: a file is replaced by writing a temporary file (``.tmp-*``) in the same folder,
fsync, rename over the old one, fsync of the folder; a deleted object's file is unlinked and
the folder fsynced; a new bucket's folder is built under a temporary name and renamed in; a
deleted bucket's folder is renamed to ``s3/.deleted-*`` before it is removed. So a crash at
any moment leaves each entry old or new, never partly written; nothing is ever rewritten as a
whole. Leftover ``.tmp-*`` and ``.deleted-*`` entries (writes that never completed, deletions
that did) are removed at start.

A damaged entry (unreadable, truncated or not matching its checksum, name or format) is
reported on stderr (``state dir: skipped damaged entry <path>: <why>``), left on disk
untouched, and skipped; it never causes anything else to be deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .sagemaker.training import TrainingJob
from .sagemaker.transform import TransformJob
from .sagemaker.tuning import TuningJob

log = logging.getLogger("local_aws.state")

TEMPORARY_PREFIX = ".tmp-"
DELETED_PREFIX = ".deleted-"
DAMAGED_PREFIX = ".damaged-"
LOCK_FILE = "server.lock"
HEADER_LIMIT = 64 * 1024
"""Longest header line of an object file, in bytes (a 1,024-byte key, JSON-escaped, fits)."""

_OBJECT_FILE_NAME = re.compile(r"[0-9a-f]{64}")
_BUCKET_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class StateDirInUse(RuntimeError):
    """Another server holds the state directory's lock."""

    EXIT_CODE = 3
    """What ``python -m local_aws serve`` exits with when it is refused the directory."""


class DamagedEntry(ValueError):
    """A file of the state directory cannot be read back; the message says why."""


def is_storable_bucket_name(name: str) -> bool:
    """True if ``name`` can name a folder here (S3 bucket names always can)."""
    return bool(_BUCKET_FOLDER_NAME.fullmatch(name)) and len(name) <= 255


def object_file_name(key: str) -> str:
    """The file name of an object: the SHA-256 hex digest of its key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class StoredBucket:
    """A bucket read back from the state directory; ``objects()`` reads its objects lazily."""

    name: str
    region: str
    folder: Path

    def objects(self) -> Iterator[tuple[str, bytes]]:
        """``(key, bytes)`` of every intact object file; damaged ones are reported, skipped."""
        objects = self.folder / "objects"
        for path in sorted(objects.iterdir()) if objects.is_dir() else []:
            if path.name.startswith(TEMPORARY_PREFIX):
                _remove(path)
                continue
            try:
                entry = _read_object(path)
            except (OSError, ValueError) as error:
                _report(path, error)
                continue
            yield entry


class StateDir:
    """The state directory at ``root``, locked for this process's lifetime.

    Raises StateDirInUse if another server holds it. The lock is an ``flock`` on
    ``server.lock``, which the kernel releases when the process ends, even by ``kill -9``.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(self.root)
        self._s3_root = self.root / "s3"
        _make_folder(self._s3_root)

    # ----------------------------------------------------------------- S3

    def save_bucket(self, name: str, region: str) -> None:
        """Create the bucket's folder (built aside, renamed in). A folder already there under
        that name (one skipped as damaged at start) is moved aside to ``s3/.damaged-*``."""
        target = self._s3_root / name
        if target.exists():
            aside = Path(tempfile.mkdtemp(prefix=f"{DAMAGED_PREFIX}{name}-", dir=self._s3_root))
            os.replace(target, aside / name)
            log.warning("state dir: moved %s aside to %s for a new bucket", target, aside)
        staging = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, dir=self._s3_root))
        (staging / "objects").mkdir()
        _write_file(staging / "bucket.json", json.dumps({"name": name, "region": region}).encode())
        _fsync_folder(staging)
        os.replace(staging, target)
        _fsync_folder(self._s3_root)

    def delete_bucket(self, name: str) -> None:
        """Remove the bucket's folder: renamed away first, so a crash never leaves half of it."""
        target = self._s3_root / name
        if not target.exists():
            return
        trash = Path(tempfile.mkdtemp(prefix=f"{DELETED_PREFIX}{name}-", dir=self._s3_root))
        os.replace(target, trash / name)
        _fsync_folder(self._s3_root)
        shutil.rmtree(trash, ignore_errors=True)

    def save_object(self, bucket: str, key: str, data: bytes) -> None:
        """Write (or replace) one object's file, durably, before returning."""
        header = {"key": key, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        path = self._s3_root / bucket / "objects" / object_file_name(key)
        _write_file(path, json.dumps(header).encode() + b"\n", data)
        _fsync_folder(path.parent)

    def delete_object(self, bucket: str, key: str) -> None:
        """Remove one object's file, durably (no error if it is not there)."""
        path = self._s3_root / bucket / "objects" / object_file_name(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_folder(path.parent)

    def stored_buckets(self) -> Iterator[StoredBucket]:
        """Every intact bucket folder, by name; damaged ones are reported and skipped."""
        for folder in sorted(self._s3_root.iterdir()):
            if folder.name.startswith((TEMPORARY_PREFIX, DELETED_PREFIX)):
                _remove(folder)
                continue
            if folder.name.startswith(DAMAGED_PREFIX):
                continue
            try:
                bucket = _read_bucket(folder)
            except (OSError, ValueError) as error:
                _report(folder / "bucket.json", error)
                continue
            yield bucket

    # ----------------------------------------------------------------- training jobs

    def record_job(self, region: str, job: TrainingJob | TransformJob | TuningJob) -> None:
        """Write a job's record (in its kind's ``STATE_FOLDER``), durably; the caller holds
        ``job.lock``.

        A failure to write is logged (the job stays as it is in memory) rather than raised
        into the thread that reported the job's change.
        """
        folder = self.root / job.STATE_FOLDER / region
        try:
            _make_folder(folder)
            _write_file(folder / f"{job.name}.json", json.dumps(job.to_record()).encode())
            _fsync_folder(folder)
        except OSError as error:
            log.error("state dir: could not record job %s: %s", job.name, error)

    def finished_jobs(self, region: str) -> list[TrainingJob]:
        """The training jobs recorded for ``region``; damaged records are reported, skipped."""
        return self._jobs(region, TrainingJob)

    def transform_jobs(self, region: str) -> list[TransformJob]:
        """The transform jobs recorded for ``region`` (one InProgress when the server died
        comes back Failed); damaged records are reported and skipped."""
        return self._jobs(region, TransformJob)

    def tuning_jobs(self, region: str) -> list[TuningJob]:
        """The tuning jobs recorded for ``region`` (one InProgress when the server died comes
        back Failed); damaged records are reported and skipped."""
        return self._jobs(region, TuningJob)

    def _jobs(self, region: str, kind: type) -> list:
        folder = self.root / kind.STATE_FOLDER / region
        jobs = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                jobs.append(kind.from_record(json.loads(path.read_bytes())))
            except (OSError, ValueError, KeyError, TypeError) as error:
                _report(path, error)
        for path in folder.glob(f"{TEMPORARY_PREFIX}*") if folder.is_dir() else []:
            _remove(path)
        return jobs


def _lock(root: Path) -> int:
    """Take ``root``'s lock file (exclusive, non-blocking) and write our pid in it."""
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        os.close(fd)
        pid = f"pid {holder}" if holder.isdigit() else "pid unknown"
        raise StateDirInUse(
            f"the state directory {root} is in use by another local_aws server ({pid}); "
            "stop that server or choose another --state-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _read_bucket(folder: Path) -> StoredBucket:
    index = json.loads((folder / "bucket.json").read_bytes())
    if not isinstance(index, dict) or index.get("name") != folder.name:
        raise DamagedEntry(f"not a bucket record of this layout for {folder.name!r}")
    region = index.get("region")
    if not isinstance(region, str):
        raise DamagedEntry("no region")
    return StoredBucket(folder.name, region, folder)


def _read_object(path: Path) -> tuple[str, bytes]:
    """``(key, bytes)`` of an object file; DamagedEntry if it does not check out."""
    if not _OBJECT_FILE_NAME.fullmatch(path.name):
        raise DamagedEntry("not an object file of this layout")
    with path.open("rb") as file:
        line = file.readline(HEADER_LIMIT)
        data = file.read()
    try:
        header = json.loads(line)
        key, size, digest = header["key"], header["size"], header["sha256"]
    except (ValueError, KeyError, TypeError) as error:
        raise DamagedEntry(f"unreadable header ({error})") from None
    if len(data) != size:
        raise DamagedEntry(f"{len(data)} bytes where the header says {size}")
    if hashlib.sha256(data).hexdigest() != digest:
        raise DamagedEntry("its bytes do not match their SHA-256")
    if object_file_name(key) != path.name:
        raise DamagedEntry(f"its key {key!r} does not hash to its name")
    return key, data


def _write_file(path: Path, *chunks: bytes) -> None:
    """Replace ``path`` by ``chunks``: temporary file, fsync, rename (the caller fsyncs the
    folder once its changes are done)."""
    fd, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=path.parent)
    try:
        with open(fd, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _make_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) so that it survives a crash: fsync its parent."""
    if folder.is_dir():
        return
    _make_folder(folder.parent)
    folder.mkdir(exist_ok=True)
    _fsync_folder(folder.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    """Remove a leftover temporary file or folder (a write that never completed)."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _report(path: Path, error: Exception) -> None:
    """One stderr line naming the entry and why (an OSError without its path again)."""
    why = error.strerror if isinstance(error, OSError) and error.strerror else error
    log.warning("state dir: skipped damaged entry %s: %s", path, why)
