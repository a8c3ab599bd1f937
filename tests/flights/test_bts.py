"""Flights.csv from BTS monthly zips in transtats' layout, built by the tests."""

import pytest

import flights
from flights import bts
from tests.flights.bts_files import HEADER, OLD_NAMES, flight, month_zip

HEADER_LINE = ",".join(f'"{name}"' for name in flights.COLUMNS)
JANUARY = [
    flight(),
    # Cancelled: never left, no departure or arrival values.
    flight(
        Flight_Number_Reporting_Airline="3",
        DepTime=None,
        DepDelay=None,
        DepDelayMinutes=None,
        DepDel15=None,
        DepartureDelayGroups=None,
        ArrTime=None,
        ArrDelay=None,
        Cancelled=1.0,
        CancellationCode="B",
    ),
    # Diverted: left, never arrived at its destination.
    flight(Flight_Number_Reporting_Airline="5", ArrTime=None, ArrDelay=None, Diverted=1.0),
    flight(
        DayofMonth=2,
        DayOfWeek=1,
        FlightDate="2017-01-02",
        Reporting_Airline="B6",
        Tail_Number="",
        Flight_Number_Reporting_Airline="2401",
        Origin="BOS",
        Dest="SJU",
        CRSDepTime="2359",
        DepTime="0204",
        DepDelay=125.0,
        DepDelayMinutes=125.0,
        DepDel15=1.0,
        DepartureDelayGroups=8,
        CRSArrTime="0445",
        ArrDelay=118.0,
        CRSElapsedTime=226.0,
        Distance=1674.0,
        DistanceGroup=7,
    ),
]
JANUARY_LINES = [
    '2017,1,1,1,7,"AA","N787AA","1","JFK","LAX","0800","0757",-3.00,0.00,0,-1,"1142",-10.00,'
    "402.00,2475.00,10",
    '2017,1,1,2,1,"B6","","2401","BOS","SJU","2359","0204",125.00,125.00,1,8,"0445",118.00,'
    "226.00,1674.00,7",
]
FEBRUARY = [flight(Month=2, DayofMonth=28, DayOfWeek=2, FlightDate="2017-02-28", DepTime="2400")]
FEBRUARY_LINE = (
    '2017,1,2,28,2,"AA","N787AA","1","JFK","LAX","0800","2400",-3.00,0.00,0,-1,"1142",-10.00,'
    "402.00,2475.00,10"
)


def test_one_month_maps_to_the_lab_schema(tmp_path):
    source = month_zip(tmp_path, 2017, 1, JANUARY)
    report = flights.fetch(source, tmp_path / "Flights.csv", progress=False)
    lines = (tmp_path / "Flights.csv").read_text().splitlines()
    assert lines == [HEADER_LINE, *JANUARY_LINES]
    assert (report.rows, report.dropped) == (2, 2)
    assert "BTS On_Time_Reporting_Carrier_On_Time_Performance_1987_present_2017_1.zip" in str(
        report
    )


def test_months_are_streamed_one_after_another(tmp_path, monkeypatch):
    monkeypatch.setattr(bts, "BLOCK_BYTES", 4096)  # several blocks per month
    january = month_zip(tmp_path, 2017, 1, JANUARY * 20)
    february = month_zip(tmp_path, 2017, 2, FEBRUARY)
    report = flights.fetch([january, february], tmp_path / "Flights.csv", progress=False)
    lines = (tmp_path / "Flights.csv").read_text().splitlines()
    assert lines == [HEADER_LINE, *JANUARY_LINES * 20, FEBRUARY_LINE]
    assert (report.rows, report.dropped) == (41, 40)
    assert "2 BTS monthly files" in str(report)


def test_the_older_layout_is_read_the_same(tmp_path):
    old_header = [OLD_NAMES.get(name, name) for name in HEADER]
    source = month_zip(tmp_path, 2017, 1, JANUARY, header=old_header)
    flights.fetch(source, tmp_path / "Flights.csv", progress=False)
    assert (tmp_path / "Flights.csv").read_text().splitlines()[1:] == JANUARY_LINES


def test_month_urls_follow_the_transtats_pattern():
    urls = flights.bts_month_urls(2017)
    assert len(urls) == 12
    assert urls[0] == (
        "https://transtats.bts.gov/PREZIP/"
        "On_Time_Reporting_Carrier_On_Time_Performance_1987_present_2017_1.zip"
    )
    assert urls[-1].endswith("_2017_12.zip")


def test_monthly_zips_over_http(tmp_path, file_server):
    source = month_zip(tmp_path, 2017, 1, JANUARY)
    file_server.served.files["/PREZIP/" + source.name] = source.read_bytes()
    out = tmp_path / "out" / "Flights.csv"
    report = flights.fetch([file_server.url("/PREZIP/" + source.name)], out, progress=False)
    assert out.read_text().splitlines()[1:] == JANUARY_LINES
    assert report.rows == 2
    assert sorted(p.name for p in out.parent.iterdir()) == ["Flights.csv"]


def _fails(tmp_path, source, *fragments):
    out = tmp_path / "out" / "Flights.csv"
    with pytest.raises(flights.FlightDataError) as caught:
        flights.fetch(source, out, progress=False)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    return str(caught.value)


def test_missing_column_is_named(tmp_path):
    header = [name if name != "DepDel15" else "DepDel_15" for name in HEADER]
    source = month_zip(tmp_path, 2017, 1, JANUARY, header=header)
    _fails(tmp_path, source, source.name, "missing column DepDel15")


def test_unparseable_value_names_column_and_row(tmp_path, monkeypatch):
    monkeypatch.setattr(bts, "BLOCK_BYTES", 4096)
    rows = JANUARY * 10 + [flight(DepDelay="n/a")]
    source = month_zip(tmp_path, 2017, 1, rows)
    _fails(tmp_path, source, source.name, "column DepDelay", "row 41 (line 42)", "'n/a'")


def test_flag_that_is_not_0_or_1_names_column_and_row(tmp_path):
    source = month_zip(tmp_path, 2017, 1, [flight(), flight(DepDel15=2.0)])
    _fails(tmp_path, source, "column DepDel15, row 2 (line 3)", "2.0")


def test_missing_value_in_a_completed_flight_names_column_and_row(tmp_path):
    source = month_zip(tmp_path, 2017, 1, [flight(), flight(), flight(CRSElapsedTime=None)])
    _fails(tmp_path, source, "column CRSElapsedTime, row 3 (line 4)", "missing value")


def test_truncated_zip(tmp_path):
    source = month_zip(tmp_path, 2017, 1, JANUARY)
    source.write_bytes(source.read_bytes()[:-200])
    _fails(tmp_path, source, source.name, "not a complete zip file")


def test_damaged_member(tmp_path):
    source = month_zip(tmp_path, 2017, 1, JANUARY * 50)
    data = bytearray(source.read_bytes())
    data[200:260] = bytes(60)  # inside the compressed CSV
    source.write_bytes(bytes(data))
    _fails(tmp_path, source, source.name, "damaged zip file")


def test_empty_month(tmp_path):
    source = month_zip(tmp_path, 2017, 1, [])
    _fails(tmp_path, source, "no flights")


def test_a_bad_second_month_leaves_no_file(tmp_path):
    january = month_zip(tmp_path, 2017, 1, JANUARY)
    february = month_zip(tmp_path, 2017, 2, [flight(Distance="far")])
    _fails(tmp_path, [january, february], february.name, "column Distance, row 1")
