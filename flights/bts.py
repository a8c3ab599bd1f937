"""Flights.csv from BTS "Reporting Carrier On-Time Performance (1987-present)" monthly zips.

Each zip holds one CSV of 109 quoted columns plus a trailing empty one. Only the 21 columns the
lab uses are parsed, a block at a time, so memory stays flat however many months are read.
Both the current layout (``Reporting_Airline``, ``Tail_Number``, ...) and the older one
(``UniqueCarrier``, ``TailNum``, ``FlightNum``) are accepted.
"""

import csv
import io
import zipfile
import zlib

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from flights.lab_csv import diagnose, raise_at_first
from flights.schema import ARROW_TYPES, COLUMNS, FlightDataError

URL_PATTERN = (
    "https://transtats.bts.gov/PREZIP/"
    "On_Time_Reporting_Carrier_On_Time_Performance_1987_present_{year}_{month}.zip"
)

# Lab column -> BTS column names (current layout first, then the layout published until 2018).
BTS_NAMES = {
    "YEAR": ("Year",),
    "QUARTER": ("Quarter",),
    "MONTH": ("Month",),
    "DAY_OF_MONTH": ("DayofMonth",),
    "DAY_OF_WEEK": ("DayOfWeek",),
    "UNIQUE_CARRIER": ("Reporting_Airline", "UniqueCarrier"),
    "TAIL_NUM": ("Tail_Number", "TailNum"),
    "FL_NUM": ("Flight_Number_Reporting_Airline", "FlightNum"),
    "ORIGIN": ("Origin",),
    "DEST": ("Dest",),
    "CRS_DEP_TIME": ("CRSDepTime",),
    "DEP_TIME": ("DepTime",),
    "DEP_DELAY": ("DepDelay",),
    "DEP_DELAY_NEW": ("DepDelayMinutes",),
    "DEP_DEL15": ("DepDel15",),
    "DEP_DELAY_GROUP": ("DepartureDelayGroups",),
    "CRS_ARR_TIME": ("CRSArrTime",),
    "ARR_DELAY": ("ArrDelay",),
    "CRS_ELAPSED_TIME": ("CRSElapsedTime",),
    "DISTANCE": ("Distance",),
    "DISTANCE_GROUP": ("DistanceGroup",),
}
# BTS writes its 0/1 flags with decimals ("1.00"); they are read as numbers, written as 0/1.
_READ_TYPES = {**ARROW_TYPES, "DEP_DEL15": pa.float64()}
BLOCK_BYTES = 8 << 20


def month_urls(year, months=range(1, 13)):
    """The transtats download URLs of a year's monthly zips (``months``: 1..12)."""
    return [URL_PATTERN.format(year=year, month=month) for month in months]


def _column_names(header, source):
    """Lab column -> the BTS column of ``header`` that holds it."""
    names = {}
    for lab, candidates in BTS_NAMES.items():
        found = [name for name in candidates if name in header]
        if not found:
            raise FlightDataError(f"{source}: missing column {candidates[0]} (for {lab})")
        names[lab] = found[0]
    return names


def _csv_member(archive, source):
    members = [name for name in archive.namelist() if name.lower().endswith(".csv")]
    if len(members) != 1:
        raise FlightDataError(f"{source}: expected one CSV file in the zip, found {len(members)}")
    return members[0]


def _flags_as_integers(table, source, first_line, column):
    """DEP_DEL15 from BTS's 1.00/0.00 to the integers 1/0; any other value is an error."""
    flags = table.column("DEP_DEL15")
    bad = pc.and_(flags.is_valid(), pc.invert(pc.is_in(flags, pa.array([0.0, 1.0]))))
    raise_at_first(bad, source, column, first_line, lambda i: f"{flags[i].as_py()!r} is not 0 or 1")
    return table.set_column(
        table.column_names.index("DEP_DEL15"), "DEP_DEL15", pc.cast(flags, pa.int64())
    )


def month_tables(zip_path, source):
    """Yield (table, first line, names) per CSV block: a pyarrow.Table with the lab's columns,
    the file line of its first row, and lab column -> the month's BTS column name.

    zip_path: a local monthly zip; source: its name in error messages. Raises FlightDataError
    for a damaged or truncated zip, missing columns or values that do not parse.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise FlightDataError(f"{source}: not a complete zip file ({error})") from error
    with archive:
        member = _csv_member(archive, source)
        try:
            with archive.open(member) as raw:
                header = next(csv.reader(io.TextIOWrapper(raw, encoding="ascii", newline="")), [])
            if not header:
                raise FlightDataError(f"{source}: {member} is empty")
            names = _column_names(header, source)
            types = {names[lab]: _READ_TYPES[lab] for lab in COLUMNS}
            with archive.open(member) as raw:
                reader = pcsv.open_csv(
                    raw,
                    read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES),
                    convert_options=pcsv.ConvertOptions(
                        include_columns=list(types),
                        column_types=types,
                        strings_can_be_null=True,
                        null_values=[""],
                    ),
                )
                line = 2
                for batch in reader:
                    table = pa.Table.from_batches([batch]).select([names[c] for c in COLUMNS])
                    table = _flags_as_integers(
                        table.rename_columns(COLUMNS), source, line, names["DEP_DEL15"]
                    )
                    yield table, line, names
                    line += batch.num_rows
        except pa.ArrowInvalid as error:
            diagnose(lambda: archive.open(member), source, types, error)
        except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError, OSError) as error:
            raise FlightDataError(f"{source}: damaged zip file ({error})") from error
