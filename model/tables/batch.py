"""Batch scoring shared by the CLI and the app: strict CSV in → validated, scored, safe CSV out.

The rule "row error vs file error" is the one of `model.contract.schema`: the file is refused as a whole
(`CSVError`) only when it is structurally unusable; a bad cell becomes its row's `error`, and
every good row is scored and kept, in order, with its true line number in the summary.

A bundle trained on an order log scores either a customer table (its feature columns) or an order
log (`score_log`: one row per customer, the features named as in the schema, so a scored row can
be sent back to `POST /predict`); `score_upload` tells them apart by the header.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Literal

import numpy as np
import pandas as pd

from model.tables.reading import read_csv_strict, read_csv_table, to_safe_csv
from model.tables.memory import release_free_memory
from model.serving.predictor import Predictor
from model.orders.customers import ID_COLUMN, customer_features

OUTPUT_COLUMNS = ["segment_id", "segment_name", "margin", "runner_up", "why", "offers", "unlike_training",
                  "notes", "error"]
SHOWN_ERRORS = 20
MAX_COLUMNS = 1_000  # header fields of an uploaded file; a customer table needs far fewer


def score_upload(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int,
                 keep_columns: Literal["all", "schema"] = "schema",
                 max_columns: int | None = MAX_COLUMNS) -> tuple[bytes, dict[str, Any]]:
    """A customer table, or — for a bundle trained on an order log — the order log itself."""
    if predictor.manifest.transactions is not None and not has_columns(data, predictor.schema.names):
        return score_log(predictor, data, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns)
    return score_table(predictor, data, max_bytes=max_bytes, max_rows=max_rows, keep_columns=keep_columns,
                       max_columns=max_columns)


def has_columns(data: bytes, names: list[str]) -> bool:
    """Whether the header of an upload names every one of `names` (spacing and case aside): how a
    customer table is told from an order log, for scoring and for drift (`model.drift.check`)."""
    first = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    line = first[:65536].split(b"\n", 1)[0].decode("utf-8", "replace")
    header = {" ".join(h.split()).casefold() for h in next(csv.reader(io.StringIO(line)), [])}
    return all(" ".join(n.split()).casefold() in header for n in names)


def score_log(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int,
              max_columns: int | None = MAX_COLUMNS) -> tuple[bytes, dict[str, Any]]:
    """An order log → one scored row per customer: customer_id, the features, the segment."""
    payload, summary = _score_log(predictor, data, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns)
    release_free_memory()  # the frames are gone by now: give their pages back
    return payload, summary


def _score_log(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int,
               max_columns: int | None) -> tuple[bytes, dict[str, Any]]:
    tx = predictor.manifest.transactions
    frame = read_csv_strict(data, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns)
    columns = set(frame.columns)
    same = {role: col for role, col in (tx.columns.items() if tx else ()) if col in columns}
    result = customer_features(frame, **same)
    customers = result.frame
    scored = predictor.predict_frame(customers[predictor.schema.names])
    out = pd.concat([customers[[ID_COLUMN, *predictor.schema.names]].reset_index(drop=True),
                     output_columns(predictor, scored)], axis=1)
    text_cols = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])
                 or pd.api.types.is_bool_dtype(out[c])]
    summary = summarise(predictor, scored, ids=customers[ID_COLUMN].to_numpy())
    rep = result.report
    summary["log"] = {"lines_in": rep["lines_in"], "lines_kept": rep["lines_kept"], "customers": rep["customers"],
                      "dropped": {k: v for k, v in rep["dropped"].items() if v}, "as_of": rep["as_of"],
                      "columns": {role: info["column"] for role, info in rep["columns"].items()}}
    return to_safe_csv(out, text_columns=text_cols), summary


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
                           usecols=[*ids, *schema.names] if keep_columns == "schema" else None)
    frame = table.frame
    scored = predictor.predict_frame(frame)
    if keep_columns == "schema":
        keep = [c for c in (id_column_of(frame, schema.id_column),) if c] + schema.names
    else:
        keep = [c for c in frame.columns if c not in OUTPUT_COLUMNS]
    out = pd.concat([frame[keep].reset_index(drop=True), output_columns(predictor, scored)], axis=1)
    text_cols = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])
                 or pd.api.types.is_bool_dtype(out[c])]
    return to_safe_csv(out, text_columns=text_cols), summarise(predictor, scored, lines=table.lines)


def id_column_of(frame: pd.DataFrame, id_column: str | None) -> str | None:
    """The frame's column that is the schema's id column, matched like features are (case and
    surrounding spaces ignored: `ID`, ` id `)."""
    if not id_column:
        return None
    key = " ".join(id_column.split()).casefold()
    return next((c for c in frame.columns if " ".join(str(c).split()).casefold() == key), None)


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
    return out[OUTPUT_COLUMNS + (["rfm_label"] if "rfm_label" in out else [])]


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
    }
