"""moto's S3 backend, written through to the state directory before a change is acknowledged.

S3 promises that an object is durable once PutObject returns (and a deletion once
DeleteObject returns). With ``--state-dir`` the emulator keeps that promise by overriding the
four methods of moto's ``S3Backend`` through which every change of a bucket or of an object's
bytes goes, so that the change is on disk (``persistence.StateDir``) before the method
returns to moto's response layer, and so before the response leaves the server:

- ``put_object``: PutObject, CopyObject, CompleteMultipartUpload (moto's own
  ``copy_object`` and ``complete_multipart_upload`` call it), and the objects our own code
  writes through ``MotoStore`` (training jobs' ``model.tar.gz``);
- ``delete_object``: DeleteObject, and each key of DeleteObjects;
- ``create_bucket``, ``delete_bucket`` (and ``reset``, moto's ``/moto-api/reset``).

After a key changes, its *current* state is written (the latest version's bytes, or no file
if it is gone), under a lock for that key: whatever the order in which concurrent writers
reach the disk, the last write is of the state after every change it follows. Bucket changes
hold every key lock, so no object write meets a bucket folder that is half created or
deleted. Only the emulator's one account (partition ``aws``) is written through; moto's
``/moto-api/reset`` forgets its buckets on disk too.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from moto.s3.exceptions import InvalidBucketName
from moto.s3.models import FakeKey, S3Backend, s3_backends

from .persistence import StateDir, is_storable_bucket_name

LOCK_STRIPES = 64
"""Locks that order the writes of keys (a key's lock is chosen by hash)."""

_STATE_DIRS: dict[str, StateDir] = {}
"""Account id -> the state directory its S3 backend (partition ``aws``) writes through to."""


class DurableS3Backend(S3Backend):
    """moto's S3Backend, written through to its account's state directory if it has one.

    Once ``attach`` ran, moto builds every S3 backend from this class, also the new ones
    after ``/moto-api/reset`` (which drops every backend).
    """

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.state = _STATE_DIRS.get(account_id) if region_name == "aws" else None
        self._key_locks = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def reset(self) -> None:
        """moto's ``/moto-api/reset``: forget every bucket, in memory and on disk."""
        with self._all_keys_locked():
            for name in list(self.buckets) if self.state is not None else []:
                self.state.delete_bucket(name)
            super().reset()

    def load(self) -> None:
        """Recreate the buckets and objects kept in the state directory (not written back)."""
        for stored in self.state.stored_buckets():
            if stored.name not in self.buckets:
                super().create_bucket(stored.name, stored.region)
            for key, data in stored.objects():
                super().put_object(stored.name, key, data)

    def create_bucket(self, bucket_name: str, region_name: str, *args, **kwargs):
        if self.state is not None and not is_storable_bucket_name(bucket_name):
            raise InvalidBucketName()
        with self._all_keys_locked():
            bucket = super().create_bucket(bucket_name, region_name, *args, **kwargs)
            if self.state is not None:
                self.state.save_bucket(bucket_name, region_name)
        return bucket

    def delete_bucket(self, bucket_name: str):
        with self._all_keys_locked():
            deleted = super().delete_bucket(bucket_name)
            if deleted is not None and self.state is not None:
                self.state.delete_bucket(bucket_name)
        return deleted

    def put_object(self, bucket_name: str, key_name: str, *args, **kwargs) -> FakeKey:
        new_key = super().put_object(bucket_name, key_name, *args, **kwargs)
        self._write_through(bucket_name, key_name)
        return new_key

    def delete_object(self, bucket_name: str, key_name: str, *args, **kwargs):
        answer = super().delete_object(bucket_name, key_name, *args, **kwargs)
        self._write_through(bucket_name, key_name)
        return answer

    def _write_through(self, bucket_name: str, key_name: str) -> None:
        """Put the key's current state on disk: its latest version's bytes, or no file."""
        if self.state is None:
            return
        with self._key_locks[hash((bucket_name, key_name)) % LOCK_STRIPES]:
            bucket = self.buckets.get(bucket_name)
            if bucket is None:  # deleted meanwhile: its folder went with it
                return
            current = bucket.keys.get(key_name)  # latest version, a delete marker, or None
            if isinstance(current, FakeKey):
                self.state.save_object(bucket_name, key_name, current.value)
            else:
                self.state.delete_object(bucket_name, key_name)

    @contextlib.contextmanager
    def _all_keys_locked(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for lock in self._key_locks:
                stack.enter_context(lock)
            yield


def attach(state: StateDir, account_id: str) -> DurableS3Backend:
    """Write the S3 backend of ``account_id`` through to ``state``, and load it from there.

    Call it before anything uses moto's S3 (moto keeps the backends it already built).
    """
    _STATE_DIRS[account_id] = state
    s3_backends.backend = DurableS3Backend
    backend = s3_backends[account_id]["aws"]
    backend.load()
    return backend
