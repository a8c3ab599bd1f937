"""RecordIO framing: the record boundaries of ``SplitType RecordIO`` and of RecordIO-protobuf.

A RecordIO stream is a sequence of frames; each frame is a little-endian uint32 magic
``0xCED7230A``, a little-endian uint32 whose lower 29 bits are the payload length (the upper 3
bits are MXNet's continuation flag), the payload, and zero bytes padding it to a multiple of 4.
This is the framing MXNet's ``recordio`` module defines and the SageMaker Python SDK v2 writes in
``sagemaker.amazon.common._write_recordio`` (one frame per record, continuation flag 0).

This module knows frames only, not what a payload holds: the linear-learner's protobuf codec and
batch transform's ``SplitType RecordIO`` both use it.

Our choices where nothing public says what SageMaker does: a frame whose continuation flag is set
(a record MXNet split into parts) is refused rather than joined, and a payload longer than
``max_payload`` bytes is refused before it is read, so a damaged length cannot make a reader
allocate gigabytes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import BinaryIO

MAGIC = 0xCED7230A
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct("<II")
_LENGTH_MASK = (1 << 29) - 1


class RecordIOError(ValueError):
    """A stream that is not valid RecordIO; the message names the byte offset."""


def frame(payload: bytes) -> bytes:
    """One RecordIO frame holding ``payload``: header, payload, zero padding to 4 bytes."""
    if len(payload) > _LENGTH_MASK:
        raise RecordIOError(f"a RecordIO record holds at most {_LENGTH_MASK} bytes")
    return _HEADER.pack(MAGIC, len(payload)) + payload + b"\0" * _padding(len(payload))


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    """Write ``payload`` to ``stream`` as one RecordIO frame."""
    stream.write(frame(payload))


def read_frames(stream: BinaryIO, max_payload: int = MAX_PAYLOAD_BYTES) -> Iterator[bytes]:
    """The payloads of the frames in ``stream``, in order, read one frame at a time.

    Raises RecordIOError, naming the byte offset, for a wrong magic number, a continuation
    frame, a payload over ``max_payload`` bytes, or a stream that ends inside a frame.
    """
    for _offset, payload in _frames(stream, max_payload):
        yield payload


def split_frames(data: bytes, max_payload: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
    """The whole frames of ``data`` (each with its header and padding), in order.

    For passing records on unchanged, as batch transform's ``SplitType RecordIO`` does.
    """
    return [
        data[offset : offset + _HEADER.size + len(payload) + _padding(len(payload))]
        for offset, payload in _frames(io.BytesIO(data), max_payload)
    ]


def _frames(stream: BinaryIO, max_payload: int) -> Iterator[tuple[int, bytes]]:
    """``(byte offset of the frame, payload)`` for each frame of ``stream``."""
    offset = 0
    while True:
        header = stream.read(_HEADER.size)
        if not header:
            return
        if len(header) < _HEADER.size:
            raise RecordIOError(f"RecordIO stream ends inside a record header at byte {offset}")
        magic, word = _HEADER.unpack(header)
        if magic != MAGIC:
            raise RecordIOError(
                f"not RecordIO: expected magic number 0x{MAGIC:08X} at byte {offset}, "
                f"found 0x{magic:08X}"
            )
        if word >> 29:
            raise RecordIOError(
                f"RecordIO record at byte {offset} is split into parts (continuation flag "
                f"{word >> 29}); records in parts are not supported"
            )
        length = word & _LENGTH_MASK
        if length > max_payload:
            raise RecordIOError(
                f"RecordIO record at byte {offset} is {length} bytes, more than the "
                f"{max_payload} allowed"
            )
        body = stream.read(length + _padding(length))
        if len(body) < length:
            raise RecordIOError(f"RecordIO stream ends inside the record at byte {offset}")
        yield offset, body[:length]
        offset += _HEADER.size + length + _padding(length)


def _padding(length: int) -> int:
    """Zero bytes after a payload of ``length`` bytes, to the next multiple of 4."""
    return -length % 4
