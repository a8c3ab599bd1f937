"""The lab's preparation (recipe steps 1-4): read Flights.csv, drop, one-hot, label first.

The same calls as lab.ipynb's *Data* and *Prepare* cells, which use ``DROPPED`` and ``ONE_HOT``
from here (tests/lab/test_notebook.py runs those cells and compares), so bench/flights_prep.py
measures the path the notebook runs against the original lab's: pyarrow parses the CSV, and one
``pd.get_dummies`` call with uint8 dummies replaces the per-column concat loop.
"""

import numpy as np
import pandas as pd

from flights.schema import LAB_DTYPES

DROPPED = [
    "YEAR",
    "TAIL_NUM",
    "FL_NUM",
    "DEST",
    "CRS_DEP_TIME",
    "DEP_TIME",
    "CRS_ARR_TIME",
    "DEP_DELAY_NEW",
    "DEP_DEL15",
]
ONE_HOT = [
    "QUARTER",
    "MONTH",
    "DAY_OF_MONTH",
    "DAY_OF_WEEK",
    "UNIQUE_CARRIER",
    "ORIGIN",
    "DEP_DELAY_GROUP",
    "DISTANCE_GROUP",
]
LABEL = "ARR_DELAY"


def read(path):
    """Flights.csv as a DataFrame with the lab's dtypes (``LAB_DTYPES``), parsed by pyarrow."""
    return pd.read_csv(path, dtype=LAB_DTYPES, engine="pyarrow")


def prepare(frame, dtype=np.uint8):
    """Recipe steps 2-4 on a frame read with the lab's dtypes.

    frame: Flights.csv as a DataFrame (n rows, the 21 columns). Returns an n x (4 + dummies)
    DataFrame: ARR_DELAY, DEP_DELAY, CRS_ELAPSED_TIME, DISTANCE (float64), then one ``dtype``
    column per value of each ONE_HOT column, in one ``pd.get_dummies`` call.
    """
    data = pd.get_dummies(frame.drop(columns=DROPPED), columns=ONE_HOT, dtype=dtype)
    data.insert(0, LABEL, data.pop(LABEL))
    return data
