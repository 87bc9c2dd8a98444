"""How a file was read, for a person to check before fitting: a customer table's columns (read as
numbers, categories, the id or left out, with the role and the reason), or an order log's columns
(which one is the customer, the date, the money, the order) with how its dates were read and what
was set aside. Runs `load_input`, the very reading `fit` does, so what is shown is what is fitted.

    describe(path, source="auto")  →  {"source": "table" | "log", "columns": [...], ...}

Everything returned is plain JSON (it crosses a process boundary: `training.worker`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from model.contract.manifest import Cleaning
from model.orders.columns import ROLES as LOG_ROLES, TransactionsError, recognise_columns
from model.orders.customers import FEATURES
from model.tables.chunks import read_chunks
from training.reading.inputs import Input, TxOptions, load_input
from training.reading.roles import NO_ROLE, ROLES
from training.reading.table import KINDS

SOURCES = ("auto", "table", "log")
_HEAD_BYTES = 256 * 1024  # enough lines to recognise an order log's columns


def header_and_sample(path: Path | str) -> tuple[list[str], pd.DataFrame]:
    """The file's columns and its first lines as text, parsing only the first ~256 KB."""
    first = next(read_chunks(path, chunk_bytes=_HEAD_BYTES))
    return [str(c) for c in first.columns], first.head(2000)


def guess_source(path: Path | str) -> tuple[str, str]:
    """("table" | "log", why): an order log when its customer, date and money columns are found
    and customers repeat over lines; a customer table otherwise."""
    header, sample = header_and_sample(path)
    try:
        roles = recognise_columns(header, sample)
    except TransactionsError:
        return "table", "no customer, date and amount columns together: one row per customer"
    ids = sample[roles.customer].dropna()
    if len(ids) and ids.duplicated().any():
        return "log", (f"customers repeat over lines in {roles.customer!r}, with dates in {roles.date!r}: "
                       "one line per order")
    return "table", f"every {roles.customer!r} appears once: one row per customer"


def describe(path: Path | str, *, source: str = "auto", id_column: str | None = None,
             kinds: Mapping[str, str] | None = None, role_flags: Sequence[str] = (),
             tx: TxOptions | None = None) -> dict[str, Any]:
    """How `fit` would read `path` with these choices (see the module docstring)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}; got {str(source)[:40]!r}")
    why = "chosen by you"
    if source == "auto":
        source, why = guess_source(path)
    path = Path(path)
    if source == "log":
        data = load_input(data=None, transactions=path, tx=tx or TxOptions(), features=None, id_column=None,
                          role_flags=role_flags)
        return {"source": "log", "why_source": why, **_log(path, data)}
    data = load_input(data=path, transactions=None, tx=TxOptions(), features=None, id_column=id_column,
                      role_flags=role_flags, kinds=kinds)
    return {"source": "table", "why_source": why, **_table(data)}


def _table(data: Input) -> dict[str, Any]:
    rep = Cleaning.from_dict(data.cleaning)
    columns = []
    for name in data.columns:
        if name == data.id_column:
            kind, note = "id", "names the customer: kept out of the features"
        elif name in rep.excluded_columns:
            kind, note = "excluded", rep.excluded_columns[name]
        elif name in data.numeric:
            kind, note = "numeric", _numeric_note(data.frame[name], rep.unparseable_numbers_set_missing.get(name, 0))
        else:
            kind, note = "categorical", _category_note(data.frame[name], rep.category_spellings_unified.get(name, {}))
        columns.append({"name": name, "kind": kind, "role": data.roles.get(name), "note": note})
    return {"rows_in": rep.rows_in, "rows_out": rep.rows_out, "id_column": data.id_column,
            "columns": columns, "report": [list(r) for r in rep.rows()],
            "roles_allowed": [NO_ROLE, *ROLES], "kinds_allowed": list(KINDS)}


def _numeric_note(values: pd.Series, unparsed: int) -> str:
    v = values.to_numpy(dtype=float)
    seen = v[~np.isnan(v)]
    parts = [f"{_num(seen.min())} to {_num(seen.max())}" if len(seen) else "no values"]
    missing = int(np.isnan(v).sum())
    if unparsed:
        parts.append(f"{unparsed:,} cells were not numbers: read as missing")
    if missing:
        parts.append(f"{missing:,} missing (filled with the median)")
    return "; ".join(parts)


def _category_note(values: pd.Series, unified: Mapping[str, str]) -> str:
    levels = values.dropna().value_counts()
    shown = ", ".join(str(x) for x in levels.index[:4]) + (", …" if len(levels) > 4 else "")
    parts = [f"{len(levels)} levels ({shown})"]
    if unified:
        raw, canon = next(iter(unified.items()))
        parts.append(f"{len(unified)} spellings unified (e.g. {raw!r} → {canon!r})")
    missing = int(values.isna().sum())
    if missing:
        parts.append(f"{missing:,} missing (filled with the most frequent)")
    return "; ".join(parts)


def _log(path: Path, data: Input) -> dict[str, Any]:
    rep = data.transactions["report"] if data.transactions else {}
    header, _ = header_and_sample(path)
    used = {info["column"]: role for role, info in rep.get("columns", {}).items()}
    how = {info["column"]: info.get("how", "") for info in rep.get("columns", {}).values()}
    columns = [{"name": c, "kind": "log column", "role": used.get(c),
                "note": how.get(c) or "not used"} for c in header]
    dates = rep.get("dates", {})
    formats = ", ".join(f"{fmt} ({n:,} lines)" for fmt, n in dates.get("formats", {}).items())
    return {"rows_in": rep.get("lines_in", 0), "rows_out": rep.get("customers", 0), "id_column": "customer_id",
            "columns": columns, "log_roles": {r: info["column"] for r, info in rep.get("columns", {}).items()},
            "roles_allowed": list(LOG_ROLES), "features": list(FEATURES),
            "date_formats": formats, "date_notes": list(dates.get("notes", [])),
            "dropped": {k: v for k, v in rep.get("dropped", {}).items() if v},
            "as_of": rep.get("as_of"), "orders": rep.get("orders", 0),
            "report": [["lines in", f"{rep.get('lines_in', 0):,}"], ["lines kept", f"{rep.get('lines_kept', 0):,}"],
                       ["customers", f"{rep.get('customers', 0):,}"], ["orders", f"{rep.get('orders', 0):,}"],
                       ["recency counted to", str(rep.get("as_of"))]]}


def _num(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"
