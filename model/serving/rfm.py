"""Classic RFM: recency, frequency and monetary quintile scores (1–5) and the named RFM segments.

Scores are rank-based: a customer's score is where the *first* of the customers sharing its value
falls, ``1 + floor(5 × (customers strictly worse) / n)``. Ties therefore always share one score
(deterministic, and independent of row order), the worst value always scores 1, and a heavy tie
(a third of all customers with one order) takes one score instead of breaking the quintiles the
way value-quantile bins do (``pd.qcut`` refuses duplicate edges). R: more recent is higher.

The edges of each score are stored as plain numbers (`rfm_edges`): the least good value that
still reaches scores 2, 3, 4 and 5. `score_with_edges` scores a new customer from those numbers
alone (numpy, no pandas), and gives the training customers exactly their fitted scores.

Named segments follow the rule table published by the R package ``rfm`` (Aravind Hebbali,
rsquaredacademy/rfm, version 0.3.0): the "Segments" table of its vignettes
``rfm-transaction-level-data.Rmd`` and ``rfm-customer-level-data.Rmd`` (commit 6d77021,
2023-05-25), also used by ``rfm_segment()`` examples:

    Segment             Description                                           R      F      M
    Champions           Bought recently, buy often and spend the most         4-5    4-5    4-5
    Loyal Customers     Spend good money. Responsive to promotions            2-5    3-5    3-5
    Potential Loyalist  Recent customers, spent good amount, bought more...   3-5    1-3    1-3
    New Customers       Bought more recently, but not often                   4-5    <=1    <=1
    Promising           Recent shoppers, but haven't spent much               3-4    <=1    <=1
    Need Attention      Above average recency, frequency & monetary values    2-3    2-3    2-3
    About To Sleep      Below average recency, frequency & monetary values    2-3    <=2    <=2
    At Risk             Spent big money, purchased often but long time ago    <=2    2-5    2-5
    Can't Lose Them     Made big purchases and often, but long time ago       <=1    4-5    4-5
    Hibernating         Low spenders, low frequency, purchased long time ago  1-2    1-2    1-2
    Lost                Lowest recency, frequency & monetary scores           <=2    <=2    <=2

``rfm_segment()`` gives a customer the first row that contains its scores, which makes four rows
unreachable in this table (New Customers and Promising lie inside Potential Loyalist, Can't Lose
Them inside At Risk, Lost equals Hibernating). Two documented deviations keep every name in use:
the most specific row (fewest score cells) wins, ties going to the earlier row; and Lost is read
literally as the *lowest* scores, R = F = M = 1. Scores in no row are "Others", as in the package.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

# (label, (R low, R high), (F low, F high), (M low, M high), description) — see the module docstring
RFM_RULES: tuple[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int], str], ...] = (
    ("Champions", (4, 5), (4, 5), (4, 5), "Bought recently, buy often and spend the most"),
    ("Loyal Customers", (2, 5), (3, 5), (3, 5), "Spend good money. Responsive to promotions"),
    ("Potential Loyalist", (3, 5), (1, 3), (1, 3), "Recent customers, spent good amount, bought more than once"),
    ("New Customers", (4, 5), (1, 1), (1, 1), "Bought more recently, but not often"),
    ("Promising", (3, 4), (1, 1), (1, 1), "Recent shoppers, but haven't spent much"),
    ("Need Attention", (2, 3), (2, 3), (2, 3), "Above average recency, frequency & monetary values"),
    ("About To Sleep", (2, 3), (1, 2), (1, 2), "Below average recency, frequency & monetary values"),
    ("At Risk", (1, 2), (2, 5), (2, 5), "Spent big money, purchased often but long time ago"),
    ("Can't Lose Them", (1, 1), (4, 5), (4, 5), "Made big purchases and often, but long time ago"),
    ("Hibernating", (1, 2), (1, 2), (1, 2), "Low spenders, low frequency, purchased long time ago"),
    ("Lost", (1, 1), (1, 1), (1, 1), "Lowest recency, frequency & monetary scores"),  # published: <=2 each
)
OTHERS = "Others"
LABELS = tuple(r[0] for r in RFM_RULES) + (OTHERS,)
FIELDS = {"recency": ("recency_days", "lower"), "frequency": ("frequency", "higher"),
          "monetary": ("monetary", "higher")}
METHOD = "rank-based quintiles: score = 1 + floor(5 x (customers strictly worse) / n); ties share a score"


def _label_grid() -> np.ndarray:
    """Label index for every (R, F, M) in 1..5: the most specific containing row, earliest on ties."""
    grid = np.full((5, 5, 5), len(RFM_RULES), dtype=np.int64)
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                hits = [(np.prod([b - a + 1 for a, b in (rr, fr, mr)]), i)
                        for i, (_, rr, fr, mr, _) in enumerate(RFM_RULES)
                        if rr[0] <= r <= rr[1] and fr[0] <= f <= fr[1] and mr[0] <= m <= mr[1]]
                if hits:
                    grid[r - 1, f - 1, m - 1] = min(hits)[1]
    return grid


LABEL_GRID = _label_grid()


def rfm_label(r: Any, f: Any, m: Any) -> Any:
    """The named segment of scores (ints → str; arrays → object array)."""
    idx = LABEL_GRID[np.asarray(r, dtype=np.int64) - 1, np.asarray(f, dtype=np.int64) - 1,
                     np.asarray(m, dtype=np.int64) - 1]
    names = np.array(LABELS, dtype=object)[idx]
    return str(names) if np.ndim(names) == 0 else names


def _values(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        raise ValueError(f"RFM needs a column {col!r}; columns are: {', '.join(map(str, frame.columns))}")
    v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(v))
    if len(bad):
        raise ValueError(f"RFM: column {col!r} must hold finite numbers; row {bad[0]} holds "
                         f"{str(frame[col].iloc[bad[0]])[:100]!r} ({len(bad)} such rows)")
    return v


def _scores(values: np.ndarray, better: str) -> np.ndarray:
    x = values if better == "higher" else -values
    worse = np.searchsorted(np.sort(x), x, side="left")
    return (worse * 5 // len(x) + 1).astype(np.int64)


def rfm_scores(frame: pd.DataFrame, *, recency: str = "recency_days", frequency: str = "frequency",
               monetary: str = "monetary") -> pd.DataFrame:
    """r_score, f_score, m_score (1–5) and rfm_label for every row of `frame` (same index)."""
    if not len(frame):
        raise ValueError("RFM needs at least one customer")
    cols = {"r_score": (recency, "lower"), "f_score": (frequency, "higher"), "m_score": (monetary, "higher")}
    out = pd.DataFrame({k: _scores(_values(frame, c), b) for k, (c, b) in cols.items()}, index=frame.index)
    out["rfm_label"] = rfm_label(out["r_score"].to_numpy(), out["f_score"].to_numpy(), out["m_score"].to_numpy())
    return out


def rfm_edges(frame: pd.DataFrame, *, recency: str = "recency_days", frequency: str = "frequency",
              monetary: str = "monetary") -> dict[str, Any]:
    """The score edges as plain data (JSON-ready). For each field, `edges[i]` is the least good
    value that scores at least i + 2 (None: no customer reached that score); `better` says which
    way is good: recency ≤ edge, frequency and monetary ≥ edge."""
    out: dict[str, Any] = {"method": METHOD, "customers": int(len(frame)), "rules": "R package rfm 0.3.0"}
    for field, col in (("recency", recency), ("frequency", frequency), ("monetary", monetary)):
        better = FIELDS[field][1]
        v = _values(frame, col)
        x = np.sort(v if better == "higher" else -v)
        score = _scores(x, "higher")  # x is already oriented: higher is better
        edges: list[float | None] = []
        for s in range(2, 6):
            reach = np.flatnonzero(score >= s)
            edge = None if not len(reach) else float(x[reach[0]])
            edges.append(edge if edge is None or better == "higher" else -edge)
        out[field] = {"column": col, "better": better, "edges": edges}
    return out


def score_with_edges(recency: Any, frequency: Any, monetary: Any, edges: Mapping[str, Any]
                     ) -> tuple[Any, Any, Any, Any]:
    """(R, F, M, label) for one customer (numbers → ints and a str) or many (arrays), from the
    stored `rfm_edges` alone."""
    scores = []
    for field, value in (("recency", recency), ("frequency", frequency), ("monetary", monetary)):
        v = np.asarray(value, dtype=float)
        if not np.isfinite(v).all():
            raise ValueError(f"{field} must be a finite number, got {str(value)[:100]}")
        spec = edges[field]
        s = np.ones(v.shape, dtype=np.int64)
        for edge in spec["edges"]:
            if edge is not None:
                s += (v >= edge) if spec["better"] == "higher" else (v <= edge)
        scores.append(s)
    label = rfm_label(*scores)
    if np.ndim(scores[0]) == 0:
        return int(scores[0]), int(scores[1]), int(scores[2]), label
    return scores[0], scores[1], scores[2], label


def rfm_mix(labels: Sequence[Any] | np.ndarray, rfm_label: Sequence[str] | np.ndarray
            ) -> dict[Any, dict[str, float]]:
    """Per segment, the share of each RFM label among its members (largest first)."""
    seg = np.asarray(labels)
    lab = np.asarray(rfm_label, dtype=object)
    if len(seg) != len(lab):
        raise ValueError(f"labels and rfm_label differ in length: {len(seg)} and {len(lab)}")
    order = {name: i for i, name in enumerate(LABELS)}
    counts = pd.crosstab(seg, lab)
    out: dict[Any, dict[str, float]] = {}
    for s, row in counts.iterrows():
        row = row[row > 0]
        shares = sorted(((name, n / row.sum()) for name, n in row.items()), key=lambda t: (-t[1], order.get(t[0], 99)))
        out[s.item() if hasattr(s, "item") else s] = {name: round(float(v), 4) for name, v in shares}
    return out
