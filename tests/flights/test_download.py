"""Downloads over a real local HTTP server: resuming only the same resource (If-Range), short
and badly framed bodies, and what a replaced Flights.csv keeps."""

import os
import stat
import time

import pytest

import flights
from tests.flights.servers import http_date
from tests.flights.test_lab_csv_sources import CANCELLED, HEADER, ROWS

URL_PATH = "/data/Flights.csv"


def lab_bytes(carrier):
    """A ~1 MB lab-format file whose flights fly ``carrier``, and its expected rewrite."""
    rows = [r.replace('"UA"', f'"{carrier}"').replace('"B6"', f'"{carrier}"') for r in ROWS]
    data = "\n".join([HEADER, *(rows + [CANCELLED]) * 4000]) + "\n"
    return data.encode(), [HEADER, *rows * 4000]


@pytest.fixture
def served(file_server):
    """Source A served at URL_PATH; returns (server, url, A's bytes, A's expected lines)."""
    data, expected = lab_bytes("AA")
    file_server.served.files[URL_PATH] = data
    return file_server, file_server.url(URL_PATH), data, expected


def _cut_first_fetch(server, url, out, after=300_000):
    server.served.cut_after = after
    with pytest.raises(flights.FlightDataError, match="interrupted") as caught:
        flights.fetch(url, out, progress=False)
    assert not out.exists()
    return str(caught.value)


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_changed_resource_is_downloaded_again_not_appended(tmp_path, served):
    server, url, _, _ = served
    out = tmp_path / "Flights.csv"
    _cut_first_fetch(server, url, out)
    old_etag = server.served.etag(URL_PATH)
    server.served.files[URL_PATH], expected_b = lab_bytes("DL")
    report = flights.fetch(url, out, progress=False)
    # If-Range named A's ETag; the server answered 200 with B, which replaced the part.
    assert server.served.requests[1] == ("bytes=300000-", old_etag)
    assert out.read_text().splitlines() == expected_b
    assert report.rows == 8000
    assert _names(tmp_path) == ["Flights.csv"]


def test_a_part_of_another_url_with_the_same_name_is_not_resumed(tmp_path, served):
    server, url_a, _, _ = served
    url_b = server.url("/mirror/Flights.csv")
    server.served.files["/mirror/Flights.csv"], expected_b = lab_bytes("DL")
    out = tmp_path / "Flights.csv"
    _cut_first_fetch(server, url_a, out)
    flights.fetch(url_b, out, progress=False)
    assert server.served.requests[1] == (None, None)
    assert out.read_text().splitlines() == expected_b


def test_resume_with_a_strong_last_modified(tmp_path, served):
    server, url, _, expected = served
    server.served.validator = "last-modified"
    out = tmp_path / "Flights.csv"
    _cut_first_fetch(server, url, out)
    flights.fetch(url, out, progress=False)
    assert server.served.requests[1] == ("bytes=300000-", server.served.last_modified(URL_PATH))
    assert out.read_text().splitlines() == expected


def test_changed_last_modified_starts_over(tmp_path, served):
    server, url, _, _ = served
    server.served.validator = "last-modified"
    out = tmp_path / "Flights.csv"
    _cut_first_fetch(server, url, out)
    server.served.files[URL_PATH], expected_b = lab_bytes("DL")
    server.served.modified[URL_PATH] = http_date(time.time() - 3600)
    flights.fetch(url, out, progress=False)
    assert out.read_text().splitlines() == expected_b


@pytest.mark.parametrize("validator", [None, "weak-etag", "last-modified-same-second"])
def test_without_a_strong_validator_nothing_is_resumed(tmp_path, served, validator):
    server, url, _, expected = served
    if validator == "last-modified-same-second":
        # A Last-Modified not at least a second before the response's Date is weak (8.8.2.2).
        validator = "last-modified"
        server.served.modified[URL_PATH] = http_date(time.time() + 5)
    server.served.validator = validator
    out = tmp_path / "Flights.csv"
    message = _cut_first_fetch(server, url, out)
    assert "no validator to resume against; run fetch again to start over" in message
    assert _names(tmp_path) == []
    flights.fetch(url, out, progress=False)
    assert server.served.requests[1] == (None, None)
    assert out.read_text().splitlines() == expected


def test_a_server_ignoring_if_range_is_caught_by_the_206_etag(tmp_path, served):
    server, url, _, _ = served
    server.served.if_range = False
    out = tmp_path / "Flights.csv"
    _cut_first_fetch(server, url, out)
    server.served.files[URL_PATH], expected_b = lab_bytes("DL")
    flights.fetch(url, out, progress=False)
    assert [r[0] for r in server.served.requests] == [None, "bytes=300000-", None]
    assert out.read_text().splitlines() == expected_b


def test_a_206_starting_elsewhere_starts_over(tmp_path, served):
    server, url, _, expected = served
    server.served.range_shift = 1000
    out = tmp_path / "Flights.csv"
    _cut_first_fetch(server, url, out)
    flights.fetch(url, out, progress=False)
    assert [r[0] for r in server.served.requests] == [None, "bytes=300000-", None]
    assert out.read_text().splitlines() == expected


def test_a_complete_part_left_behind_is_fetched_again_after_416(tmp_path, served):
    server, url, data, expected = served
    out = tmp_path / "Flights.csv"
    _cut_first_fetch(server, url, out)
    (tmp_path / "Flights.csv.Flights.csv.part").write_bytes(data + b"stale tail\n")
    flights.fetch(url, out, progress=False)
    assert [r[0] for r in server.served.requests] == [None, f"bytes={len(data) + 11}-", None]
    assert out.read_text().splitlines() == expected


def test_short_body_names_url_and_counts_and_leaves_no_file(tmp_path, served):
    server, url, data, _ = served
    out = tmp_path / "Flights.csv"
    message = _cut_first_fetch(server, url, out, after=12_345)
    assert message == (
        f"{url}: download interrupted after 12,345 of {len(data):,} bytes; "
        "run fetch again to resume"
    )
    assert _names(tmp_path) == [
        "Flights.csv.Flights.csv.part",
        "Flights.csv.Flights.csv.part.validator",
    ]


def test_chunked_body_complete_cut_and_resumed(tmp_path, served):
    server, url, _, expected = served
    server.served.framing = "chunked"
    out = tmp_path / "Flights.csv"
    # Five 64 KiB chunks and one of 100 bytes arrive whole, then the connection closes
    # without the terminating chunk: an error, and the whole chunks are kept for the resume.
    message = _cut_first_fetch(server, url, out, after=5 * 64 * 1024 + 100)
    assert "interrupted after 327,780 bytes (IncompleteRead" in message
    assert message.endswith("run fetch again to resume")
    flights.fetch(url, out, progress=False)
    assert server.served.requests[1] == ("bytes=327780-", server.served.etag(URL_PATH))
    assert out.read_text().splitlines() == expected


def test_a_body_ended_by_closing_the_connection_is_refused(tmp_path, served):
    server, url, _, _ = served
    server.served.framing = "close"
    with pytest.raises(flights.FlightDataError, match="neither Content-Length nor chunked"):
        flights.fetch(url, tmp_path / "Flights.csv", progress=False)
    assert _names(tmp_path) == []


@pytest.mark.parametrize("value", ["abc", "-5", "1e6"])
def test_bad_content_length_names_url_and_header(tmp_path, served, value):
    server, url, _, _ = served
    server.served.content_length = value
    with pytest.raises(flights.FlightDataError) as caught:
        flights.fetch(url, tmp_path / "Flights.csv", progress=False)
    assert str(caught.value) == (
        f"{url}: bad Content-Length header {value!r}: not a whole number of bytes"
    )
    assert _names(tmp_path) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_a_replaced_flights_csv_keeps_its_mode(tmp_path, served, mode):
    _, url, _, expected = served
    out = tmp_path / "Flights.csv"
    out.write_text("previous\n")
    out.chmod(mode)
    flights.fetch(url, out, progress=False)
    assert out.read_text().splitlines() == expected
    assert stat.S_IMODE(out.stat().st_mode) == mode


def test_a_new_flights_csv_gets_the_umask_default(tmp_path, served):
    _, url, _, _ = served
    out = tmp_path / "Flights.csv"
    old = os.umask(0o027)
    try:
        flights.fetch(url, out, progress=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
