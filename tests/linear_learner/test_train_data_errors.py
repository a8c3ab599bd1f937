"""Bad training data fails the job with the real algorithm's message, naming file and rows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from local_aws.algorithms.linear_learner.channels import FileChannel
from local_aws.algorithms.linear_learner.csv_blocks import PassLayout, read_pass
from local_aws.algorithms.linear_learner.errors import ClientError
from local_aws.algorithms.linear_learner.training import train

HYPERPARAMETERS = {"predictor_type": "regressor", "mini_batch_size": "100", "epochs": "2"}


def _good_rows(count: int, features: int = 3) -> list[str]:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(count, features + 1)).round(4)
    return [",".join(str(v) for v in row) for row in values]


def _train_on(tmp_path, lines: list[str], **hyperparameters):
    part = tmp_path / "train" / "part-0"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_text("".join(line + "\n" for line in lines))
    channels = {"train": FileChannel("train", tmp_path / "train")}
    with pytest.raises(ClientError) as failure:
        train({**HYPERPARAMETERS, **hyperparameters}, channels, tmp_path / "model", lambda _: None)
    assert not (tmp_path / "model").exists()  # nothing half-written
    return str(failure.value), str(part)


def _with_bad_row(row_index: int, bad: str) -> list[str]:
    rows = _good_rows(500)
    rows[row_index] = bad
    return rows


@pytest.mark.parametrize(
    ("bad_row", "row_index", "rows", "detail"),
    [
        ("1.5,True,0.0,False", 0, "1-100", "column 2 holds 'True', which is not a number"),
        ("1.5,0.2,abc,1", 250, "201-300", "column 3 holds 'abc'"),
        ("1.5,0.2,0.3", 120, "101-200", "a row has 3 columns"),
        ("1.5,0.2,0.3,0.4,0.5", 499, "401-500", "a row has 5 columns"),
        ("1.5,nan,0.3,0.4", 310, "301-400", "'nan', which is not a finite number"),
        ("1.5,0.2,inf,0.4", 99, "1-100", "'inf', which is not a finite number"),
        ("1.5,0.2,,0.4", 100, "101-200", "column 3 holds ''"),
    ],
)
def test_bad_cells_fail_with_the_mini_batch_rows_and_the_file(
    tmp_path, bad_row, row_index, rows, detail
):
    message, part = _train_on(tmp_path, _with_bad_row(row_index, bad_row))
    assert message.startswith(f"ClientError: Unable to parse csv: rows {rows}, file {part}: ")
    assert detail in message


def test_rows_in_a_later_chunk_are_numbered_from_the_file_start(tmp_path):
    rows = _good_rows(60_000)  # several read chunks
    rows[55_555] = "1,2,x,4"
    message, part = _train_on(tmp_path, rows, mini_batch_size="1000")
    assert f"rows 55001-56000, file {part}" in message


def test_feature_dim_not_matching_the_data_names_feature_dim(tmp_path):
    message, part = _train_on(tmp_path, _good_rows(300), feature_dim="5")
    assert message.startswith(f"ClientError: Unable to parse csv: rows 1-100, file {part}")
    assert "feature_dim=5" in message


def test_an_empty_channel_fails(tmp_path):
    message, _ = _train_on(tmp_path, [])
    assert re.match(r"ClientError: Empty channel 'train': no rows in ", message)


def test_a_channel_without_files_fails(tmp_path):
    (tmp_path / "train").mkdir()
    channels = {"train": FileChannel("train", tmp_path / "train")}
    with pytest.raises(ClientError, match="channel 'train' has no files"):
        train(HYPERPARAMETERS, channels, tmp_path / "model", lambda _: None)


def test_fewer_rows_than_mini_batch_size_fails(tmp_path):
    message, _ = _train_on(tmp_path, _good_rows(40))
    assert "has 40 rows, fewer than mini_batch_size=100" in message


def test_a_bad_validation_file_is_reported_with_its_own_name(tmp_path):
    train_part = tmp_path / "train" / "part-0"
    train_part.parent.mkdir(parents=True)
    train_part.write_text("\n".join(_good_rows(300)) + "\n")
    validation_part = tmp_path / "validation" / "part-7"
    validation_part.parent.mkdir(parents=True)
    validation_part.write_text("\n".join(_with_bad_row(5, "1,False,2,3")) + "\n")
    channels = {name: FileChannel(name, tmp_path / name) for name in ("train", "validation")}
    with pytest.raises(ClientError, match=f"rows 1-100, file {validation_part}: column 2"):
        train(HYPERPARAMETERS, channels, tmp_path / "model", lambda _: None)


def _dummy_rows(count: int) -> list[str]:
    """Label, a float feature and two 0/1 dummy features (read as small integers)."""
    rng = np.random.default_rng(5)
    return [f"{rng.normal():.4f},{rng.normal():.4f},{i % 2},{(i // 2) % 2}" for i in range(count)]


def test_dummy_columns_holding_other_numbers_later_are_read_exactly(tmp_path):
    rows = _dummy_rows(200_000)
    rows[150_001] = "1.0,2.0,2.5,300"  # beyond the first chunk, in the dummy columns
    part = tmp_path / "part-0"
    part.write_text("\n".join(rows) + "\n")
    layout = PassLayout("train", 1000, None)
    blocks = list(read_pass(FileChannel("train", part), layout))
    values = np.concatenate([block.values for block in blocks], axis=1)
    expected = np.loadtxt(part, delimiter=",", dtype=np.float32).T
    assert blocks[0].n_rows < 150_001 < values.shape[1]
    np.testing.assert_array_equal(values, expected)


def test_true_in_a_dummy_column_after_the_first_chunk_is_refused(tmp_path):
    rows = _dummy_rows(200_000)
    rows[154_321] = "1.0,2.0,True,0"
    message, part = _train_on(tmp_path, rows, mini_batch_size="1000")
    assert f"rows 154001-155000, file {part}: column 3 holds 'True'" in message
