"""A merged segment re-derived from its parts' sufficient statistics (`model.contract.stats`), with
no customer rows: what is exact stays exact, what is approximate says so, what cannot be measured
again is not claimed.

* exact: size, share, means, sums (revenue), standardised means (z), category and RFM-label shares,
  rule fidelity;
* approximate: medians, quartiles, box whiskers and the 99th-percentile distance, read from the
  mixture of the parts' quantile sketches (`mixture_quantile`: within one grid step of each part);
* claims: a trait or an offer's precondition is kept when every part has it. Every claim this
  product makes is a threshold on a mean, a median or a share, and the union's mean and share are
  weighted averages of the parts', its median lies between theirs: what holds for every part holds
  for the union. A claim true of one part only is dropped, not re-measured;
* not measured again: bootstrap stability, silhouette and the other indices (`NOT_REMEASURED`).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from model.contract.manifest import Segment
from model.contract.stats import AtomStats

NOT_REMEASURED = "edited, not re-measured"


def _knots(values: Sequence[float], grid: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """A part's CDF as (x, F(x)) knots: its sketch, extended linearly to F = 0 and F = 1."""
    x, p = np.asarray(values, dtype=float), np.asarray(grid, dtype=float)
    lo = x[0] - (x[1] - x[0]) * p[0] / (p[1] - p[0]) if len(x) > 1 else x[0]
    hi = x[-1] + (x[-1] - x[-2]) * (1 - p[-1]) / (p[-1] - p[-2]) if len(x) > 1 else x[-1]
    return np.concatenate(([lo], x, [hi])), np.concatenate(([0.0], p, [1.0]))


def _mixture(parts: Sequence[tuple[float, Sequence[float]]], grid: Sequence[float],
             knots: Sequence[tuple[np.ndarray, np.ndarray]] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The union's CDF as (x, F(x)): the parts' CDFs (each linear between its knots) weighted by members."""
    used = [(w, v) for w, v in parts if w > 0 and len(v)]
    if not used:
        return None
    cdfs = list(knots) if knots is not None else [_knots(v, grid) for _, v in used]
    weights = np.array([w for w, _ in used], dtype=float)
    xs = np.unique(np.concatenate([x for x, _ in cdfs]))
    return xs, sum(w * np.interp(xs, x, f) for w, (x, f) in zip(weights, cdfs)) / weights.sum()


def mixture_quantile(parts: Sequence[tuple[float, Sequence[float]]], grid: Sequence[float], p: float,
                     *, knots: Sequence[tuple[np.ndarray, np.ndarray]] | None = None) -> float | None:
    """The `p`-quantile of the union of parts, each given as (members, its values at `grid`):
    the x where the members' mixed CDF reaches p."""
    mixed = _mixture(parts, grid, knots)
    if mixed is None:
        return None
    xs, cdf = mixed
    i = int(np.searchsorted(cdf, p))
    if i == 0:
        return float(xs[0])
    if i >= len(xs):
        return float(xs[-1])
    f0, f1 = cdf[i - 1], cdf[i]
    return float(xs[i - 1] + (xs[i] - xs[i - 1]) * ((p - f0) / (f1 - f0) if f1 > f0 else 0.0))


def mixture_cdf(parts: Sequence[tuple[float, Sequence[float]]], grid: Sequence[float], x: float) -> float:
    """The share of the union's members at or below `x` (0 without members)."""
    mixed = _mixture(parts, grid)
    return 0.0 if mixed is None else float(np.interp(x, *mixed))


def _r(x: float | None) -> float | None:
    """As training rounds a profile's numbers (4 decimals under 100, else 2)."""
    return None if x is None or not math.isfinite(x) else round(x, 4 if abs(x) < 100 else 2)


def merged_numeric(atoms: Sequence[AtomStats], column: str, grid: Sequence[float]) -> dict[str, Any]:
    """n, sum, mean, z (exact) and the union's quantiles and CDF (approximate) of one column."""
    cols = [a.numeric[column] for a in atoms]
    n = sum(c.n for c in cols)
    parts = [(c.n, c.quantiles) for c in cols]
    return {"n": n, "sum": sum(c.sum for c in cols), "mean": sum(c.sum for c in cols) / n if n else None,
            "z": sum(c.n * c.z for c in cols) / n if n else 0.0,
            "q": lambda p: mixture_quantile(parts, grid, p), "cdf": lambda x: mixture_cdf(parts, grid, x)}


def merged_profile(parts: Sequence[Segment], atoms: Sequence[AtomStats], grid: Sequence[float]) -> dict[str, Any]:
    """The `Profile` of the union: numeric columns in the parts' order, category shares exact."""
    numeric = {}
    for col, first in parts[0].profile.numeric.items():
        m = merged_numeric(atoms, col, grid)
        q = {}
        for key, p in (("q25", 0.25), ("median", 0.5), ("q75", 0.75)):
            # a union's p-quantile lies between its parts' (measured exactly at training)
            known = [getattr(s.profile.numeric[col], key) for s in parts]
            got = m["q"](p)
            q[key] = None if got is None or None in known else min(max(got, min(known)), max(known))  # type: ignore[type-var]
        numeric[col] = {"mean": _r(m["mean"]), "median": _r(q["median"]), "q25": _r(q["q25"]),
                        "q75": _r(q["q75"]), "overall_mean": first.overall_mean,
                        "overall_median": first.overall_median, "z": round(m["z"], 3)}
    categorical = {}
    for col in parts[0].profile.categorical:
        counts = _sum_counts(a.categorical.get(col, {}) for a in atoms)
        total = sum(counts.values())
        ranked = sorted(counts.items(), key=lambda t: (-t[1], t[0]))
        categorical[col] = {lv: round(n / total, 4) for lv, n in ranked} if total else {}
    return {"numeric": numeric, "categorical": categorical}


def merged_box(atoms: Sequence[AtomStats], column: str, grid: Sequence[float]) -> dict[str, Any]:
    """summary.json's box plot of the union (`Box` fields): n and mean exact, the rest from the
    sketches (whiskers at the fences or the sketch's ends, outliers as the share beyond the fences)."""
    m = merged_numeric(atoms, column, grid)
    if not m["n"]:
        return {"n": 0}
    q1, med, q3 = m["q"](0.25), m["q"](0.5), m["q"](0.75)
    lo_f, hi_f = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    outside = m["cdf"](lo_f) + 1.0 - m["cdf"](hi_f)
    return {"n": m["n"], "q1": _r(q1), "median": _r(med), "q3": _r(q3),
            "whisker_low": _r(max(lo_f, m["q"](0.0))), "whisker_high": _r(min(hi_f, m["q"](1.0))),
            "outliers": int(round(outside * m["n"])), "mean": _r(m["mean"])}


def _sum_counts(dicts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in (d or {}).items():
            out[k] = out.get(k, 0) + int(v)
    return out


def merged_categorical(atoms: Sequence[AtomStats], columns: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per category column, the union's members per level (sorted by level, as summary.json)."""
    return {c: dict(sorted(_sum_counts(a.categorical.get(c, {}) for a in atoms).items())) for c in columns}


def merged_rfm(atoms: Sequence[AtomStats], order: Sequence[str]) -> dict[str, float] | None:
    """The union's RFM mix: each label's share of its members, largest first (ties: label order)."""
    if any(a.rfm is None for a in atoms):
        return None
    counts = _sum_counts(a.rfm for a in atoms)
    total = sum(counts.values())
    rank = {name: i for i, name in enumerate(order)}
    ranked = sorted(counts.items(), key=lambda t: (-t[1], rank.get(t[0], 99)))
    return {name: round(n / total, 4) for name, n in ranked if n} if total else {}


def merged_p99(atoms: Sequence[AtomStats], p99s: Sequence[float | None], grid: Sequence[float]) -> float | None:
    """The union's 99th-percentile distance to its segment's centres: each atom's own p99 is a knot
    of its tail; the union's lies between the smallest and the largest of the parts'."""
    known = [p for p in p99s if p is not None]
    if not known or any(p is None for p in p99s):
        return None
    knots = []
    for a, p99 in zip(atoms, p99s):
        x, f = _knots(a.distance, grid) if len(a.distance) > 1 else (np.array([p99, p99]), np.array([0.0, 1.0]))
        inner = x[:-1] <= p99
        x = np.concatenate((x[:-1][inner], [p99, p99 + max(p99 - x[-2], 0.0)]))
        f = np.concatenate((f[:-1][inner], [0.99, 1.0]))
        knots.append((x, np.maximum.accumulate(f)))
    got = mixture_quantile([(a.size, a.distance or [p]) for a, p in zip(atoms, p99s)], grid, 0.99, knots=knots)
    return round(float(min(max(got, min(known)), max(known))), 5) if got is not None else max(known)


def _trait_key(t: Any) -> tuple[str, str, str | None, str | None]:
    return (t.feature, t.kind, t.direction, t.level)


def merged_traits(parts: Sequence[Segment], profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The traits every part has (same column and direction, or same level), with the union's own
    z and share: each was a threshold on a mean or a share, so it holds for the union."""
    shared = set.intersection(*({_trait_key(t) for t in p.traits} for p in parts))
    out = []
    for t in parts[0].traits:
        if _trait_key(t) not in shared:
            continue
        d = t.as_dict()
        if t.kind == "numeric":
            d["z"] = profile["numeric"][t.feature]["z"]
        else:
            share = profile["categorical"].get(t.feature, {}).get(t.level, 0.0)
            base = t.share / t.lift if t.lift else None
            d["share"], d["lift"] = round(share, 3), (round(share / base, 2) if base else t.lift)
        out.append(d)
    return out


# claims that bound a number from above (the rest bound it from below, or name a label)
_UPPER = ("active", "recent", "one_off", "new")
_SAME_TEXT = ("rfm_label", "archetype")  # the same id may name another label: the words must agree


def merged_claims(parts: Sequence[Segment]) -> list[dict[str, Any]]:
    """The claims every part makes (same id; same words for a label), each as the part where it
    holds least states it (the smallest median of a "high" claim, the largest of a "low" one): a
    claim on a median or a share that holds for every part holds for the union. Plain facts
    ("median orders 3") are not carried over: they would need re-measuring."""
    def key(c: Any) -> tuple[str, str]:
        return (c.id, c.text if c.id in _SAME_TEXT or c.id.startswith("level:") else "")
    shared = set.intersection(*({key(c) for c in p.claims} for p in parts))
    out = []
    for c in parts[0].claims:
        if key(c) not in shared or c.id.startswith("median:"):
            continue
        same = [d for p in parts for d in p.claims if key(d) == key(c)]
        upper = c.id in _UPPER or c.id.endswith(("_low", ":low"))
        known = [d for d in same if d.value is not None]
        weakest = (max if upper else min)(known, key=lambda d: d.value) if known else c  # type: ignore[arg-type, return-value]
        out.append(weakest.as_dict() | {"rule": f"in every merged part; where it holds least: {weakest.rule}"})
    return out


def merged_offers(parts: Sequence[Segment], traits: Sequence[dict[str, Any]], claims: Sequence[dict[str, Any]],
                  *, limit: int) -> list[dict[str, Any]]:
    """The parts' offers that still hold for the union, the largest part's first: an offer stays
    when the union keeps what earned it (its `basis` traits) and what its words say (its `requires`
    claims); one earned otherwise (an RFM mix, the catalogue's default) when every part has it."""
    kept = {(t["feature"], t.get("direction"), t.get("level")) for t in traits}
    held = {c["id"] for c in claims} | {f"{t['role']}_{t['direction']}" for t in traits if t.get("role")}
    everywhere = set.intersection(*({o.title for o in p.offers} for p in parts))
    out: list[dict[str, Any]] = []
    for p in sorted(parts, key=lambda s: -s.size):
        for o in p.offers:
            basis = {(b.feature, b.direction, b.level) for b in o.basis}
            holds = basis <= kept if basis else o.title in everywhere or o.source == "default"
            if holds and set(getattr(o, "requires", None) or ()) <= held and all(x["title"] != o.title for x in out):
                out.append(o.as_dict())
    return out[:limit]


def size_weighted(values: Sequence[tuple[int, float | None]]) -> float | None:
    """The members-weighted mean of parts' values (None when a part has none)."""
    if any(v is None for _, v in values):
        return None
    total = sum(n for n, _ in values)
    return sum(n * v for n, v in values) / total if total else None  # type: ignore[operator]
