"""The lab's Flights.csv schema and BTS's derived-column definitions.

Flights.csv has 21 columns (``COLUMNS``). ``LAB_DTYPES`` is the ``read_csv`` dtype mapping of the
lab's preparation; the ``*_COLUMNS`` groups say how each column is stored and written.
"""

import numpy as np
import pyarrow as pa

COLUMNS = [
    "YEAR",
    "QUARTER",
    "MONTH",
    "DAY_OF_MONTH",
    "DAY_OF_WEEK",
    "UNIQUE_CARRIER",
    "TAIL_NUM",
    "FL_NUM",
    "ORIGIN",
    "DEST",
    "CRS_DEP_TIME",
    "DEP_TIME",
    "DEP_DELAY",
    "DEP_DELAY_NEW",
    "DEP_DEL15",
    "DEP_DELAY_GROUP",
    "CRS_ARR_TIME",
    "ARR_DELAY",
    "CRS_ELAPSED_TIME",
    "DISTANCE",
    "DISTANCE_GROUP",
]

INT_COLUMNS = [
    "YEAR",
    "QUARTER",
    "MONTH",
    "DAY_OF_MONTH",
    "DAY_OF_WEEK",
    "DEP_DEL15",
    "DEP_DELAY_GROUP",
    "DISTANCE_GROUP",
]
FLOAT_COLUMNS = ["DEP_DELAY", "DEP_DELAY_NEW", "ARR_DELAY", "CRS_ELAPSED_TIME", "DISTANCE"]
CATEGORY_COLUMNS = ["UNIQUE_CARRIER", "ORIGIN", "DEST"]
CLOCK_COLUMNS = ["CRS_DEP_TIME", "DEP_TIME", "CRS_ARR_TIME"]
STRING_COLUMNS = CATEGORY_COLUMNS + ["TAIL_NUM", "FL_NUM"] + CLOCK_COLUMNS

# Columns that may be empty in a kept flight (an unknown tail number is written as "").
OPTIONAL_COLUMNS = ["TAIL_NUM"]
# A flight without one of these was cancelled or diverted: it is dropped and counted.
COMPLETED_FLIGHT_COLUMNS = ["DEP_TIME", "ARR_DELAY"]

LAB_DTYPES = {
    **{c: "int64" for c in INT_COLUMNS},
    **{c: "category" for c in CATEGORY_COLUMNS},
    **{c: "str" for c in ["TAIL_NUM", "FL_NUM"] + CLOCK_COLUMNS},
    **{c: "float64" for c in FLOAT_COLUMNS},
}
LAB_DTYPES = {c: LAB_DTYPES[c] for c in COLUMNS}

ARROW_TYPES = {
    c: pa.int64() if c in INT_COLUMNS else pa.float64() if c in FLOAT_COLUMNS else pa.string()
    for c in COLUMNS
}


class FlightDataError(ValueError):
    """Input that does not fit the lab's schema; the message names the source and, where it
    applies, the column and the row."""


def value_error(source, column, index, first_line, problem):
    """A FlightDataError for row ``index`` of a block whose first row is on line ``first_line``."""
    row = index + first_line - 1
    return FlightDataError(f"{source}: column {column}, row {row} (line {row + 1}): {problem}")


def delay_group(delay):
    """BTS departure delay groups: floor(delay / 15) limited to -2..12.

    delay: array of minutes (float). Returns an int64 array: -2 for more than 15 minutes early,
    -1 for 1-15 early, 0 for 0-14 late, 1 for 15-29, ..., 12 for 180 minutes or more.
    """
    return np.clip(np.floor(np.asarray(delay, dtype=np.float64) / 15.0), -2, 12).astype(np.int64)


def distance_group(distance):
    """BTS 250-mile distance groups: 1 below 250 miles, 2 for 250-499, ..., 11 for 2500 and more.

    distance: array of miles. Returns an int64 array.
    """
    groups = np.floor(np.asarray(distance, dtype=np.float64) / 250.0) + 1
    return np.clip(groups, 1, 11).astype(np.int64)
