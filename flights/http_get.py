"""One HTTP GET of a download, whole or resumed, with the checks that make a resume safe.

References are to RFC 9110 (HTTP Semantics) and RFC 9112 (HTTP/1.1).
"""

import email.utils
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

from flights.schema import FlightDataError

_CONTENT_RANGE = re.compile(r"bytes ([0-9]+)-([0-9]+)/([0-9]+|\*)")


@dataclass
class Reply:
    """An opened body: stream (``read(n)``, a context manager); length: body bytes announced,
    None when the framing itself marks the end (chunked); start: byte offset of the body's first
    byte in the whole resource (0 for a whole body); validator: what a later resume may name
    in If-Range (HTTP) or If-Match (S3), None if the resource gave nothing usable."""

    stream: object
    length: int | None
    start: int
    validator: str | None


class StartOver(Exception):
    """The resume offset or its validator was refused: the caller asks again for the whole
    resource (``message`` says why)."""


def strong_validator(headers):
    """The validator a resume may send in If-Range, or None (RFC 9110 13.1.5).

    headers: the response's header mapping. A strong ETag (8.8.3) is preferred; a weak one
    (``W/"..."``) never matches in If-Range. Otherwise Last-Modified, but only when it is strong
    in the sense of 8.8.2.2: the response's Date is at least one second later, so the resource
    did not change again within the same second.
    """
    etag = headers.get("ETag")
    if etag and etag.startswith('"'):
        return etag
    modified, date = headers.get("Last-Modified"), headers.get("Date")
    if not modified or not date:
        return None
    try:
        seconds = (
            email.utils.parsedate_to_datetime(date) - email.utils.parsedate_to_datetime(modified)
        ).total_seconds()
    except (TypeError, ValueError):
        return None
    return modified if seconds >= 1 else None


def content_length(url, value):
    """The body length in bytes from a Content-Length header ``value`` (None if absent).

    Raises FlightDataError naming the URL and the header for anything but a non-negative whole
    number (RFC 9110 8.6); http.client itself would silently read such a body to the end of the
    connection.
    """
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise FlightDataError(
            f"{url}: bad Content-Length header {value!r}: not a whole number of bytes"
        )
    return int(value)


def range_start(url, content_range, offset):
    """Check a 206's Content-Range (RFC 9110 14.4) against the ``offset`` asked for.

    Returns the offset; raises StartOver when the header is missing or malformed or the range
    starts elsewhere (then the bytes cannot be appended to what is already on disk).
    """
    match = _CONTENT_RANGE.fullmatch((content_range or "").strip())
    if not match or int(match.group(1)) != offset:
        raise StartOver(
            f"{url}: asked for bytes from {offset:,}, got Content-Range {content_range!r}"
        )
    return offset


def _request(url, offset, validator):
    """The GET request: a whole one, or ``Range: bytes=<offset>-`` (RFC 9110 14.2) with
    ``If-Range: <validator>`` (13.1.5), so a changed resource comes back whole (200)."""
    headers = {}
    if offset:
        headers = {"Range": f"bytes={offset}-", "If-Range": validator}
    return urllib.request.Request(url, headers=headers)


def _checked(url, response, offset, validator):
    """The Reply for an open ``response`` to a request from ``offset``; raises StartOver or
    FlightDataError (the response is then the caller's to close)."""
    headers = response.headers
    start = 0
    if response.status == 206:
        start = range_start(url, headers.get("Content-Range"), offset)
        if strong_validator(headers) not in (None, validator):
            # The server honoured Range but ignored If-Range: the resource has changed.
            raise StartOver(f"{url}: the resource changed since the partial download")
    chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
    length = None if chunked else content_length(url, headers.get("Content-Length"))
    if length is None and not chunked:
        raise FlightDataError(
            f"{url}: the server sent neither Content-Length nor chunked encoding, so a complete "
            "download cannot be told from a cut connection (RFC 9112 6.3)"
        )
    kept = validator if start else strong_validator(headers)
    return Reply(stream=response, length=length, start=start, validator=kept)


def open_http(url, offset, validator):
    """GET ``url`` from byte ``offset`` (0: the whole resource) if it still matches ``validator``.

    Returns a Reply: a 206 continues at ``offset``, a 200 (resource changed, or ranges not
    supported) starts at 0. Raises StartOver for a refused range (416) or a 206 that does not
    fit, FlightDataError for HTTP errors, unreachable servers and unusable framing.
    """
    try:
        response = urllib.request.urlopen(_request(url, offset, validator), timeout=60)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:
            raise StartOver(f"{url}: range from {offset:,} not satisfiable") from error
        raise FlightDataError(f"{url}: HTTP error {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        raise FlightDataError(f"{url}: cannot connect ({error})") from error
    try:
        return _checked(url, response, offset, validator)
    except BaseException:
        response.close()
        raise
