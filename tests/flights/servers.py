"""A local HTTP file server for the download tests.

It serves validators (a strong or weak ETag, or Last-Modified), evaluates If-Range and Range as
RFC 9110 13.1.5 and 14.2 describe (or, when told, ignores If-Range or misplaces the range), and
frames bodies with Content-Length (true or a given bad value), chunked or by closing the
connection. A response can be cut after some bytes, or stalled until released.
"""

import hashlib
import sys
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024


@dataclass
class ServedFiles:
    """What the server serves and how.

    files: URL path -> bytes (assign a new value to change the resource; its ETag follows the
    content); modified: URL path -> Last-Modified as an HTTP-date (default: a fixed 2013 date);
    validator: "etag", "weak-etag", "last-modified" or None; ranges: honour Range; if_range:
    evaluate If-Range (False: a broken server that honours Range regardless); range_shift:
    bytes the 206's range starts before the asked offset; framing: "length", "chunked" or
    "close"; content_length: the header value sent instead of the true one; cut_after: one-shot
    limit of body bytes, then the connection closes (no terminating chunk); stall: one-shot
    (URL path, body bytes): the next response for that path sends that many bytes, then waits
    for ``release`` and closes; requests: (Range, If-Range) of each GET.
    """

    files: dict = field(default_factory=dict)
    modified: dict = field(default_factory=dict)
    validator: str | None = "etag"
    ranges: bool = True
    if_range: bool = True
    range_shift: int = 0
    framing: str = "length"
    content_length: str | None = None
    cut_after: int | None = None
    stall: tuple | None = None
    release: threading.Event = field(default_factory=threading.Event)
    requests: list = field(default_factory=list)

    def etag(self, path):
        return '"' + hashlib.sha256(self.files[path]).hexdigest()[:16] + '"'

    def last_modified(self, path):
        return self.modified.get(path, "Tue, 01 Jan 2013 00:00:00 GMT")

    def validators(self, path):
        """The validator headers sent for ``path``."""
        return {
            "etag": {"ETag": self.etag(path)},
            "weak-etag": {"ETag": "W/" + self.etag(path)},
            "last-modified": {"Last-Modified": self.last_modified(path)},
            None: {},
        }[self.validator]

    def range_start(self, path, asked, condition):
        """Where the body starts: the Range's first byte if ranges are honoured and If-Range
        (when sent and evaluated) names the current ETag or Last-Modified exactly, else 0."""
        if not asked or not self.ranges:
            return 0
        current = (self.etag(path), self.last_modified(path))
        if condition is not None and self.if_range and condition not in current:
            return 0
        return int(asked.split("=")[1].split("-")[0])


def _handler(served):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            data = served.files.get(self.path)
            asked, condition = self.headers.get("Range"), self.headers.get("If-Range")
            served.requests.append((asked, condition))
            if data is None:
                self.send_error(404, "Not Found")
                return
            start = served.range_start(self.path, asked, condition)
            if start >= len(data) > 0:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = max(start - served.range_shift, 0) if start else 0
            self.send_response(206 if start else 200)
            for name, value in served.validators(self.path).items():
                self.send_header(name, value)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self._send_body(data[start:])

        def _send_body(self, body):
            if served.framing == "length":
                self.send_header("Content-Length", served.content_length or str(len(body)))
            elif served.framing == "chunked":
                self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            complete = True
            if served.cut_after is not None:
                body, served.cut_after, complete = body[: served.cut_after], None, False
            if served.stall is not None and served.stall[0] == self.path:
                self._write(body[: served.stall[1]])
                self.wfile.flush()
                served.stall = None
                served.release.wait(timeout=60)
                return
            self._write(body)
            if served.framing == "chunked" and complete:
                self.wfile.write(b"0\r\n\r\n")

        def _write(self, body):
            if served.framing != "chunked":
                self.wfile.write(body)
                return
            for at in range(0, len(body), CHUNK):
                piece = body[at : at + CHUNK]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))

        def log_message(self, *args):
            pass

    return Handler


def http_date(seconds):
    """An HTTP-date (RFC 9110 5.6.7) for a POSIX time."""
    return formatdate(seconds, usegmt=True)


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-body (they found the body bad) are expected, not logged."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FileServer:
    """Serve ``ServedFiles`` on 127.0.0.1 (a free port) from a thread; use as a context manager."""

    def __init__(self):
        self.served = ServedFiles()
        self.httpd = _QuietServer(("127.0.0.1", 0), _handler(self.served))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.served.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
