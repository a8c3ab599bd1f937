"""Request bodies to feature matrices, scores to response bodies (the inference wire formats).

Requests (features only, no label), each decoded to a float64 array of shape (n_rows, feature_dim):

- ``text/csv``: one row per line, comma-separated numbers (the rules of ``csv_records``, the
  same as for training channels);
- ``application/json``: ``{"instances": [instance, ...]}``;
- ``application/jsonlines``: one instance per line;

- ``application/x-recordio-protobuf``: one ``Record`` per row, dense or sparse, its label
  ignored (``recordio_protobuf``);

where an instance is ``{"features": [...]}``, ``{"data": {"features": {"values": [...]}}}`` or the
sparse ``{"data": {"features": {"keys": [...], "shape": [feature_dim], "values": [...]}}}``.

Responses: ``{"predictions": [{"score": s}, ...]}`` (JSON), one ``{"score": s}`` per line
(JSON Lines), or one ``Record`` per row whose ``label`` map holds each key of the row as a
Float32Tensor (RecordIO-protobuf, reference spec section 4), rows in request order. A classifier's
rows add ``"predicted_label"`` (an integer), and a multiclass classifier's ``score`` is the list of
class probabilities (docs "Linear learner response formats"). Rows, records and features in error
messages count from 1.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import recordio_protobuf
from .csv_records import RecordError, read_columnar, read_records

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
RECORDIO_PROTOBUF = recordio_protobuf.CONTENT_TYPE
PROTOBUF_BLOCK_ROWS = 4096

# Below this size a per-row parse is faster than starting pyarrow's CSV reader (about 0.6 ms).
COLUMNAR_CSV_MIN_BYTES = 64 * 1024
# From this many scores on, pyarrow's number formatting beats repr() per score (5x on 30k).
COLUMNAR_ENCODE_MIN_ROWS = 256
_ERROR_PREFIX = "Unable to evaluate payload provided: "
_INSTANCE_SHAPES = '{"features": [...]} or {"data": {"features": {"values": [...]}}}'


class InvocationError(ValueError):
    """A request the server answers with ``status`` (a 4xx) and the plain-text ``message``."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status
        self.message = message


class PayloadError(InvocationError):
    """The body cannot be scored (HTTP 400); the message says what is wrong and at which row."""

    def __init__(self, problem: str):
        super().__init__(_ERROR_PREFIX + problem, status=400)


def decode(media_type: str, body: bytes, feature_dim: int) -> np.ndarray:
    """Features of shape (n_rows, feature_dim) from a request ``body`` of ``media_type``."""
    if not body or body.isspace():
        raise PayloadError("the payload is empty")
    decoders = {
        CSV: decode_csv,
        JSON: decode_json,
        JSONLINES: decode_jsonlines,
        RECORDIO_PROTOBUF: decode_recordio_protobuf,
    }
    features = decoders[media_type](body, feature_dim)
    _check_finite(features)
    return features


def decode_csv(body: bytes, feature_dim: int) -> np.ndarray:
    """CSV rows of ``feature_dim`` numbers each; shape (n_rows, feature_dim)."""
    features = None
    if len(body) >= COLUMNAR_CSV_MIN_BYTES:
        features = read_columnar(body, feature_dim, np.float64)
    if features is None:
        try:
            features = read_records(body, feature_dim, np.float64)
        except RecordError as error:
            raise PayloadError(_csv_problem(error, feature_dim)) from None
    return features.T  # Fortran-ordered (n_rows, feature_dim)


def _csv_problem(error: RecordError, feature_dim: int) -> str:
    """What is wrong with a CSV request row, in words (features only, no label)."""
    if error.kind == "empty":
        return f"row {error.row} is empty"
    if error.kind == "width":
        return _count_problem(error.row, error.count, feature_dim)
    if error.kind == "finite":
        return f"row {error.row}, feature {error.column}: {error.text} is not a finite number"
    return f"row {error.row}, feature {error.column}: {error.text!r} is not a number"


def decode_json(body: bytes, feature_dim: int) -> np.ndarray:
    """``{"instances": [...]}``; shape (n_instances, feature_dim)."""
    try:
        document = json.loads(body)
    except ValueError as error:
        raise PayloadError(f"the payload is not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("instances"), list):
        raise PayloadError('expected a JSON object {"instances": [...]}')
    return _instances_to_features(document["instances"], feature_dim, _may_hold_booleans(body))


def decode_jsonlines(body: bytes, feature_dim: int) -> np.ndarray:
    """One JSON instance per line; shape (n_lines, feature_dim)."""
    lines = body.rstrip().split(b"\n")
    try:  # one parse of the whole body; per-line parsing only to locate a problem
        instances = json.loads(b"[" + b",".join(lines) + b"]")
    except ValueError:
        instances = None
    if instances is None or len(instances) != len(lines):
        instances = [_json_line(line, row) for row, line in enumerate(lines, start=1)]
    return _instances_to_features(instances, feature_dim, _may_hold_booleans(body))


def decode_recordio_protobuf(body: bytes, feature_dim: int) -> np.ndarray:
    """RecordIO-protobuf records, dense or sparse, any label ignored; shape (n, feature_dim)."""
    stream = io.BytesIO(body)
    try:
        blocks = list(
            recordio_protobuf.read_blocks(
                stream, feature_dim, PROTOBUF_BLOCK_ROWS, labelled=False, dtype=np.float64
            )
        )
    except recordio_protobuf.RecordProblem as problem:
        raise PayloadError(str(problem)) from None
    return np.concatenate(blocks)


def encode(media_type: str, scores: np.ndarray) -> bytes:
    """The response body for ``scores`` of shape (n_rows,), as ``JSON``, ``JSONLINES`` or
    ``RECORDIO_PROTOBUF``."""
    _check_scores_finite(scores)
    if media_type == RECORDIO_PROTOBUF:
        return recordio_protobuf.encode_predictions({"score": s} for s in scores.tolist())
    if media_type == JSONLINES:
        return ('{"score":' + join_numbers(scores, '}\n{"score":') + "}\n").encode()
    return ('{"predictions":[{"score":' + join_numbers(scores, '},{"score":') + "}]}").encode()


def encode_predictions(media_type: str, predictions: dict[str, np.ndarray]) -> bytes:
    """The response body for ``predictions`` (``artifact.LinearModel.predictions``): a
    ``score`` array of shape (n_rows,) or (n_rows, num_classes), and for a classifier
    ``predicted_label`` (n_rows,) integers; as ``JSON``, ``JSONLINES`` or ``RECORDIO_PROTOBUF``."""
    scores = predictions["score"]
    if "predicted_label" not in predictions:
        return encode(media_type, scores)
    _check_scores_finite(scores)
    labels = predictions["predicted_label"].tolist()
    rows = [
        {"score": score, "predicted_label": label}
        for score, label in zip(scores.tolist(), labels, strict=True)
    ]
    if media_type == RECORDIO_PROTOBUF:
        return recordio_protobuf.encode_predictions(rows)
    if media_type == JSONLINES:
        return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode()
    return json.dumps({"predictions": rows}, separators=(",", ":")).encode()


def _check_scores_finite(scores: np.ndarray) -> None:
    """PayloadError naming the first row (from 1) of ``scores`` (n_rows,) or (n_rows, k) that
    holds an infinite or NaN score."""
    finite = np.isfinite(scores.reshape(len(scores), -1)).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0]) + 1
        raise PayloadError(f"row {row}: the score overflows (the features are too large)")


def join_numbers(values: np.ndarray, separator: str) -> str:
    """Finite ``values`` of shape (n,) as exact JSON numbers, joined by ``separator``.

    Every number has a fraction or an exponent, so JSON readers see floats (``7.0``, not ``7``).
    """
    if len(values) < COLUMNAR_ENCODE_MIN_ROWS:
        return separator.join(map(repr, values.tolist()))
    texts = pa.array(values).cast(pa.string())  # shortest round-trip text, like repr()
    integral = pc.match_substring_regex(texts, r"^-?\d+$")
    texts = pc.if_else(integral, pc.binary_join_element_wise(texts, ".0", ""), texts)
    one_list = pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts)
    return pc.binary_join(one_list, separator)[0].as_py()


def _json_line(line: bytes, row: int):
    if not line.strip():
        raise PayloadError(f"row {row} is empty")
    try:
        return json.loads(line)
    except ValueError as error:
        raise PayloadError(f"row {row} is not valid JSON: {error}") from None


def _instances_to_features(instances: list, feature_dim: int, check_types: bool) -> np.ndarray:
    if not instances:
        raise PayloadError("the payload holds no instances")
    rows = [_instance_values(item, row, feature_dim) for row, item in enumerate(instances, 1)]
    try:
        features = None if check_types else np.array(rows)
    except (ValueError, TypeError, OverflowError):
        features = None
    if features is None or features.ndim != 2 or features.dtype.kind not in "iuf":
        _check_numbers(rows)
        features = np.array(rows, dtype=np.float64)
    return features.astype(np.float64, copy=False)


def _instance_values(instance, row: int, feature_dim: int) -> list:
    """The dense feature list of one JSON instance (values not yet type-checked)."""
    values = None
    if isinstance(instance, dict):
        if "features" in instance:
            values = instance["features"]
        else:
            features = instance.get("data", {})
            features = features.get("features") if isinstance(features, dict) else None
            if isinstance(features, dict) and "keys" in features:
                return _sparse_to_dense(features, row, feature_dim)
            values = features.get("values") if isinstance(features, dict) else None
    if not isinstance(values, list):
        raise PayloadError(f"row {row}: expected an instance {_INSTANCE_SHAPES}")
    if len(values) != feature_dim:
        raise PayloadError(_count_problem(row, len(values), feature_dim))
    return values


def _sparse_to_dense(features: dict, row: int, feature_dim: int) -> list:
    keys, values = features.get("keys"), features.get("values")
    shape = features.get("shape", [feature_dim])
    if shape != [feature_dim]:
        raise PayloadError(f"row {row} has shape {shape}; the model expects [{feature_dim}]")
    if not isinstance(keys, list) or not isinstance(values, list) or len(keys) != len(values):
        raise PayloadError(f'row {row}: sparse "keys" and "values" must be lists of equal length')
    dense = [0.0] * feature_dim
    for key, value in zip(keys, values, strict=True):
        if type(key) is not int or not 0 <= key < feature_dim:
            raise PayloadError(f"row {row}: key {key!r} is not an index in [0, {feature_dim})")
        dense[key] = value
    return dense


def _check_numbers(rows: list[list]) -> None:
    for row, values in enumerate(rows, start=1):
        for feature, value in enumerate(values, start=1):
            if type(value) not in (int, float):
                problem = f"{json.dumps(value)[:40]} is not a number"
            elif not _is_float64(value):
                problem = "the number is too large for float64"
            else:
                continue
            raise PayloadError(f"row {row}, feature {feature}: {problem}")


def _check_finite(features: np.ndarray) -> None:
    finite = np.isfinite(features)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        value = features[row, column]
        raise PayloadError(f"row {row + 1}, feature {column + 1}: {value} is not a finite number")


def _may_hold_booleans(body: bytes) -> bool:
    """Whether JSON ``true``/``false`` may be among the values (NumPy would take them as 1/0)."""
    return b"true" in body or b"false" in body


def _count_problem(row: int, count: int, feature_dim: int) -> str:
    return f"row {row} has {count} features; the model expects {feature_dim}"


def _is_float64(value: int | float) -> bool:
    """Whether ``float(value)`` succeeds: a JSON number not too large for float64."""
    try:
        float(value)
    except (ValueError, OverflowError):
        return False
    return True
