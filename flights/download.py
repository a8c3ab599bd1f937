"""Resumable streaming downloads from http(s) URLs and s3:// URIs, with a progress bar.

Bytes go to a ``.part`` file. Next to it a small sidecar (``<part>.validator``, JSON, written
atomically) records the source and the validator of the response the bytes came from: the
strong ETag, else a strong Last-Modified (http, see ``http_get``), the ETag (S3). A rerun after
an interruption resumes only with that record: it asks for the rest (a byte Range) on condition
that the resource is unchanged (If-Range for http, If-Match for S3), and starts over from byte 0
when the answer is the whole resource, the range is refused or does not start where asked, or
there is no record to check against. A transfer that ends short is an error, never a complete
download.
"""

import contextlib
import http.client
import json
import urllib.parse
from pathlib import Path

from flights.atomic_file import atomic_output
from flights.http_get import Reply, StartOver, open_http, range_start
from flights.progress import tqdm
from flights.schema import FlightDataError

CHUNK_BYTES = 1 << 20


def is_remote(source):
    """True for http(s) URLs and s3:// URIs."""
    return str(source).lower().startswith(("http://", "https://", "s3://"))


def _open_s3(uri, offset, validator):
    """GET an S3 object from byte ``offset`` (0: all of it) while its ETag is ``validator``.

    A resume sends Range with IfMatch (S3 has no If-Range): a changed object answers 412
    PreconditionFailed, a range past the end InvalidRange; both raise StartOver. A 206 must
    start at ``offset`` (its Content-Range, RFC 9110 14.4). Returns a Reply.
    """
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    parsed = urllib.parse.urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise FlightDataError(f"{uri}: an s3:// URI needs a bucket and a key")
    extra = {"Range": f"bytes={offset}-", "IfMatch": validator} if offset else {}
    try:
        try:
            reply = boto3.client("s3").get_object(Bucket=bucket, Key=key, **extra)
        except NoCredentialsError:  # public buckets answer anonymous requests
            client = boto3.client("s3", config=Config(signature_version=UNSIGNED))
            reply = client.get_object(Bucket=bucket, Key=key, **extra)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("InvalidRange", "PreconditionFailed") and offset:
            raise StartOver(f"{uri}: S3 refused the resume from {offset:,} ({code})") from error
        raise FlightDataError(f"{uri}: S3 error {code} {error}") from error
    except BotoCoreError as error:
        raise FlightDataError(f"{uri}: {error}") from error
    if reply["ResponseMetadata"]["HTTPStatusCode"] != 206:
        return Reply(reply["Body"], reply.get("ContentLength"), 0, reply.get("ETag"))
    with contextlib.ExitStack() as on_error:
        on_error.callback(reply["Body"].close)
        start = range_start(uri, reply.get("ContentRange"), offset)
        on_error.pop_all()
    return Reply(reply["Body"], reply.get("ContentLength"), start, validator)


def _stream_errors():
    """What a broken HTTP or S3 body stream raises (botocore imported only when needed)."""
    from botocore.exceptions import BotoCoreError

    return (OSError, http.client.HTTPException, BotoCoreError)


def _sidecar(part):
    """Where the source and validator of the bytes in ``part`` are recorded."""
    return part.with_name(f"{part.name}.validator")


def discard(part):
    """Remove a download's ``part`` file and its sidecar."""
    part.unlink(missing_ok=True)
    _sidecar(part).unlink(missing_ok=True)


def _resume_point(uri, part):
    """(offset, validator) to resume ``uri`` from: the size of ``part`` and the validator
    recorded for it, or (0, None) when there is no part or no record of this source."""
    try:
        record = json.loads(_sidecar(part).read_text())
        size = part.stat().st_size
    except (OSError, ValueError):
        return 0, None
    if not isinstance(record, dict) or record.get("source") != str(uri):
        return 0, None
    validator = record.get("validator")
    return (size, validator) if isinstance(validator, str) and validator else (0, None)


def _start_over(uri, part, validator):
    """Empty ``part`` for a whole body and record its ``validator`` (if any) before any byte,
    so a sidecar never describes bytes of another response."""
    _sidecar(part).unlink(missing_ok=True)
    part.write_bytes(b"")
    if validator:
        with atomic_output(_sidecar(part)) as out:
            out.write(json.dumps({"source": str(uri), "validator": validator}).encode())


def _open(uri, offset, validator):
    """A Reply for ``uri``: resumed at ``offset`` when the source confirms ``validator``, else
    the whole resource."""
    opener = _open_s3 if str(uri).lower().startswith("s3://") else open_http
    if offset:
        with contextlib.suppress(StartOver):
            return opener(uri, offset, validator)
    return opener(uri, 0, None)


def _interrupted(uri, part, reply, error=None):
    """The FlightDataError for a transfer that ended short; a part that cannot be resumed (no
    validator) is removed."""
    size = part.stat().st_size if part.exists() else 0
    of = f" of {reply.start + reply.length:,}" if reply.length is not None else ""
    cause = f" ({error})" if error is not None else ""
    if reply.validator:
        hint = "run fetch again to resume"
    else:
        discard(part)
        hint = "the source gave no validator to resume against; run fetch again to start over"
    return FlightDataError(f"{uri}: download interrupted after {size:,}{of} bytes{cause}; {hint}")


def _copy(stream, out, bar):
    """Copy ``stream`` to ``out`` in CHUNK_BYTES reads. When a chunked body breaks off, the
    whole chunks http.client had received (``IncompleteRead.partial``) are kept for a resume."""
    try:
        while chunk := stream.read(CHUNK_BYTES):
            out.write(chunk)
            bar.update(len(chunk))
    except http.client.IncompleteRead as error:
        out.write(error.partial)
        raise


def download(uri, part, *, progress=True):
    """Stream ``uri`` into the file ``part``, resuming what ``part`` holds if the source is
    unchanged.

    uri: http(s) URL or s3:// URI; part: pathlib.Path. Returns ``part`` once it holds the whole
    object: with Content-Length, every announced byte; chunked, up to the terminating chunk. A
    transfer that ends short raises FlightDataError naming the URI and the byte counts and
    keeps ``part`` for a resume when the source gave a validator.
    """
    part = Path(part)
    reply = _open(uri, *_resume_point(uri, part))
    name = urllib.parse.urlparse(str(uri)).path.rsplit("/", 1)[-1] or str(uri)
    try:
        with reply.stream:
            if reply.start == 0:
                _start_over(uri, part, reply.validator)
            with (
                open(part, "ab") as out,
                tqdm(
                    total=reply.start + reply.length if reply.length is not None else None,
                    initial=reply.start,
                    unit="B",
                    unit_scale=True,
                    desc=name,
                    disable=not progress,
                ) as bar,
            ):
                _copy(reply.stream, out, bar)
    except _stream_errors() as error:
        raise _interrupted(uri, part, reply, error) from error
    if reply.length is not None and part.stat().st_size != reply.start + reply.length:
        raise _interrupted(uri, part, reply)
    return part
