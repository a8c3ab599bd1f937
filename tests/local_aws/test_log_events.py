"""Log events in moto's in-process CloudWatch Logs backend: PutLogEvents' limits and the
per-stream bound (the newest events are kept)."""

from __future__ import annotations

import gc
import itertools
import time
import weakref

from local_aws import log_events
from local_aws.log_events import EVENT_OVERHEAD, MAX_BATCH_BYTES, MAX_EVENT_BYTES, StreamBound
from local_aws.moto_store import MotoStore

REGION = "eu-west-3"
GROUP = "/aws/sagemaker/TrainingJobs"
_names = itertools.count()
NOW_MS = int(time.time() * 1000)


def new_stream() -> str:
    return f"job-{next(_names)}/algo-1-0"


def stored(store: MotoStore, stream: str) -> list[dict]:
    """Every event of ``stream`` as GetLogEvents pages them, oldest first."""
    group = store.logs(REGION).groups[GROUP]
    events, token = [], None
    while True:
        page, _, forward = group.get_log_events(stream, None, None, 10_000, token, True)
        if not page:
            return events
        events += page
        token = forward


def test_a_stream_keeps_its_newest_events_within_the_event_limit():
    store, stream = MotoStore(stream_bound=StreamBound(event_limit=100)), new_stream()
    for start in range(0, 1000, 7):  # appends of several events, as a chatty job's lines come
        store.append_log_events(
            REGION, GROUP, stream, [(NOW_MS + i, f"line {i}") for i in range(start, start + 7)]
        )
    messages = [event["message"] for event in stored(store, stream)]
    assert 90 <= len(messages) <= 100
    assert messages[-1] == "line 1000" and messages == sorted(messages, key=lambda m: int(m[5:]))
    last = int(messages[-1][5:])
    assert [int(m[5:]) for m in messages] == list(range(last - len(messages) + 1, last + 1))


def test_a_stream_keeps_within_the_byte_limit():
    store, stream = MotoStore(stream_bound=StreamBound(byte_limit=10_000)), new_stream()
    for i in range(200):
        store.append_log_events(REGION, GROUP, stream, [(NOW_MS + i, f"{i:04d}" + "x" * 96)])
    messages = [event["message"] for event in stored(store, stream)]
    assert 9_000 >= sum(map(len, messages)) >= 8_000
    assert messages[-1].startswith("0199")


def test_a_message_over_256_kb_is_cut_to_the_event_limit_on_a_character_boundary():
    store, stream = MotoStore(), new_stream()
    store.append_log_events(REGION, GROUP, stream, [(NOW_MS, "é" * 200_000)])  # 400,000 bytes
    (event,) = stored(store, stream)
    assert set(event["message"]) == {"é"}
    assert MAX_EVENT_BYTES - 1 <= len(event["message"].encode()) <= MAX_EVENT_BYTES


def test_batches_respect_the_put_log_events_size_and_count_limits():
    big = [(i, "y" * 100_000) for i in range(30)]
    many = [(i, "z") for i in range(25_000)]
    for events in (big, many):
        cut = list(log_events.batches(events))
        assert sum(len(batch) for batch, _ in cut) == len(events)
        for batch, size in cut:
            assert len(batch) <= 10_000
            assert size + EVENT_OVERHEAD * len(batch) <= MAX_BATCH_BYTES
            assert size == sum(len(event["message"]) for event in batch)


def test_dropped_events_are_freed():
    """moto records every model instance for its dashboard; dropped log events must not stay
    alive there, or the bound would bound nothing."""
    store, stream = MotoStore(stream_bound=StreamBound(event_limit=50)), new_stream()
    store.append_log_events(REGION, GROUP, stream, [(NOW_MS, "first")])
    first = weakref.ref(store.logs(REGION).groups[GROUP].streams[stream].events[0])
    for i in range(200):
        store.append_log_events(REGION, GROUP, stream, [(NOW_MS + i, f"line {i}")])
    gc.collect()
    assert first() is None
