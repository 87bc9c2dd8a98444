"""Batch scoring shared by the CLI and the app: strict CSV in → validated, scored, safe CSV out.

Files are read as they are written (`model.tables.sniff`: commas, Excel's semicolons with decimal
commas, tabs, aligned columns; a byte-order mark), and headers match a feature by its name or by
the label the app shows for it ("Spending score" for spending_score); the summary's `read` says
how. Numbers come out as people write them: 24, not 24.0; money with at most 2 decimals.

The rule "row error vs file error" is the one of `model.contract.schema`: the file is refused as a whole
(`CSVError`) only when it is structurally unusable; a bad cell becomes its row's `error`, and
every good row is scored and kept, in order, with its true line number in the summary.

A bundle trained on an order log scores either a customer table (its feature columns) or an order
log (`score_log`: one row per customer, the features named as in the schema, so a scored row can
be sent back to `POST /predict`); `score_upload` tells them apart by the header.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from model.tables.cells import find_column
from model.tables.export import number_texts
from model.tables.reading import read_csv_table, to_safe_csv
from model.tables.sniff import read_header
from model.tables.memory import release_free_memory
from model.serving.predictor import Predictor
from model.orders.customers import ID_COLUMN, customer_features

# the scored columns, after the input's; rfm_label only for a bundle of RFM features; bundle names the
# bundle that scored the row (`Predictor.bundle_id`): a column, so the file stays a plain table
OUTPUT_COLUMNS = ["segment_id", "segment_name", "margin", "runner_up", "why", "offers", "unlike_training",
                  "notes", "error", "rfm_label", "bundle"]
SHOWN_ERRORS = 20
MAX_COLUMNS = 1_000  # header fields of an uploaded file; a customer table needs far fewer
MONEY_ROLES = {"monetary", "avg_order_value", "income"}  # written with at most 2 decimals


def score_upload(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int,
                 keep_columns: Literal["all", "schema"] = "schema",
                 max_columns: int | None = MAX_COLUMNS) -> tuple[bytes, dict[str, Any]]:
    """A customer table, or — for a bundle trained on an order log — the order log itself."""
    if predictor.manifest.transactions is not None and not has_features(predictor, data):
        return score_log(predictor, data, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns)
    return score_table(predictor, data, max_bytes=max_bytes, max_rows=max_rows, keep_columns=keep_columns,
                       max_columns=max_columns)


def feature_aliases(predictor: Predictor) -> dict[str, list[str]]:
    """feature name → the label the app shows for it: a header may use either."""
    return {f.name: [f.label] for f in predictor.schema.features if f.label}


def has_features(predictor: Predictor, data: bytes) -> bool:
    """Whether the file's header names every feature (by name or label): a customer table, not a
    log. A file whose header cannot be read is taken as a table: its reader says why."""
    try:
        header = read_header(data)
    except ValueError:
        return True
    aliases = feature_aliases(predictor)
    return all(find_column(header, n, aliases.get(n, ())) is not None for n in predictor.schema.names)


def score_log(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int,
              max_columns: int | None = MAX_COLUMNS, date_format: str | None = None) -> tuple[bytes, dict[str, Any]]:
    """An order log → one scored row per customer: customer_id, the features, the segment.
    Dates are read as at training when it named a `date_format`, unless one is given."""
    payload, summary = _score_log(predictor, data, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns,
                                  date_format=date_format)
    release_free_memory()  # the frames are gone by now: give their pages back
    return payload, summary


def log_options(predictor: Predictor, header: list[str], date_format: str | None = None) -> dict[str, Any]:
    """How a bundle trained on an order log reads a new log: the columns it was trained on that
    this header has, and the date format it was told (unless `date_format` is given)."""
    tx = predictor.manifest.transactions
    if tx is None:
        return {}
    same = {role: col for role, col in tx.columns.items() if col in set(header)}
    trained = (tx.report.get("dates") or {}).get("date_format")
    return {**same, "date_format": date_format or trained}


def _score_log(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int,
               max_columns: int | None, date_format: str | None) -> tuple[bytes, dict[str, Any]]:
    table = read_csv_table(data, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns)
    options = log_options(predictor, list(table.frame.columns), date_format)
    result = customer_features(table.frame, **options, read=table.dialect)
    customers = result.frame
    scored = predictor.predict_frame(customers[predictor.schema.names])
    out = pd.concat([customers[[ID_COLUMN, *predictor.schema.names]].reset_index(drop=True),
                     output_columns(predictor, scored)], axis=1)
    summary = summarise(predictor, scored, ids=customers[ID_COLUMN].to_numpy())
    rep = result.report
    summary["read"] = table.dialect.as_report()
    summary["log"] = {"lines_in": rep["lines_in"], "lines_kept": rep["lines_kept"], "customers": rep["customers"],
                      "dropped": {k: v for k, v in rep["dropped"].items() if v}, "as_of": rep["as_of"],
                      "columns": {role: info["column"] for role, info in rep["columns"].items()}}
    return _write(predictor, out), summary


def _write(predictor: Predictor, out: pd.DataFrame) -> bytes:
    """The scored frame as safe CSV bytes, numbers written as people write them (`number_texts`):
    whole numbers without '.0', money (`MONEY_ROLES`) with at most 2 decimals."""
    money = {f.name for f in predictor.schema.numeric if f.role in MONEY_ROLES}
    out = out.copy(deep=False)
    for i, name in enumerate(out.columns):
        column = out.iloc[:, i]
        if column.dtype.kind == "f":
            out.isetitem(i, pd.Series(number_texts(column.to_numpy(), decimals=2 if name in money else None),
                                      index=out.index, dtype=object))
    text_cols = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])
                 or pd.api.types.is_bool_dtype(out[c])]
    return to_safe_csv(out, text_columns=text_cols)


def score_table(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int,
                keep_columns: Literal["all", "schema"] = "schema",
                max_columns: int | None = MAX_COLUMNS) -> tuple[bytes, dict[str, Any]]:
    """Returns (scored CSV bytes, summary). `keep_columns="schema"` reads and echoes only the
    schema's columns and the id column (matched like them: `ID`, ` Id ` → `id`); an uploaded
    file's other columns are neither converted nor echoed back. "all" keeps every input column
    (the CLI, working on the user's own file)."""
    payload, summary = _score(predictor, data, max_bytes=max_bytes, max_rows=max_rows,
                              keep_columns=keep_columns, max_columns=max_columns)
    release_free_memory()  # the frames are gone by now: give their pages back
    return payload, summary


def _score(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int,
           keep_columns: Literal["all", "schema"], max_columns: int | None) -> tuple[bytes, dict[str, Any]]:
    schema = predictor.schema
    ids = [schema.id_column] if schema.id_column else []
    table = read_csv_table(data, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns,
                           required_columns=schema.names, numeric_columns=[f.name for f in schema.numeric],
                           usecols=[*ids, *schema.names] if keep_columns == "schema" else None,
                           aliases=feature_aliases(predictor))
    frame = table.frame
    scored = predictor.predict_frame(frame)
    if keep_columns == "schema":
        keep = [c for c in (id_column_of(frame, schema.id_column),) if c] + schema.names
    else:
        keep = [c for c in frame.columns if c not in OUTPUT_COLUMNS]
    out = pd.concat([frame[keep].reset_index(drop=True), output_columns(predictor, scored)], axis=1)
    summary = summarise(predictor, scored, lines=table.lines)
    summary["read"] = table.dialect.as_report()
    return _write(predictor, out), summary


def id_column_of(frame: pd.DataFrame, id_column: str | None) -> str | None:
    """The frame's column that is the schema's id column, matched like features are (case and
    surrounding spaces ignored: `ID`, ` id `)."""
    return find_column(frame.columns, id_column) if id_column else None


def output_columns(predictor: Predictor, scored: pd.DataFrame) -> pd.DataFrame:
    """The scored columns of the output file: names for runner-ups, offer titles per segment."""
    ok = scored["segment_id"].notna().to_numpy()
    seg = scored["segment_id"].to_numpy(dtype=np.int64, na_value=predictor.k)
    run = scored["runner_up"].to_numpy(dtype=np.int64, na_value=predictor.k)
    names = np.array([s.name for s in predictor.segments] + [""], dtype=object)
    offers = np.array(["; ".join(o.title for o in s.offers) for s in predictor.segments] + [""], dtype=object)
    out = scored.reset_index(drop=True)
    out["runner_up"] = pd.Series(np.where(ok, names[run], ""), dtype=object)
    out["offers"] = pd.Series(offers[seg], dtype=object)
    out["bundle"] = pd.Series(np.full(len(out), predictor.bundle_id, dtype=object), dtype=object)
    return out[output_names(predictor)]


def output_names(predictor: Predictor) -> list[str]:
    """The scored columns this bundle writes, in order."""
    return [c for c in OUTPUT_COLUMNS if c != "rfm_label" or predictor.rfm]


def summarise(predictor: Predictor, scored: pd.DataFrame, *, lines: np.ndarray | None = None,
              ids: np.ndarray | None = None) -> dict[str, Any]:
    """Counts per segment (largest first, ties in order of first appearance), the first
    `SHOWN_ERRORS` rejected rows with their line in the file (or their customer id, for rows made
    from an order log) and their errors."""
    seg = scored["segment_id"].to_numpy(dtype=np.int64, na_value=-1)  # NA ⇔ the row has an error
    ok = seg[seg >= 0]
    counts = np.bincount(ok, minlength=predictor.k)
    present = [j for j in range(len(counts)) if counts[j]]
    first = {j: int(np.argmax(ok == j)) for j in present}
    order = sorted(present, key=lambda j: (-counts[j], first[j]))
    bad = np.flatnonzero(seg < 0)
    return {
        "rows": int(len(scored)), "scored": int(len(ok)), "rejected": int(len(bad)),
        "per_segment": {predictor.segments[j].name: int(counts[j]) for j in order},
        "errors": [({"line": int(lines[i])} if lines is not None else {"customer": str(ids[i])})
                   | {"error": scored["error"].iat[i]} for i in bad[:SHOWN_ERRORS]],
        "unlike_training": int(scored["unlike_training"].sum()),
        "bundle": predictor.bundle_id,
    }
