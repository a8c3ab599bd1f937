"""Reading, checking and writing Flights.csv in the lab's format.

The lab's format: a header of quoted names, strings and clock times quoted, clock times
zero-padded "HHMM", delays, elapsed time and distance with two decimals, flags and groups as
bare integers. Tables handled here are ``pyarrow.Table`` objects with the lab's column names and
``schema.ARROW_TYPES``.
"""

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from flights.schema import (
    ARROW_TYPES,
    CLOCK_COLUMNS,
    COLUMNS,
    COMPLETED_FLIGHT_COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    OPTIONAL_COLUMNS,
    STRING_COLUMNS,
    FlightDataError,
    value_error,
)


def display_name(source):
    """How a source is named in messages: URLs as given, local paths without their directory."""
    text = str(source)
    if "://" in text:
        return text
    return Path(text).name if Path(text).is_absolute() else text


def check_header(names, source, expected=COLUMNS):
    """Raise FlightDataError unless ``names`` are exactly ``expected`` in order."""
    names = list(names)
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(map(repr, extra))}")
        raise FlightDataError(f"{source}: {'; '.join(parts)}")
    if names != list(expected):
        raise FlightDataError(f"{source}: columns out of order; expected {', '.join(expected)}")


def first_bad_value(strings, types, source, first_line=2):
    """Raise FlightDataError for the first value of ``strings`` that does not parse as ``types``.

    strings: pyarrow.Table of string columns as read from the file; types: column -> arrow type;
    first_line: the file line number of the table's first row.
    """
    for name, kind in types.items():
        if name not in strings.column_names or pa.types.is_string(kind):
            continue
        text = strings.column(name).to_pandas()
        given = text.notna() & (text.str.strip() != "")
        if pa.types.is_integer(kind):
            bad = given & ~text.str.fullmatch(r"\s*[+-]?[0-9]+\s*", na=False)
        else:
            bad = given & pd.to_numeric(text.where(given), errors="coerce").isna()
        if bad.any():
            index = int(np.flatnonzero(bad.to_numpy())[0])
            word = "an integer" if pa.types.is_integer(kind) else "a number"
            raise value_error(
                source, name, index, first_line, f"{text.iloc[index]!r} is not {word}"
            )


def _first_ragged_row(open_binary, source):
    """Raise FlightDataError for the first line whose field count differs from the header's."""
    with open_binary() as raw:
        rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=""))
        width = len(next(rows, []))
        for line, row in enumerate(rows, start=2):
            if len(row) != width:
                raise FlightDataError(
                    f"{source}: row {line - 1} (line {line}) has {len(row)} fields, "
                    f"the header has {width}"
                )


def diagnose(open_binary, source, types, error):
    """Turn a pyarrow CSV error into a FlightDataError naming the row and column.

    open_binary: callable returning a fresh binary stream of the CSV; types: the column types
    that were asked for; error: the original exception (its message is the fallback).
    """
    _first_ragged_row(open_binary, source)
    with open_binary() as raw:
        strings = pcsv.read_csv(
            raw,
            convert_options=pcsv.ConvertOptions(
                include_columns=list(types),
                column_types={c: pa.string() for c in types},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    first_bad_value(strings, types, source)
    raise FlightDataError(f"{source}: {error}") from error


def raise_at_first(bad, source, column, first_line, problem):
    """Raise FlightDataError at the first true row of the boolean array ``bad``.

    problem: callable taking that row's index and returning what is wrong with its value.
    """
    if pc.any(bad).as_py():
        index = pc.index(bad, True).as_py()
        raise value_error(source, column, index, first_line, problem(index))


def complete_flights(table, source, first_line=2, source_names=None):
    """Drop cancelled or diverted flights and check what remains.

    table: pyarrow.Table with the lab's column names; first_line: the file line of row 0;
    source_names: lab column -> the source's name for it, for messages (default: the same).
    Returns (table of completed flights, number dropped). Raises FlightDataError naming the
    column and row of a missing value in a kept flight or of a malformed clock time.
    """
    named = source_names or {}
    gap = "missing value in a flight that was neither cancelled nor diverted"
    incomplete = pc.or_(*[pc.is_null(table.column(c)) for c in COMPLETED_FLIGHT_COLUMNS])
    kept = pc.invert(incomplete)
    for name in table.column_names:
        if name in OPTIONAL_COLUMNS:
            continue
        missing = pc.and_(kept, pc.is_null(table.column(name)))
        raise_at_first(missing, source, named.get(name, name), first_line, lambda _: gap)
    for name in CLOCK_COLUMNS:
        column = table.column(name)
        digits = pc.fill_null(pc.match_substring_regex(column, r"^[0-9]{1,4}$"), True)
        clock = pc.cast(pc.if_else(digits, column, "0"), pa.int64())
        hours = pc.divide(clock, 100)
        minutes = pc.subtract(clock, pc.multiply(hours, 100))
        valid = pc.and_(digits, pc.and_(pc.less_equal(hours, 24), pc.less_equal(minutes, 59)))
        bad = pc.and_(kept, pc.invert(pc.fill_null(valid, True)))
        raise_at_first(
            bad,
            source,
            named.get(name, name),
            first_line,
            lambda i, column=column: f"{column[i].as_py()!r} is not a clock time HHMM",
        )
    dropped = pc.sum(pc.cast(incomplete, pa.int64())).as_py() or 0
    return table.filter(kept), dropped


def read_lab_table(path, source):
    """Read a Flights.csv-schema file into a pyarrow.Table, checking header and values.

    A trailing empty column (every line ending with a comma) is accepted and ignored.
    Raises FlightDataError naming ``source`` (and the column and row where it applies) for an
    empty file, missing, extra or misordered columns, or values that do not parse.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise FlightDataError(f"{source}: empty file")
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        header = next(csv.reader(fh), [])
    if header and header[-1] == "":  # a trailing comma on every line, as BTS exports have
        header = header[:-1]
    check_header(header, source)
    try:
        table = pcsv.read_csv(
            path,
            convert_options=pcsv.ConvertOptions(
                include_columns=COLUMNS,
                column_types=ARROW_TYPES,
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as error:
        diagnose(lambda: open(path, "rb"), source, ARROW_TYPES, error)
    if table.num_rows == 0:
        raise FlightDataError(f"{source}: no flights after the header")
    return table


def write_lab_rows(table, fh, header):
    """Write a table's rows (the lab's 21 columns) to ``fh`` in the lab's CSV format."""
    frame = pl.from_arrow(table.select(COLUMNS)).with_columns(
        *[pl.col(c).cast(pl.Int64) for c in INT_COLUMNS],
        *[pl.col(c).cast(pl.Float64) for c in FLOAT_COLUMNS],
        *[pl.col(c).cast(pl.String).fill_null("") for c in STRING_COLUMNS],
    )
    frame = frame.with_columns(*[pl.col(c).str.zfill(4) for c in CLOCK_COLUMNS])
    frame.write_csv(fh, include_header=header, quote_style="non_numeric", float_precision=2)
