"""Training channels: where each pass over ``train``, ``validation`` or ``test`` reads its bytes.

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

CSV_CONTENT_TYPES = ("text/csv",)
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
PIPE_WAIT_SECONDS = 300.0


class ChannelSource(Protocol):
    """One input channel, read as a sequence of passes."""

    name: str
    mode: str  # "File" or "Pipe"
    location: str

    def next_pass(self) -> Iterator[tuple[str, BinaryIO]]:
        """Open the next pass: yields ``(file name, binary stream)`` in order, closing each."""
        ...


@dataclass
class FileChannel:
    """A File-mode channel: every file under ``directory`` (or the one file it names)."""

    name: str
    directory: Path
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
    (linear-learner-spec.md §3; the SDK's ``record_set`` and a plain ``fit("s3://...")``
    send none). This linear-learner does not read RecordIO-protobuf yet, so such a channel
    fails the job as a ClientError naming the channel, the type assumed and the fix; on AWS
    the same CSV files read as RecordIO-protobuf fail the job too (the real reader's message
    for that is not public).
    """
    content_type = channel_config.get("ContentType") or RECORDIO_PROTOBUF
    base_type = content_type.split(";")[0].strip().lower()
    if base_type == RECORDIO_PROTOBUF:
        given = "ContentType" if channel_config.get("ContentType") else "no ContentType, so"
        raise ClientError(
            f"Channel '{name}' has {given} {RECORDIO_PROTOBUF} (linear-learner's default "
            "content type), which this local linear-learner does not read yet: for CSV data "
            "set the channel's ContentType to 'text/csv' (SDK: TrainingInput(..., "
            "content_type='text/csv'); InputData(..., content_type='text/csv'))"
        )
    if base_type not in CSV_CONTENT_TYPES:
        raise ClientError(
            f"No iterator has been registered for ContentType ({content_type!r}, '1.0'): "
            f"channel '{name}' must be 'text/csv' in this linear-learner"
        )
    mode = channel_config.get("TrainingInputMode", "File")
    if mode == "Pipe":
        return PipeChannel(name, data_dir)
    return FileChannel(name, data_dir / name)
