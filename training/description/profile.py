"""Segment profiles in original units, and names a marketer would read.

A segment's traits are what distinguish it from the population: numeric means more than half a
standard deviation away from the overall mean (on the log scale for features clustered after
log1p, so one big spender does not make a segment "big spenders"), and categories at least 1.5×
as common as overall. Traits speak of roles (`training.reading.roles`: "big spenders", "older"), never of
raw column names. Names:

* an order log (features with RFM meaning): the RFM label of most members and how they differ
  (`model.serving.rfm.describe_rfm_segment`: "At risk · big spenders gone quiet 5 months");
* a table with an income and a spending role: the classic archetypes (premium, potential, deal
  seekers, low value, average), each to at most one segment, the most typical one, then what
  else sets it apart;
* otherwise its two strongest traits.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from model.contract.constraints import display_number
from model.serving.rfm import describe_rfm_segment
from training.reading.roles import trait_text

Z_TRAIT = 0.5  # |z| above which a numeric feature counts as distinguishing
CAT_LIFT = 1.5
ARCHETYPES = {  # (income level, spending level) → (key, display name)
    ("high", "high"): ("premium", "Premium"),
    ("high", "low"): ("potential", "Potential"),
    ("low", "high"): ("deal_seekers", "Deal seekers"),
    ("low", "low"): ("low_value", "Low value"),
    ("mid", "mid"): ("average", "Average"),
}


def _level(z: float) -> str:
    return "high" if z > Z_TRAIT else "low" if z < -Z_TRAIT else "mid"


def _category_text(label: str, level: str) -> str:
    return f"prefers {level}" if "prefer" in label.lower() or "categor" in label.lower() else f"mostly {level}"


def profile_segments(frame: pd.DataFrame, labels: np.ndarray, *, numeric: Sequence[str],
                     categorical: Sequence[str], k: int, roles: Mapping[str, str | None] | None = None,
                     names: Mapping[str, str] | None = None, log: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One profile per segment id 0..k-1 (sizes, centres in original units, category shares, traits)."""
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
        num_prof, traits = {}, []
        for c in numeric:
            col = part[c]
            centre, spread = pop_z[c]
            z = float((scaled[c][mask].mean() - centre) / spread) if size else 0.0
            num_prof[c] = numeric_traits(c, z, (col.mean(), col.median(), col.quantile(.25), col.quantile(.75)),
                                         (pop_mean[c], pop_median[c]), role=roles.get(c), name=names.get(c, c),
                                         traits=traits)
        cat_prof = {}
        for c in categorical:
            cat_prof[c] = category_traits(c, list(part[c].value_counts(normalize=True).items()), pop_share[c],
                                          role=roles.get(c), name=names.get(c, c), traits=traits)
        traits.sort(key=lambda t: (0, -abs(t["z"])) if t["kind"] == "numeric" else (1, -t["lift"]))
        out.append({"id": seg, "size": size, "share": round(size / n, 4) if n else 0.0,
                    "profile": {"numeric": num_prof, "categorical": cat_prof}, "traits": traits})
    return out


def numeric_traits(column: str, z: float, stats: tuple[Any, Any, Any, Any], overall: tuple[Any, Any], *,
                   role: str | None, name: str, traits: list[dict[str, Any]]) -> dict[str, Any]:
    """A segment's profile of one numeric column — (mean, median, q25, q75) against the population's
    (mean, median), and z, its standardised mean — appending a trait when |z| > `Z_TRAIT`.
    Shared by the local engine and the Spark engine's aggregates."""
    if abs(z) > Z_TRAIT:
        direction = "high" if z > 0 else "low"
        traits.append({"feature": column, "kind": "numeric", "direction": direction, "z": round(z, 3),
                       "role": role, "text": trait_text(role or name, direction)})
    mean, median, q25, q75 = stats
    return {"mean": profile_number(mean), "median": profile_number(median), "q25": profile_number(q25),
            "q75": profile_number(q75), "overall_mean": profile_number(overall[0]),
            "overall_median": profile_number(overall[1]), "z": round(z, 3)}


def category_traits(column: str, shares: list[tuple[Any, float]], population: Mapping[Any, float], *,
                    role: str | None, name: str, traits: list[dict[str, Any]]) -> dict[str, float]:
    """A segment's shares of one categorical column (largest first) as its profile; appends a
    trait for each level the segment over-represents (share ≥ 0.4 and `CAT_LIFT` × the population's).
    Shared by the local engine and the Spark engine's aggregates."""
    for lv, v in shares:
        base = float(population.get(lv, 0.0))
        if v >= 0.4 and base > 0 and v / base >= CAT_LIFT:
            traits.append({"feature": column, "kind": "categorical", "level": str(lv), "share": round(float(v), 3),
                           "lift": round(v / base, 2), "role": role, "text": _category_text(name, str(lv))})
    return {str(lv): round(float(v), 4) for lv, v in shares}


def profile_number(x: Any) -> float | None:
    """A profile statistic as the manifest stores it: 4 decimals below 100, 2 above; None when not finite."""
    x = float(x)
    return None if not np.isfinite(x) else round(x, 4 if abs(x) < 100 else 2)


def assign_names(segments: list[dict[str, Any]], roles: Mapping[str, str | None], *, rfm: bool = False) -> None:
    """Set `archetype` (or None) and a unique `name` on each segment, in place."""
    income = next((c for c, r in roles.items() if r == "income"), None)
    spend = next((c for c, r in roles.items() if r == "spend"), None)
    for seg in segments:
        seg["archetype"] = None
    if income and spend and not rfm:
        claims: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        for seg in segments:
            zi = seg["profile"]["numeric"][income]["z"]
            zs = seg["profile"]["numeric"][spend]["z"]
            key = ARCHETYPES.get((_level(zi), _level(zs)))
            if key:
                strength = -(abs(zi) + abs(zs)) if key[0] == "average" else abs(zi) + abs(zs)
                claims.setdefault(key[0], []).append((strength, seg))
        for key, cands in claims.items():
            max(cands, key=lambda t: t[0])[1]["archetype"] = key
    display = {k: v for k, v in ARCHETYPES.values()}
    used: set[str] = set()
    for seg in sorted(segments, key=lambda s: -s["size"]):
        if rfm:
            head = describe_rfm_segment(seg)
            texts = [t["text"] for t in seg["traits"]]
        else:
            # an archetype already says "income / spending": name it by what else sets it apart
            skip = {income, spend} if seg["archetype"] else set()
            texts = [t["text"] for t in seg["traits"] if t["feature"] not in skip]
            head = display[seg["archetype"]] if seg["archetype"] else None
        name = _compose(head, texts, used, min_traits=0 if rfm else 2)
        used.add(name.casefold())
        seg["name"] = name


def _compose(head: str | None, texts: list[str], used: set[str], *, min_traits: int = 2) -> str:
    for n_traits in range(min(min_traits, len(texts)), len(texts) + 1):
        parts = texts[:n_traits]
        body = ", ".join(parts) if head else " · ".join(parts)
        name = f"{head} · {body}" if head and body else head or (body[:1].upper() + body[1:] if body else "")
        if name and name.casefold() not in used:
            return name
    base = head or (texts[0][:1].upper() + texts[0][1:] if texts else "Typical customers")
    i = 2
    while f"{base} ({i})".casefold() in used:
        i += 1
    return base if base.casefold() not in used else f"{base} ({i})"


def describe(seg: dict[str, Any], labels: dict[str, str]) -> str:
    """One sentence on what sets the segment apart, in original units."""
    parts = []
    for t in seg["traits"][:4]:
        if t["kind"] == "numeric":
            p = seg["profile"]["numeric"][t["feature"]]
            parts.append(f"{labels.get(t['feature'], t['feature'])} {display_number(p['mean'])} "
                         f"(overall {display_number(p['overall_mean'])})")
        else:
            parts.append(f"{labels.get(t['feature'], t['feature'])}: {t['level']} "
                         f"{t['share']:.0%} ({t['lift']:.1f}× overall)")
    return "; ".join(parts) + "." if parts else "Close to the overall average on every feature."
