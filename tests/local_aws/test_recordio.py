"""RecordIO framing (local_aws/recordio.py), checked against the SDK v2 writer when present."""

import io
import os
import subprocess

import pytest

from local_aws import recordio


def test_frames_round_trip_with_padding():
    payloads = [b"", b"a", b"ab", b"abc", b"abcd", b"x" * 1001]
    stream = io.BytesIO()
    for payload in payloads:
        recordio.write_frame(stream, payload)
    data = stream.getvalue()
    assert len(data) % 4 == 0
    assert list(recordio.read_frames(io.BytesIO(data))) == payloads
    frames = recordio.split_frames(data)
    assert b"".join(frames) == data
    assert [list(recordio.read_frames(io.BytesIO(f)))[0] for f in frames] == payloads


@pytest.mark.parametrize(
    ("data", "wording"),
    [
        (b"\x0a\x23\xd7\xce\x01", "inside a record header at byte 0"),
        (recordio.frame(b"abc") + b"\0" * 8, "expected magic number 0xCED7230A at byte 12"),
        (recordio.frame(b"abcdef")[:10], "ends inside the record at byte 0"),
        (b"\x0a\x23\xd7\xce\x03\x00\x00\x20abc\0", "continuation flag 1"),
        (b"\x0a\x23\xd7\xce\xff\xff\xff\x00", "more than the 1000 allowed"),
    ],
)
def test_damaged_streams_are_refused_with_the_offset(data, wording):
    with pytest.raises(recordio.RecordIOError, match=wording):
        list(recordio.read_frames(io.BytesIO(data), max_payload=1000))
    with pytest.raises(recordio.RecordIOError, match=wording):
        recordio.split_frames(data, max_payload=1000)


@pytest.mark.skipif(not os.environ.get("SDK_V2_PYTHON"), reason="SDK_V2_PYTHON not set")
def test_bytes_match_the_sdk_v2_writer(tmp_path):
    script = (
        "import io, sys\n"
        "from sagemaker.amazon.common import _write_recordio\n"
        "f = io.BytesIO()\n"
        "for p in (b'', b'a', b'abcde', b'abcdefgh'):\n"
        "    _write_recordio(f, p)\n"
        "open(sys.argv[1], 'wb').write(f.getvalue())\n"
    )
    written = tmp_path / "sdk-v2.rec"
    subprocess.run(
        [os.environ["SDK_V2_PYTHON"], "-c", script, str(written)], capture_output=True, check=True
    )
    theirs = written.read_bytes()
    ours = b"".join(recordio.frame(p) for p in (b"", b"a", b"abcde", b"abcdefgh"))
    assert ours == theirs
