"""Who moved where: the migration matrix between an earlier scored file and the new scores.

Customers are matched on the id column, compared as trimmed text (``"17"`` in one file and ``17``
in the other match). An id that appears more than once in a file with *different* segments is an
error (which row is the customer?); repeated identical rows count once.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.tables.cells import to_numbers


class MigrationError(ValueError):
    """The files cannot be matched customer by customer."""


def _ids(frame: pd.DataFrame, id_column: str | None, what: str) -> pd.Series:
    if not id_column:
        raise MigrationError("a migration matrix needs the id column: pass id_column (the bundle's "
                             "id column is unknown)")
    if id_column not in frame.columns:
        raise MigrationError(f"{what} has no id column {id_column!r}; found: "
                             f"{', '.join(map(str, frame.columns))[:200]}")
    ids = frame[id_column].astype("string").str.strip()
    if (ids.isna() | (ids == "")).any():
        row = int(np.argmax((ids.isna() | (ids == "")).to_numpy())) + 1
        raise MigrationError(f"{what}: id column {id_column!r} is empty on data row {row}")
    return ids.reset_index(drop=True)


def _one_per_id(ids: pd.Series, seg: np.ndarray, what: str) -> pd.Series:
    """Segment per id (NaN = no segment); an id with two different segments is an error."""
    table = pd.DataFrame({"id": ids, "seg": seg}).drop_duplicates()
    dup = table["id"].duplicated(keep=False)
    if dup.any():
        shown = ", ".join(map(repr, table.loc[dup, "id"].unique()[:5].tolist()))
        raise MigrationError(f"{what}: ids appear more than once with different segments ({shown}); "
                             f"each customer must appear once")
    return table.set_index("id")["seg"]


def migration_matrix(previous_scored: pd.DataFrame, new_frame: pd.DataFrame, new_segments: np.ndarray,
                     new_ok: np.ndarray, *, id_column: str | None, k: int) -> dict[str, Any]:
    """``matrix[i][j]``: customers in segment i before and j now; ``new``: customers only in the
    new file, by segment; ``left``: customers only in the earlier file, by their old segment;
    ``now_in_error``: customers in both whose new row the model rejected, by old segment;
    ``before_in_error``: customers in both who had no segment before, by new segment."""
    if "segment_id" not in previous_scored.columns:
        raise MigrationError("the earlier scored file has no segment_id column: pass a file written "
                             "by `python -m training score`")
    old_seg, bad = to_numbers(previous_scored["segment_id"])
    if bad.any():
        raise MigrationError(f"the earlier scored file: segment_id is not a number on data row "
                             f"{int(np.argmax(bad)) + 1}")
    old = _one_per_id(_ids(previous_scored, id_column, "the earlier scored file"), old_seg,
                      "the earlier scored file")
    new = _one_per_id(_ids(new_frame, id_column, "the new data"),
                      np.where(new_ok, new_segments, np.nan), "the new data")
    if ((old.dropna() < 0) | (old.dropna() >= k)).any():
        raise MigrationError(f"the earlier scored file has segment ids outside 0..{k - 1}")
    both = old.index.intersection(new.index)
    o, w = old.loc[both].to_numpy(), new.loc[both].to_numpy()
    ok = ~np.isnan(o) & ~np.isnan(w)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (o[ok].astype(np.int64), w[ok].astype(np.int64)), 1)
    only_new = new.drop(index=both).dropna().astype(np.int64)
    only_old = old.drop(index=both).dropna().astype(np.int64)
    return {
        "id_column": id_column, "segments": list(range(k)),
        "matrix": matrix.tolist(),
        "stayed": int(np.trace(matrix)), "moved": int(matrix.sum() - np.trace(matrix)),
        "new": np.bincount(only_new, minlength=k).tolist(),
        "left": np.bincount(only_old, minlength=k).tolist(),
        "now_in_error": np.bincount(o[~np.isnan(o) & np.isnan(w)].astype(np.int64), minlength=k).tolist(),
        "before_in_error": np.bincount(w[np.isnan(o) & ~np.isnan(w)].astype(np.int64), minlength=k).tolist(),
    }
