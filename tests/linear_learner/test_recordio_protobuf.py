"""RecordIO-protobuf: the Record message, training on it, and serving it (request and response).

The SDK v2 tests run the SDK's own writers and readers (``sagemaker.amazon.common``,
``RecordSerializer``, ``RecordDeserializer``) in the venv named by ``SDK_V2_PYTHON`` and exchange
data through files (SDK v2 prints a config line on stdout at import). That venv has no scipy, so
for ``write_spmatrix_to_sparse_tensor`` the subprocess sees this venv's scipy (the same numpy
version) through a directory holding only a link to it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import scipy
import scipy.sparse
from google.protobuf import descriptor_pb2

from local_aws import recordio
from local_aws.algorithms.linear_learner import payloads, recordio_protobuf
from local_aws.algorithms.linear_learner.channels import FileChannel, PipeChannel
from local_aws.algorithms.linear_learner.errors import ClientError
from local_aws.algorithms.linear_learner.recordio_protobuf import Record
from local_aws.algorithms.linear_learner.training import train

from .test_serve_http import ROWS, expected_scores, running_server

PROTOBUF = "application/x-recordio-protobuf"
SDK_V2_PYTHON = os.environ.get("SDK_V2_PYTHON")
needs_sdk_v2 = pytest.mark.skipif(not SDK_V2_PYTHON, reason="SDK_V2_PYTHON not set")
HYPERPARAMETERS = {"predictor_type": "regressor", "mini_batch_size": "100", "epochs": "3"}


def run_sdk_v2(tmp_path: Path, script: str) -> None:
    """Run ``script`` (working directory ``tmp_path``) with SDK v2's Python."""
    scipy_only = tmp_path / "scipy-only"
    scipy_only.mkdir(exist_ok=True)
    site = Path(scipy.__file__).parents[1]
    for name in ("scipy", "scipy.libs"):
        if (site / name).exists() and not (scipy_only / name).exists():
            (scipy_only / name).symlink_to(site / name)
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(scipy_only),
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    }
    done = subprocess.run(
        [SDK_V2_PYTHON, "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def read_all(path: Path, n_features=None, labelled=True, dtype=np.float64) -> np.ndarray:
    with open(path, "rb") as stream:
        blocks = list(recordio_protobuf.read_blocks(stream, n_features, 7, labelled, dtype))
    return np.concatenate(blocks)


def frames(*records) -> bytes:
    return b"".join(recordio.frame(record.SerializeToString()) for record in records)


def dense(features, label=None, kind="float32_tensor") -> Record:
    record = Record()
    getattr(record.features["values"], kind).values.extend(features)
    if label is not None:
        getattr(record.label["values"], kind).values.extend(np.atleast_1d(label).tolist())
    return record


def sparse(keys, values, width, label=None) -> Record:
    record = dense(values, label)
    record.features["values"].float32_tensor.keys.extend(keys)
    record.features["values"].float32_tensor.shape.append(width)
    return record


# --- the message and the SDK v2's own code ------------------------------------------------------


@needs_sdk_v2
def test_the_message_has_the_sdk_record_proto_fields(tmp_path):
    run_sdk_v2(
        tmp_path,
        "from sagemaker.amazon import record_pb2\n"
        "open('record.desc', 'wb').write(record_pb2.DESCRIPTOR.serialized_pb)\n",
    )
    theirs = descriptor_pb2.FileDescriptorProto.FromString((tmp_path / "record.desc").read_bytes())
    ours = descriptor_pb2.FileDescriptorProto()
    Record.DESCRIPTOR.file.CopyToProto(ours)

    def fields(proto):
        return {
            (message.name, nested.name, field.name): (
                field.number,
                field.type,
                field.label,
                field.type_name,
                field.options.packed,
                field.HasField("oneof_index"),
            )
            for message in proto.message_type
            for nested in [message, *message.nested_type]
            for field in nested.field
        }

    assert ours.package == theirs.package == "aialgs.data"
    assert fields(ours) == fields(theirs)


@needs_sdk_v2
def test_files_written_by_the_sdk_v2_read_back_as_the_same_numbers(tmp_path):
    run_sdk_v2(
        tmp_path,
        "import numpy as np, scipy.sparse as sp\n"
        "from sagemaker.amazon.common import (write_numpy_to_dense_tensor,\n"
        "    write_spmatrix_to_sparse_tensor)\n"
        "rng = np.random.default_rng(5)\n"
        "x = rng.normal(size=(50, 6)) * 1e3\n"
        "m = sp.random(40, 30, density=0.1, random_state=3, format='csr')\n"
        "cases = {\n"
        "    'dense32': (write_numpy_to_dense_tensor, x.astype('float32'),\n"
        "                x[:, 0].astype('float32')),\n"
        "    'dense64': (write_numpy_to_dense_tensor, x, np.arange(50)),\n"
        "    'dense_int': (write_numpy_to_dense_tensor, x.astype(int), x[:, 1]),\n"
        "    'sparse32': (write_spmatrix_to_sparse_tensor, m.astype('float32'),\n"
        "                 np.arange(40).astype('float32')),\n"
        "    'sparse64': (write_spmatrix_to_sparse_tensor, m, np.arange(40)),\n"
        "}\n"
        "for name, (write, features, labels) in cases.items():\n"
        "    with open(name + '.rec', 'wb') as f:\n"
        "        write(f, features, labels)\n"
        "    dense = features.toarray() if sp.issparse(features) else features\n"
        "    np.save(name + '.npy', np.column_stack([labels, dense]).astype('float64'))\n",
    )
    for name in ("dense32", "dense64", "dense_int", "sparse32", "sparse64"):
        expected = np.load(tmp_path / f"{name}.npy")
        read = read_all(tmp_path / f"{name}.rec")
        assert read.shape == expected.shape, name
        np.testing.assert_array_equal(read, expected, err_msg=name)  # Float64 kept in float64
        as_float32 = read_all(tmp_path / f"{name}.rec", dtype=np.float32)
        np.testing.assert_array_equal(as_float32, expected.astype(np.float32), err_msg=name)
    features = read_all(tmp_path / "sparse32.rec", 30, labelled=False)
    assert features.shape == (40, 30)


@needs_sdk_v2
def test_responses_read_back_with_the_sdk_v2_readers(tmp_path):
    predictions = [{"score": 0.25}, {"score": -7.5, "predicted_label": 1.0}]
    predictions.append({"score": [0.1, 0.7, 0.2], "predicted_label": 1, "note": "text"})
    (tmp_path / "response.rec").write_bytes(recordio_protobuf.encode_predictions(predictions))
    run_sdk_v2(
        tmp_path,
        "import io, json\n"
        "from sagemaker.amazon.common import read_records\n"
        "from sagemaker.deserializers import RecordDeserializer\n"
        "body = open('response.rec', 'rb').read()\n"
        "def labels(records):\n"
        "    return [{k: list(v.float32_tensor.values) for k, v in r.label.items()}\n"
        "            for r in records]\n"
        "records = RecordDeserializer().deserialize(io.BytesIO(body), 'unused')\n"
        "assert all(not r.features for r in records)\n"
        "json.dump([labels(read_records(io.BytesIO(body))), labels(records)],\n"
        "          open('labels.json', 'w'))\n",
    )
    read, deserialized = json.loads((tmp_path / "labels.json").read_text())
    expected = [
        {"score": [0.25]},
        {"score": [-7.5], "predicted_label": [1.0]},
        {"score": pytest.approx([0.1, 0.7, 0.2]), "predicted_label": [1.0]},
    ]
    assert read == deserialized == expected


@needs_sdk_v2
def test_requests_of_the_sdk_v2_record_serializer_are_decoded(tmp_path):
    run_sdk_v2(
        tmp_path,
        "import numpy as np\n"
        "from sagemaker.serializers import RecordSerializer\n"
        "rows = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 1e-3, 7.0]], dtype='float32')\n"
        "open('request.rec', 'wb').write(RecordSerializer().serialize(rows).read())\n"
        "open('one.rec', 'wb').write(RecordSerializer().serialize(rows[0]).read())\n",
    )
    features = payloads.decode(PROTOBUF, (tmp_path / "request.rec").read_bytes(), 4)
    expected = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 1e-3, 7.0]], dtype=np.float32)
    np.testing.assert_array_equal(features, expected)
    one = payloads.decode(PROTOBUF, (tmp_path / "one.rec").read_bytes(), 4)
    np.testing.assert_array_equal(one, expected[:1])


# --- reading: blocks and problems ---------------------------------------------------------------


def test_blocks_are_bounded_and_sparse_rows_are_filled_with_zeros():
    records = [sparse([i % 5, 9], [i, -1.0], 10, label=i) for i in range(23)]
    records.append(sparse([], [], 10, label=99.0))  # an all-zero row
    stream = io.BytesIO(frames(*records))
    blocks = list(recordio_protobuf.read_blocks(stream, None, 10, labelled=True))
    assert [block.shape for block in blocks] == [(10, 11), (10, 11), (4, 11)]
    rows = np.concatenate(blocks)
    assert rows[:23, 0].tolist() == list(range(23))
    assert rows[7, 1 + 2] == 7 and rows[7, 1 + 9] == -1 and rows[7, 1:].sum() == 6
    assert rows[23].tolist() == [99.0] + [0.0] * 10


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            frames(dense([1, 2, 3], 1.0), dense([1, 2], 1.0)),
            "record 2: cannot copy sequence with size 2 to array axis with dimension 3",
        ),
        (
            frames(dense([1, 2, 3], 1.0), dense([1, 2, 3], [1.0, 2.0])),
            'record 2: label["values"] holds 2 values; expected one',
        ),
        (frames(dense([1, 2, 3])), 'record 1: label["values"] is missing (keys present: none)'),
        (
            frames(dense([1, 2, 3], 1.0), sparse([0, 3], [1, 1], 3, 1.0)),
            "record 2: key 3 is not a feature index in [0, 3)",
        ),
        (
            frames(dense([1, 2, 3], 1.0), sparse([0], [1], 4, 1.0)),
            "record 2: sparse features have shape [4]; expected [3]",
        ),
        (
            frames(dense([1, 2, 3], 1.0)) + frames(dense([1, 2, 3], 1.0))[:-3],
            "record 2: RecordIO stream ends inside the record at byte",
        ),
        (recordio.frame(b"\xff\xff"), "record 1: the payload is not a Record protobuf message"),
        (
            frames(dense([1, float("nan"), 3], 1.0)),
            "record 1: a value is not a finite number",
        ),
    ],
)
def test_bad_records_are_named(data, problem):
    with pytest.raises(recordio_protobuf.RecordProblem) as failure:
        list(recordio_protobuf.read_blocks(io.BytesIO(data), 3, 10, labelled=True))
    assert str(failure.value).startswith(problem)


def test_a_record_without_the_values_feature_is_named():
    record = Record()
    record.features["pixels"].float32_tensor.values.extend([1.0])
    record.label["values"].float32_tensor.values.append(1.0)
    with pytest.raises(recordio_protobuf.RecordProblem) as failure:
        list(recordio_protobuf.read_blocks(io.BytesIO(frames(record)), None, 10, True))
    assert (
        str(failure.value) == "record 1: features[\"values\"] is missing (keys present: 'pixels')"
    )
    record = Record()
    record.features["values"].bytes.value.append(b"\x89PNG")
    with pytest.raises(recordio_protobuf.RecordProblem) as failure:
        list(recordio_protobuf.read_blocks(io.BytesIO(frames(record)), None, 10, False))
    assert str(failure.value) == 'record 1: features["values"] holds bytes, not a numeric tensor'


# --- training -----------------------------------------------------------------------------------


def write_dense(path: Path, features: np.ndarray, labels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frames(*(dense(x.tolist(), y) for x, y in zip(features, labels, strict=True))))
    return path


def test_protobuf_trains_to_the_same_model_as_the_same_rows_as_csv(
    tmp_path, linear_data, write_training_csv
):
    x, y, weights, bias = linear_data(rows=1500)
    x, y = x.astype(np.float32), y.astype(np.float32)
    write_training_csv(tmp_path / "csv" / "part-0", y, x)
    write_dense(tmp_path / "pb" / "part-0", x[:700], y[:700])
    write_dense(tmp_path / "pb" / "part-1", x[700:], y[700:])
    from_csv = train(
        HYPERPARAMETERS,
        {"train": FileChannel("train", tmp_path / "csv")},
        tmp_path / "m1",
        lambda _: None,
    )
    channels = {"train": FileChannel("train", tmp_path / "pb", PROTOBUF)}
    from_protobuf = train(HYPERPARAMETERS, channels, tmp_path / "m2", lambda _: None)
    assert from_protobuf.train_rows == from_csv.train_rows == 1500
    assert from_protobuf.scores["train"] == pytest.approx(from_csv.scores["train"], rel=1e-3)
    np.testing.assert_allclose(from_protobuf.model.weights, from_csv.model.weights, rtol=1e-3)
    np.testing.assert_allclose(from_protobuf.model.weights, weights, rtol=0.2)


def test_pipe_mode_reads_sparse_records_pass_by_pass(tmp_path, linear_data, write_training_csv):
    x, y, _, _ = linear_data(rows=600, features=6)
    x, y = x.astype(np.float32), y.astype(np.float32)
    x[:, ::2] = 0.0
    matrix = scipy.sparse.csr_matrix(x)
    records = []
    for row in range(600):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        records.append(sparse(matrix.indices[start:end], matrix.data[start:end], 6, y[row]))
    for k in range(6):
        (tmp_path / f"train_{k}").write_bytes(frames(*records))
    channels = {"train": PipeChannel("train", tmp_path, PROTOBUF)}
    result = train(HYPERPARAMETERS, channels, tmp_path / "model", lambda _: None)
    assert channels["train"].passes_opened == 5  # scaler, 3 epochs, final train score
    assert result.feature_dim == 6 and result.train_rows == 600
    write_training_csv(tmp_path / "csv" / "part-0", y, x)
    channels = {"train": FileChannel("train", tmp_path / "csv")}
    from_csv = train(HYPERPARAMETERS, channels, tmp_path / "m-csv", lambda _: None)
    assert result.scores["train"] == pytest.approx(from_csv.scores["train"], rel=1e-3)


@pytest.mark.parametrize(
    ("content", "wording"),
    [
        (
            b"1.5,2.0,3.0\n",
            "record 1, file {part}: not RecordIO: expected magic number 0xCED7230A at byte 0, "
            "found 0x2C352E31; a channel without ContentType is read as "
            "application/x-recordio-protobuf",
        ),
        (
            frames(*[dense([1.0, 2.0], 1.0)] * 150, dense([1.0, 2.0, 3.0], 1.0)),
            "record 151, file {part}: cannot copy sequence with size 3 to array axis with "
            "dimension 2",
        ),
    ],
)
def test_bad_training_data_names_the_file_and_record(tmp_path, content, wording):
    part = tmp_path / "train" / "part-0"
    part.parent.mkdir()
    part.write_bytes(content)
    channels = {"train": FileChannel("train", part.parent, PROTOBUF)}
    with pytest.raises(ClientError) as failure:
        train(HYPERPARAMETERS, channels, tmp_path / "model", lambda _: None)
    message = str(failure.value)
    assert message.startswith("ClientError: Unable to read RecordIO-protobuf: ")
    assert wording.format(part=part) in message
    assert not (tmp_path / "model").exists()


# --- serving ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from local_aws.algorithms.linear_learner import artifact

    from .test_serve_http import BIAS, WEIGHTS

    directory = tmp_path_factory.mktemp("model")
    artifact.save(artifact.LinearModel(weights=WEIGHTS, bias=BIAS), directory)
    with running_server(directory, tmp_path_factory.mktemp("logs") / "stderr.txt") as running:
        yield running


def request_body() -> bytes:
    """ROWS as records: dense, then sparse, then dense Float64, then dense with a label."""
    return frames(
        dense(ROWS[0].tolist()),
        sparse([], [], 4),  # ROWS[1] is all zeros
        dense(ROWS[2].tolist(), kind="float64_tensor"),
        dense(ROWS[3].tolist(), label=123.0),  # a label in a request is ignored
    )


def test_protobuf_requests_are_answered_with_json_by_default(server):
    status, headers, body = server.invoke(request_body(), PROTOBUF)
    assert status == 200 and headers["Content-Type"] == "application/json"
    scores = [item["score"] for item in json.loads(body)["predictions"]]
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-12)


def test_protobuf_responses_hold_one_record_per_row(server):
    status, headers, body = server.invoke(request_body(), PROTOBUF, accept=PROTOBUF)
    assert status == 200 and headers["Content-Type"] == PROTOBUF
    records = [Record.FromString(p) for p in recordio.read_frames(io.BytesIO(body))]
    assert [list(r.label) for r in records] == [["score"]] * 4
    assert all(not r.features for r in records)
    scores = [r.label["score"].float32_tensor.values[0] for r in records]
    np.testing.assert_allclose(scores, expected_scores(ROWS), rtol=1e-6)
    status, _, body = server.invoke("1,2,3,4\n", "text/csv", accept=PROTOBUF)
    assert status == 200 and len(list(recordio.read_frames(io.BytesIO(body)))) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (frames(dense([1, 2, 3, 4]), dense([1, 2, 3])), "record 2: cannot copy sequence with size"),
        (frames(sparse([4], [1.0], 4)), "record 1: key 4 is not a feature index in [0, 4)"),
        (b"1,2,3,4\n", "record 1: not RecordIO: expected magic number"),
        (recordio.frame(b"\x0a"), "record 1: the payload is not a Record protobuf message"),
    ],
)
def test_bad_protobuf_requests_get_400_naming_the_record(server, body, message):
    status, headers, answer = server.invoke(body, PROTOBUF)
    assert status == 400 and headers["Content-Type"] == "text/plain"
    assert answer.decode().startswith("Unable to evaluate payload provided: " + message), answer
    status, _, _ = server.invoke(request_body(), PROTOBUF)  # still serving
    assert status == 200


# --- the same-layout path (many dense records decoded at once) -----------------------------------


def test_same_layout_records_decode_as_record_by_record():
    rng = np.random.default_rng(11)
    values = rng.normal(size=(40, 5)) * 10.0 ** rng.integers(-30, 30, size=(40, 5))
    records = [
        dense(row.tolist(), float(label), "float64_tensor")
        for row, label in zip(values, values[:, 0] * 3, strict=True)
    ]
    odd = dense(values[7].tolist(), float(values[7, 0] * 3), "float64_tensor")
    odd.uid = "row-8"  # another layout: read record by record
    records[7] = odd
    records[20] = sparse([1, 4], [2.0, -3.0], 5, label=9.0)
    records[21] = dense(values[21].tolist(), float(values[21, 0] * 3))  # float32 tensors
    data = frames(*records)
    payloads = list(recordio.read_frames(io.BytesIO(data)))
    block = np.zeros((40, 6))
    done = recordio_protobuf._fill_same_layout(payloads, records[0], block, labelled=True)
    assert np.flatnonzero(~done).tolist() == [7, 20, 21]  # the rest were read at once
    together = read_all_bytes(data, block_rows=40)
    one_by_one = np.concatenate([read_all_bytes(frames(r), block_rows=1) for r in records])
    np.testing.assert_array_equal(together, one_by_one)
    np.testing.assert_array_equal(together[:7, 1:], values[:7])
    np.testing.assert_array_equal(together[20], [9.0, 0, 2.0, 0, 0, -3.0])


def read_all_bytes(data: bytes, block_rows: int) -> np.ndarray:
    blocks = recordio_protobuf.read_blocks(io.BytesIO(data), None, block_rows, True, np.float64)
    return np.concatenate(list(blocks))


def test_the_first_bad_record_is_named_whichever_path_reads_it():
    records = [dense([1.0, 2.0], 1.0) for _ in range(30)]
    records[4] = dense([1.0, float("inf")], 1.0)  # same layout: read with the block
    records[12] = dense([1.0, 2.0, 3.0], 1.0)  # another layout: read alone, and too wide
    with pytest.raises(recordio_protobuf.RecordProblem) as failure:
        list(recordio_protobuf.read_blocks(io.BytesIO(frames(*records)), 2, 30, True))
    assert str(failure.value) == "record 5: a value is not a finite number"
    records[4] = dense([1.0, 2.0], 1.0)
    with pytest.raises(recordio_protobuf.RecordProblem) as failure:
        list(recordio_protobuf.read_blocks(io.BytesIO(frames(*records)), 2, 30, True))
    assert str(failure.value).startswith("record 13: cannot copy sequence with size 3")


def test_classifier_answers_as_protobuf_carry_score_and_predicted_label():
    """A classifier's predictions (``artifact.LinearModel.predictions``) with Accept
    RecordIO-protobuf: one Record per row, ``score`` and ``predicted_label`` in its label map."""
    binary = {"score": np.array([0.2, 0.9]), "predicted_label": np.array([0, 1])}
    multiclass = {"score": np.array([[0.1, 0.7, 0.2]]), "predicted_label": np.array([1])}
    for predictions, expected in [
        (
            binary,
            [
                {"score": [0.2], "predicted_label": [0.0]},
                {"score": [0.9], "predicted_label": [1.0]},
            ],
        ),
        (multiclass, [{"score": [0.1, 0.7, 0.2], "predicted_label": [1.0]}]),
    ]:
        body = payloads.encode_predictions(payloads.RECORDIO_PROTOBUF, predictions)
        records = [Record.FromString(p) for p in recordio.read_frames(io.BytesIO(body))]
        labels = [
            {key: list(value.float32_tensor.values) for key, value in r.label.items()}
            for r in records
        ]
        assert labels == [{k: pytest.approx(v) for k, v in row.items()} for row in expected]
