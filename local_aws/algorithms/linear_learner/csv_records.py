"""The one set of CSV rules for training channels and inference requests (``text/csv``).

What is public (linear-learner-spec.md §3, §4, §6; AWS "Common Data Formats for Training /
Inference"): one record per line, comma-separated, no header, numbers only (a non-numeric
cell fails training with ``Unable to parse csv``), the label first in training and features
only at inference. What the real container does with quotes, blank lines or spacing is not
public. Our choice is the strict reading of the documented form, the same on both paths, so
that data accepted here is data of that form:

- a record ends at ``\\n``, ``\\r\\n`` or ``\\r``; the last record's line end is optional;
- a record is ``n_columns`` numbers separated by commas: decimal text (sign, digits, point,
  exponent), spaces or tabs around it ignored;
- refused: a blank line (anywhere, including a second line end at the end), a header or any
  other text, quoted numbers (``"1.5"``), empty cells, ``1_000``, NaN and infinities, and a
  record of another width.

Two readers apply these rules: ``read_columnar`` (pyarrow, multithreaded, for large inputs;
it answers None rather than say what is wrong) and ``read_records`` (a Python loop, for small
inputs and to name the first bad record). Both give the same values for the same input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .arrow_memory import arrow_owned, columns_array

ARROW_BLOCK_BYTES = 4 << 20

_PARSE_OPTIONS = pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False)


@dataclass
class RecordError(ValueError):
    """The first record breaking the rules: ``row`` counts records of the input from 1.

    ``kind`` is ``"empty"`` (a blank line), ``"width"`` (``count`` cells, not the expected
    number), ``"number"`` (cell ``column``, counted from 1, holds ``text``, not a number)
    or ``"finite"`` (cell ``column`` holds ``text``, a NaN or an infinity).
    """

    row: int
    kind: str
    count: int = 0
    column: int = 0
    text: str = ""


def read_columnar(
    data: bytes, n_columns: int, dtype: type[np.floating], small_ints: frozenset[int] = frozenset()
) -> np.ndarray | None:
    """``data``'s records as a C-ordered (n_columns, n_rows) array, or None if any record
    breaks the rules (then ``read_records`` names it).

    ``small_ints``: columns pyarrow may type as int8, about a third faster for 0/1 dummies;
    a cell that does not fit also gives None.
    """
    try:
        table = pacsv.read_csv(
            arrow_owned(data),
            read_options=_read_options(n_columns),
            parse_options=_PARSE_OPTIONS,
            convert_options=_convert_options(n_columns, np.dtype(dtype).name, small_ints),
        )
    except pa.ArrowInvalid:
        return None
    values = columns_array(table, dtype)
    return values if np.isfinite(values).all() else None


def read_records(data: bytes, n_columns: int, dtype: type[np.floating]) -> np.ndarray:
    """``data``'s records as a C-ordered (n_columns, n_rows) array; RecordError at the first
    record breaking the rules."""
    lines = data.splitlines()
    values = np.empty((len(lines), n_columns), dtype=np.float64)
    for row, line in enumerate(lines):
        cells = line.split(b",")
        if not line.strip():
            raise RecordError(row + 1, "empty")
        if len(cells) != n_columns:
            raise RecordError(row + 1, "width", count=len(cells))
        try:
            numbers = [float(cell) for cell in cells]
        except ValueError:
            numbers = None
        if numbers is None or b"_" in line:
            column = next(c for c, cell in enumerate(cells, 1) if not _is_number(cell))
            raise RecordError(row + 1, "number", column=column, text=_text(cells[column - 1]))
        values[row] = numbers
    finite = np.isfinite(values)
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        text = _text(lines[row].split(b",")[column])
        raise RecordError(row + 1, "finite", column=column + 1, text=text)
    return np.ascontiguousarray(values.T, dtype=dtype)


def _is_number(cell: bytes) -> bool:
    if b"_" in cell:
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _text(cell: bytes) -> str:
    return cell.decode("utf-8", "replace").strip()[:40]


@lru_cache(maxsize=8)
def _read_options(n_columns: int) -> pacsv.ReadOptions:
    return pacsv.ReadOptions(
        column_names=[f"f{i}" for i in range(n_columns)],
        block_size=ARROW_BLOCK_BYTES,
        use_threads=True,
    )


@lru_cache(maxsize=8)
def _convert_options(
    n_columns: int, dtype: str, small_ints: frozenset[int]
) -> pacsv.ConvertOptions:
    """Every column typed (int8 for ``small_ints``, else ``dtype``), no null values: built
    once per width (about 0.3 ms for 700 columns)."""
    number = pa.from_numpy_dtype(np.dtype(dtype))
    types = {f"f{i}": pa.int8() if i in small_ints else number for i in range(n_columns)}
    return pacsv.ConvertOptions(column_types=types, null_values=[], strings_can_be_null=False)
