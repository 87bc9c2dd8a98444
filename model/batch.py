"""Batch scoring shared by the CLI and the app: strict CSV in → validated, scored, safe CSV out.

The rule "row error vs file error" is the one of `model.schema`: the file is refused as a whole
(`CSVError`) only when it is structurally unusable; a bad cell becomes its row's `error`, and
every good row is scored and kept, in order, with its true line number in the summary.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from model.csvio import read_csv_table, to_safe_csv
from model.predictor import Predictor

OUTPUT_COLUMNS = ["segment_id", "segment_name", "margin", "runner_up", "why", "offers", "unlike_training",
                  "notes", "error"]
SHOWN_ERRORS = 20


def score_table(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int,
                keep_columns: Literal["all", "schema"] = "schema") -> tuple[bytes, dict[str, Any]]:
    """Returns (scored CSV bytes, summary). `keep_columns="schema"` echoes only the schema's
    columns and the id column (an uploaded file's other columns are not echoed back);
    "all" keeps every input column (the CLI, working on the user's own file)."""
    schema = predictor.schema
    table = read_csv_table(data, max_bytes=max_bytes, max_rows=max_rows, required_columns=schema.names,
                           numeric_columns=[f.name for f in schema.numeric])
    frame = table.frame
    scored = predictor.predict_frame(frame)
    if keep_columns == "schema":
        keep = [c for c in (id_column_of(frame, schema.id_column),) if c] + schema.names
    else:
        keep = [c for c in frame.columns if c not in OUTPUT_COLUMNS]
    out = pd.concat([frame[keep].reset_index(drop=True), output_columns(predictor, scored)], axis=1)
    text_cols = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])
                 or pd.api.types.is_bool_dtype(out[c])]
    return to_safe_csv(out, text_columns=text_cols), summarise(predictor, scored, table.lines)


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
    return out[OUTPUT_COLUMNS]


def summarise(predictor: Predictor, scored: pd.DataFrame, lines: np.ndarray) -> dict[str, Any]:
    """Counts per segment (largest first, ties in order of first appearance), the first
    `SHOWN_ERRORS` rejected rows with their line in the file and their errors."""
    ids = scored["segment_id"].to_numpy(dtype=np.int64, na_value=-1)  # NA ⇔ the row has an error
    ok = ids[ids >= 0]
    counts = np.bincount(ok, minlength=predictor.k)
    present = [j for j in range(len(counts)) if counts[j]]
    first = {j: int(np.argmax(ok == j)) for j in present}
    order = sorted(present, key=lambda j: (-counts[j], first[j]))
    bad = np.flatnonzero(ids < 0)
    return {
        "rows": int(len(scored)), "scored": int(len(ok)), "rejected": int(len(bad)),
        "per_segment": {predictor.segments[j].name: int(counts[j]) for j in order},
        "errors": [{"line": int(lines[i]), "error": scored["error"].iat[i]} for i in bad[:SHOWN_ERRORS]],
        "unlike_training": int(scored["unlike_training"].sum()),
    }
