"""Segment profiles in original units, and names a marketer would read.

A segment's traits are what distinguish it from the population: numeric means more than half a
standard deviation away from the overall mean, and categories at least 1.5× as common as overall.
Where the table has an income and a spending column, the classic archetypes name the segments
(premium, potential, deal seekers, low value, average); each archetype goes to at most one segment,
the most typical one.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
import pandas as pd

from model.constraints import display_number

Z_TRAIT = 0.5  # |z| above which a numeric feature counts as distinguishing
CAT_LIFT = 1.5
ARCHETYPES = {  # (income level, spending level) → (key, display name)
    ("high", "high"): ("premium", "Premium"),
    ("high", "low"): ("potential", "Potential"),
    ("low", "high"): ("deal_seekers", "Deal seekers"),
    ("low", "low"): ("low_value", "Low value"),
    ("mid", "mid"): ("average", "Average"),
}


def display_label(name: str) -> str:
    """'spending_score' → 'Spending score'; 'Annual Income (k$)' stays as is."""
    if re.search(r"[A-Z\s(]", name):
        return name
    return name.replace("_", " ").strip().capitalize()


def _short(name: str) -> str:
    """Lower-case label without units, for trait text: 'Annual Income (k$)' → 'annual income'."""
    return re.sub(r"\s*\(.*?\)", "", display_label(name)).strip().lower()


def find_column(columns: Sequence[str], pattern: str) -> str | None:
    for c in columns:
        if re.search(pattern, str(c), re.IGNORECASE):
            return c
    return None


def _level(z: float) -> str:
    return "high" if z > Z_TRAIT else "low" if z < -Z_TRAIT else "mid"


def numeric_trait_text(col: str, z: float) -> str:
    if re.fullmatch(r"age", _short(col)):
        return "older" if z > 0 else "younger"
    return f"{'high' if z > 0 else 'low'} {_short(col)}"


def profile_segments(frame: pd.DataFrame, labels: np.ndarray, *, numeric: Sequence[str],
                     categorical: Sequence[str], k: int) -> list[dict[str, Any]]:
    """One profile per segment id 0..k-1 (sizes, centres in original units, category shares, traits)."""
    n = len(frame)
    pop_mean = frame[list(numeric)].mean() if numeric else pd.Series(dtype=float)
    pop_std = frame[list(numeric)].std(ddof=0).replace(0, 1.0) if numeric else pd.Series(dtype=float)
    pop_share = {c: frame[c].value_counts(normalize=True) for c in categorical}
    out = []
    for seg in range(k):
        part = frame.loc[labels == seg]
        size = int(len(part))
        num_prof, traits = {}, []
        for c in numeric:
            col = part[c]
            mean = float(col.mean()) if size else float("nan")
            z = float((mean - pop_mean[c]) / pop_std[c]) if size else 0.0
            num_prof[c] = {"mean": _r(mean), "median": _r(col.median()), "q25": _r(col.quantile(.25)),
                           "q75": _r(col.quantile(.75)), "overall_mean": _r(pop_mean[c]), "z": round(z, 3)}
            if abs(z) > Z_TRAIT:
                traits.append({"feature": c, "kind": "numeric", "direction": "high" if z > 0 else "low",
                               "z": round(z, 3), "text": numeric_trait_text(c, z)})
        cat_prof = {}
        for c in categorical:
            shares = part[c].value_counts(normalize=True)
            cat_prof[c] = {str(lv): round(float(v), 4) for lv, v in shares.items()}
            for lv, v in shares.items():
                base = float(pop_share[c].get(lv, 0.0))
                if v >= 0.4 and base > 0 and v / base >= CAT_LIFT:
                    traits.append({"feature": c, "kind": "categorical", "level": str(lv),
                                   "share": round(float(v), 3), "lift": round(v / base, 2),
                                   "text": f"mostly {lv}" if _short(c) == "gender" else f"prefers {lv}"})
        traits.sort(key=lambda t: (0, -abs(t["z"])) if t["kind"] == "numeric" else (1, -t["lift"]))
        out.append({"id": seg, "size": size, "share": round(size / n, 4) if n else 0.0,
                    "profile": {"numeric": num_prof, "categorical": cat_prof}, "traits": traits})
    return out


def _r(x: Any) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else round(x, 4 if abs(x) < 100 else 2)


def assign_names(segments: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """Set `archetype` (or None) and a unique `name` on each segment, in place."""
    income = find_column(columns, r"income")
    spend = find_column(columns, r"spend")
    for seg in segments:
        seg["archetype"] = None
    if income and spend:
        claims: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        for seg in segments:
            zi = seg["profile"]["numeric"][income]["z"]
            zs = seg["profile"]["numeric"][spend]["z"]
            key = ARCHETYPES.get((_level(zi), _level(zs)))
            if key:
                strength = -(abs(zi) + abs(zs)) if key[0] == "average" else abs(zi) + abs(zs)
                claims.setdefault(key[0], []).append((strength, seg))
        for key, cands in claims.items():
            best = max(cands, key=lambda t: t[0])[1]
            best["archetype"] = key
    display = {k: v for k, v in ARCHETYPES.values()}
    used: set[str] = set()
    for seg in sorted(segments, key=lambda s: -s["size"]):
        # an archetype already says "income / spending": name it by what else sets it apart
        skip = {income, spend} if seg["archetype"] else set()
        texts = [t["text"] for t in seg["traits"] if t["feature"] not in skip]
        head = display[seg["archetype"]] if seg["archetype"] else None
        name = _compose(head, texts, used)
        used.add(name.casefold())
        seg["name"] = name


def _compose(head: str | None, texts: list[str], used: set[str]) -> str:
    for n_traits in range(min(2, len(texts)), len(texts) + 1):
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
