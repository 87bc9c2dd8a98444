"""What a cell or a header *is*: the one home of three rules every reader, validator and engine uses.

* `to_numbers` — text → number. A cell is stripped; an empty cell is missing (NaN, not bad); a
  finite decimal number is its value; anything else — words, ``inf``, ``1e309``, ``True`` — is
  present but no number (NaN, bad). Numeric columns pass through with the same rule for ±inf;
  a boolean column is never numbers. Decimal commas are the reader's business
  (`model.tables.sniff`): by the time a cell gets here, ``12,5`` has become ``12.5``.
* `header_key` — header matching: case, underscores and runs of whitespace are ignored, so
  ``Spending Score``, `` spending_score `` and ``SPENDING  score`` name one column.
* `category_key` / `category_codes` — category matching: `header_key`'s rule plus '&' for
  'and'; a column's cells become level indexes, `MISSING` for an empty cell and `UNKNOWN` for
  anything that is no level (a number or a boolean in a category column included).

    >>> to_numbers(pd.Series([" 12.5", "", "abc", "inf", None]))[0].tolist()
    [12.5, nan, nan, nan, nan]
    >>> header_key(" Spending_Score "), category_key("Home and Garden")
    ('spending score', 'home & garden')
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from model.tables.codes import factorize

MISSING, UNKNOWN = -1, -2  # category codes of an empty cell and of a value that is no level
_SPACES = re.compile(r"\s+")


def to_numbers(cells: Any) -> tuple[np.ndarray, np.ndarray]:
    """(float per cell, NaN when empty or no finite number; True where the cell is present but no
    finite number). `cells`: a Series or an array (object arrays of distinct texts included)."""
    column = cells if isinstance(cells, pd.Series) else pd.Series(np.asarray(cells, dtype=object)
                                                                  if not _numeric_array(cells) else cells)
    n = len(column)
    if pd.api.types.is_bool_dtype(column):  # a checkbox is not an income
        return np.full(n, np.nan), np.ones(n, dtype=bool)
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(values)
    else:
        text = column.astype("string").str.strip()
        blank = (text.isna() | (text == "")).to_numpy()
        values = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~blank & ~np.isfinite(values)
    if bad.any():
        values = np.where(bad, np.nan, values)
    return values, bad


def _numeric_array(cells: Any) -> bool:
    kind = getattr(getattr(cells, "dtype", None), "kind", "O")
    return kind in "biuf"


def header_key(name: Any) -> str:
    """The key two header spellings share when they name the same column."""
    return " ".join(str(name).replace("_", " ").split()).casefold()


def find_column(header: Iterable[Any], name: str, aliases: Sequence[str] = ()) -> str | None:
    """The header field that is `name` (or one of its `aliases`, e.g. the label the app shows
    for it), matched by `header_key`; None when there is none."""
    keys = [header_key(n) for n in (name, *aliases)]
    by_key: dict[str, str] = {}
    for h in header:
        by_key.setdefault(header_key(h), str(h))
    return next((by_key[k] for k in keys if k in by_key), None)


def category_key(value: Any) -> str:
    """Spelling-insensitive key for a category: case, surrounding/inner whitespace, '&' vs 'and'."""
    return _SPACES.sub(" ", str(value).strip()).casefold().replace(" and ", " & ")


def category_codes(column: pd.Series, keys: Mapping[str, int]) -> np.ndarray:
    """Level index per row (`keys`: `category_key` of each level → its index); `MISSING` for an
    empty cell, `UNKNOWN` for a value that is no level. Each distinct cell is looked up once."""
    if isinstance(column.dtype, pd.StringDtype):  # what the CSV reader makes: Arrow encodes it (10x
        rows, uniques = pd.factorize(column)     # faster than a copy to Python objects); missing → -1
        uniques = np.asarray(uniques, dtype=object)
    else:
        rows, uniques = factorize(column.to_numpy(dtype=object) if not isinstance(column.dtype, np.dtype)
                                  else column.to_numpy())  # NaN / None / pd.NA → code -1 or a unique NA
    lut = np.empty(len(uniques) + 1, dtype=np.int64)
    lut[-1] = MISSING
    for u, value in enumerate(np.asarray(uniques, dtype=object).tolist()):
        if isinstance(value, str):
            lut[u] = keys.get(category_key(value), UNKNOWN) if value.strip() else MISSING
        else:  # a number or a boolean in a category column is no level; NaN / None is an empty cell
            lut[u] = MISSING if value is None or value is pd.NA or (isinstance(value, float) and value != value) \
                else UNKNOWN
    return lut[rows]  # row code -1 picks lut[-1]
