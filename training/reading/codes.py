"""A text table as integer codes: the form `training.reading.table.clean` works on, at any size.

Every column becomes a code per row (-1 for an empty cell) into the column's list of distinct
texts. Building it chunk by chunk keeps only codes (4 bytes a cell) and each distinct text once, so
a 10 M-row CSV fits in a few hundred MB instead of the many GB of a frame of Python strings. The
cleaning decisions (is it a number? which spelling is canonical? which rows repeat?) then look at
each distinct text once, weighted by its row count, which gives exactly the results that working
on every cell gives, in a fraction of the time.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from model.tables.cells import category_key, to_numbers
from model.tables.codes import factorize, take  # noqa: F401  (re-exported)


class TextColumns:
    """Columns of a text table as codes. Feed chunks with `add`, then call `finish` once."""

    def __init__(self, names: Sequence[str]):
        self.names = [str(n) for n in names]
        self.rows = 0
        self._parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in self.names]
        self.codes: list[np.ndarray] = []  # per column, after `finish`: code per row (int32)
        self.values: list[np.ndarray] = []  # per column, after `finish`: distinct texts (object)

    def add(self, frame: pd.DataFrame) -> None:
        """Append a chunk whose columns are `names`, in order (text cells or missing)."""
        if [str(c) for c in frame.columns] != self.names:
            raise ValueError(f"chunk columns {list(frame.columns)} differ from the header {self.names}")
        for j in range(len(self.names)):
            column = frame.iloc[:, j]
            values = column.to_numpy(dtype=object) if not isinstance(column.dtype, np.dtype) else column.to_numpy()
            rows, distinct = factorize(values)
            self._parts[j].append((rows.astype(np.int32), _texts(distinct)))
        self.rows += len(frame)

    def finish(self) -> "TextColumns":
        """Merge the chunks' distinct texts into one list per column."""
        for parts in self._parts:
            texts = np.concatenate([d for _, d in parts]) if parts else np.empty(0, dtype=object)
            to_global, distinct = pd.factorize(texts)  # missing texts (None) → -1
            codes, start = [], 0
            for rows, d in parts:
                local = np.append(to_global[start:start + len(d)], -1).astype(np.int32)
                codes.append(local[rows])  # row code -1 (missing) picks the appended -1
                start += len(d)
            self.codes.append(np.concatenate(codes) if codes else np.empty(0, dtype=np.int32))
            self.values.append(np.asarray(distinct, dtype=object))
        self._parts = []
        return self

    def duplicated(self) -> np.ndarray:
        """Rows equal to an earlier row in every column (empty equals empty)."""
        if not self.rows:
            return np.zeros(0, dtype=bool)
        return pd.DataFrame(dict(enumerate(self.codes))).duplicated(keep="first").to_numpy()


def _texts(distinct: Any) -> np.ndarray:
    """Distinct cells as str (None for missing), as `astype("string")` would read them."""
    out = np.array(distinct, dtype=object)  # a copy
    missing = pd.isna(out)
    out[missing] = None
    if pd.api.types.infer_dtype(out[~missing], skipna=False) in ("string", "empty"):
        return out  # the usual case, checked in C: every present cell is already a str
    for i, v in enumerate(out.tolist()):
        if v is not None and not isinstance(v, str):
            out[i] = str(v)
    return out


def counts(codes: np.ndarray, size: int) -> np.ndarray:
    """Rows per distinct text (missing cells not counted)."""
    return np.bincount(codes[codes >= 0], minlength=size)


def unify_spellings(values: np.ndarray, n_rows: np.ndarray) -> tuple[np.ndarray, dict[str, str], int]:
    """Canonical spelling per distinct text (NaN for empty), the changes made (raw text → canonical,
    sorted) and the number of distinct canonical levels. Every spelling variant of a key
    (`category_key`) maps to its most frequent stripped spelling; ties go to the smallest."""
    used = [(v, int(n)) for v, n in zip(values.tolist(), n_rows.tolist()) if n]
    per_spelling: Counter[str] = Counter()
    for v, n in used:
        s = v.strip()
        if s:
            per_spelling[s] += n
    groups: dict[str, list[tuple[int, str]]] = {}
    for spelling, n in per_spelling.items():
        groups.setdefault(category_key(spelling), []).append((-n, spelling))
    canon = {key: sorted(v)[0][1] for key, v in groups.items()}
    mapping = {s: canon[category_key(s)] for s in per_spelling}
    changed = {s: m for s, m in mapping.items() if m != s}
    for v, _ in used:
        s = v.strip()
        if s and v != s:  # padded: the raw text is reported too
            changed[v] = mapping[s]
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        s = v.strip()
        out[i] = mapping.get(s, np.nan) if s else np.nan
    return out, dict(sorted(changed.items())), len(set(mapping.values()))


def is_identifier(values: np.ndarray, codes: np.ndarray) -> bool:
    """`training.reading.table.detect_id_column`'s test for an unnamed id: at least 20 rows, no empty cell,
    unique per row, and text or increasing whole numbers."""
    if len(codes) < 20 or (codes < 0).any():
        return False
    if np.bincount(codes, minlength=len(values)).max(initial=0) > 1:
        return False
    nums, bad = to_numbers(values)
    if bad[codes].any():
        return True
    per_row = nums[codes]
    return bool((per_row % 1 == 0).all() and (np.diff(per_row) >= 0).all())


def concat_chunks(chunks: Iterable[pd.DataFrame]) -> TextColumns:
    """A finished `TextColumns` from text chunks sharing one header."""
    store: TextColumns | None = None
    for chunk in chunks:
        store = store or TextColumns(chunk.columns)
        store.add(chunk)
    if store is None:
        raise ValueError("no data")
    return store.finish()
