"""CSV export at memory speed: the bytes `pandas.DataFrame.to_csv(quoting=QUOTE_ALL)` writes, built
from each column's *distinct* values.

`model.tables.reading.to_safe_csv` states the contract (every field quoted, ``\\n`` line ends, formula
prefixes neutralised in text cells, numbers written as pandas writes them). pandas' writer turns
every cell into a Python object and formats it, ~8 µs per row of 15 columns here; a scored file's
columns mostly repeat a few values (levels, segment names, notes, rounded numbers), so each
distinct value is formatted and quoted once and the rows are joined from those strings (~1 µs per
row). Columns of other dtypes (dates, categoricals, …) take pandas' writer for the whole frame.
"""
from __future__ import annotations

import csv
import io
import math
import re
from typing import Any, Sequence

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from model.tables.codes import factorize

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection, CWE-1236
# A cell that is nothing but a number ("-5", "+1.5e3") is no formula: spreadsheets read it as the
# number it is, so it is left alone (a text column of numbers keeps its values).
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_KINDS = "biuf"  # bool, int, unsigned, float: written by their Python str()
_MASKED = (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)


def number_texts(values: np.ndarray, *, decimals: int | None = None) -> np.ndarray:
    """Floats as people write them (object array; None for NaN): a whole number without '.0'
    ('24', not '24.0'), others in their shortest exact form ('0.1271'); with `decimals`, rounded to
    at most that many ('43.35', '12.5'). Each distinct value is formatted once.

        >>> number_texts(np.array([24.0, 0.5, np.nan, 43.3449]), decimals=2).tolist()
        ['24', '0.5', None, '43.34']
    """
    rows, distinct = pd.factorize(np.asarray(values, dtype=float))  # NaN → code -1
    texts = []
    for x in distinct.tolist():
        x = round(x, decimals) if decimals is not None and math.isfinite(x) else x
        texts.append(str(int(x)) if math.isfinite(x) and x == int(x) and abs(x) < 1e15 else repr(x))
    return np.append(np.array(texts, dtype=object), None)[rows]


def safe_csv_bytes(df: pd.DataFrame, *, text_columns: Sequence[str]) -> bytes:
    """`model.tables.reading.to_safe_csv` (see there); `text_columns` already checked to exist."""
    declared = set(text_columns)
    header = ",".join(_quote(_neutral(str(c))) for c in df.columns)
    columns: list[_Column] = []
    if not len(df.columns):
        return pandas_safe_csv(df, text_columns=text_columns)
    for i, name in enumerate(df.columns):
        column = df.iloc[:, i]
        text = name in declared or not is_numeric_dtype(column.dtype)
        if not _fast_dtype(column, text):
            return pandas_safe_csv(df, text_columns=text_columns)
        columns.append(_fields(column, text))
    if not len(df):
        return (header + "\n").encode("utf-8")
    fields = [c.cells() for c in _merge(columns, limit=max(4_096, len(df) // 16))]
    body = "\n".join(map(",".join, zip(*fields)))
    return (header + "\n" + body + "\n").encode("utf-8")


class _Column:
    """One or more adjacent output columns: the text of each row (`cells`), or a table of
    distinct texts and each row's index into it (`rows`, `table`)."""

    def __init__(self, rows: np.ndarray | None, table: np.ndarray | None,
                 cells: np.ndarray | None = None):
        self.rows, self.table, self._cells = rows, table, cells

    def cells(self) -> np.ndarray:
        return self._cells if self._cells is not None else self.table[self.rows]


def _fast_dtype(column: pd.Series, text: bool) -> bool:
    """Strings, objects, or numpy / nullable numbers without a -0.0 (the distinct-value pass
    would merge -0.0 with 0.0, which pandas writes apart); anything else goes to pandas."""
    dtype = column.dtype
    kind = getattr(dtype, "kind", "")
    if text and (dtype == object or pd.api.types.is_string_dtype(dtype)):
        return True
    if kind not in _NUMBER_KINDS or not isinstance(dtype, np.dtype) and not isinstance(column.array, _MASKED):
        return False
    if kind == "f":
        values = column.to_numpy(dtype=float, na_value=np.nan)
        return not (np.signbit(values) & (values == 0)).any()
    return True


def _fields(column: pd.Series, text: bool) -> _Column:
    """The quoted field of every row, formatting each distinct value once."""
    values = column.array if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) else column.to_numpy()
    if pd.api.types.is_string_dtype(column.dtype) and not isinstance(values, np.ndarray):
        values = values.to_numpy(dtype=object)  # pandas' str arrays: the cells, no copy
    rows, distinct = factorize(values, max_objects=max(4_096, len(values) // 8), by_value=False)
    if rows is None:  # mostly distinct objects (an id column): every cell on its own
        cells = column.astype("str").to_numpy(dtype=object).tolist()
        quoted = _quote_plain_texts(cells)
        return _Column(None, None, np.array(quoted if quoted is not None else [_text_cell(v) for v in cells],
                                            dtype=object))
    if text:  # pandas' text conversion, applied to the distinct values only
        table = [_text_cell(v) for v in pd.Series(distinct, dtype=distinct.dtype).astype("str").tolist()]
    else:
        table = [_number_cell(v) for v in distinct.tolist()]
    rows = np.where(rows < 0, len(table), rows)  # missing (code -1) → the last entry, ""
    return _Column(rows, np.array(table + ['""'], dtype=object))


def _merge(columns: list[_Column], limit: int) -> list[_Column]:
    """Join neighbouring columns whose combined distinct rows stay under `limit`: a row's text is
    then looked up once for the group instead of joined field by field (the join is the bulk of
    the time: ~60 ns per field)."""
    out: list[_Column] = []
    for col in columns:
        last = out[-1] if out else None
        if last is None or last.rows is None or col.rows is None:
            out.append(col)
            continue
        width = len(col.table)
        if max(len(last.table), width) > limit or len(last.table) * width >= 1 << 62:
            out.append(col)
            continue
        rows, combos = _combine(last.rows * width + col.rows, len(last.table) * width)
        if len(combos) > limit:
            out.append(col)
            continue
        left, right = last.table, col.table
        table = np.array([left[c // width] + "," + right[c % width] for c in combos.tolist()], dtype=object)
        out[-1] = _Column(rows, table)
    return out


def _combine(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(dense code per row, the distinct combined codes); a count table instead of hashing when
    the code space is small (4 ms against 40 ms at 1 M rows)."""
    if size > 1 << 22:
        return pd.factorize(codes)
    present = np.flatnonzero(np.bincount(codes, minlength=size))
    dense = np.zeros(size, dtype=np.int64)
    dense[present] = np.arange(len(present))
    return dense[codes], present


def _quote_plain_texts(texts: list[Any]) -> list[str] | None:
    """'"text"' for every cell, in a few C-level passes, when no cell is missing, holds a quote
    or a NUL, or starts with a formula prefix (checked on the joined text); else None."""
    try:
        joined = "\0".join(texts)  # TypeError on a missing cell (NaN)
    except TypeError:
        return None
    if '"' in joined or joined.count("\0") != len(texts) - 1 or joined.startswith(FORMULA_PREFIXES):
        return None
    if any(("\0" + p) in joined for p in FORMULA_PREFIXES):
        return None
    return ('"' + joined.replace("\0", '"\0"') + '"').split("\0")


def _text_cell(value: Any) -> str:
    if not isinstance(value, str):  # NaN: astype("str") keeps missing cells missing
        return '""'
    return _quote(_neutral(value))


def _number_cell(value: Any) -> str:
    if value is None or value is pd.NA or value != value:  # NaN / NA
        return '""'
    return '"' + str(value) + '"'


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(text) else text


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def pandas_safe_csv(df: pd.DataFrame, *, text_columns: Sequence[str]) -> bytes:
    """The same bytes through pandas' own writer: for dtypes the fast path does not format."""
    declared = set(text_columns)
    safe = df.copy(deep=False)  # copy-on-write: replacing columns below leaves df untouched
    for i, name in enumerate(df.columns):
        column = df.iloc[:, i]
        if name in declared or not is_numeric_dtype(column.dtype):
            text = column.astype("str")
            risky = (text.str[:1].isin(FORMULA_PREFIXES) & ~text.str.fullmatch(PLAIN_NUMBER.pattern)
                     .fillna(False).astype(bool)).to_numpy()
            if risky.any():  # prefix only the risky cells, by position (the index may repeat)
                values = text.to_numpy(dtype=object, copy=True)
                values[risky] = "'" + values[risky]
                text = pd.Series(values, index=df.index, dtype="str")
            safe.isetitem(i, text)
    safe.columns = [_neutral(c) for c in map(str, df.columns)]
    buffer = io.BytesIO()
    safe.to_csv(buffer, index=False, quoting=csv.QUOTE_ALL, lineterminator="\n", encoding="utf-8")
    return buffer.getvalue()
