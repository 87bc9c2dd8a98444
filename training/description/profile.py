"""Segment profiles in original units: sizes, per numeric column the segment's mean, median and
quartiles against everyone's (and z, its standardised mean, which only ranks traits), per
categorical column its shares. What may be *said* about a segment is decided from these numbers in
`training.description.claims`; names are made in `training.description.names`.

Category traits are in real units already: a level at least 40 % of the members and 1.5× as
common as among all customers ("prefers Sports").
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

CAT_LIFT = 1.5
CAT_SHARE = 0.4


def _category_text(label: str, level: str) -> str:
    return f"prefers {level}" if "prefer" in label.lower() or "categor" in label.lower() else f"mostly {level}"


def profile_segments(frame: pd.DataFrame, labels: np.ndarray, *, numeric: Sequence[str],
                     categorical: Sequence[str], k: int, roles: Mapping[str, str | None] | None = None,
                     names: Mapping[str, str] | None = None, log: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One profile per segment id 0..k-1 (sizes, centres in original units, category shares and
    category traits), each with its unrounded means ("exact_means": what its revenue is made of;
    `training.description.segments.describe_segments` takes them out before the manifest)."""
    roles, names = dict(roles or {}), dict(names or {})
    n = len(frame)
    scaled = {c: (np.log1p(frame[c].clip(lower=0)) if c in set(log) else frame[c]) for c in numeric}
    pop_mean = {c: float(frame[c].mean()) for c in numeric}
    pop_median = {c: float(frame[c].median()) for c in numeric}
    pop_z = {c: (float(v.mean()), float(v.std(ddof=0)) or 1.0) for c, v in scaled.items()}
    pop_share = {c: frame[c].value_counts(normalize=True) for c in categorical}
    out = []
    for seg in range(k):
        mask = labels == seg
        part = frame.loc[mask]
        size = int(len(part))
        num_prof, traits, means = {}, [], {}
        for c in numeric:
            col = part[c]
            centre, spread = pop_z[c]
            z = float((scaled[c][mask].mean() - centre) / spread) if size else 0.0
            means[c] = col.mean()
            num_prof[c] = numeric_profile(z, (means[c], col.median(), col.quantile(.25), col.quantile(.75)),
                                          (pop_mean[c], pop_median[c]))
        cat_prof = {}
        for c in categorical:
            cat_prof[c] = category_traits(c, list(part[c].value_counts(normalize=True).items()), pop_share[c],
                                          role=roles.get(c), name=names.get(c, c), traits=traits)
        traits.sort(key=lambda t: -t["lift"])
        out.append({"id": seg, "size": size, "share": round(size / n, 4) if n else 0.0,
                    "profile": {"numeric": num_prof, "categorical": cat_prof}, "traits": traits,
                    "exact_means": {c: float(m) for c, m in means.items() if pd.notna(m)}})
    return out


def numeric_profile(z: float, stats: tuple[Any, Any, Any, Any], overall: tuple[Any, Any]) -> dict[str, Any]:
    """A segment's profile of one numeric column — (mean, median, q25, q75) against the population's
    (mean, median), and z, its standardised mean. Shared by the local engine and the Spark engine's
    aggregates."""
    mean, median, q25, q75 = stats
    return {"mean": profile_number(mean), "median": profile_number(median), "q25": profile_number(q25),
            "q75": profile_number(q75), "overall_mean": profile_number(overall[0]),
            "overall_median": profile_number(overall[1]), "z": round(z, 3)}


def category_traits(column: str, shares: list[tuple[Any, float]], population: Mapping[Any, float], *,
                    role: str | None, name: str, traits: list[dict[str, Any]]) -> dict[str, float]:
    """A segment's shares of one categorical column (largest first) as its profile; appends a
    trait for each level the segment over-represents (share ≥ `CAT_SHARE` and `CAT_LIFT` × the
    population's). Shared by the local engine and the Spark engine's aggregates."""
    for lv, v in shares:
        base = float(population.get(lv, 0.0))
        if v >= CAT_SHARE and base > 0 and v / base >= CAT_LIFT:
            traits.append({"feature": column, "kind": "categorical", "level": str(lv), "share": round(float(v), 3),
                           "lift": round(v / base, 2), "role": role, "text": _category_text(name, str(lv))})
    return {str(lv): round(float(v), 4) for lv, v in shares}


def profile_number(x: Any) -> float | None:
    """A profile statistic as the manifest stores it: 4 decimals below 100, 2 above; None when not finite."""
    x = float(x)
    return None if not np.isfinite(x) else round(x, 4 if abs(x) < 100 else 2)
