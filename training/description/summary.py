"""Aggregates for the app's Data and Segments tabs, and the PCA sample for the map.

A Space is public, so the bundle holds only aggregates (histograms, quantiles, correlations, counts,
box-plot statistics) and PCA coordinates — never raw customer rows.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

MAX_SAMPLE = 5_000
BINS = 20


def stored_number(x: Any, nd: int = 4) -> float | None:
    """A number as summary.json stores it: `nd` decimals, None when not finite (JSON has no NaN)."""
    x = float(x)
    return round(x, nd) if np.isfinite(x) else None


def _box(values: pd.Series) -> dict[str, Any]:
    v = values.dropna()
    if v.empty:
        return {"n": 0}
    q1, med, q3 = (float(x) for x in v.quantile([0.25, 0.5, 0.75]))
    iqr = q3 - q1
    lo_f, hi_f = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    inside = v[(v >= lo_f) & (v <= hi_f)]
    return {"n": int(len(v)), "q1": stored_number(q1), "median": stored_number(med), "q3": stored_number(q3),
            "whisker_low": stored_number(inside.min()), "whisker_high": stored_number(inside.max()),
            "outliers": int(((v < lo_f) | (v > hi_f)).sum()), "mean": stored_number(v.mean())}


def data_summary(frame: pd.DataFrame, labels: np.ndarray, *, numeric: Sequence[str],
                 categorical: Sequence[str], k: int) -> dict[str, Any]:
    """Per-feature distributions, correlations, outliers, category breakdowns, per-segment boxes."""
    feats: dict[str, Any] = {}
    for c in numeric:
        v = frame[c].dropna()
        counts, edges = np.histogram(v, bins=BINS)
        qs = v.quantile([0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0])
        feats[c] = {"kind": "numeric", "missing": int(frame[c].isna().sum()),
                    "histogram": {"counts": counts.tolist(), "edges": [stored_number(e) for e in edges]},
                    "quantiles": {f"{q:g}": stored_number(x) for q, x in qs.items()},
                    "mean": stored_number(v.mean()), "std": stored_number(v.std(ddof=0)), "box": _box(v)}
    for c in categorical:
        counts = frame[c].value_counts(dropna=True)
        feats[c] = {"kind": "categorical", "missing": int(frame[c].isna().sum()),
                    "counts": {str(k_): int(n) for k_, n in sorted(counts.items())}}
    corr = frame[list(numeric)].corr().round(4) if len(numeric) > 1 else None
    by_seg = segment_boxes(frame, labels, numeric=numeric, categorical=categorical, k=k)
    return {
        "rows": int(len(frame)), "features": feats,
        "correlation": ({"columns": list(numeric),
                         "matrix": [[stored_number(x) for x in row] for row in corr.to_numpy()]}
                        if corr is not None else None),
        "by_segment": by_seg,
    }


def segment_boxes(frame: pd.DataFrame, labels: np.ndarray, *, numeric: Sequence[str],
                  categorical: Sequence[str], k: int) -> dict[str, Any]:
    """Per segment id (as text): a box plot of each numeric column, the counts of each level."""
    by_seg: dict[str, Any] = {}
    for seg in range(k):
        part = frame.loc[labels == seg]
        by_seg[str(seg)] = {
            "numeric": {c: _box(part[c]) for c in numeric},
            "categorical": {c: {str(k_): int(n) for k_, n in sorted(part[c].value_counts().items())}
                            for c in categorical},
        }
    return by_seg


def pca_sample(points: np.ndarray, labels: np.ndarray, *, seed: int,
               limit: int = MAX_SAMPLE) -> pd.DataFrame:
    """At most `limit` PCA points, stratified by segment (each keeps its share, at least one point)."""
    rows = pca_rows(labels, seed=seed, limit=limit)
    return pd.DataFrame({"pc1": np.round(points[rows, 0], 4), "pc2": np.round(points[rows, 1], 4),
                         "segment": labels[rows].astype(int)})


def pca_rows(labels: np.ndarray, *, seed: int, limit: int = MAX_SAMPLE) -> np.ndarray:
    """The rows `pca_sample` shows, in order (another k's labels of the same rows draw its map)."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    take: list[np.ndarray] = []
    for seg in np.unique(labels):
        idx = np.flatnonzero(labels == seg)
        m = len(idx) if n <= limit else max(1, int(round(limit * len(idx) / n)))
        take.append(np.sort(rng.choice(idx, size=min(m, len(idx)), replace=False)))
    return np.sort(np.concatenate(take))[: max(limit, len(take))]
