"""The emulator's one state for S3 objects, CloudWatch Logs and metrics: moto's backends.

The SageMaker backend reads training channels, writes ``model.tar.gz``, appends training
and endpoint log events and puts training and endpoint metrics here, so clients see them
through moto's S3, Logs and CloudWatch APIs on the same server.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from moto.backends import get_backend

from . import log_events
from .constants import ACCOUNT_ID


class S3LocationError(LookupError):
    """An ``s3://`` location is malformed, or its bucket or objects do not exist."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``"s3://bucket/some/key"`` -> ``("bucket", "some/key")``; S3LocationError if malformed."""
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise S3LocationError(f'"{uri}" is not an S3 URI of the form s3://bucket/key')
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


class MotoStore:
    """Reads and writes S3 objects and log events in moto's backends for one account."""

    def __init__(
        self, account_id: str = ACCOUNT_ID, stream_bound: log_events.StreamBound | None = None
    ):
        self.account_id = account_id
        self._logs_lock = threading.Lock()
        self._metrics_lock = threading.Lock()
        self._stream_bound = stream_bound or log_events.StreamBound()

    @property
    def s3(self):
        return get_backend("s3")[self.account_id]["aws"]

    def logs(self, region: str):
        return get_backend("logs")[self.account_id][region]

    def cloudwatch(self, region: str):
        return get_backend("cloudwatch")[self.account_id][region]

    def iam(self):
        return get_backend("iam")[self.account_id]["global"]

    def _bucket(self, name: str):
        try:
            return self.s3.get_bucket(name)
        except Exception as error:  # moto raises MissingBucket, a werkzeug HTTPException
            raise S3LocationError(f'The bucket "{name}" does not exist') from error

    def list_prefix(self, uri: str) -> list[tuple[str, Callable[[], BinaryIO]]]:
        """Objects under an S3Prefix as ``(relative name, opener)``, sorted by key.

        The relative name is the key after the prefix's last ``/``, as SageMaker lays out
        File-mode channels; each opener returns a fresh stream of the object's bytes.
        """
        bucket_name, prefix = split_s3_uri(uri)
        bucket = self._bucket(bucket_name)
        keys, _, _, _ = self.s3.list_objects(bucket, prefix or None, None, None, None)
        cut = prefix.rfind("/") + 1
        return [(key.name[cut:], _opener(key)) for key in keys if not key.name.endswith("/")]

    def list_data_source(
        self, data_type: str, uri: str
    ) -> list[tuple[str, Callable[[], BinaryIO]]]:
        """The objects an S3DataSource names, as ``(relative name, opener)``.

        ``S3Prefix``: every object under the prefix (``list_prefix``). ``ManifestFile``: the
        objects a manifest lists (``list_manifest``). S3LocationError for anything else.
        """
        if data_type == "S3Prefix":
            return self.list_prefix(uri)
        if data_type == "ManifestFile":
            return self.list_manifest(uri)
        raise S3LocationError(
            f"S3DataType {data_type} is not supported; use S3Prefix or ManifestFile"
        )

    def list_manifest(self, uri: str) -> list[tuple[str, Callable[[], BinaryIO]]]:
        """The objects a manifest file lists, as ``(relative name, opener)``, in its order.

        A manifest is a JSON array: ``{"prefix": "s3://bucket/prefix/"}`` first, then object
        keys relative to that prefix, as the S3DataSource documentation describes and the SDK
        v2's ``upload_numpy_to_s3_shards`` writes. The relative name of each object is its key
        relative to the prefix (SageMaker's File-mode layout). S3LocationError, naming the
        manifest, if it is missing, larger than ``MAX_MANIFEST_BYTES`` (our bound), not such an
        array, or lists an object that does not exist.
        """
        bucket_name, key_name = split_s3_uri(uri)
        self._bucket(bucket_name)
        manifest = self.s3.get_object(bucket_name, key_name)
        if manifest is None:
            raise S3LocationError(f'No manifest file at "{uri}"')
        if manifest.size > MAX_MANIFEST_BYTES:
            raise S3LocationError(
                f'The manifest file "{uri}" is {manifest.size} bytes, more than the '
                f"{MAX_MANIFEST_BYTES} allowed"
            )
        with ObjectReader(manifest) as source:
            prefix, names = _manifest_entries(uri, source.read())
        found = []
        for name in names:
            bucket_name, key_name = split_s3_uri(prefix + name)
            key = self.s3.get_object(bucket_name, key_name)
            if key is None:
                raise S3LocationError(
                    f'The manifest file "{uri}" lists "{prefix + name}", which does not exist'
                )
            found.append((name, _opener(key)))
        return found

    def download(self, uri: str, path: Path) -> Path:
        """Copy the object at ``uri`` to the file ``path``, ``READ_CHUNK`` bytes at a time, and
        return ``path``; S3LocationError if it does not exist."""
        bucket_name, key_name = split_s3_uri(uri)
        self._bucket(bucket_name)
        key = self.s3.get_object(bucket_name, key_name)
        if key is None:
            raise S3LocationError(f'No object at "{uri}"')
        with ObjectReader(key) as source, open(path, "wb") as sink:
            shutil.copyfileobj(source, sink, READ_CHUNK)
        return path

    def exists(self, uri: str) -> bool:
        """True if an object exists at ``uri``."""
        try:
            bucket_name, key_name = split_s3_uri(uri)
            self._bucket(bucket_name)
        except S3LocationError:
            return False
        return self.s3.get_object(bucket_name, key_name) is not None

    def put_bytes(self, uri: str, data: bytes) -> None:
        """Store ``data`` at ``uri``; S3LocationError if the bucket does not exist."""
        bucket_name, key_name = split_s3_uri(uri)
        self._bucket(bucket_name)
        self.s3.put_object(bucket_name, key_name, data)

    def create_log_stream(self, region: str, group: str, stream: str) -> None:
        """Create a log stream (and its group) unless it exists already."""
        with self._logs_lock:
            self._ensure_log_stream(self.logs(region), group, stream)

    def append_log_events(
        self, region: str, group: str, stream: str, events: list[tuple[int, str]]
    ) -> None:
        """Append ``(timestamp ms, message)`` events to a stream, creating group and stream.

        Events go in PutLogEvents-sized batches; the stream keeps only its newest events
        (``log_events`` says which limits apply and why).
        """
        logs = self.logs(region)
        with self._logs_lock:
            self._ensure_log_stream(logs, group, stream)
            for batch, size in log_events.batches(events):
                logs.put_log_events(group, stream, batch)
                moto_stream = logs.groups[group].streams[stream]
                self._stream_bound.added((region, group, stream), moto_stream, size)

    def put_metric_data(self, region: str, namespace: str, data: list[dict]) -> None:
        """PutMetricData in-process: ``data`` as the API's MetricData members, timestamps
        as naive UTC datetimes (moto's form)."""
        with self._metrics_lock:
            self.cloudwatch(region).put_metric_data(namespace, data)

    @staticmethod
    def _ensure_log_stream(logs, group: str, stream: str) -> None:
        if group not in logs.groups:
            logs.create_log_group(group, tags={})
        if stream not in logs.groups[group].streams:
            logs.create_log_stream(group, stream)


READ_CHUNK = 1024 * 1024
"""Bytes an ``ObjectReader`` copies out of moto's buffer at a time (the most it holds)."""


class ObjectReader(io.RawIOBase):
    """A stream of one moto S3 object's bytes that never copies the whole object.

    moto's ``FakeKey`` keeps its bytes in a ``SpooledTemporaryFile`` (``_value_buffer``; on
    disk above ``MOTO_S3_DEFAULT_KEY_BUFFER_SIZE``, about 5 MiB) and its ``value`` property
    returns all of them at once. This reader seeks to its own offset and reads at most what
    the caller asks for under the key's ``lock`` (the one ``FakeKey.value`` takes), so
    several readers of one object (Pipe passes, File downloads) do not disturb each other.
    The reader keeps the key it was opened on: an object overwritten meanwhile is read whole
    in its old version.
    """

    def __init__(self, key):
        super().__init__()
        self._key = key
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        """Fill ``buffer`` from the current offset; 0 at the end of the object."""
        with self._key.lock:
            self._key._value_buffer.seek(self._offset)
            count = self._key._value_buffer.readinto(buffer)
        self._offset += count
        return count


MAX_MANIFEST_BYTES = 16 * 1024 * 1024
"""The largest manifest file read (our bound: nothing public gives SageMaker's)."""


def _manifest_entries(uri: str, data: bytes) -> tuple[str, list[str]]:
    """``(prefix, relative keys)`` of a manifest's bytes; S3LocationError naming ``uri``."""
    try:
        entries = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        entries = None
    if (
        not isinstance(entries, list)
        or not entries
        or not isinstance(entries[0], dict)
        or not isinstance(entries[0].get("prefix"), str)
        or not entries[0]["prefix"].startswith("s3://")
        or not all(isinstance(name, str) and name for name in entries[1:])
    ):
        raise S3LocationError(
            f'The manifest file "{uri}" is not a JSON array of {{"prefix": "s3://..."}} '
            "followed by object keys relative to that prefix"
        )
    return entries[0]["prefix"], entries[1:]


def _opener(key) -> Callable[[], BinaryIO]:
    return lambda: ObjectReader(key)
