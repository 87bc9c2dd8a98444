"""Read a customer CSV, infer column kinds, clean it, and report every change made.

Cleaning is limited to what can be done without guessing at values: exact duplicate rows are
dropped, category spellings are unified to the most common spelling, and unparseable numeric cells
become missing. Missing values are *not* filled here: the pipeline's imputers fill them, so that
prediction fills them the same way.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from model.tables.chunks import read_chunks, read_table  # noqa: F401  (read_table re-exported)
from model.tables.sniff import Dialect
from model.contract.manifest import Cleaning
from model.tables.cells import to_numbers
from training.reading.codes import TextColumns, concat_chunks, counts, is_identifier, take, unify_spellings

log = logging.getLogger(__name__)

_ID_NAME = re.compile(r"^(?:(?i:id|.*[_\s-]id|customer ?id|client ?id)|.*[a-z]I[dD])$")
MAX_LEVELS = 50  # a text column with more distinct values is free text or an identifier, not a category
KINDS = ("numeric", "categorical", "excluded")  # what a column may be read as (`kinds=`, `--kind`)


@dataclass
class Cleaned:
    frame: pd.DataFrame  # feature columns only: numeric as float64 (NaN = missing), categorical as object
    numeric: list[str]
    categorical: list[str]
    id_column: str | None
    report: dict[str, Any] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)  # every column of the file, in its order


def clean(raw: pd.DataFrame, *, features: Sequence[str] | None = None,
          id_column: str | None = None, kinds: Mapping[str, str] | None = None) -> Cleaned:
    """Select, type and clean the columns of `raw` (all text, as read). See the module docstring."""
    return clean_columns(concat_chunks([raw]), features=features, id_column=id_column, kinds=kinds)


def clean_file(path: Path | str, *, features: Sequence[str] | None = None,
               id_column: str | None = None, dialect: Dialect | None = None,
               kinds: Mapping[str, str] | None = None) -> Cleaned:
    """`clean(read_table(path))`, reading the file in chunks (in `dialect`, default: sniffed):
    memory grows with the distinct cells, not with the text of every cell."""
    return clean_columns(concat_chunks(read_chunks(path, dialect=dialect)), features=features, id_column=id_column,
                         kinds=kinds)


def clean_columns(table: TextColumns, *, features: Sequence[str] | None = None,
                  id_column: str | None = None, kinds: Mapping[str, str] | None = None) -> Cleaned:
    """`clean` on a finished `TextColumns`. `kinds` (column → numeric, categorical or excluded)
    overrides what the values suggest: a forced number reads unparseable cells as missing, a
    forced category keeps numbers as levels, an excluded column is left out and reported."""
    report: dict[str, Any] = {"rows_in": int(table.rows)}
    dup = table.duplicated()
    keep = ~dup
    report["duplicates_dropped"] = int(dup.sum())
    codes = {name: c[keep] for name, c in zip(table.names, table.codes)}
    texts = dict(zip(table.names, table.values))
    kinds = _checked_kinds(kinds or {}, table.names)
    idc = _id_column(table.names, codes, texts, id_column)
    report["id_column"] = idc
    if features:
        missing = [f for f in features if f not in codes]
        if missing:
            raise ValueError(f"--features: no column named {', '.join(map(repr, missing))}; "
                             f"columns are: {', '.join(table.names)}")
        cols = list(features)
    else:
        cols = [c for c in table.names if c != idc]
    numeric, categorical, excluded = [], [], {}
    out: dict[str, np.ndarray] = {}
    unparsed: dict[str, int] = {}
    fixes: dict[str, dict[str, str]] = {}
    for name in cols:
        forced = kinds.get(name)
        if forced == "excluded":
            excluded[name] = "excluded by you"
            continue
        rows_per = counts(codes[name], len(texts[name]))
        nums, not_number = to_numbers(texts[name])
        present = int(rows_per[~np.isnan(nums)].sum())
        bad = int(rows_per[not_number].sum())
        if forced == "numeric" and not present:
            excluded[name] = "read as numbers, but no cell is a number"
            continue
        if forced == "numeric" or (forced is None and present and bad <= max(1, 0.02 * (present + bad))):
            numeric.append(name)
            out[name] = take(nums, codes[name], np.nan)
            if bad:
                unparsed[name] = bad
            continue
        canon, changed, levels = unify_spellings(texts[name], rows_per)
        why = not_a_category(levels, chosen=bool(features))
        if why:
            excluded[name] = why
            continue
        categorical.append(name)
        out[name] = take(canon, codes[name], np.nan)
        if changed:
            fixes[name] = changed
    if not out:
        why = [f"{k}: {v}" for k, v in excluded.items()]
        if idc is not None:
            why.insert(0, f"{idc}: the id column (names customers, describes none)")
        raise ValueError("no usable feature columns: " + ("; ".join(why) or "the file has no columns"))
    if len(out) == 1 and numeric:  # one number: nothing to segment on but its own ranges, and no map
        left_out = "".join(f"; {k}: {v}" for k, v in excluded.items())
        raise ValueError(f"only one usable feature column ({numeric[0]}){left_out}: segments need at least two "
                         "columns describing the customers (numbers or categories)")
    clean_frame = pd.DataFrame({c: pd.Series(out[c], dtype=out[c].dtype, copy=False)  # object stays object
                                for c in numeric + categorical})
    empty = clean_frame.isna().all(axis=1)
    if empty.any():
        clean_frame = clean_frame.loc[~empty].reset_index(drop=True)
    report.update({
        "excluded_columns": excluded,
        "numeric": numeric, "categorical": categorical,
        "missing": {c: int(clean_frame[c].isna().sum()) for c in clean_frame.columns},
        "unparseable_numbers_set_missing": unparsed,
        "category_spellings_unified": fixes,
        "rows_dropped": {"exact duplicate": int(dup.sum()), "no feature values": int(empty.sum())},
        "rows_out": int(len(clean_frame)),
    })
    if len(clean_frame) < 10:
        raise ValueError(f"only {len(clean_frame)} usable rows after cleaning; at least 10 are needed")
    return Cleaned(frame=clean_frame, numeric=numeric, categorical=categorical, id_column=idc,
                   report=report, columns=list(table.names))


def _checked_kinds(kinds: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    """`kinds` with every column and kind checked: a message names the column and the allowed values."""
    for name, kind in kinds.items():
        if name not in names:
            raise ValueError(f"kind for {name!r}: no such column; columns are: {', '.join(names)}")
        if kind not in KINDS:
            raise ValueError(f"kind for {name!r} must be one of {', '.join(KINDS)}; got {str(kind)[:40]!r}")
    return dict(kinds)


def not_a_category(levels: int, *, chosen: bool) -> str | None:
    """Why a text column with `levels` distinct values is left out of the features (None: it is a
    category). Columns the user chose with --features are always kept. Every engine uses this."""
    if chosen:
        return None
    if levels > MAX_LEVELS:
        return f"text with {levels} distinct values (more than {MAX_LEVELS})"
    if levels == 0:
        return "empty in every row"
    if levels < 2:
        return "a single value: carries no information"
    return None


def _id_column(names: list[str], codes: dict[str, np.ndarray], texts: dict[str, np.ndarray],
               explicit: str | None) -> str | None:
    """An explicit --id-column, or the first column named like an id, or a text/integer column that is
    unique per row and (for integers) increasing — a row number, not a measurement."""
    if explicit:
        if explicit not in codes:
            raise ValueError(f"--id-column {explicit!r} is not a column; columns are: "
                             f"{', '.join(names)}")
        return explicit
    for name in names:
        if _ID_NAME.match(str(name).strip()):
            return name
    return next((n for n in names if is_identifier(texts[n], codes[n])), None)


def format_report(report: Cleaning) -> str:
    """The cleaning report as lines for the terminal."""
    return "\n".join(f"{step}: {result}" for step, result in report.rows())
