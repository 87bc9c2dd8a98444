"""Batch scoring shared by the CLI and the app: strict CSV in → validated, scored, safe CSV out."""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from model.csvio import read_csv_strict, to_safe_csv
from model.memory import release_free_memory
from model.predictor import Predictor

OUTPUT_COLUMNS = ["segment_id", "segment_name", "confidence", "unlike_training", "notes", "error"]
MAX_COLUMNS = 1_000  # header fields of an uploaded file; a customer table needs far fewer


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
    frame = read_csv_strict(data, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns,
                            required_columns=schema.names,
                            numeric_columns=[f.name for f in schema.numeric],
                            usecols=[*ids, *schema.names] if keep_columns == "schema" else None)
    result = predictor.predict_frame(frame)
    if keep_columns == "schema":
        keep = [c for c in ids if c in frame.columns] + schema.names
    else:
        keep = [c for c in frame.columns if c not in OUTPUT_COLUMNS]
    out = pd.concat([frame[keep].reset_index(drop=True),
                     result[OUTPUT_COLUMNS].reset_index(drop=True)], axis=1)
    text_cols = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])
                 or pd.api.types.is_bool_dtype(out[c])]
    return to_safe_csv(out, text_columns=text_cols), _summary(predictor, result)


def _summary(predictor: Predictor, result: pd.DataFrame) -> dict[str, Any]:
    """Counts per segment (largest first, ties in order of first appearance, like
    `Counter.most_common`), the first 20 rejected rows and their errors."""
    ids = result["segment_id"].to_numpy(dtype=np.int64, na_value=-1)  # NA ⇔ the row has an error
    scored = ids[ids >= 0]
    counts = np.bincount(scored, minlength=predictor.k)
    present = [j for j in range(len(counts)) if counts[j]]
    first = {j: int(np.argmax(scored == j)) for j in present}
    order = sorted(present, key=lambda j: (-counts[j], first[j]))
    names = [s["name"] for s in predictor.segments]
    bad = np.flatnonzero(ids < 0)
    return {
        "rows": int(len(result)), "scored": int(len(scored)), "rejected": int(len(bad)),
        "per_segment": {names[j]: int(counts[j]) for j in order},
        "errors": [{"line": int(result.index[i]) + 2, "error": result["error"].iat[i]} for i in bad[:20]],
        "unlike_training": int(result["unlike_training"].sum()),
    }
