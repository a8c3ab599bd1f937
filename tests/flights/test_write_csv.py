"""write_csv against DataFrame.to_csv, and prepare against the lab's pandas code."""

import os
import stat

import numpy as np
import pandas as pd
import pytest

import flights
from bench.flights_prep import original_prepare
from flights.prepare import DROPPED, LABEL, ONE_HOT


def _read_back(path):
    return pd.read_csv(path, header=None).to_numpy(dtype=np.float64)


@pytest.fixture
def prepared():
    """A frame shaped like the lab's: float label and features, bool and uint8 dummies."""
    rng = np.random.default_rng(7)
    n = 2000
    return pd.DataFrame(
        {
            "ARR_DELAY": np.concatenate(
                [[0.1, -0.0, 1e-12, 123456.789, -7.25], rng.normal(size=n - 5)]
            ),
            "DEP_DELAY": rng.integers(-30, 600, n).astype(np.float64),
            "DISTANCE": rng.uniform(17, 4983, n),
            "GROUP": rng.integers(-2, 13, n),
            "ORIGIN_JFK": rng.random(n) < 0.3,
            "MONTH_1": (rng.random(n) < 0.1).astype(np.uint8),
        }
    )


def test_numbers_read_back_identical_to_to_csv(tmp_path, prepared):
    flights.write_csv(prepared, tmp_path / "ours.csv")
    prepared.astype({"ORIGIN_JFK": np.uint8}).to_csv(
        tmp_path / "pandas.csv", index=False, header=False
    )
    ours, theirs = _read_back(tmp_path / "ours.csv"), _read_back(tmp_path / "pandas.csv")
    assert ours.shape == prepared.shape
    assert np.array_equal(ours, theirs)
    assert np.array_equal(ours, prepared.to_numpy(dtype=np.float64))


def test_files_get_the_usual_permissions(tmp_path, prepared):
    umask = os.umask(0o022)
    try:
        flights.write_csv(prepared, tmp_path / "train.csv")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "train.csv").stat().st_mode) == 0o644


def test_label_first_no_header_and_dummies_as_0_or_1(tmp_path, prepared):
    flights.write_csv(prepared, tmp_path / "train.csv")
    lines = (tmp_path / "train.csv").read_text().splitlines()
    assert len(lines) == len(prepared)
    first = lines[0].split(",")
    assert float(first[0]) == 0.1 and len(first) == 6
    dummies = {line.split(",")[4] for line in lines} | {line.split(",")[5] for line in lines}
    assert dummies == {"0", "1"}


def test_non_numeric_column_is_refused_and_nothing_written(tmp_path, prepared):
    frame = prepared.assign(ORIGIN=pd.Categorical(["JFK"] * len(prepared)))
    with pytest.raises(TypeError, match=r"column 6 \('ORIGIN'\)"):
        flights.write_csv(frame, tmp_path / "train.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def lab_frame(nyc_csv):
    return flights.read(nyc_csv[0]).iloc[::50].reset_index(drop=True)


def test_read_gives_the_lab_dtypes(nyc_csv, lab_frame):
    reference = pd.read_csv(nyc_csv[0], dtype=flights.LAB_DTYPES).iloc[::50].reset_index(drop=True)
    pd.testing.assert_frame_equal(lab_frame, reference)


def test_prepare_equals_the_lab_recipe(lab_frame):
    recipe = pd.get_dummies(lab_frame.drop(columns=DROPPED), columns=ONE_HOT, dtype=np.uint8)
    recipe = recipe[[LABEL] + [c for c in recipe.columns if c != LABEL]]
    ours = flights.prepare(lab_frame)
    pd.testing.assert_frame_equal(ours, recipe)
    assert ours.shape[1] == 1 + 3 + (4 + 12 + 31 + 7 + 16 + 3 + 15 + 11)  # label + 102 features


def test_prepare_matches_the_original_loop(lab_frame):
    data = original_prepare(lab_frame)
    ours = flights.prepare(lab_frame)
    assert list(ours.columns) == list(data.columns)
    assert np.array_equal(ours.to_numpy(dtype=np.float64), data.to_numpy(dtype=np.float64))
