"""Training channels: where each pass over ``train``, ``validation`` or ``test`` reads its bytes.

Each channel knows its content type: ``text/csv`` or ``application/x-recordio-protobuf``.

File mode re-reads every file of a directory (sorted, recursive) on every pass. Pipe mode opens
``<data dir>/<channel>_<k>`` for the k-th pass (k = 0, 1, ...), as SageMaker's FIFOs; a pass that
is stopped early just closes its stream, and an index is never reopened.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from .errors import ClientError
from .recordio_protobuf import CONTENT_TYPE as RECORDIO_PROTOBUF

CSV = "text/csv"
CONTENT_TYPES = (CSV, RECORDIO_PROTOBUF)
PIPE_WAIT_SECONDS = 300.0


class ChannelSource(Protocol):
    """One input channel, read as a sequence of passes."""

    name: str
    mode: str  # "File" or "Pipe"
    location: str
    content_type: str  # one of CONTENT_TYPES

    def next_pass(self) -> Iterator[tuple[str, BinaryIO]]:
        """Open the next pass: yields ``(file name, binary stream)`` in order, closing each."""
        ...


@dataclass
class FileChannel:
    """A File-mode channel: every file under ``directory`` (or the one file it names)."""

    name: str
    directory: Path
    content_type: str = CSV
    mode: str = field(default="File", init=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)

    @property
    def location(self) -> str:
        return str(self.directory)

    def files(self) -> list[Path]:
        """The channel's files, sorted by path; ClientError if there are none."""
        if self.directory.is_file():
            return [self.directory]
        files = sorted(p for p in self.directory.rglob("*") if p.is_file())
        if not files:
            raise ClientError(
                f"No training data: channel '{self.name}' has no files under {self.directory}"
            )
        return files

    def next_pass(self) -> Iterator[tuple[str, BinaryIO]]:
        for path in self.files():
            with open(path, "rb") as stream:
                yield str(path), stream


@dataclass
class PipeChannel:
    """A Pipe-mode channel: pass ``k`` reads ``data_dir/<name>_<k>`` (a FIFO or a regular file)."""

    name: str
    data_dir: Path
    content_type: str = CSV
    wait_seconds: float = PIPE_WAIT_SECONDS
    mode: str = field(default="Pipe", init=False)
    passes_opened: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)

    @property
    def location(self) -> str:
        return str(self.data_dir / self.name)

    def next_pass(self) -> Iterator[tuple[str, BinaryIO]]:
        path = self.data_dir / f"{self.name}_{self.passes_opened}"
        self.passes_opened += 1
        deadline = time.monotonic() + self.wait_seconds
        while not path.exists():
            if time.monotonic() > deadline:
                raise ClientError(
                    f"Pipe {path} for channel '{self.name}' did not appear "
                    f"within {self.wait_seconds:g} seconds"
                )
            time.sleep(0.05)
        with open(path, "rb") as stream:
            yield str(path), stream


def channel_from_config(name: str, data_dir: Path, channel_config: dict) -> ChannelSource:
    """The channel ``name`` as ``inputdataconfig.json`` describes it (content type and mode).

    A channel without ContentType is RecordIO-protobuf, linear-learner's default
    (linear-learner-spec.md section 3; the SDK's ``record_set`` and a plain
    ``fit("s3://...")`` send none). Any type other than ``text/csv`` and RecordIO-protobuf
    fails the job with the real algorithm's message (reference spec section 6).
    """
    content_type = channel_config.get("ContentType") or RECORDIO_PROTOBUF
    base_type = content_type.split(";")[0].strip().lower()
    if base_type not in CONTENT_TYPES:
        raise ClientError(
            f"No iterator has been registered for ContentType ({content_type!r}, '1.0'): "
            f"channel '{name}' must be one of {', '.join(map(repr, CONTENT_TYPES))}"
        )
    mode = channel_config.get("TrainingInputMode", "File")
    if mode == "Pipe":
        return PipeChannel(name, data_dir, base_type)
    return FileChannel(name, data_dir / name, base_type)
