"""Resumable streaming downloads from http(s) URLs and s3:// URIs, with a progress bar.

Bytes go to a ``.part`` file; a rerun after an interruption asks for the rest (an HTTP or S3
byte Range) and appends, or starts clean when the server sends the whole file again.
"""

import http.client
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from flights.progress import tqdm
from flights.schema import FlightDataError

CHUNK_BYTES = 1 << 20


def is_remote(source):
    """True for http(s) URLs and s3:// URIs."""
    return str(source).lower().startswith(("http://", "https://", "s3://"))


class _RangeNotSatisfiable(Exception):
    """The server refused the resume offset: the .part file is not a prefix of the source."""


def _open_http(url, offset):
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            raise _RangeNotSatisfiable from error
        raise FlightDataError(f"{url}: HTTP error {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        raise FlightDataError(f"{url}: cannot connect ({error})") from error
    length = response.headers.get("Content-Length")
    return response, int(length) if length is not None else None, response.status == 206


def _open_s3(uri, offset):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    parsed = urllib.parse.urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise FlightDataError(f"{uri}: an s3:// URI needs a bucket and a key")
    extra = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        try:
            reply = boto3.client("s3").get_object(Bucket=bucket, Key=key, **extra)
        except NoCredentialsError:  # public buckets answer anonymous requests
            client = boto3.client("s3", config=Config(signature_version=UNSIGNED))
            reply = client.get_object(Bucket=bucket, Key=key, **extra)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "InvalidRange" and offset:
            raise _RangeNotSatisfiable from error
        raise FlightDataError(f"{uri}: S3 error {code} {error}") from error
    except BotoCoreError as error:
        raise FlightDataError(f"{uri}: {error}") from error
    resumed = reply["ResponseMetadata"]["HTTPStatusCode"] == 206
    return reply["Body"], reply.get("ContentLength"), resumed


def _stream_errors():
    """What a broken HTTP or S3 body stream raises (botocore imported only when needed)."""
    from botocore.exceptions import BotoCoreError

    return (OSError, http.client.HTTPException, BotoCoreError)


def download(uri, part, *, progress=True):
    """Stream ``uri`` into the file ``part``, resuming from what ``part`` already holds.

    uri: http(s) URL or s3:// URI; part: pathlib.Path. Returns ``part`` once it holds the whole
    object. An interrupted transfer raises FlightDataError and keeps ``part`` for a resume.
    """
    part = Path(part)
    offset = part.stat().st_size if part.exists() else 0
    opener = _open_s3 if str(uri).lower().startswith("s3://") else _open_http
    try:
        stream, length, resumed = opener(uri, offset)
    except _RangeNotSatisfiable:
        offset = 0
        stream, length, resumed = opener(uri, 0)
    if not resumed:
        offset = 0
    received = 0
    total = offset + length if length is not None else None
    name = urllib.parse.urlparse(str(uri)).path.rsplit("/", 1)[-1] or str(uri)
    try:
        with (
            stream,
            open(part, "ab" if offset else "wb") as out,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                desc=name,
                disable=not progress,
            ) as bar,
        ):
            while chunk := stream.read(CHUNK_BYTES):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    except _stream_errors() as error:
        raise FlightDataError(
            f"{uri}: download interrupted after {offset + received:,} bytes ({error}); "
            "run fetch again to resume"
        ) from error
    if length is not None and received < length:
        raise FlightDataError(
            f"{uri}: download interrupted after {offset + received:,} of {total:,} bytes; "
            "run fetch again to resume"
        )
    return part
