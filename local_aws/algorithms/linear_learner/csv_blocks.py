"""Streaming, strict parsing of a channel pass (``text/csv``: label first, no header, numbers only).

A pass is read in chunks of about ``CHUNK_BYTES`` cut at line ends; pyarrow parses each chunk
(multithreaded) with every column typed float32, so memory stays flat in the number of rows.
Any bad row fails the job the way the real algorithm does, naming the mini-batch's rows and the
file: ``Unable to parse csv: rows 1001-2000, file .../part-0: <what is wrong>``.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .arrow_memory import arrow_owned, columns_array
from .channels import ChannelSource
from .errors import ClientError

FIRST_CHUNK_BYTES = 1 << 20
CHUNK_BYTES = 16 << 20
ARROW_BLOCK_BYTES = 4 << 20
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
    return _prefetched(_parse_pass(channel, layout))


def _parse_pass(channel: ChannelSource, layout: PassLayout) -> Iterator[Block]:
    n_columns = layout.n_columns
    pass_row = 0
    for file_name, stream in channel.next_pass():
        file_row = 0
        small_ints: frozenset[int] = frozenset()
        for chunk in _chunks(stream):
            where = _Where(file_name, file_row, pass_row, layout.mini_batch_size)
            if file_row == 0:  # each file's first row, before n_columns types a table
                width = _first_row_width(chunk)
                if n_columns and width != n_columns:
                    raise _locate(chunk, n_columns, where, "its first row has another width")
                n_columns = n_columns or width
            values = _read_table(chunk, n_columns, small_ints) if small_ints else None
            if values is None:  # first chunk, or a small-integer column held something else
                values = _parse_chunk(chunk, n_columns, where)
                small_ints = frozenset() if file_row else _small_int_columns(chunk, values)
            yield Block(file_name, file_row, pass_row, values)
            file_row += values.shape[1]
            pass_row += values.shape[1]
    if pass_row == 0:
        raise ClientError(f"Empty channel '{layout.channel}': no rows in {channel.location}")


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

    def error(self, row_in_chunk: int | None, reason: str) -> ClientError:
        """The real algorithm's message for a bad row: the mini-batch's row range and the file."""
        if row_in_chunk is None:
            first = self.file_first_row + 1
            return ClientError(
                f"Unable to parse csv: rows from {first}, file {self.file}: {reason}"
            )
        size = self.mini_batch_size
        pass_row = self.pass_first_row + row_in_chunk
        batch_start = pass_row // size * size
        offset = self.pass_first_row - self.file_first_row  # pass row of the file's row 0
        first = max(batch_start - offset, 0) + 1
        last = batch_start + size - offset
        return ClientError(f"Unable to parse csv: rows {first}-{last}, file {self.file}: {reason}")


def _prefetched(blocks: Iterator[Block]) -> Iterator[Block]:
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

    reader = threading.Thread(target=produce, name="csv-reader", daemon=True)
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
            if rest.strip():
                yield rest
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut and data[:cut].strip():
            yield data[:cut]


def _first_row_width(chunk: bytes) -> int:
    first_line = chunk.lstrip(b"\r\n").split(b"\n", 1)[0]
    return first_line.count(b",") + 1


@lru_cache(maxsize=8)
def _convert_options(n_columns: int, small_ints: frozenset[int]) -> pacsv.ConvertOptions:
    types = {f"f{i}": pa.int8() if i in small_ints else pa.float32() for i in range(n_columns)}
    return pacsv.ConvertOptions(column_types=types)


_READ_OPTIONS = pacsv.ReadOptions(
    autogenerate_column_names=True, block_size=ARROW_BLOCK_BYTES, use_threads=True
)


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


def _read_table(chunk: bytes, n_columns: int, small_ints: frozenset[int]) -> np.ndarray | None:
    """The chunk as (n_columns, n_rows) float32, or None if pyarrow refuses it or a value is
    not finite (the caller then takes the strict path, which names the bad row)."""
    try:
        table = pacsv.read_csv(
            arrow_owned(chunk),
            read_options=_READ_OPTIONS,
            convert_options=_convert_options(n_columns, small_ints),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_columns != n_columns:
        return None
    values = columns_array(table, np.float32)
    return values if np.isfinite(values).all() else None


def _parse_chunk(chunk: bytes, n_columns: int, where: _Where) -> np.ndarray:
    """The chunk with every column typed float32; ClientError naming the first bad row."""
    values = _read_table(chunk, n_columns, frozenset())
    if values is None:
        raise _locate(chunk, n_columns, where, "pyarrow could not read the rows as numbers")
    return values


def _locate(chunk: bytes, n_columns: int, where: _Where, fallback: str) -> ClientError:
    """The error for the first bad line of ``chunk`` (error path only: a plain Python scan)."""
    row = 0
    for line in chunk.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        reason = _line_problem(line.split(","), n_columns)
        if reason:
            return where.error(row, reason)
        row += 1
    return where.error(None, fallback)


def _line_problem(cells: list[str], n_columns: int) -> str | None:
    if len(cells) != n_columns:
        return (
            f"a row has {len(cells)} columns (label + {len(cells) - 1} features), but "
            f"feature_dim={n_columns - 1} requires {n_columns} (label + feature_dim features)"
        )
    for position, cell in enumerate(cells, start=1):
        try:
            number = float(cell)
        except ValueError:
            return f"column {position} holds {cell.strip()!r}, which is not a number"
        if not math.isfinite(number):
            return f"column {position} holds {cell.strip()!r}, which is not a finite number"
    return None
