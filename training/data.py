"""Read a customer CSV, infer column kinds, clean it, and report every change made.

Cleaning is limited to what can be done without guessing at values: exact duplicate rows are
dropped, category spellings are unified to the most common spelling, and unparseable numeric cells
become missing. Missing values are *not* filled here: the pipeline's imputers fill them, so that
prediction fills them the same way.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from model.csvio import read_csv_strict
from model.schema import category_key

log = logging.getLogger(__name__)

_ID_NAME = re.compile(r"^(?:(?i:id|.*[_\s-]id|customer ?id|client ?id)|.*[a-z]I[dD])$")
MAX_LEVELS = 50  # a text column with more distinct values is free text or an identifier, not a category
MAX_TRAIN_BYTES = 8 * 1024 ** 3
MAX_TRAIN_ROWS = 50_000_000


@dataclass
class Cleaned:
    frame: pd.DataFrame  # feature columns only: numeric as float64 (NaN = missing), categorical as object
    numeric: list[str]
    categorical: list[str]
    id_column: str | None
    report: dict[str, Any] = field(default_factory=dict)


def read_table(path: Path | str) -> pd.DataFrame:
    """Read a CSV strictly (encoding, delimiter, ragged rows, duplicate headers) as text."""
    return read_csv_strict(Path(path), max_bytes=MAX_TRAIN_BYTES, max_rows=MAX_TRAIN_ROWS)


def _as_number(col: pd.Series) -> tuple[pd.Series, int]:
    """Parse a text column as numbers; returns (floats, count of non-empty cells that failed)."""
    text = col.astype("string").str.strip()
    present = text.notna() & (text != "")
    nums = pd.to_numeric(text.where(present), errors="coerce").astype(float)
    nums[~np.isfinite(nums)] = np.nan
    return nums, int((present & nums.isna()).sum())


def detect_id_column(frame: pd.DataFrame, explicit: str | None) -> str | None:
    """An explicit --id-column, or the first column named like an id, or a text/integer column that is
    unique per row and (for integers) increasing — a row number, not a measurement."""
    if explicit:
        if explicit not in frame.columns:
            raise ValueError(f"--id-column {explicit!r} is not a column; columns are: "
                             f"{', '.join(frame.columns)}")
        return explicit
    for name in frame.columns:
        if _ID_NAME.match(str(name).strip()):
            return name
    for name in frame.columns:
        col = frame[name]
        if len(col) < 20 or col.isna().any() or not col.is_unique:
            continue
        nums, bad = _as_number(col)
        if bad:  # text, unique per row: an identifier
            return name
        if (nums % 1 == 0).all() and nums.is_monotonic_increasing:
            return name
    return None


def unify_spelling(col: pd.Series) -> tuple[pd.Series, dict[str, str]]:
    """Map every spelling variant to the most frequent spelling of its key."""
    stripped = col.astype("string").str.strip()
    stripped = stripped.where(stripped != "")
    counts = Counter(stripped.dropna())
    groups: dict[str, list[tuple[int, str]]] = {}
    for spelling, n in counts.items():
        groups.setdefault(category_key(spelling), []).append((-n, spelling))
    canon = {key: sorted(v)[0][1] for key, v in groups.items()}
    mapping = {s: canon[category_key(s)] for s in counts}
    raw_changed = {str(s): mapping[s] for s in counts if mapping[s] != s}
    out = stripped.map(mapping, na_action="ignore").astype(object)
    out[stripped.isna()] = np.nan
    raw = col.astype("string")
    padded = raw.notna() & (raw != raw.str.strip()) & (raw.str.strip() != "")
    for r in raw[padded].unique():
        raw_changed[str(r)] = mapping[str(r).strip()]
    return out, dict(sorted(raw_changed.items()))


def clean(raw: pd.DataFrame, *, features: Sequence[str] | None = None,
          id_column: str | None = None) -> Cleaned:
    """Select, type and clean the columns of `raw` (all text, as read). See the module docstring."""
    report: dict[str, Any] = {"rows_in": int(len(raw))}
    dup = raw.duplicated(keep="first")
    frame = raw.loc[~dup].reset_index(drop=True)
    report["duplicates_dropped"] = int(dup.sum())
    idc = detect_id_column(frame, id_column)
    report["id_column"] = idc
    if features:
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise ValueError(f"--features: no column named {', '.join(map(repr, missing))}; "
                             f"columns are: {', '.join(frame.columns)}")
        cols = list(features)
    else:
        cols = [c for c in frame.columns if c != idc]
    numeric, categorical, excluded = [], [], {}
    out: dict[str, pd.Series] = {}
    unparsed: dict[str, int] = {}
    fixes: dict[str, dict[str, str]] = {}
    for name in cols:
        nums, bad = _as_number(frame[name])
        present = int(nums.notna().sum())
        if present and bad <= max(1, 0.02 * (present + bad)):
            numeric.append(name)
            out[name] = nums
            if bad:
                unparsed[name] = bad
            continue
        values, changed = unify_spelling(frame[name])
        levels = values.dropna().nunique()
        if levels > MAX_LEVELS and not features:
            excluded[name] = f"text with {levels} distinct values (more than {MAX_LEVELS})"
            continue
        if levels < 2 and not features:
            excluded[name] = "a single value: carries no information"
            continue
        categorical.append(name)
        out[name] = values
        if changed:
            fixes[name] = changed
    if not out:
        raise ValueError("no usable feature columns: " + "; ".join(f"{k}: {v}" for k, v in excluded.items()))
    clean_frame = pd.DataFrame(out)[numeric + categorical]
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
                   report=report)


def format_report(report: dict[str, Any]) -> str:
    """The cleaning report as lines for the terminal."""
    lines = [f"rows in: {report['rows_in']:,}",
             f"exact duplicates dropped: {report['duplicates_dropped']:,}"]
    if report.get("id_column"):
        lines.append(f"id column excluded from features: {report['id_column']}")
    for name, why in report.get("excluded_columns", {}).items():
        lines.append(f"column excluded: {name} ({why})")
    miss = {k: v for k, v in report.get("missing", {}).items() if v}
    if miss:
        lines.append("missing cells (filled by the pipeline: median / most frequent): "
                     + ", ".join(f"{k}={v}" for k, v in miss.items()))
    for col, n in report.get("unparseable_numbers_set_missing", {}).items():
        lines.append(f"{col}: {n} non-numeric cells treated as missing")
    for col, changes in report.get("category_spellings_unified", {}).items():
        lines.append(f"{col}: {len(changes)} spelling variants unified "
                     f"(e.g. {next(iter(changes))!r} → {next(iter(changes.values()))!r})")
    for why, n in report.get("rows_dropped", {}).items():
        if n:
            lines.append(f"rows dropped ({why}): {n:,}")
    lines.append(f"rows used: {report['rows_out']:,}")
    return "\n".join(lines)
