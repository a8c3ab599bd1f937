"""Log events the emulator writes to moto's CloudWatch Logs backend: AWS's limits, our bound.

CloudWatch Logs' PutLogEvents limits (API reference, "PutLogEvents"; and "CloudWatch Logs
quotas"): one event is at most 256 KB, counting 26 bytes of overhead per event; one batch is
at most 1,048,576 bytes (the UTF-8 messages plus 26 bytes per event) and 10,000 events.
``batches`` cuts the emulator's events to fit, cutting a longer message at the event limit.

CloudWatch keeps every event until the group's retention ends; moto keeps them in a Python
list per stream, in the server's memory. So that an endless, chatty training job or endpoint
cannot grow the server without bound, ``StreamBound`` keeps each stream the emulator writes
to at most ``STREAM_EVENT_LIMIT`` events and ``STREAM_BYTE_LIMIT`` message bytes: past
either, the oldest events are dropped until 90 % of both remain. This bound is our choice
(AWS drops nothing); the job's metrics and FailureReason are taken from every line before
it is stored, so they never depend on it.

moto's ``BaseModel`` also appends every instance it creates to its class's
``instances_tracked`` list, for moto's dashboard (``/moto-api/data.json``), and never drops
them: no log event could ever be freed. ``StreamBound`` therefore stops that record for
``LogEvent`` (the dashboard then lists no log events; the Logs API is unaffected).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

from moto.logs.models import LogEvent

EVENT_OVERHEAD = 26
"""Bytes CloudWatch Logs counts for each event on top of its UTF-8 message."""
MAX_EVENT_BYTES = 256 * 1024 - EVENT_OVERHEAD
"""The longest message of one event, in UTF-8 bytes (256 KB with the overhead)."""
MAX_BATCH_BYTES = 1_048_576
"""PutLogEvents' batch size limit: messages in UTF-8 plus ``EVENT_OVERHEAD`` per event."""
MAX_BATCH_EVENTS = 10_000
"""PutLogEvents' limit on events per batch."""

STREAM_EVENT_LIMIT = 100_000
"""Events the emulator keeps per log stream (our choice; the newest are kept)."""
STREAM_BYTE_LIMIT = 32 * 1024 * 1024
"""Message bytes (UTF-8) the emulator keeps per log stream (our choice)."""
TRIM_TO = 0.9
"""A stream over a limit is cut to this fraction of both limits, so cuts are rare."""


def fit_message(message: str) -> tuple[str, int]:
    """``message`` cut to ``MAX_EVENT_BYTES`` UTF-8 bytes (never mid-character), and its size."""
    data = message.encode("utf-8", errors="replace")
    if len(data) <= MAX_EVENT_BYTES:
        return message, len(data)
    cut = data[:MAX_EVENT_BYTES].decode("utf-8", errors="ignore")
    return cut, len(cut.encode("utf-8"))


def batches(events: list[tuple[int, str]]) -> Iterator[tuple[list[dict], int]]:
    """``(timestamp ms, message)`` events as PutLogEvents batches within the limits.

    Yields ``(batch, message bytes)``; a batch is a list of ``{"timestamp", "message"}``.
    """
    batch: list[dict] = []
    batch_cost = message_bytes = 0
    for timestamp, text in events:
        message, size = fit_message(text)
        cost = size + EVENT_OVERHEAD
        if batch and (len(batch) == MAX_BATCH_EVENTS or batch_cost + cost > MAX_BATCH_BYTES):
            yield batch, message_bytes
            batch, batch_cost, message_bytes = [], 0, 0
        batch.append({"timestamp": timestamp, "message": message})
        batch_cost += cost
        message_bytes += size
    if batch:
        yield batch, message_bytes


class StreamBound:
    """Keeps moto log streams within ``event_limit`` events and ``byte_limit`` message bytes.

    ``added(key, stream, size)`` is called after ``size`` message bytes were appended to the
    moto ``LogStream`` ``stream``; it counts them under ``key`` and, once a limit is passed,
    drops the stream's oldest events. The caller serialises calls (the store's logs lock).
    """

    def __init__(self, event_limit: int = STREAM_EVENT_LIMIT, byte_limit: int = STREAM_BYTE_LIMIT):
        self.event_limit = event_limit
        self.byte_limit = byte_limit
        self._bytes: dict[tuple, int] = {}
        LogEvent.instances_tracked = collections.deque(maxlen=0)  # appending keeps nothing

    def added(self, key: tuple, stream, size: int) -> None:
        total = self._bytes.get(key, 0) + size
        if len(stream.events) > self.event_limit or total > self.byte_limit:
            total = self._trim(stream)
        self._bytes[key] = total

    def _trim(self, stream) -> int:
        """Drop the oldest events down to ``TRIM_TO`` of both limits; the bytes left."""
        sizes = [len(event.message.encode("utf-8")) for event in stream.events]
        keep_events = int(self.event_limit * TRIM_TO)
        keep_bytes = int(self.byte_limit * TRIM_TO)
        first = max(0, len(sizes) - keep_events)
        total = sum(sizes[first:])
        while total > keep_bytes and first < len(sizes):
            total -= sizes[first]
            first += 1
        # A new list, assigned at once: a reader iterating the old one is not disturbed.
        stream.events = stream.events[first:]
        return total
