"""Flights.csv from a file already in the lab's schema: local, over HTTP (with an interrupted
download and its resume) and from S3 on a real moto server."""

import json

import pytest

import flights

HEADER = ",".join(f'"{name}"' for name in flights.COLUMNS)
ROWS = [
    '2013,1,1,1,2,"UA","N14228","1545","EWR","IAH","0515","0517",2.00,2.00,0,0,"0819",11.00,'
    "244.00,1400.00,6",
    '2013,4,12,31,2,"B6","","727","JFK","BQN","2359","0006",7.00,7.00,0,0,"0338",-5.00,'
    "219.00,1576.00,7",
]
CANCELLED = '2013,1,1,1,2,"AA","N3ALAA","301","LGA","ORD","1455","",,,0,0,"1625",,150.00,733.00,3'
DIVERTED = (
    '2013,1,1,1,2,"AA","N3ALAA","303","LGA","ORD","1455","1500",5.00,5.00,0,0,"1625",,'
    "150.00,733.00,3"
)


def lab_file(path, rows, header=HEADER):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_local_file_is_validated_and_rewritten(tmp_path):
    source = lab_file(tmp_path / "given.csv", [ROWS[0], CANCELLED, ROWS[1], DIVERTED])
    report = flights.fetch(source, tmp_path / "Flights.csv", progress=False)
    assert (tmp_path / "Flights.csv").read_text().splitlines() == [HEADER, *ROWS]
    assert (report.rows, report.dropped, report.source) == (2, 2, "given.csv")


def test_clock_times_without_padding_are_padded(tmp_path):
    row = ROWS[0].replace('"0515","0517"', "515,517")
    source = lab_file(tmp_path / "given.csv", [row])
    flights.fetch(source, tmp_path / "Flights.csv", progress=False)
    assert (tmp_path / "Flights.csv").read_text().splitlines()[1] == ROWS[0]


def test_a_trailing_comma_on_every_line_is_ignored(tmp_path):
    source = lab_file(tmp_path / "given.csv", [r + "," for r in ROWS], HEADER + ",")
    flights.fetch(source, tmp_path / "Flights.csv", progress=False)
    assert (tmp_path / "Flights.csv").read_text().splitlines() == [HEADER, *ROWS]


def test_fetch_in_place(tmp_path):
    path = lab_file(tmp_path / "Flights.csv", [ROWS[0], CANCELLED])
    assert flights.fetch(path, path, progress=False).rows == 1
    assert path.read_text().splitlines() == [HEADER, ROWS[0]]


def _fails(tmp_path, source, *fragments):
    out = tmp_path / "out" / "Flights.csv"
    out.parent.mkdir(exist_ok=True)
    out.write_text("previous content\n")
    with pytest.raises(flights.FlightDataError) as caught:
        flights.fetch(source, out, progress=False)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert [p.name for p in out.parent.iterdir()] == ["Flights.csv"]
    assert out.read_text() == "previous content\n"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER.replace(',"DEP_DEL15"', ""), "missing column(s) DEP_DEL15"),
        (HEADER + ',"WHEELS_ON"', "unexpected column(s) 'WHEELS_ON'"),
        (HEADER.replace('"YEAR","QUARTER"', '"QUARTER","YEAR"'), "columns out of order"),
    ],
)
def test_wrong_columns(tmp_path, header, message):
    _fails(tmp_path, lab_file(tmp_path / "given.csv", ROWS, header), "given.csv", message)


@pytest.mark.parametrize(
    ("row", "fragments"),
    [
        (
            ROWS[1].replace("219.00", "3h39"),
            ("column CRS_ELAPSED_TIME", "row 2 (line 3)", "'3h39'"),
        ),
        (ROWS[1].replace("2013,4,12", "2013,4.5,12"), ("column QUARTER", "row 2", "integer")),
        (ROWS[1].replace(",0,0,", ",0.00,0,"), ("column DEP_DEL15", "'0.00' is not an integer")),
        (ROWS[1].replace('"0338"', '"3:38"'), ("column CRS_ARR_TIME", "row 2", "'3:38'")),
        (ROWS[1].replace('"0338"', '"2575"'), ("column CRS_ARR_TIME", "row 2", "'2575'")),
        (ROWS[1].replace("1576.00", ""), ("column DISTANCE", "row 2", "missing value")),
        (ROWS[1] + ",7", ("row 2 (line 3) has 22 fields", "the header has 21")),
    ],
)
def test_unparseable_values_name_column_and_row(tmp_path, row, fragments):
    _fails(tmp_path, lab_file(tmp_path / "given.csv", [ROWS[0], row]), "given.csv", *fragments)


def test_empty_file_and_header_only(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    _fails(tmp_path, tmp_path / "empty.csv", "empty.csv: empty file")
    _fails(tmp_path, lab_file(tmp_path / "header.csv", []), "header.csv: no flights")


def test_missing_local_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        flights.fetch(tmp_path / "nowhere.csv", tmp_path / "Flights.csv", progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def big_lab_file(tmp_path):
    """A lab-format file of about 1 MB, and its expected rewrite (cancelled flights dropped)."""
    rows = (ROWS + [CANCELLED]) * 4000
    return lab_file(tmp_path / "served.csv", rows).read_bytes(), [HEADER, *ROWS * 4000]


def test_http_download(tmp_path, file_server, big_lab_file):
    data, expected = big_lab_file
    file_server.served.files["/data/Flights.csv"] = data
    out = tmp_path / "out" / "Flights.csv"
    report = flights.fetch(file_server.url("/data/Flights.csv"), out, progress=False)
    assert out.read_text().splitlines() == expected
    assert (report.rows, report.dropped) == (8000, 4000)
    assert report.source == file_server.url("/data/Flights.csv")
    assert sorted(p.name for p in out.parent.iterdir()) == ["Flights.csv"]


def test_interrupted_download_leaves_no_file_then_resumes(tmp_path, file_server, big_lab_file):
    data, expected = big_lab_file
    file_server.served.files["/Flights.csv"] = data
    file_server.served.cut_after = 300_000
    out = tmp_path / "out" / "Flights.csv"
    with pytest.raises(flights.FlightDataError, match="interrupted after 300,000 of"):
        flights.fetch(file_server.url("/Flights.csv"), out, progress=False)
    assert not out.exists()
    parts = list(out.parent.glob("*.part"))
    assert [p.stat().st_size for p in parts] == [300_000]

    flights.fetch(file_server.url("/Flights.csv"), out, progress=False)
    etag = file_server.served.etag("/Flights.csv")
    assert file_server.served.requests == [(None, None), ("bytes=300000-", etag)]
    assert out.read_text().splitlines() == expected
    assert sorted(p.name for p in out.parent.iterdir()) == ["Flights.csv"]


def test_rerun_starts_clean_without_range_support(tmp_path, file_server, big_lab_file):
    data, expected = big_lab_file
    file_server.served.files["/Flights.csv"] = data
    file_server.served.ranges = False
    file_server.served.cut_after = 123_456
    out = tmp_path / "Flights.csv"
    with pytest.raises(flights.FlightDataError, match="interrupted"):
        flights.fetch(file_server.url("/Flights.csv"), out, progress=False)
    flights.fetch(file_server.url("/Flights.csv"), out, progress=False)
    assert out.read_text().splitlines() == expected


def test_http_error_names_the_url(tmp_path, file_server):
    url = file_server.url("/missing/Flights.csv")
    with pytest.raises(flights.FlightDataError, match=f"{url}: HTTP error 404"):
        flights.fetch(url, tmp_path / "Flights.csv", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_bad_download_is_not_kept(tmp_path, file_server):
    file_server.served.files["/Flights.csv"] = b"not,a,flights,file\n1,2,3,4\n"
    url = file_server.url("/Flights.csv")
    with pytest.raises(flights.FlightDataError, match="missing column"):
        flights.fetch(url, tmp_path / "Flights.csv", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_s3_download_and_resume(tmp_path, s3, big_lab_file):
    data, expected = big_lab_file
    s3.create_bucket(Bucket="lab-data")
    s3.put_object(Bucket="lab-data", Key="flights/Flights.csv", Body=data)
    out = tmp_path / "out" / "Flights.csv"
    out.parent.mkdir()
    # An earlier attempt got 5,000 bytes of this object; marked so that a resume shows it.
    earlier = data[:5000].replace(b'"UA"', b'"XX"', 1)
    etag = s3.head_object(Bucket="lab-data", Key="flights/Flights.csv")["ETag"]
    _earlier_part(out, "s3://lab-data/flights/Flights.csv", earlier, etag)
    report = flights.fetch("s3://lab-data/flights/Flights.csv", out, progress=False)
    assert (
        out.read_text().splitlines()
        == [expected[0], ROWS[0].replace('"UA"', '"XX"')] + (expected[2:])
    )
    assert report.rows == 8000
    assert sorted(p.name for p in out.parent.iterdir()) == ["Flights.csv"]


def _earlier_part(out, uri, data, validator):
    """A .part and its validator sidecar as an interrupted fetch of ``uri`` leaves them."""
    part = out.parent / f"{out.name}.{uri.rsplit('/', 1)[-1]}.part"
    part.write_bytes(data)
    sidecar = {"source": uri, "validator": validator}
    part.with_name(part.name + ".validator").write_text(json.dumps(sidecar))


def test_s3_changed_object_starts_over(tmp_path, s3, big_lab_file):
    data, expected = big_lab_file
    s3.create_bucket(Bucket="lab-changed")
    s3.put_object(Bucket="lab-changed", Key="Flights.csv", Body=data)
    out = tmp_path / "out" / "Flights.csv"
    out.parent.mkdir()
    # 5,000 bytes of an earlier version of the object: its ETag no longer matches (If-Match).
    earlier = data[:5000].replace(b'"UA"', b'"XX"', 1)
    _earlier_part(out, "s3://lab-changed/Flights.csv", earlier, '"an-earlier-version"')
    report = flights.fetch("s3://lab-changed/Flights.csv", out, progress=False)
    assert out.read_text().splitlines() == expected
    assert report.rows == 8000
    assert sorted(p.name for p in out.parent.iterdir()) == ["Flights.csv"]


def test_s3_missing_key_names_the_uri(tmp_path, s3):
    s3.create_bucket(Bucket="lab-empty")
    with pytest.raises(flights.FlightDataError, match="s3://lab-empty/Flights.csv: S3 error"):
        flights.fetch("s3://lab-empty/Flights.csv", tmp_path / "Flights.csv", progress=False)
    assert list(tmp_path.iterdir()) == []
