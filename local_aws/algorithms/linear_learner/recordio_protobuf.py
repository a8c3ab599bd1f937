"""RecordIO-protobuf (``application/x-recordio-protobuf``): the ``Record`` message, rows, responses.

The message is the SageMaker Python SDK's ``record.proto`` (package ``aialgs.data``; shipped in
SDK v2 as ``src/sagemaker/amazon/record.proto``), built here from ``descriptor_pb2`` with the
same message names and field numbers (no generated code):

- ``Float32Tensor`` / ``Float64Tensor`` / ``Int32Tensor``: ``values`` = 1 (packed float, double,
  int32), ``keys`` = 2 and ``shape`` = 3 (packed uint64);
- ``Bytes``: ``value`` = 1 (repeated bytes), ``content_type`` = 2;
- ``Value``: oneof ``value`` of ``float32_tensor`` = 2, ``float64_tensor`` = 3, ``int32_tensor``
  = 7, ``bytes`` = 9;
- ``Record``: ``features`` = 1 and ``label`` = 2 (``map<string, Value>``), ``uid`` = 3,
  ``metadata`` = 4, ``configuration`` = 5.

Each record is one RecordIO frame (``local_aws.recordio``). A row's features are
``features["values"]``: dense (``values`` only) or sparse (``keys`` indexing ``values``, and
``shape = [feature_dim]``), as ``write_numpy_to_dense_tensor`` and
``write_spmatrix_to_sparse_tensor`` write them; a training row's label is ``label["values"]``,
one value. AWS's linear-learner page says only Float32 tensors are supported; the SDK writes
Float64 for float64 arrays and Int32 for int arrays (``_resolve_type``), and reading those as
float32 here rather than failing is our choice, as is the wording of every problem below.
"""

from __future__ import annotations

import io
import numbers
from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from local_aws import recordio

CONTENT_TYPE = "application/x-recordio-protobuf"
FEATURES_KEY = "values"
LABEL_KEY = "values"
_TENSORS = ("float32_tensor", "float64_tensor", "int32_tensor")
_PACKED_FLOATS = {"float32_tensor": np.dtype("<f4"), "float64_tensor": np.dtype("<f8")}
_VALUES_TAG = 0x0A  # field 1 (values), wire type 2 (length-delimited: packed)
_FIELD = descriptor_pb2.FieldDescriptorProto


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """``record.proto`` as a descriptor (field numbers of the SDK's file, cited above)."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="aialgs/data/record.proto", package="aialgs.data", syntax="proto2"
    )
    for name, scalar in (
        ("Float32Tensor", _FIELD.TYPE_FLOAT),
        ("Float64Tensor", _FIELD.TYPE_DOUBLE),
        ("Int32Tensor", _FIELD.TYPE_INT32),
    ):
        tensor = proto.message_type.add(name=name)
        for field, number, kind in (
            ("values", 1, scalar),
            ("keys", 2, _FIELD.TYPE_UINT64),
            ("shape", 3, _FIELD.TYPE_UINT64),
        ):
            added = tensor.field.add(name=field, number=number, type=kind)
            added.label = _FIELD.LABEL_REPEATED
            added.options.packed = True
    raw = proto.message_type.add(name="Bytes")
    raw.field.add(name="value", number=1, type=_FIELD.TYPE_BYTES, label=_FIELD.LABEL_REPEATED)
    raw.field.add(
        name="content_type", number=2, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL
    )
    value = proto.message_type.add(name="Value")
    value.oneof_decl.add(name="value")
    for field, number, type_name in (
        ("float32_tensor", 2, "Float32Tensor"),
        ("float64_tensor", 3, "Float64Tensor"),
        ("int32_tensor", 7, "Int32Tensor"),
        ("bytes", 9, "Bytes"),
    ):
        value.field.add(
            name=field,
            number=number,
            type=_FIELD.TYPE_MESSAGE,
            type_name=f".aialgs.data.{type_name}",
            label=_FIELD.LABEL_OPTIONAL,
            oneof_index=0,
        )
    record = proto.message_type.add(name="Record")
    for field, number, entry in (("features", 1, "FeaturesEntry"), ("label", 2, "LabelEntry")):
        nested = record.nested_type.add(name=entry)
        nested.options.map_entry = True
        nested.field.add(name="key", number=1, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
        nested.field.add(
            name="value",
            number=2,
            type=_FIELD.TYPE_MESSAGE,
            type_name=".aialgs.data.Value",
            label=_FIELD.LABEL_OPTIONAL,
        )
        record.field.add(
            name=field,
            number=number,
            type=_FIELD.TYPE_MESSAGE,
            type_name=f".aialgs.data.Record.{entry}",
            label=_FIELD.LABEL_REPEATED,
        )
    for field, number in (("uid", 3), ("metadata", 4), ("configuration", 5)):
        record.field.add(
            name=field, number=number, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL
        )
    return proto


_POOL = descriptor_pool.DescriptorPool()  # our own pool: no clash with an imported record_pb2
_POOL.Add(_file_descriptor())
Record = message_factory.GetMessageClass(_POOL.FindMessageTypeByName("aialgs.data.Record"))


class RecordProblem(ValueError):
    """A record that cannot be read; ``record`` counts from 1 in its stream."""

    def __init__(self, record: int, problem: str):
        super().__init__(f"record {record}: {problem}")
        self.record = record
        self.problem = problem


def read_blocks(
    stream: BinaryIO,
    n_features: int | None,
    block_rows: int,
    labelled: bool,
    dtype=np.float32,
) -> Iterator[np.ndarray]:
    """The records of ``stream`` as dense (rows, labelled + n_features) arrays of ``dtype``.

    With ``labelled``, column 0 is the label. Each array holds ``block_rows`` rows (the last
    fewer), so memory is bounded by one block. ``n_features`` None takes the width of the first
    record. Raises RecordProblem for the first record that cannot be read (damaged framing, not
    a Record), is the wrong width, has keys out of range, a label that is not one value (when
    ``labelled``) or a non-finite value.
    """
    offset = int(labelled)
    for first, payloads in _batches(stream, block_rows):
        record = _parse(payloads[0], first)
        if n_features is None:
            n_features = _width(_tensor(record.features, FEATURES_KEY, first, "features")[1], first)
        block = np.zeros((len(payloads), offset + n_features), dtype)
        done = _fill_same_layout(payloads, record, block, labelled)
        for index in np.flatnonzero(~done):
            number = first + int(index)
            try:
                _fill_row(_parse(payloads[index], number), block[index], labelled, number)
            except RecordProblem:
                _checked(block[:index], first)  # an earlier non-finite row is named first
                raise
        yield _checked(block, first)


def _batches(stream: BinaryIO, size: int) -> Iterator[tuple[int, list[bytes]]]:
    """``(number of the first record, up to size payloads)``; damaged framing raises
    RecordProblem after the records before it have been handed out."""
    batch, number, failure = [], 0, None
    try:
        for number, payload in enumerate(recordio.read_frames(stream), start=1):
            batch.append(payload)
            if len(batch) == size:
                yield number - size + 1, batch
                batch = []
    except recordio.RecordIOError as error:
        failure = RecordProblem(number + 1, str(error))
    if batch:
        yield number - len(batch) + 1, batch
    if failure is not None:
        raise failure


def _parse(payload: bytes, number: int) -> Record:
    try:
        return Record.FromString(payload)
    except DecodeError:
        raise RecordProblem(number, "the payload is not a Record protobuf message") from None


def _fill_row(record, row: np.ndarray, labelled: bool, number: int) -> None:
    """Write one record into ``row`` (label first when ``labelled``); RecordProblem if bad."""
    kind, tensor = _tensor(record.features, FEATURES_KEY, number, "features")
    _fill_features(kind, tensor, row[int(labelled) :], number)
    if labelled:
        row[0] = _label(record, number)


def _fill_same_layout(payloads: list[bytes], record, block: np.ndarray, labelled: bool):
    """Fill the rows whose payload has ``record``'s layout, all at once; returns which rows.

    ``record`` (the parse of ``payloads[0]``) qualifies when it is a dense float record with
    nothing else (the layout ``write_numpy_to_dense_tensor`` and ``RecordSerializer`` write)
    in canonical encoding. Then every payload of the same length whose bytes equal it outside
    the packed feature and label values has the same fields, and its values are those bytes
    (any bytes are valid packed floats), read for all rows with one ``np.frombuffer``. The
    other rows are left for the per-record path, which also names every problem.
    """
    done = np.zeros(len(payloads), dtype=bool)
    layout = _dense_layout(payloads[0], record, block.shape[1] - int(labelled), labelled)
    if layout is None:
        return done
    length, template, keep, features, label = layout
    same_length = np.flatnonzero([len(payload) == length for payload in payloads])
    joined = b"".join(payloads[i] for i in same_length)
    data = np.frombuffer(joined, np.uint8).reshape(len(same_length), length)
    matches = (data[:, keep] == template[keep]).all(axis=1)
    rows, data = same_length[matches], data[matches]
    start, stop, kind = features
    block[rows, int(labelled) :] = np.ascontiguousarray(data[:, start:stop]).view(kind)
    if label is not None:
        start, kind = label
        block[rows, 0] = np.ascontiguousarray(data[:, start:]).view(kind)[:, 0]
    done[rows] = True
    return done


def _dense_layout(payload: bytes, record, n_features: int, labelled: bool):
    """``(length, bytes as uint8, mask of the fixed bytes, (start, stop, dtype) of the feature
    values, (start, dtype) of the label value or None)``, or None if ``record`` does not
    qualify (see ``_fill_same_layout``) or its values are not where the encoding puts them."""
    if any(record.HasField(name) for name in ("uid", "metadata", "configuration")):
        return None
    features = _lone_float_tensor(record.features, FEATURES_KEY)
    label = _lone_float_tensor(record.label, LABEL_KEY) if labelled else None
    if features is None or len(features[1].values) != n_features:
        return None
    if (labelled and (label is None or len(label[1].values) != 1)) or (
        not labelled and len(record.label)
    ):
        return None
    if record.SerializeToString() != payload:  # not canonical: leave it to the slow path
        return None
    only_features = Record()
    only_features.features[FEATURES_KEY].CopyFrom(record.features[FEATURES_KEY])
    stop = only_features.ByteSize()  # field 1 (features) comes first, its values last
    dtype = _PACKED_FLOATS[features[0]]
    start = stop - n_features * dtype.itemsize
    template = np.frombuffer(payload, np.uint8)
    keep = np.ones(len(payload), dtype=bool)
    keep[start:stop] = False
    if template[start:stop].tobytes() != np.array(features[1].values, dtype).tobytes():
        return None
    label_part = None
    if label is not None:
        label_type = _PACKED_FLOATS[label[0]]
        label_start = len(payload) - label_type.itemsize  # field 2 (label) comes last
        if template[label_start:].tobytes() != np.array(label[1].values, label_type).tobytes():
            return None
        keep[label_start:] = False
        label_part = (label_start, label_type)
    return len(payload), template, keep, (start, stop, dtype), label_part


def _lone_float_tensor(tensors, key: str):
    """``(kind, tensor)`` if ``tensors`` holds only ``key``, a dense float tensor; else None."""
    if len(tensors) != 1 or key not in tensors:
        return None
    kind = tensors[key].WhichOneof("value")
    if kind not in _PACKED_FLOATS:
        return None
    tensor = getattr(tensors[key], kind)
    return None if len(tensor.keys) or len(tensor.shape) else (kind, tensor)


def encode_predictions(predictions: Iterable[Mapping[str, object]]) -> bytes:
    """One framed Record per prediction; its ``label`` maps each numeric key to a Float32Tensor.

    A number becomes a one-value tensor, a list of numbers (per-class scores) a tensor of that
    many values; other keys are left out. ``features`` stays empty, as the real response's.
    """
    out = io.BytesIO()
    record = Record()
    for prediction in predictions:
        record.Clear()
        for key, value in prediction.items():
            values = list(value) if isinstance(value, list | tuple | np.ndarray) else [value]
            if all(isinstance(v, numbers.Real) for v in values):
                record.label[key].float32_tensor.values.extend(values)
        recordio.write_frame(out, record.SerializeToString())
    return out.getvalue()


def _tensor(tensors, key: str, number: int, where: str):
    """``(oneof name, tensor)`` of ``tensors[key]`` in record ``number``; RecordProblem if it is
    absent or not numeric."""
    value = tensors.get(key)
    if value is None:
        present = ", ".join(repr(k) for k in tensors) or "none"
        raise RecordProblem(number, f'{where}["{key}"] is missing (keys present: {present})')
    kind = value.WhichOneof("value")
    if kind not in _TENSORS:
        raise RecordProblem(
            number, f'{where}["{key}"] holds {kind or "nothing"}, not a numeric tensor'
        )
    return kind, getattr(value, kind)


def _is_sparse(tensor) -> bool:
    """Sparse: keys given, or a shape with no values (an all-zero sparse row)."""
    return bool(len(tensor.keys)) or (bool(len(tensor.shape)) and not len(tensor.values))


def _width(tensor, number: int) -> int:
    """The number of features a record holds (sparse: its shape)."""
    if _is_sparse(tensor):
        _check_sparse_shape(tensor, number, None)
        return int(tensor.shape[0])
    return len(tensor.values)


def _check_sparse_shape(tensor, number: int, n_features: int | None) -> None:
    shape = list(tensor.shape)
    if len(shape) != 1 or (n_features is not None and shape[0] != n_features):
        wanted = "[feature_dim]" if n_features is None else f"[{n_features}]"
        raise RecordProblem(number, f"sparse features have shape {shape}; expected {wanted}")


def _fill_features(kind: str, tensor, row: np.ndarray, number: int) -> None:
    """Write the record's features into ``row`` (zeros where a sparse record has no key)."""
    n_features = row.shape[0]
    if not _is_sparse(tensor):
        if len(tensor.values) != n_features or len(tensor.shape) not in (0, 1):
            raise RecordProblem(number, _width_problem(len(tensor.values), n_features))
        if len(tensor.shape) and tensor.shape[0] != len(tensor.values):
            raise RecordProblem(
                number, f"shape {list(tensor.shape)} does not match {len(tensor.values)} values"
            )
        row[:] = _values(kind, tensor)
        return
    _check_sparse_shape(tensor, number, n_features)
    keys = np.array(tensor.keys, dtype=np.uint64)
    if len(keys) != len(tensor.values):
        raise RecordProblem(
            number, f"sparse features have {len(keys)} keys but {len(tensor.values)} values"
        )
    if len(keys) and keys.max() >= n_features:
        bad = int(keys[np.argmax(keys >= n_features)])
        raise RecordProblem(number, f"key {bad} is not a feature index in [0, {n_features})")
    row[keys.astype(np.intp)] = _values(kind, tensor)


def _values(kind: str, tensor):
    """The tensor's ``values``: for float tensors a NumPy view of their packed wire bytes.

    A packed float field is its values as little-endian IEEE numbers, one after another
    (protobuf encoding guide, "Packed Repeated Fields"); reading them with ``np.frombuffer``
    spares a Python float per value, which the repeated field's own conversion creates. Our
    descriptor declares ``values`` packed, so its serialization always is; any other layout
    falls back to the repeated field.
    """
    dtype = _PACKED_FLOATS.get(kind)
    if dtype is None or not len(tensor.values):
        return tensor.values
    wire = tensor.SerializeToString()
    length, start, shift = 0, 1, 0
    while wire[0] == _VALUES_TAG and start < len(wire):
        byte = wire[start]
        length |= (byte & 0x7F) << shift
        start, shift = start + 1, shift + 7
        if byte < 0x80:
            return np.frombuffer(wire, dtype, length // dtype.itemsize, start)
    return tensor.values


def _width_problem(count: int, n_features: int) -> str:
    """The width problem in the real log's words (reference spec section 6) and ours."""
    return (
        f"cannot copy sequence with size {count} to array axis with dimension {n_features} "
        f"(the record has {count} features; feature_dim is {n_features})"
    )


def _label(record, number: int) -> float:
    _, tensor = _tensor(record.label, LABEL_KEY, number, "label")
    if len(tensor.values) != 1:
        raise RecordProblem(
            number, f'label["{LABEL_KEY}"] holds {len(tensor.values)} values; expected one'
        )
    return tensor.values[0]


def _checked(block: np.ndarray, first_number: int) -> np.ndarray:
    """``block`` if every value is finite; else RecordProblem naming the first bad record."""
    finite = np.isfinite(block)
    if not finite.all():
        row = int(np.argmin(finite.all(axis=1)))
        raise RecordProblem(first_number + row, "a value is not a finite number")
    return block
