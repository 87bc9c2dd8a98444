"""The drift reference's bins: one rule for the build side that stores them in a bundle
(`training.monitoring.reference.drift_reference`) and the report that compares new data with them
(`model.drift.report.drift_report`).

The reference summarises the training data in a few numbers per feature - small enough for the
manifest: for a numeric feature up to 9 quantile cut points (deciles, rounded to 6 significant
digits; ties merge bins), the training share of each bin and of empty cells, and the median; for
a categorical feature the share of each level and of empty cells; the segment shares; and the
share of training customers "unlike the training data" when it is given. Below 500 training rows
there are fewer bins (at least `ROWS_PER_BIN` rows a bin, at least `MIN_BINS`): on Mall's 200
rows, 10 bins made 1 bootstrap resample in 8 look "drifting"; 4 bins, 1 in 40.
"""
from __future__ import annotations

import numpy as np

FORMAT = 1  # the drift reference's own layout (DriftReference.format)
BINS = 10
MIN_BINS, ROWS_PER_BIN = 4, 50


def bin_count(rows: int) -> int:
    """Bins for a numeric feature of a training table of `rows` rows (module docstring)."""
    return min(BINS, max(MIN_BINS, rows // ROWS_PER_BIN))


def quantile_edges(x: np.ndarray, bins: int) -> np.ndarray:
    """The inner quantile cut points of `x` (no NaN), rounded to 6 significant digits; ties merge."""
    if not len(x):
        return np.zeros(0)
    return np.unique([float(f"{q:.6g}") for q in np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1])])


def bin_shares(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of x (no NaN) in bins (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    if not len(x):
        return np.zeros(len(edges) + 1)
    return np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1) / len(x)


def rounded_share(x: float) -> float:
    """A share as the reference and the report store it: 6 decimals (a millionth of the rows)."""
    return round(float(x), 6)
