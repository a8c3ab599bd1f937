"""Request decoding, response encoding and content negotiation, in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest

from local_aws.algorithms.linear_learner import content_types, csv_records, payloads
from local_aws.algorithms.linear_learner.payloads import InvocationError, PayloadError


def csv_body(rows: np.ndarray) -> bytes:
    return ("\n".join(",".join(map(repr, row)) for row in rows.tolist()) + "\n").encode()


@pytest.fixture(scope="module")
def mixed_rows() -> np.ndarray:
    """(20000, 6): negatives, exponents, integers and zeros; well above the columnar threshold."""
    rng = np.random.default_rng(3)
    rows = rng.normal(scale=1e3, size=(20_000, 6))
    rows[:, 1] = rng.integers(-5, 5, size=20_000)
    rows[:, 2] *= 1e-9
    rows[::7, 3] = 0.0
    return rows


def test_columnar_and_per_row_csv_readers_agree_exactly(mixed_rows):
    body = csv_body(mixed_rows)
    assert len(body) > payloads.COLUMNAR_CSV_MIN_BYTES
    columnar = csv_records.read_columnar(body, 6, np.float64)
    per_row = csv_records.read_records(body, 6, np.float64)
    np.testing.assert_array_equal(columnar.T, mixed_rows)
    np.testing.assert_array_equal(per_row.T, mixed_rows)


@pytest.mark.parametrize(
    "bad_line", [b"1,2,3,4,5", b"1,2,3,4,5,6,7", b"1,2,x,4,5,6", b"1,2,,4,5,6", b""]
)
def test_a_large_request_with_a_bad_row_is_refused_naming_it(mixed_rows, bad_line):
    lines = csv_body(mixed_rows).rstrip().split(b"\n")
    lines[12_345] = bad_line
    body = b"\n".join(lines)
    assert csv_records.read_columnar(body, 6, np.float64) is None
    with pytest.raises(PayloadError, match=r"row 12346\b"):
        payloads.decode_csv(body, 6)


def test_decode_returns_float64_rows_for_every_request_type():
    rows = [[1, 2.5, -3], [0, 0, 1e-3]]
    bodies = {
        payloads.CSV: b"1,2.5,-3\n0,0,0.001",
        payloads.JSON: json.dumps({"instances": [{"features": row} for row in rows]}).encode(),
        payloads.JSONLINES: b'{"features": [1, 2.5, -3]}\n{"features": [0, 0, 0.001]}',
    }
    for media_type, body in bodies.items():
        features = payloads.decode(media_type, body, 3)
        assert features.dtype == np.float64 and features.shape == (2, 3)
        np.testing.assert_array_equal(features, rows)


def test_json_integers_beyond_float64_are_refused():
    body = json.dumps({"instances": [{"features": [1, 10**400]}]}).encode()
    with pytest.raises(PayloadError, match="row 1, feature 2: the number is too large for float64"):
        payloads.decode(payloads.JSON, body, 2)


def test_json_booleans_mixed_with_numbers_are_refused():
    body = b'{"instances": [{"features": [1.5, 2]}, {"features": [false, 2]}]}'
    with pytest.raises(PayloadError, match="row 2, feature 1: false is not a number"):
        payloads.decode(payloads.JSON, body, 2)


def test_a_json_boolean_outside_the_features_is_harmless():
    body = b'{"instances": [{"features": [1.5, 2], "verbose": true}]}'
    np.testing.assert_array_equal(payloads.decode(payloads.JSON, body, 2), [[1.5, 2.0]])


SCORES = [0.1, -2.5e-300, 1e300, 123456789.123456789, 0.0, -0.0, 7.0, 1e15, 1e-5, 5e-324, 2.0**60]


@pytest.mark.parametrize("media_type", [payloads.JSON, payloads.JSONLINES])
def test_encoded_scores_are_valid_json_and_round_trip_exactly(media_type):
    scores = np.array(SCORES)
    body = payloads.encode(media_type, scores).decode()
    if media_type == payloads.JSON:
        decoded = [item["score"] for item in json.loads(body)["predictions"]]
    else:
        assert body.endswith("}\n")
        decoded = [json.loads(line)["score"] for line in body.splitlines()]
    assert decoded == scores.tolist()


@pytest.mark.parametrize("n_scores", [1, payloads.COLUMNAR_ENCODE_MIN_ROWS, 5000])
def test_joined_numbers_read_back_as_the_same_floats(n_scores):
    rng = np.random.default_rng(n_scores)
    values = rng.normal(scale=1e3, size=n_scores) * 10.0 ** rng.integers(-12, 12, size=n_scores)
    values[::3] = np.round(values[::3])
    values[: len(SCORES)] = SCORES[:n_scores]
    decoded = json.loads("[" + payloads.join_numbers(values, ",") + "]")
    assert all(type(value) is float for value in decoded)
    assert decoded == values.tolist()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, payloads.JSON),
        ("", payloads.JSON),
        ("application/jsonlines;q=0.4, application/json;q=0.6", payloads.JSON),
        ("application/json;q=0.4, application/jsonlines;q=0.6", payloads.JSONLINES),
        ("*/*, application/jsonlines", payloads.JSONLINES),
        ("application/jsonlines, application/json", payloads.JSONLINES),
        ("application/json, application/jsonlines", payloads.JSON),
        ("application/jsonlines;q=oops, */*;q=0.1", payloads.JSON),
        ("application/x-recordio-protobuf", payloads.RECORDIO_PROTOBUF),
        ("application/x-recordio-protobuf;q=0.5, application/json", payloads.JSON),
    ],
)
def test_accept_negotiation(accept, expected):
    assert content_types.response_format(accept) == expected


def test_media_type_parameters_are_parsed_case_insensitively():
    assert content_types.parse_media_type(' Text/CSV ; Label_Size = "0" ; charset=utf-8') == (
        "text/csv",
        {"label_size": "0", "charset": "utf-8"},
    )
    assert content_types.request_format("text/csv; LABEL_SIZE=0") == payloads.CSV


def test_negotiation_errors_carry_their_status():
    with pytest.raises(InvocationError) as refused:
        content_types.request_format("application/x-protobuf")
    assert refused.value.status == 415
    with pytest.raises(InvocationError) as refused:
        content_types.response_format("text/plain")
    assert refused.value.status == 406
