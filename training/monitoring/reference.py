"""The build side of drift monitoring: what a bundle stores so that new data can be compared with
its training data later (`model.drift.report.drift_report`, the `monitor` command and the app's Monitor
tab). Aggregates only — quantile edges, shares, medians — never customer rows; the bins and their
rounding are `model.drift.bins`'s, the ones the report reads them with.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.drift.bins import FORMAT, bin_count, bin_shares, quantile_edges, rounded_share
from model.drift.report import MonitorError
from model.tables.featureview import MISSING, FeatureView


def drift_reference(frame: pd.DataFrame, labels: Any, schema_like: Any, *, unlike: Any = None,
                    k: int | None = None, bins: int | None = None) -> dict[str, Any]:
    """Aggregates of the training `frame` and the model's `labels` (`model.drift.bins`); `unlike`
    is the per-row "unlike the training data" flag of the training rows, when known."""
    view = FeatureView.of(schema_like)
    labels = np.asarray(labels)
    if labels.shape != (len(frame),) or not len(frame):
        raise MonitorError(f"labels must hold one segment per training row ({len(frame)}), got shape {labels.shape}")
    k = int(labels.max()) + 1 if k is None else int(k)
    num, codes, _ = view.encode(frame)
    n = len(frame)
    bins = int(bins or bin_count(n))
    numeric = {}
    for j, f in enumerate(view.numeric):
        x = num[:, j][~np.isnan(num[:, j])]
        edges = quantile_edges(x, bins)
        present = len(x) / n
        numeric[f.name] = {"edges": edges.tolist(),
                           "shares": [rounded_share(s * present) for s in bin_shares(x, edges)],
                           "missing": rounded_share(1 - present), "median": float(np.median(x)) if len(x) else None}
    categorical = {}
    for j, f in enumerate(view.categorical):
        counts = np.bincount(codes[:, j][codes[:, j] >= 0], minlength=len(f.levels))
        categorical[f.name] = {"levels": list(f.levels), "shares": [rounded_share(c / n) for c in counts],
                               "missing": rounded_share((codes[:, j] == MISSING).mean())}
    seg = np.bincount(labels.astype(np.int64), minlength=k) / n
    flag = None if unlike is None else rounded_share(np.asarray(unlike, dtype=bool).mean())
    return {"format": FORMAT, "rows": n, "numeric": numeric, "categorical": categorical,
            "segments": [rounded_share(s) for s in seg], "unlike_training": flag, "id_column": view.id_column}
