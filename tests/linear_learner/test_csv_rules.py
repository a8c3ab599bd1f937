"""One set of CSV rules, the same for training channels and inference requests.

Each case is run through both real paths (a training pass read from a file, and an inference
request body, small and large) and through both readers (pyarrow's and the per-record one):
every path accepts it with the same values, or refuses it for the same reason.
"""

from __future__ import annotations

import numpy as np
import pytest

from local_aws.algorithms.linear_learner import payloads
from local_aws.algorithms.linear_learner.channels import FileChannel
from local_aws.algorithms.linear_learner.csv_blocks import PassLayout, read_pass
from local_aws.algorithms.linear_learner.csv_records import (
    RecordError,
    read_columnar,
    read_records,
)
from local_aws.algorithms.linear_learner.errors import ClientError
from local_aws.algorithms.linear_learner.payloads import PayloadError

ACCEPTED = {
    "a final line end": (b"1,2,3\n4,5,6\n", [[1, 2, 3], [4, 5, 6]]),
    "no final line end": (b"1,2,3\n4,5,6", [[1, 2, 3], [4, 5, 6]]),
    "CRLF line ends": (b"1,2,3\r\n4,5,6\r\n", [[1, 2, 3], [4, 5, 6]]),
    "spaces and tabs around numbers": (b" 1, 2 ,3\t\n4 ,5,\t6\n", [[1, 2, 3], [4, 5, 6]]),
    "signs, points and exponents": (
        b"+1,-2.5e-3,.5\n5.,1E+2,-0\n",
        [[1, -2.5e-3, 0.5], [5, 100, 0]],
    ),
}

# case -> (data, RecordError kind, words of the training message, serving: (row, the rest))
REFUSED = {
    "a quoted number": (b'1,"2",3\n', "number", "holds '\"2\"'", (1, ", feature 2: '\"2\"' is")),
    "a blank line": (b"1,2,3\n\n4,5,6\n", "empty", "a row is empty", (2, " is empty")),
    "a second final line end": (b"1,2,3\n4,5,6\n\n", "empty", "a row is empty", (3, " is empty")),
    "a leading blank line": (b"\n1,2,3\n", "empty", "a row is empty", (1, " is empty")),
    "a header": (b"y,x1,x2\n1,2,3\n", "number", "holds 'y'", (1, ", feature 1: 'y' is not")),
    "an empty cell": (b"1,,3\n", "number", "holds ''", (1, ", feature 2: '' is not a number")),
    "digit separators": (b"1,1_000,3\n", "number", "holds '1_000'", (1, ", feature 2: '1_000'")),
    "NaN": (b"1,2,3\n1,nan,3\n", "finite", "'nan', which is not a finite", (2, ", feature 2: nan")),
    "an infinity": (
        b"1,-inf,3\n",
        "finite",
        "'-inf', which is not a finite",
        (1, ", feature 2: -inf"),
    ),
    "a short row": (b"1,2,3\n4,5\n", "width", "a row has 2 columns", (2, " has 2 features")),
}

FILLER_ROW = b"0.25,-1.5,3\n"


def _training_pass(tmp_path, data: bytes) -> np.ndarray:
    """``data`` read as a training channel file: (3 columns, rows), label first."""
    part = tmp_path / "train" / "part-0"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(data)
    blocks = read_pass(FileChannel("train", part.parent), PassLayout("train", 10, None))
    return np.concatenate([block.values for block in blocks], axis=1)


def _large(data: bytes) -> bytes:
    """``data`` after enough good rows to take the columnar path of an inference request."""
    count = payloads.COLUMNAR_CSV_MIN_BYTES // len(FILLER_ROW) + 1
    return FILLER_ROW * count + data


@pytest.mark.parametrize("case", ACCEPTED)
def test_accepted_everywhere_with_the_same_values(tmp_path, case):
    data, expected = ACCEPTED[case]
    expected = np.array(expected, dtype=np.float64)
    np.testing.assert_array_equal(read_records(data, 3, np.float64).T, expected)
    np.testing.assert_array_equal(read_columnar(data, 3, np.float64).T, expected)
    np.testing.assert_array_equal(_training_pass(tmp_path, data).T, expected.astype(np.float32))
    np.testing.assert_array_equal(payloads.decode(payloads.CSV, data, 3), expected)
    large = payloads.decode(payloads.CSV, _large(data), 3)
    np.testing.assert_array_equal(large[-len(expected) :], expected)


@pytest.mark.parametrize("case", REFUSED)
def test_refused_everywhere_for_the_same_reason(tmp_path, case):
    data, kind, training_words, serving = REFUSED[case]
    assert read_columnar(data, 3, np.float64) is None
    with pytest.raises(RecordError) as refused:
        read_records(data, 3, np.float64)
    assert refused.value.kind == kind
    with pytest.raises(ClientError, match="Unable to parse csv: rows 1-10, file ") as training:
        _training_pass(tmp_path, data)
    assert training_words in str(training.value)
    row, rest = serving
    large = _large(data)
    shift = large.count(b"\n") - data.count(b"\n")
    for body, first_row in ((data, row), (large, row + shift)):
        with pytest.raises(PayloadError) as refused_request:
            payloads.decode(payloads.CSV, body, 3)
        assert f"provided: row {first_row}{rest}" in refused_request.value.message
