"""Streaming parsing of a channel pass (``text/csv``, label first, the rules of ``csv_records``).

A pass is read in chunks of about ``CHUNK_BYTES`` cut at line ends; pyarrow parses each chunk
(multithreaded) with every column typed float32, so memory stays flat in the number of rows.
Any bad row fails the job the way the real algorithm does, naming the mini-batch's rows and the
file: ``Unable to parse csv: rows 1001-2000, file .../part-0: <what is wrong>``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from .channels import ChannelSource
from .csv_records import RecordError, read_columnar, read_records
from .errors import ClientError

FIRST_CHUNK_BYTES = 1 << 20
CHUNK_BYTES = 16 << 20
PREFETCH_BLOCKS = 2


@dataclass(frozen=True)
class Block:
    """Consecutive rows of one file: ``values`` is (n_columns, n_rows) float32, row 0 the label."""

    file: str
    file_first_row: int  # 0-based row number in the file
    pass_first_row: int  # 0-based row number in the pass (all files of the channel)
    values: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.values.shape[1]


@dataclass(frozen=True)
class PassLayout:
    """What every row of a pass must look like, and how row ranges are reported."""

    channel: str
    mini_batch_size: int
    n_columns: int | None  # label + feature_dim; None = take it from the first row


def read_pass(channel: ChannelSource, layout: PassLayout) -> Iterator[Block]:
    """Open the channel's next pass and yield its rows block by block; ClientError on bad data.

    A reader thread parses ahead (at most PREFETCH_BLOCKS blocks) while the caller computes;
    closing the iterator early stops the reader and closes the pass's stream.
    """
    return prefetched(_parse_pass(channel, layout))


def _parse_pass(channel: ChannelSource, layout: PassLayout) -> Iterator[Block]:
    n_columns = layout.n_columns
    pass_row = 0
    for file_name, stream in channel.next_pass():
        file_row = 0
        small_ints: frozenset[int] = frozenset()
        for chunk in _chunks(stream):
            where = _Where(file_name, file_row, pass_row, layout.mini_batch_size)
            if file_row == 0:  # each file's first row, before n_columns sizes a table
                width = _first_row_width(chunk)
                if n_columns and width != n_columns:
                    raise where.error(0, _problem(RecordError(1, "width", width), n_columns))
                n_columns = n_columns or width
            values = read_columnar(chunk, n_columns, np.float32, small_ints) if small_ints else None
            if values is None:  # first chunk, or a small-integer column held something else
                values = _parse_chunk(chunk, n_columns, where)
                small_ints = frozenset() if file_row else _small_int_columns(chunk, values)
            yield Block(file_name, file_row, pass_row, values)
            file_row += values.shape[1]
            pass_row += values.shape[1]
    if pass_row == 0:
        raise empty_channel(channel, layout)


def empty_channel(channel: ChannelSource, layout: PassLayout) -> ClientError:
    """The failure of a pass that holds no rows at all."""
    return ClientError(f"Empty channel '{layout.channel}': no rows in {channel.location}")


def minibatches(blocks: Iterator[Block], size: int) -> Iterator[np.ndarray]:
    """Re-cut ``blocks`` into (n_columns, size) arrays; the last one may be shorter."""
    carry = None
    for block in blocks:
        values, start = block.values, 0
        if carry is not None:
            start = size - carry.shape[1]
            carry = np.concatenate([carry, values[:, :start]], axis=1)
            if carry.shape[1] < size:
                continue
            yield carry
            carry = None
        while values.shape[1] - start >= size:
            yield values[:, start : start + size]
            start += size
        if start < values.shape[1]:
            carry = values[:, start:]
    if carry is not None:
        yield carry


@dataclass(frozen=True)
class _Where:
    file: str
    file_first_row: int
    pass_first_row: int
    mini_batch_size: int

    def error(self, row_in_chunk: int, reason: str) -> ClientError:
        """The real algorithm's message for a bad row: the mini-batch's row range and the file."""
        size = self.mini_batch_size
        pass_row = self.pass_first_row + row_in_chunk
        batch_start = pass_row // size * size
        offset = self.pass_first_row - self.file_first_row  # pass row of the file's row 0
        first = max(batch_start - offset, 0) + 1
        last = batch_start + size - offset
        return ClientError(f"Unable to parse csv: rows {first}-{last}, file {self.file}: {reason}")


def prefetched(blocks: Iterator[Block]) -> Iterator[Block]:
    """``blocks``, produced by a reader thread at most PREFETCH_BLOCKS ahead of the caller."""
    items: queue.Queue = queue.Queue(maxsize=PREFETCH_BLOCKS)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for block in blocks:
                if not put(("block", block)):
                    return
            put(("end", None))
        except BaseException as error:  # handed to the consumer, which raises it
            put(("error", error))
        finally:
            blocks.close()

    reader = threading.Thread(target=produce, name="channel-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = items.get()
            if kind == "error":
                raise item
            if kind == "end":
                return
            yield item
    finally:
        stop.set()
        reader.join()


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's bytes in pieces ending at line ends: 1 MiB first, doubling to CHUNK_BYTES."""
    rest = b""
    size = FIRST_CHUNK_BYTES
    while True:
        data = stream.read(size)
        size = min(2 * size, CHUNK_BYTES)
        if not data:
            if rest:
                yield rest
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            yield data[:cut]


def _first_row_width(chunk: bytes) -> int:
    return chunk.split(b"\n", 1)[0].count(b",") + 1


def _small_int_columns(chunk: bytes, values: np.ndarray) -> frozenset[int]:
    """Feature columns that look like one-hot dummies (plain integers in [-128, 127]).

    pyarrow parses them as int8 about a third faster than as float32. Later chunks try that
    typing first and fall back to the strict float32 parse for the rest of the file if a cell
    does not fit (so the typing never changes what is accepted or the values read).
    """
    first_line = chunk.split(b"\n", 1)[0].split(b",")
    plain = np.array([cell.strip().lstrip(b"-").isdigit() for cell in first_line])
    integral = (values == np.round(values)).all(axis=1)
    in_range = (values.min(axis=1) >= -128) & (values.max(axis=1) <= 127)
    chosen = np.flatnonzero(plain & integral & in_range)
    return frozenset(int(j) for j in chosen if j > 0)


def _parse_chunk(chunk: bytes, n_columns: int, where: _Where) -> np.ndarray:
    """The chunk with every column typed float32; ClientError naming the first bad row."""
    values = read_columnar(chunk, n_columns, np.float32)
    if values is not None:
        return values
    try:
        return read_records(chunk, n_columns, np.float32)
    except RecordError as error:
        raise where.error(error.row - 1, _problem(error, n_columns)) from None


def _problem(error: RecordError, n_columns: int) -> str:
    """What is wrong with a training row, in words (columns count the label)."""
    if error.kind == "empty":
        return "a row is empty (a blank line)"
    if error.kind == "width":
        return (
            f"a row has {error.count} columns (label + {error.count - 1} features), but "
            f"feature_dim={n_columns - 1} requires {n_columns} (label + feature_dim features)"
        )
    finite = " finite" if error.kind == "finite" else ""
    return f"column {error.column} holds {error.text!r}, which is not a{finite} number"
