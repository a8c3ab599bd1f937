"""S3 objects read out of moto's in-process backend in chunks (``ObjectReader``): whole,
byte for byte, by several readers at once, and copied to a file."""

from __future__ import annotations

import os

import pytest
from moto.backends import get_backend

from local_aws.constants import ACCOUNT_ID
from local_aws.moto_store import READ_CHUNK, MotoStore, S3LocationError

BUCKET = "object-reader-tests"


@pytest.fixture(scope="module")
def store():
    get_backend("s3")[ACCOUNT_ID]["aws"].create_bucket(BUCKET, "us-east-1")
    return MotoStore()


def put(store, key: str, size: int) -> bytes:
    data = os.urandom(size)
    store.put_bytes(f"s3://{BUCKET}/{key}", data)
    return data


def test_interleaved_readers_each_get_the_whole_object_in_bounded_chunks(store):
    data = put(store, "many/part-0", 3 * READ_CHUNK + 12345)
    ((name, opener),) = store.list_prefix(f"s3://{BUCKET}/many/")
    assert name == "part-0"
    readers, received = [opener(), opener()], [bytearray(), bytearray()]
    while True:
        chunks = [reader.read(READ_CHUNK) for reader in readers]
        assert all(len(chunk) <= READ_CHUNK for chunk in chunks)
        if not any(chunks):
            break
        for sink, chunk in zip(received, chunks, strict=True):
            sink += chunk
    assert received == [data, data]


def test_an_object_is_copied_to_a_file(store, tmp_path):
    data = put(store, "model/model.tar.gz", READ_CHUNK + 1)
    target = store.download(f"s3://{BUCKET}/model/model.tar.gz", tmp_path / "model.tar.gz")
    assert target.read_bytes() == data
    with pytest.raises(S3LocationError, match="No object at"):
        store.download(f"s3://{BUCKET}/model/missing", tmp_path / "missing")
