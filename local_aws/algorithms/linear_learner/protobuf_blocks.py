"""Streaming reading of a RecordIO-protobuf channel pass into ``csv_blocks.Block`` objects.

Records are decoded by ``recordio_protobuf.read_blocks`` in blocks of ``mini_batch_size`` rows
(label in row 0, as a CSV block), on the same reader thread as CSV, so the training loop cannot
tell the formats apart and memory stays bounded by a few blocks. A record that cannot be read
fails the job naming the record and the file: ``Unable to read RecordIO-protobuf: record 7,
file .../part-0: <what is wrong>`` (the real algorithm's wording is not public; ours).
"""

from __future__ import annotations

from collections.abc import Iterator

from .channels import ChannelSource
from .csv_blocks import Block, PassLayout, empty_channel, prefetched
from .errors import ClientError
from .recordio_protobuf import CONTENT_TYPE, RecordProblem, read_blocks

NOT_RECORDIO_HINT = (
    f"a channel without ContentType is read as {CONTENT_TYPE}, linear-learner's default; for "
    "CSV data set the channel's ContentType to 'text/csv' (SDK: TrainingInput(..., "
    "content_type='text/csv'))"
)


def read_pass(channel: ChannelSource, layout: PassLayout) -> Iterator[Block]:
    """Open the channel's next pass and yield its records block by block; ClientError on bad
    data. Closing the iterator early stops the reader thread and closes the pass's stream."""
    return prefetched(_parse_pass(channel, layout))


def _parse_pass(channel: ChannelSource, layout: PassLayout) -> Iterator[Block]:
    n_features = None if layout.n_columns is None else layout.n_columns - 1
    pass_row = 0
    for file_name, stream in channel.next_pass():
        file_row = 0
        try:
            for rows in read_blocks(stream, n_features, layout.mini_batch_size, labelled=True):
                values = rows.T  # (label + features, rows), as CSV blocks
                n_features = values.shape[0] - 1
                yield Block(file_name, file_row, pass_row, values)
                file_row += values.shape[1]
                pass_row += values.shape[1]
        except RecordProblem as problem:
            raise _failure(problem, file_name) from None
    if pass_row == 0:
        raise empty_channel(channel, layout)


def _failure(problem: RecordProblem, file_name: str) -> ClientError:
    reason = problem.problem
    if problem.record == 1 and reason.startswith("not RecordIO"):
        reason = f"{reason}; {NOT_RECORDIO_HINT}"
    return ClientError(
        f"Unable to read RecordIO-protobuf: record {problem.record}, file {file_name}: {reason}"
    )
