"""Checks every request passes before it is routed: its Host, its region, its body's length.

- **Host**: only ``localhost``, ``*.localhost`` and loopback addresses (any port) are served,
  so that a web page cannot drive the emulator through DNS rebinding (a page of
  ``attacker.example`` whose name is re-pointed at 127.0.0.1 still sends
  ``Host: attacker.example``). Anything else is ``403 AccessDenied``; our choice.
- **Region**: the region of the SigV4 credential scope must be one botocore knows
  (``regions.py``); AWS answers a credential scoped to a region it does not serve with
  ``InvalidSignatureException`` (403) ``Credential should be scoped to a valid region, not
  '<region>'.`` (reported in aws/aws-sdk-js #4545, aws/aws-sdk-php #493).
- **Body**: a body-carrying request (POST, PUT, PATCH) must declare its length; no body is
  read before its ``Content-Length`` is known to be a whole number within the route's limit.
  A missing length (or ``Transfer-Encoding: chunked``) is ``411 MissingContentLength`` with
  S3's wording ``You must provide the Content-Length HTTP header.``; a malformed one is
  ``400 InvalidArgument``; an oversized one is refused with the route's own error (``Limit``).
  Bodies within their limit are read here (S3's by moto itself, watched), so that a client
  that stops sending gets S3's ``RequestTimeout`` (400) rather than a server error.

Errors are worded in the protocol the client speaks: JSON ``{"__type", "message"}`` for
SageMaker, sagemaker-runtime and CloudWatch Logs, S3's ``<Error>`` document, and the query
protocol's ``<ErrorResponse>`` for IAM and STS. Client values they echo are cut short.
"""

from __future__ import annotations

import io
import ipaddress
import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

from .regions import is_known_region
from .validation import shorten

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""Methods whose requests carry a body, hence must declare its length."""


class Refusal(Exception):
    """A request refused before routing: HTTP status, AWS error code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limit:
    """A route's body limit: ``max_bytes``, and the error that refuses more (status, code,
    and a message template formatted with ``size`` and ``limit``, both in bytes)."""

    max_bytes: int
    status: int
    code: str
    message: str

    def refusal(self, size: int) -> Refusal:
        return Refusal(self.status, self.code, self.message.format(size=size, limit=self.max_bytes))


def admit(environ, region: str | None, limit: Limit, buffer: bool) -> int:
    """Run every check on a request before routing; returns its body length in bytes.

    ``region``: the credential scope's region (None for an unsigned request); ``limit``: the
    route's body limit; ``buffer``: read the body now (False where the app reads it itself).
    Raises Refusal for the first check that fails.
    """
    check_host(environ)
    if region is not None:
        check_region(region)
    length = declared_length(environ, limit)
    if buffer:
        buffer_body(environ, length)
    return length


def check_host(environ) -> None:
    """Refusal (403) unless the Host header names localhost or a loopback address."""
    host = environ.get("HTTP_HOST", "")
    if not is_loopback_host(host):
        shown = f"Host '{shorten(host)}'" if host else "A request without a Host header"
        raise Refusal(
            403,
            "AccessDenied",
            f"{shown} is not served: this local emulator answers only requests addressed to "
            "localhost or a loopback address such as 127.0.0.1 (DNS rebinding protection).",
        )


def is_loopback_host(host: str) -> bool:
    """Whether a Host header value (``name[:port]`` or ``[v6]:port``) names this machine:
    ``localhost``, a ``*.localhost`` name (RFC 6761), or a loopback IP address."""
    if host.startswith("["):
        name, bracket, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
        if not bracket or (rest and not rest.startswith(":")):
            return False
    else:
        name, _, port = host.partition(":")
    if port and not port.isdigit():
        return False
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_region(region: str) -> None:
    """Refusal (403 InvalidSignatureException) unless botocore knows ``region``."""
    if not is_known_region(region):
        raise Refusal(
            403,
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{shorten(region)}'.",
        )


def declared_length(environ, limit: Limit) -> int:
    """The request's body length in bytes, checked before any of the body is read."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        raise _missing_length()
    value = environ.get("CONTENT_LENGTH", "").strip()
    if not value:
        if environ.get("REQUEST_METHOD", "GET").upper() in BODY_METHODS:
            raise _missing_length()
        return 0
    if not (value.isascii() and value.isdigit()):
        raise Refusal(
            400,
            "InvalidArgument",
            f"Content-Length '{shorten(value)}' is not a number of bytes: the header must be "
            "a non-negative whole number.",
        )
    length = int(value)
    if length > limit.max_bytes:
        raise limit.refusal(length)
    return length


def _missing_length() -> Refusal:
    return Refusal(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")


def buffer_body(environ, length: int) -> bytes:
    """Read the ``length``-byte body and put it back for the next reader as a BytesIO.

    A client that stops sending before the end is refused with S3's RequestTimeout wording
    once the server's read timeout passes (or if it closes the connection early).
    """
    stream = environ["wsgi.input"]
    read = getattr(stream, "read1", stream.read)  # what has come, so a stall keeps it
    chunks, missing = [], length
    try:
        while missing:
            chunk = read(min(missing, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            missing -= len(chunk)
    except TimeoutError:
        pass
    if missing:
        raise _request_timeout(missing, length)
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _request_timeout(missing: int, length: int) -> Refusal:
    return Refusal(
        400,
        "RequestTimeout",
        "Your socket connection to the server was not read from or written to within the "
        f"timeout period: {missing} of the {length} bytes of the body never came.",
    )


class _StallWatch(io.RawIOBase):
    """``wsgi.input`` that counts the bytes read and notes a read that timed out."""

    def __init__(self, stream):
        super().__init__()
        self._stream = stream
        self.received = 0
        self.stalled = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._stream.read1(len(buffer))
        except TimeoutError:
            self.stalled = True
            raise
        buffer[: len(data)] = data
        self.received += len(data)
        return len(data)


def call_reading_itself(app, environ, start_response, length: int, protocol: str):
    """Call ``app`` (moto, which reads the ``length``-byte body itself), but answer S3's
    RequestTimeout instead of its answer if the client stopped sending before the end."""
    watch = _StallWatch(environ["wsgi.input"])
    environ["wsgi.input"] = io.BufferedReader(watch)
    answered: list[tuple] = []
    result = app(environ, lambda status, headers, exc_info=None: answered.append((status, headers)))
    if not watch.stalled:
        start_response(*answered[0])
        return result
    if hasattr(result, "close"):
        result.close()
    refusal = _request_timeout(length - watch.received, length)
    return error_response(refusal, protocol)(environ, start_response)


def error_response(refusal: Refusal, protocol: str) -> Response:
    """The refusal worded in ``protocol``: "json", "rest-json" (sagemaker-runtime, whose error
    shapes name the member ``Message``), "rest-xml" (S3) or "query" (IAM, STS)."""
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": refusal.code}
    if protocol == "rest-xml":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<Error><Code>{refusal.code}</Code><Message>{escape(refusal.message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        content_type = "application/xml"
    elif protocol == "query":
        body = query_error_body(refusal.code, refusal.message, request_id)
        content_type = "text/xml"
    else:
        member = "Message" if protocol == "rest-json" else "message"
        body = json.dumps({"__type": refusal.code, member: refusal.message})
        content_type = "application/x-amz-json-1.1"
    return Response(body, status=refusal.status, content_type=content_type, headers=headers)


def query_error_body(code: str, message: str, request_id: str, namespace: str = "") -> str:
    """The query protocol's (IAM, STS) ``<ErrorResponse>`` document for a client error."""
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return (
        f"<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
