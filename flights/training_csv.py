"""``write_csv``: the prepared frame as linear-learner's training CSV, fast.

Written with polars' native CSV writer: on a 1.1M x 103 prepared frame it took 1.2 s against
3.1 s for pyarrow.csv.write_csv and about 17 s for DataFrame.to_csv (see flights/README.md).
Floats are written in their shortest round-trip form, so values read back are identical.
"""

from pathlib import Path

import pandas as pd
import polars as pl

from flights.atomic_file import atomic_output


def write_csv(frame, path):
    """Write ``frame`` to ``path`` for linear-learner: no header, no index, numbers only.

    frame: pandas.DataFrame, label in column 0, numeric or bool columns (bools written 0/1).
    Raises TypeError naming the first non-numeric column. The file appears only complete.
    """
    for position, (name, dtype) in enumerate(frame.dtypes.items()):
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise TypeError(
                f"write_csv: column {position} ({name!r}) has dtype {dtype}; "
                "linear-learner's CSV takes numbers only"
            )
    table = pl.from_pandas(frame.set_axis([str(i) for i in range(frame.shape[1])], axis=1))
    table = table.with_columns(pl.col(pl.Boolean).cast(pl.UInt8))
    with atomic_output(Path(path)) as out:
        table.write_csv(out, include_header=False)
