"""One pass over a training channel as blocks of rows, read as the channel's content type says.

``text/csv`` channels are read by ``csv_blocks``, ``application/x-recordio-protobuf`` ones by
``protobuf_blocks``; both yield ``csv_blocks.Block`` objects (label in row 0). A channel object
without a ``content_type`` attribute is CSV.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import csv_blocks, protobuf_blocks
from .channels import CSV, ChannelSource
from .csv_blocks import Block, PassLayout
from .recordio_protobuf import CONTENT_TYPE as RECORDIO_PROTOBUF


def read_pass(channel: ChannelSource, layout: PassLayout) -> Iterator[Block]:
    """Open the channel's next pass and yield its rows block by block; ClientError on bad data."""
    if getattr(channel, "content_type", CSV) == RECORDIO_PROTOBUF:
        return protobuf_blocks.read_pass(channel, layout)
    return csv_blocks.read_pass(channel, layout)
