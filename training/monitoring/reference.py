"""The build side of drift monitoring: what a bundle stores so that new data can be compared with
its training data later (`model.drift.report.drift_report`, the `monitor` command and the app's Monitor
tab). Aggregates only — quantile edges, shares, medians — never customer rows.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.drift.report import (BINS, FORMAT, MIN_BINS, ROWS_PER_BIN, MonitorError, _bin_shares, _r,  # noqa: F401
                         drift_report, psi)
from model.tables.featureview import MISSING, FeatureView


def drift_reference(frame: pd.DataFrame, labels: Any, schema_like: Any, *, unlike: Any = None,
                    k: int | None = None, bins: int | None = None) -> dict[str, Any]:
    """Aggregates of the training `frame` and the model's `labels` (module docstring); `unlike`
    is the per-row "unlike the training data" flag of the training rows, when known."""
    view = FeatureView.of(schema_like)
    labels = np.asarray(labels)
    if labels.shape != (len(frame),) or not len(frame):
        raise MonitorError(f"labels must hold one segment per training row ({len(frame)}), got shape {labels.shape}")
    k = int(labels.max()) + 1 if k is None else int(k)
    num, codes, _ = view.encode(frame)
    n = len(frame)
    bins = int(bins or min(BINS, max(MIN_BINS, n // ROWS_PER_BIN)))
    numeric = {}
    for j, f in enumerate(view.numeric):
        x = num[:, j][~np.isnan(num[:, j])]
        edges = np.unique([float(f"{q:.6g}") for q in np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1])]) \
            if len(x) else np.zeros(0)
        present = len(x) / n
        numeric[f.name] = {"edges": edges.tolist(), "shares": [_r(s * present) for s in _bin_shares(x, edges)],
                           "missing": _r(1 - present), "median": float(np.median(x)) if len(x) else None}
    categorical = {}
    for j, f in enumerate(view.categorical):
        counts = np.bincount(codes[:, j][codes[:, j] >= 0], minlength=len(f.levels))
        categorical[f.name] = {"levels": list(f.levels), "shares": [_r(c / n) for c in counts],
                               "missing": _r((codes[:, j] == MISSING).mean())}
    seg = np.bincount(labels.astype(np.int64), minlength=k) / n
    flag = None if unlike is None else _r(np.asarray(unlike, dtype=bool).mean())
    return {"format": FORMAT, "rows": n, "numeric": numeric, "categorical": categorical,
            "segments": [_r(s) for s in seg], "unlike_training": flag, "id_column": view.id_column}
