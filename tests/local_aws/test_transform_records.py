"""Batch transform's splitting and batching (``workers.transform.records`` / ``payloads``) on
real byte streams: RecordIO frames pass whole and unchanged, lines keep their ends, and no
request goes over MaxPayloadInMB."""

from __future__ import annotations

import io

import pytest

from local_aws.recordio import frame, split_frames
from local_aws.workers.transform import TransformError, payloads, records


def test_recordio_records_are_the_frames_unchanged():
    data = b"".join(frame(payload) for payload in (b"a", b"bcdef", b"", b"x" * 1000))
    found = list(records(io.BytesIO(data), "RecordIO", None, "b/k"))
    assert found == split_frames(data)
    assert b"".join(found) == data


def test_recordio_multi_record_batches_whole_frames_under_the_limit():
    data = b"".join(frame(bytes([n]) * 90) for n in range(10))  # frames of 100 bytes
    batches = list(payloads(io.BytesIO(data), "RecordIO", "MultiRecord", 350, "b/k"))
    assert [len(batch) for batch in batches] == [300, 300, 300, 100]
    assert b"".join(batches) == data


def test_a_frame_over_the_limit_fails_naming_the_object():
    data = frame(b"y" * 2000)
    with pytest.raises(TransformError, match="ClientError: b/k: RecordIO record at byte 0 is 2000"):
        list(records(io.BytesIO(data), "RecordIO", 1024, "b/k"))


def test_lines_keep_their_ends_and_the_last_may_lack_one():
    found = list(records(io.BytesIO(b"1,2\n3,4\n5,6"), "Line", None, "b/k"))
    assert found == [b"1,2\n", b"3,4\n", b"5,6"]
    assert list(records(io.BytesIO(b"1,2\n"), "Line", None, "b/k")) == [b"1,2\n"]


def test_single_record_sends_one_record_per_request():
    found = payloads(io.BytesIO(b"1\n2\n3\n"), "Line", "SingleRecord", 10, "b/k")
    assert list(found) == [b"1\n", b"2\n", b"3\n"]


def test_multi_record_lines_are_cut_at_the_last_newline_that_fits():
    body = b"".join(b"%d,%d\n" % (n, n) for n in range(1000))
    batches = list(payloads(io.BytesIO(body), "Line", "MultiRecord", 100, "b/k"))
    assert b"".join(batches) == body
    assert all(len(batch) <= 100 and batch.endswith(b"\n") for batch in batches)
    pairs = zip(batches, batches[1:], strict=False)
    assert all(len(a) + len(b.split(b"\n")[0]) + 1 > 100 for a, b in pairs)  # each one is full


@pytest.mark.parametrize("strategy", ["SingleRecord", "MultiRecord"])
def test_a_line_longer_than_the_limit_fails_before_it_is_read_whole(strategy):
    stream = io.BytesIO(b"9" * (3 * 1024 * 1024))
    with pytest.raises(TransformError, match="larger than MaxPayloadInMB"):
        list(payloads(stream, "Line", strategy, 1024 * 1024, "b/k"))
    assert stream.tell() <= 2 * 1024 * 1024  # stopped after the chunk that crossed the limit


def test_an_empty_object_has_no_record():
    with pytest.raises(TransformError, match="ClientError: b/k: the input object is empty"):
        list(payloads(io.BytesIO(b""), "None", "SingleRecord", None, "b/k"))
