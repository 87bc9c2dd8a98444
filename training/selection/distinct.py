"""Segments a marketer can tell apart: two segments of an RFM segmentation are *alike* when their
medians differ by less than `training.description.claims.MATERIAL` in every one of recency,
frequency and money — split only by a secondary feature, they would be acted on the same way.
`distinct_fit` lowers k until no two are alike (when k came from the evidence)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from training.description.claims import MATERIAL, RFM_ROLES
from training.selection.select_k import make_kmeans
from training.selection.verdict import clusterability, smaller_k


def rfm_medians(frame: pd.DataFrame, labels: np.ndarray, roles: Mapping[str, str | None]) -> dict[int, dict[str, float]]:
    """Per segment, the medians of its recency, frequency and monetary columns; empty unless all
    three roles are present (an RFM segmentation)."""
    cols = {r: c for c, r in roles.items() if r in RFM_ROLES and c in frame}
    if len(cols) < len(RFM_ROLES):
        return {}
    med = frame[list(cols.values())].groupby(np.asarray(labels)).median()
    return {int(s): {r: float(med.at[s, c]) for r, c in cols.items()} for s in med.index}


def alike(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """Two segments are alike when their medians differ by less than `MATERIAL` (of the larger)
    in every one of recency, frequency and money — which a marketer would act on the same way."""
    roles = [r for r in RFM_ROLES if r in a and r in b]
    return len(roles) == len(RFM_ROLES) and all(
        a[r] == b[r] or abs(a[r] - b[r]) < MATERIAL * max(abs(a[r]), abs(b[r])) for r in roles)


def alike_pairs(medians: Mapping[int, Mapping[str, float]]) -> list[tuple[int, int]]:
    """Pairs of segments alike in recency, frequency and money (`alike`)."""
    ids = sorted(medians)
    return [(i, j) for n, i in enumerate(ids) for j in ids[n + 1:] if alike(medians[i], medians[j])]


def distinct_fit(frame_fit: pd.DataFrame, z_fit: np.ndarray, roles: dict[str, str | None],
                 selection: dict[str, Any], *, seed: int) -> Any:
    """KMeans at the selection's k — one fewer segment at a time while two of them are alike in
    recency, frequency and money (`alike`), when k was chosen from the evidence (a forced k is the
    user's); at k = 2 the reason says if they still are. `frame_fit` holds the rows of `z_fit`,
    `roles` the numeric columns' roles. Updates `selection` (k, reason, verdict, merged_from,
    alternative)."""
    k0 = k = int(selection["k"])
    while True:
        with threadpool_limits(1):  # measured: small BLAS calls run faster single-threaded here
            kmeans = make_kmeans(k, len(z_fit), seed=seed).fit(z_fit)
        pairs = [] if selection["forced"] else alike_pairs(rfm_medians(frame_fit, kmeans.labels_, roles))
        if not pairs or k <= 2:
            break
        k -= 1
    if pairs:
        selection["reason"] += (f" Even at k={k} the segments are alike in recency, frequency and money: "
                                f"they differ only in other features.")
    if k != k0:
        selection.update(k=k, merged_from=k0, clusterability=clusterability(selection["table"], k))
        selection.pop("alternative", None)
        if (alt := smaller_k(selection["table"], k)) is not None:
            selection["alternative"] = alt
        selection["reason"] += (f" At k={k0} two segments were alike in recency, frequency and money (medians "
                                f"within 25 % of each other on all three), split only by other features; "
                                f"k={k} is the largest k up to {k0} whose segments a marketer can tell apart.")
    return kmeans
