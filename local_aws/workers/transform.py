"""Transform jobs: the model's server in a child process, fed the input objects request by request.

``TransformWorker.start`` runs the job in a thread of the server: it starts the model's serving
container exactly as an endpoint does (``EndpointWorker``), asks it ``GET
/execution-parameters`` for what the request left out, then reads each input object as a
stream (at most one payload of it in memory), splits it into records (``SplitType``), groups
them into requests (``BatchStrategy`` under ``MaxPayloadInMB``), sends at most
``MaxConcurrentTransforms`` requests at once with the job's ContentType and Accept, and joins
the answers, in input order, into one output per input object (``AssembleWith``), handed to
``put_output`` once the whole object succeeded (AWS: "Batch transform doesn't upload
partially processed objects", TransformOutput's API reference).

Splitting: ``Line`` cuts after each ``\\n`` (the last record may lack it; an empty tail after
the final newline is no record); ``RecordIO`` passes whole MXNet RecordIO frames on unchanged
(``local_aws.recordio``); ``None`` sends each object whole, as one request.

Joining: ``None`` concatenates the answers' bytes; ``Line`` adds ``\\n`` after each answer that
does not already end with one (our choice, so that JSON Lines answers, which end with a
newline, give no blank lines). An answer is the container's whole response to one request:
a MultiRecord request answered ``application/json`` by linear-learner gives one
``{"predictions": [...]}`` document per request in the output, not one line per record.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import logging
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from local_aws.recordio import MAX_PAYLOAD_BYTES, RecordIOError, frame, read_frames
from local_aws.workers.hosting import EndpointWorker, WorkerError, WorkerUnavailable

log = logging.getLogger(__name__)

READ_CHUNK = 1024 * 1024
"""Bytes read from an input object at a time when splitting by line."""
OUTPUT_SPOOL_BYTES = 8 * 1024 * 1024
"""An object's joined output stays in memory up to this size, then goes to a temporary file."""
MEGABYTE = 1024 * 1024
"""MaxPayloadInMB counts MiB (1,048,576 bytes), as InvokeEndpoint's 6 MB limit is 6,291,456."""
DEFAULT_MAX_PAYLOAD_MB = 6
"""MaxPayloadInMB when neither the job nor the container gives one (AWS's documented default)."""
STRATEGY_LABELS = {"MultiRecord": "MULTI_RECORD", "SingleRecord": "SINGLE_RECORD"}
"""How the data log names a BatchStrategy (as the container's execution parameters do)."""


@dataclass(frozen=True)
class TransformSettings:
    """How the job's requests are made. ``None`` members are asked of the container
    (``GET /execution-parameters``), then take AWS's documented defaults."""

    content_type: str | None
    accept: str | None
    split_type: str
    assemble_with: str
    batch_strategy: str | None
    max_payload_mb: int | None
    max_concurrent: int | None


@dataclass(frozen=True)
class InputObject:
    """One input object: its name relative to the input prefix (the output is that name with
    ``.out``), ``bucket/key`` for messages, and an opener giving a fresh stream of its bytes."""

    name: str
    location: str
    opener: Callable[[], BinaryIO]


class TransformError(RuntimeError):
    """The job cannot go on; the message is its FailureReason (one line, no host path)."""


class TransformWorker:
    """Runs one transform job in a thread; reports through callbacks.

    ``put_output(name, data)`` stores one object's output (may raise to fail the job);
    ``on_started()`` is called once the model server answers; ``on_end(status, reason)`` once,
    with ``Completed``, ``Failed`` (with the reason) or ``Stopped``; ``on_log(line)`` gets the
    model server's output and ``on_data_log(line)`` the job's own messages (the data log).
    """

    def __init__(
        self,
        name: str,
        model_tar: Path,
        work_dir: Path,
        objects: list[InputObject],
        settings: TransformSettings,
        *,
        put_output: Callable[[str, bytes], None],
        on_started: Callable[[], None],
        on_end: Callable[[str, str | None], None],
        on_log: Callable[[str], None],
        on_data_log: Callable[[str], None],
    ):
        self.name = name
        self.objects = objects
        self.settings = settings
        self._put_output = put_output
        self._on_started = on_started
        self._on_end = on_end
        self._on_data_log = on_data_log
        self._server = EndpointWorker(
            name, model_tar, work_dir, on_exit=self._server_exited, on_log=on_log
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"transform-{name}", daemon=True)

    def start(self) -> None:
        """Run the job in the background."""
        self._thread.start()

    def stop(self) -> None:
        """StopTransformJob: end the model server at once; the job ends Stopped."""
        self._stopping.set()
        self._server.kill()

    def kill(self) -> None:
        """Server shutdown: as ``stop``, and wait until the job's thread is done."""
        self.stop()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _server_exited(self, reason: str) -> None:
        self._on_data_log(f"[sagemaker logs]: the model server ended: {reason}")

    def _run(self) -> None:
        try:
            self._server.start()
            if self._stopping.is_set():
                raise WorkerUnavailable("stopped")
            self._on_started()
            plan = self._plan()
            for item in self.objects:
                if self._stopping.is_set():
                    break
                self._transform_object(item, plan)
        except (WorkerError, WorkerUnavailable) as error:
            status, reason = self._ended_by(error)
        except TransformError as error:
            status, reason = "Failed", str(error)
        except Exception as error:  # a bug of ours: the job fails, the server keeps serving
            log.exception("transform job %s failed", self.name)
            status, reason = "Failed", f"InternalServerError: {type(error).__name__}"
        else:
            status, reason = ("Stopped", None) if self._stopping.is_set() else ("Completed", None)
        finally:
            self._server.kill()
        if reason is not None:
            self._on_data_log(f"[sagemaker logs]: {reason}")
        self._on_end(status, reason)

    def _ended_by(self, error: Exception) -> tuple[str, str | None]:
        """(status, reason) when the model server could not start or went away."""
        if self._stopping.is_set():
            return "Stopped", None
        why = error.reason if isinstance(error, WorkerError) else str(error)
        return "Failed", f"AlgorithmError: the model server failed: {why}"

    def _plan(self) -> Plan:
        """The request settings: the job's, else the container's execution parameters, else
        MaxConcurrentTransforms 1 and MaxPayloadInMB 6 (AWS's documented defaults) and
        SingleRecord (our choice: AWS documents no default strategy)."""
        given = self.settings
        offered = self._execution_parameters()
        by_label = {label: strategy for strategy, label in STRATEGY_LABELS.items()}
        strategy = given.batch_strategy or by_label.get(
            offered.get("BatchStrategy"), "SingleRecord"
        )
        payload_mb = given.max_payload_mb
        if payload_mb is None:
            payload_mb = _positive(offered.get("MaxPayloadInMB"), DEFAULT_MAX_PAYLOAD_MB)
        parallel = given.max_concurrent or _positive(offered.get("MaxConcurrentTransforms"), 1)
        self._on_data_log(
            f"[sagemaker logs]: MaxConcurrentTransforms={parallel}, "
            f"MaxPayloadInMB={payload_mb}, BatchStrategy={STRATEGY_LABELS[strategy]}"
        )
        return Plan(strategy, payload_mb, parallel)

    def _execution_parameters(self) -> dict:
        """The container's ``GET /execution-parameters`` answer, or {} if it has none."""
        address = urlsplit(self._server.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
        try:
            connection.request("GET", "/execution-parameters")
            response = connection.getresponse()
            body = response.read()
            answer = json.loads(body) if response.status == 200 else {}
        except (OSError, http.client.HTTPException, ValueError):
            answer = {}
        finally:
            connection.close()
        return answer if isinstance(answer, dict) else {}

    def _transform_object(self, item: InputObject, plan: Plan) -> None:
        """Send one object's payloads (at most ``plan.concurrent`` at once), join the answers
        in order, and store the output once every payload succeeded."""
        limit = plan.payload_mb * MEGABYTE if plan.payload_mb else None
        with (
            item.opener() as stream,
            tempfile.SpooledTemporaryFile(OUTPUT_SPOOL_BYTES) as output,
            concurrent.futures.ThreadPoolExecutor(plan.concurrent) as pool,
        ):
            pending: deque[concurrent.futures.Future] = deque()
            try:
                for payload in payloads(
                    stream, self.settings.split_type, plan.strategy, limit, item.location
                ):
                    if self._stopping.is_set():
                        return
                    pending.append(pool.submit(self._invoke, item, payload))
                    while len(pending) > plan.concurrent:
                        self._assemble(pending.popleft().result(), output)
                while pending:
                    self._assemble(pending.popleft().result(), output)
            finally:
                for future in pending:
                    future.cancel()
            if self._stopping.is_set():
                return
            output.seek(0)
            self._store(item, output.read())

    def _invoke(self, item: InputObject, payload: bytes) -> bytes:
        """One request to the model; TransformError (a ClientError) if it answers 4xx/5xx."""
        result = self._server.invoke(payload, self.settings.content_type, self.settings.accept)
        if result.status >= 400:
            self._on_data_log(f"[sagemaker logs]: {item.location}: ClientError: {result.status}")
            text = " ".join(result.body.decode("utf-8", errors="replace").split())[:300]
            raise TransformError(
                f"ClientError: {item.location}: the model answered {result.status}: {text}"
            )
        return result.body

    def _assemble(self, answer: bytes, output) -> None:
        output.write(answer)
        if self.settings.assemble_with == "Line" and not answer.endswith(b"\n"):
            output.write(b"\n")

    def _store(self, item: InputObject, data: bytes) -> None:
        try:
            self._put_output(f"{item.name}.out", data)
        except Exception as error:
            raise TransformError(
                f"ClientError: {item.location}: could not upload the output: {error}"
            ) from None


@dataclass(frozen=True)
class Plan:
    """The settings the job's requests are made with."""

    strategy: str
    payload_mb: int
    concurrent: int


def _positive(value, default: int) -> int:
    return value if isinstance(value, int) and value > 0 else default


def payloads(
    stream: BinaryIO, split_type: str, strategy: str, limit: int | None, location: str
) -> Iterator[bytes]:
    """The request bodies of one input object, read ``READ_CHUNK`` bytes at a time.

    SingleRecord: one record per request; MultiRecord: as many whole records as fit in
    ``limit`` bytes (MaxPayloadInMB; None or 0: no limit). Lines batched MultiRecord are cut
    from the read buffer at the last newline that fits, never split into one object per line.
    TransformError naming the object if a record is larger than ``limit``, a RecordIO object
    is not valid RecordIO, or the object is empty (our choice: a request with an empty body
    cannot be answered).
    """
    if split_type == "Line" and strategy == "MultiRecord":
        found = _line_batches(stream, limit, location)
    else:
        found = _batches(records(stream, split_type, limit, location), strategy, limit)
    empty = True
    for payload in found:
        empty = False
        yield payload
    if empty:
        raise TransformError(f"ClientError: {location}: the input object is empty")


def records(stream: BinaryIO, split_type: str, limit: int | None, location: str) -> Iterator[bytes]:
    """The records of one input object (``Line``: each with its newline, the last may lack
    it; ``RecordIO``: whole frames; ``None``: the object); TransformError naming the object
    if one is larger than ``limit`` bytes or the RecordIO framing is broken."""
    if split_type == "Line":
        return _lines(stream, limit, location)
    if split_type == "RecordIO":
        return _recordio(stream, limit, location)
    return _whole(stream, limit, location)


def _too_large(location: str, size: int | str, limit: int) -> TransformError:
    return TransformError(
        f"ClientError: {location}: a record of {size} bytes is larger than MaxPayloadInMB "
        f"({limit // MEGABYTE} MB, {limit} bytes); raise MaxPayloadInMB or split the input "
        "into smaller records"
    )


def _lines(stream: BinaryIO, limit: int | None, location: str) -> Iterator[bytes]:
    pending = b""
    while chunk := stream.read(READ_CHUNK):
        *complete, pending = (pending + chunk).split(b"\n")
        for line in complete:
            yield _within(line + b"\n", limit, location)
        if limit and len(pending) > limit:
            raise _too_large(location, f"more than {limit}", limit)
    if pending:
        yield _within(pending, limit, location)


def _line_batches(stream: BinaryIO, limit: int | None, location: str) -> Iterator[bytes]:
    """MultiRecord batches of lines: each the longest run of whole lines within ``limit``."""
    buffer = bytearray()
    while chunk := stream.read(READ_CHUNK):
        buffer += chunk
        while limit and len(buffer) > limit:
            cut = buffer.rfind(b"\n", 0, limit) + 1
            if cut == 0:
                raise _too_large(location, f"more than {limit}", limit)
            yield bytes(buffer[:cut])
            del buffer[:cut]
    if buffer:
        yield bytes(buffer)


def _recordio(stream: BinaryIO, limit: int | None, location: str) -> Iterator[bytes]:
    try:
        for payload in read_frames(stream, limit or MAX_PAYLOAD_BYTES):
            yield _within(frame(payload), limit, location)
    except RecordIOError as error:
        raise TransformError(f"ClientError: {location}: {error}") from None


def _whole(stream: BinaryIO, limit: int | None, location: str) -> Iterator[bytes]:
    data = stream.read(limit + 1) if limit else stream.read()
    if limit and len(data) > limit:
        raise _too_large(location, f"more than {limit}", limit)
    if data:
        yield data


def _within(record: bytes, limit: int | None, location: str) -> bytes:
    if limit and len(record) > limit:
        raise _too_large(location, len(record), limit)
    return record


def _batches(found: Iterator[bytes], strategy: str, limit: int | None) -> Iterator[bytes]:
    """One record per request (SingleRecord), or as many whole records as fit in ``limit``
    bytes (MultiRecord; every record already fits alone)."""
    if strategy != "MultiRecord":
        yield from found
        return
    batch: list[bytes] = []
    size = 0
    for record in found:
        if batch and limit and size + len(record) > limit:
            yield b"".join(batch)
            batch, size = [], 0
        batch.append(record)
        size += len(record)
    if batch:
        yield b"".join(batch)
