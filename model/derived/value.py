"""What a segment is worth, in the sentence a marketer reads first: the one home of the revenue
headline, used by training (`training.description.value`) and by an edit that merges segments."""
from __future__ import annotations

from typing import Any, Mapping, Sequence


def by_value(values: Sequence[Mapping[str, Any] | None]) -> list[int]:
    """Segment ids, highest revenue per customer first (ties: the larger revenue share)."""
    ids = [i for i, v in enumerate(values) if v]
    return sorted(ids, key=lambda i: (-values[i]["revenue_per_customer"], -values[i]["revenue_share"], i))  # type: ignore[index]


def headline(segments: Sequence[Mapping[str, Any]], values: Sequence[Mapping[str, Any] | None]) -> str:
    """'13.6 % of customers (segment 4, “Champions · …”) hold 56 % of the revenue.' — the segment
    worth most per customer, against its size."""
    top = by_value(values)[0]
    v = values[top]
    assert v is not None
    return (f"{100 * v['customer_share']:.1f} % of customers (segment {top}, “{segments[top]['name']}”) hold "
            f"{100 * v['revenue_share']:.0f} % of the revenue.")
