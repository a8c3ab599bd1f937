"""The CSV parsers hand pyarrow memory it owns, never a view of a Python ``bytes`` object.

pyarrow frees a reader's input on its own worker threads after ``read_csv`` returns; freeing a
view of Python memory there needs the GIL, and aborts the process (SIGABRT) when the
interpreter is already exiting. These tests check the property that prevents it.
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from local_aws.algorithms.linear_learner.arrow_memory import arrow_owned
from local_aws.algorithms.linear_learner.csv_records import read_columnar

BODY = b"".join(b"%d.5,%d,-%d.25\n" % (i, i % 7, i) for i in range(3000))


def address(data: bytes) -> int:
    return np.frombuffer(data, dtype=np.uint8).ctypes.data


def test_arrow_owned_is_a_copy_holding_no_reference_to_the_bytes():
    data = bytes(BODY)
    references = sys.getrefcount(data)
    buffer = arrow_owned(data)
    assert sys.getrefcount(data) == references
    assert buffer.address != address(data)
    assert buffer.to_pybytes() == data


def test_arrow_owned_of_nothing_is_an_empty_buffer():
    assert arrow_owned(b"").size == 0


@pytest.mark.parametrize(
    "dtype", [np.float32, np.float64], ids=["training-chunk", "inference-request"]
)
def test_the_csv_reader_gives_pyarrow_arrow_owned_memory(monkeypatch, dtype):
    sources = []
    real_read_csv = pacsv.read_csv

    def recording_read_csv(source, *args, **kwargs):
        sources.append(source)
        return real_read_csv(source, *args, **kwargs)

    monkeypatch.setattr(pacsv, "read_csv", recording_read_csv)
    body = bytes(BODY)
    values = read_columnar(body, 3, dtype)
    expected = np.loadtxt(BODY.decode().splitlines(), delimiter=",").T
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert sources, "the parser did not use pyarrow"
    for source in sources:
        assert isinstance(source, pa.Buffer)
        assert source.address != address(body), "pyarrow was given a view of Python bytes"
