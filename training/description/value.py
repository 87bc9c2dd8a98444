"""What each segment is worth: its share of the customers against its share of the revenue,
revenue and orders per customer — the first thing a marketer asks ("13.6 % of customers hold
56 % of the revenue").

Revenue is the column with the monetary role (an order log's net spend per customer); without one
(a spending *score* is not money) there is no value to show. Sums come from each segment's mean
and size (`profile.numeric[col].mean`), so the Spark engine's aggregates over every row give the
same figures as the local engine.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from model.derived.value import by_value, headline  # noqa: F401  (one home of the headline)
from training.description.claims import Base


def segment_values(segments: Sequence[Mapping[str, Any]], base: Base,
                   means: Mapping[int, Mapping[str, float]] | None = None
                   ) -> tuple[list[dict[str, Any] | None], dict[str, Any] | None]:
    """(per segment the `SegmentValue` fields or None, the `ValueSummary` fields or None). `means`:
    each segment's unrounded means by column (the profile's are rounded to 2 decimals above 100:
    times thousands of customers, a revenue off by dollars); without them, the profile's."""
    money = base.column("monetary")
    freq = base.column("frequency") if base.order_log else None
    n = sum(int(s["size"]) for s in segments)

    def mean(seg: Mapping[str, Any], col: str | None) -> float | None:
        exact = (means or {}).get(int(seg["id"]), {}).get(col) if col else None
        if exact is not None:
            return float(exact)
        p = (seg["profile"]["numeric"].get(col) or {}) if col else {}
        return None if p.get("mean") is None else float(p["mean"])

    revenue = [(mean(s, money) or 0.0) * int(s["size"]) for s in segments]
    total = sum(revenue)
    if money is None or not n or not total > 0:
        return [None] * len(segments), None
    out: list[dict[str, Any] | None] = []
    for seg, rev in zip(segments, revenue):
        per_order = mean(seg, freq)
        out.append({"customers": int(seg["size"]), "customer_share": round(int(seg["size"]) / n, 4),
                    "revenue": round(rev, 2), "revenue_share": round(rev / total, 4),
                    "revenue_per_customer": round(mean(seg, money) or 0.0, 2),
                    "orders": None if per_order is None else round(per_order * int(seg["size"]), 1),
                    "orders_per_customer": None if per_order is None else round(per_order, 2)})
    orders = [v["orders"] for v in out if v and v["orders"] is not None]
    summary = {"feature": money, "revenue": round(total, 2), "customers": n,
               "orders": round(sum(orders), 1) if freq else None,
               "headline": headline(segments, out)}
    return out, summary


def scored_value(names: Sequence[str], counts: Mapping[int, int], sums: Mapping[int, float], *,
                 feature: str) -> dict[str, Any] | None:
    """What scored customers are worth per segment (the `score` summary of either engine): from
    each segment's count and sum of the money column; None when there is no revenue."""
    n, total = sum(int(v) for v in counts.values()), sum(float(sums.get(j) or 0.0) for j in counts)
    if not n or not total > 0:
        return None
    rows: list[dict[str, Any] | None] = [None] * len(names)
    for j, c in counts.items():
        if c:
            rev = float(sums.get(j) or 0.0)
            rows[j] = {"customers": int(c), "customer_share": round(int(c) / n, 4), "revenue": round(rev, 2),
                       "revenue_share": round(rev / total, 4), "revenue_per_customer": round(rev / int(c), 2)}
    return {"feature": feature, "revenue": round(total, 2), "headline": headline([{"name": x} for x in names], rows),
            "per_segment": {names[j]: v for j, v in enumerate(rows) if v}}
