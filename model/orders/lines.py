"""An order log's lines as codes: each column a code per line into its distinct values, built chunk
by chunk, so that every later step looks at each distinct text once (`model.orders.customers`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from model.orders.columns import TransactionsError

SAMPLE_LINES = 2_000  # lines the column recognition looks at


@dataclass
class Encoded:
    """Each column as a code per line (-1: empty) into its distinct values (object array)."""
    names: list[str]
    codes: list[np.ndarray]
    uniques: list[np.ndarray]
    rows: int
    sample: pd.DataFrame

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(code per line, distinct values) of a column."""
        i = self.names.index(name)
        return self.codes[i], self.uniques[i]


def encode(chunks: Iterable[pd.DataFrame]) -> Encoded:
    """Codes and distinct values per column over all chunks (values as text, None for empty)."""
    parts: list[list[tuple[np.ndarray, np.ndarray]]] = []
    names: list[str] = []
    sample, rows = None, 0
    for chunk in chunks:
        if sample is None:
            names, sample = [str(c) for c in chunk.columns], chunk.head(SAMPLE_LINES)
            parts = [[] for _ in names]
        for j in range(len(names)):
            codes, uniq = pd.factorize(chunk.iloc[:, j])
            parts[j].append((codes, _as_text(uniq)))
        rows += len(chunk)
    if sample is None:
        raise TransactionsError("the order log is empty")
    codes_out, uniq_out = [], []
    for col in parts:
        if len(col) == 1:
            codes_out.append(col[0][0].astype(np.int64))
            uniq_out.append(col[0][1])
            continue
        to_global, distinct = pd.factorize(np.concatenate([u for _, u in col]))
        out, start = [], 0
        for codes, u in col:
            local = np.append(to_global[start:start + len(u)], -1)
            out.append(local[codes])
            start += len(u)
        codes_out.append(np.concatenate(out).astype(np.int64))
        uniq_out.append(np.asarray(distinct, dtype=object))
    return Encoded(names, codes_out, uniq_out, rows, sample)


def _as_text(uniques: Any) -> np.ndarray:
    values = pd.Series(np.asarray(uniques, dtype=object) if not hasattr(uniques, "dtype") else uniques)
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        values = values.astype(str)  # dates, numbers of a typed frame: their text, read back below
    return values.to_numpy(dtype=object)


def duplicated(enc: Encoded) -> np.ndarray:
    """Lines equal to an earlier line in every column: the codes folded into one int64 key."""
    key, span = np.zeros(enc.rows, dtype=np.int64), 1
    for codes, uniq in zip(enc.codes, enc.uniques):
        base = len(uniq) + 1
        if span * base >= 2 ** 62:
            key, distinct = pd.factorize(key)
            span = len(distinct)
        key = key * base + (codes + 1)
        span *= base
    return pd.Series(key).duplicated().to_numpy()


def id_texts(uniques: np.ndarray) -> pd.Series:
    """Customer / order ids per distinct value: stripped, '17850.0' → '17850', blank → missing."""
    s = pd.Series(uniques, dtype="str").str.strip().str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return s.where(s != "")


def cancelled(orders: np.ndarray) -> np.ndarray:
    """Order ids marking a cancelled invoice: 'C' followed by a digit (the UCI export's C536379)."""
    return np.isin(np.strings.slice(orders, 0, 1), ["C", "c"]) & np.strings.isdigit(np.strings.slice(orders, 1, 2))
