"""Every word is a claim: the one home of the rules that decide what may be said about a segment.

A segment is described against the whole customer base (the *base*), in real units, by its
median member (`profile.numeric[col].median`):

* **trait** of a numeric column ("big spenders", "high income", "newer customers"): the segment's
  median sits in the base's top fifth (high) or bottom fifth (low) **and** differs from the base's
  median by at least `MATERIAL` (25 %) of it — of the interquartile range when that median is 0.
  A column whose real spread is tiny (everyone joined in one quarter) is never a trait, whatever
  its z-score: z-scores only rank traits that hold.
* **states** of an order log's customers, against their buying cycle G: the median number of days
  between two orders of customers with at least two (`cycle`):
    - ``lapsed``: median days since the last order > `LAPSE_CYCLES` × G ("gone quiet N months",
      N whole months: at least half the members have been quiet that long);
    - ``active``: median days since the last order <= `LAPSE_CYCLES` × G;
    - ``new``: the tenure trait "low" and median tenure <= `LAPSE_CYCLES` × G (a recent first order);
    - ``one_off``: median orders 1; ``repeat``: median orders 2 or more.
  Without an order log (a customer table with a recency column) ``lapsed`` is the recency trait
  "high" (without a duration: the column may not count days), ``active`` a median recency at or
  below the base's (and not lapsed), ``new`` the tenure trait "low"; ``one_off`` and ``repeat`` are
  not claimed (a frequency column may be a rate).
* ``high_value`` / ``low_value``: the monetary or spending-score trait high / low.
* a **category** level ("prefers Sports"): at least 40 % of the members and 1.5× its share of
  the base (`training.description.profile.category_traits`).
* the **RFM label** of a name's head ("Champions"): the label of at least `HEAD_SHARE` of members.

Each claim is a dict with the numbers behind it (`Claim` in the manifest): id, text, feature,
value (the segment's number), reference (what it is compared with) and rule (the sentence with
both). Offers name the claims they need (`requires` in offers.yaml); names are made of claims
(`training.description.names`); `training.description.check.verify` re-derives every claim of every
segment from its numbers before the bundle is written and refuses a contradicted one (`ClaimError`).
Two segments alike in recency, frequency and money (`training.selection.distinct`) use the same
`MATERIAL` difference.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from model.contract.constraints import display_number
from training.reading.roles import ROLES, trait_text

FIFTH = 0.2  # the base's top / bottom fifth
MATERIAL = 0.25  # relative difference from the base's median that counts as material
LAPSE_CYCLES = 2.0  # no order for this many buying cycles = lapsed
HEAD_SHARE = 0.5  # an RFM label names a segment when at least half its members carry it
DAYS_PER_MONTH = 30.44
RFM_ROLES = ("recency", "frequency", "monetary")
STATES = ("lapsed", "active", "new", "one_off", "repeat", "high_value", "low_value")
RULE = (f"a trait: the segment's median in the top or bottom fifth of all customers and at least "
        f"{MATERIAL:.0%} away from their median; lapsed / active: median days since the last order above / "
        f"at most {LAPSE_CYCLES:g} x the median gap between orders of repeat customers")


def is_trait(claim_id: str) -> bool:
    """Whether a claim id is a numeric trait: `<role>_<high|low>` or `column:<name>:<high|low>`."""
    return claim_id.endswith(("_high", "_low", ":high", ":low"))


def vocabulary() -> list[str]:
    """Every claim id an offer may require: the states and `<role>_<high|low>` for every role."""
    return [*STATES, *(f"{r}_{d}" for r in ROLES for d in ("high", "low"))]


@dataclass(frozen=True)
class FeatureBase:
    """The whole base's numbers for one numeric column."""
    median: float
    q20: float
    q80: float
    q25: float
    q75: float


@dataclass(frozen=True)
class Base:
    """What every segment is compared with: per numeric column its quantiles, the columns' roles
    and labels, and (order logs) the buying cycle in days."""
    features: dict[str, FeatureBase]
    roles: dict[str, str | None]
    labels: dict[str, str] = field(default_factory=dict)
    order_log: bool = False
    cycle: float | None = None  # median days between two orders of repeat customers

    def column(self, role: str) -> str | None:
        """The first numeric column with this role."""
        return next((c for c, r in self.roles.items() if r == role and c in self.features), None)


def base_of(frame: pd.DataFrame, roles: Mapping[str, str | None], *, labels: Mapping[str, str] | None = None,
            order_log: bool = False) -> Base:
    """The base of `frame`'s numeric columns (those in `roles` that hold numbers)."""
    feats = {}
    for c in roles:
        if c in frame and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]):
            v = frame[c].dropna().to_numpy(dtype=float)
            if len(v):
                q = np.quantile(v, [0.5, FIFTH, 1 - FIFTH, 0.25, 0.75])
                feats[c] = FeatureBase(*(float(x) for x in q))
    base = Base(features=feats, roles=dict(roles), labels=dict(labels or {}), order_log=order_log)
    return dataclasses.replace(base, cycle=buying_cycle(frame, base)) if order_log else base


def buying_cycle(frame: pd.DataFrame, base: Base) -> float | None:
    """Median days between two orders of customers with at least two: (tenure − recency) /
    (orders − 1); None without those columns or without repeat customers."""
    rec, freq, ten = (base.column(r) for r in ("recency", "frequency", "tenure"))
    if not (rec and freq and ten):
        return None
    f = frame[freq].to_numpy(dtype=float)
    repeat = f >= 2
    if not repeat.any():
        return None
    gaps = (frame[ten].to_numpy(dtype=float)[repeat] - frame[rec].to_numpy(dtype=float)[repeat]) / (f[repeat] - 1)
    gaps = gaps[np.isfinite(gaps)]
    return float(np.median(gaps)) if len(gaps) else None


def _n(x: float) -> str:
    return display_number(x)


def trait_direction(value: float | None, fb: FeatureBase) -> tuple[str, str] | None:
    """("high" | "low", the rule with its numbers) when a segment median `value` is a trait."""
    if value is None or not math.isfinite(value):
        return None
    scale = abs(fb.median) if fb.median else fb.q75 - fb.q25
    if not scale > 0:
        return None
    apart = value - fb.median
    if value >= fb.q80 and apart >= MATERIAL * scale:
        where, bound, direction = "top fifth", f">= {_n(fb.q80)}", "high"
    elif value <= fb.q20 and -apart >= MATERIAL * scale:
        where, bound, direction = "bottom fifth", f"<= {_n(fb.q20)}", "low"
    else:
        return None
    by = (f"{value / fb.median:.2f}x their median {_n(fb.median)}" if fb.median
          else f"{_n(abs(apart))} from their median 0 (interquartile range {_n(scale)})")
    return direction, f"median {_n(value)} is in the {where} of all customers ({bound}) and {by}"


def _median(seg: Mapping[str, Any], col: str | None) -> float | None:
    if col is None:
        return None
    p = (seg.get("profile") or {}).get("numeric", {}).get(col) or {}
    v = p.get("median")
    return None if v is None else float(v)


def _claim(cid: str, text: str, feature: str | None, value: float | None, reference: float | None,
           rule: str) -> dict[str, Any]:
    return {"id": cid, "text": text, "feature": feature, "value": value, "reference": reference, "rule": rule}


def trait_claims(seg: Mapping[str, Any], base: Base) -> list[dict[str, Any]]:
    """The traits of one segment (numeric, then category levels), strongest first, as claims."""
    out = []
    for col, fb in base.features.items():
        value = _median(seg, col)
        got = trait_direction(value, fb)
        if got is None:
            continue
        direction, rule = got
        role = base.roles.get(col)
        cid = f"{role}_{direction}" if role else f"column:{col}:{direction}"
        z = float(((seg.get("profile") or {}).get("numeric", {}).get(col) or {}).get("z") or 0.0)
        claim = _claim(cid, trait_text(role or base.labels.get(col, col), direction), col, value, fb.median, rule)
        out.append((-abs(z), claim))
    out.sort(key=lambda t: t[0])
    levels = [_claim(f"level:{t['feature']}:{t['level']}", t["text"], t["feature"], t.get("share"),
                     round(t["share"] / t["lift"], 4) if t.get("lift") else None,
                     f"{t['share']:.0%} of the members (a {t['lift']:.1f}x larger share than among all customers)")
              for t in seg.get("traits") or [] if t.get("kind") == "categorical"]
    return [c for _, c in out] + levels


def state_claims(seg: Mapping[str, Any], base: Base, traits: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """lapsed / active / new / one_off / repeat / high_value / low_value (module docstring)."""
    have = {t["id"]: t for t in traits}
    out: list[dict[str, Any]] = []
    rec, freq, ten = (base.column(r) for r in ("recency", "frequency", "tenure"))
    days = _median(seg, rec)
    if rec and days is not None:
        if base.cycle:
            limit = LAPSE_CYCLES * base.cycle
            cycle = (f"{LAPSE_CYCLES:g} x {_n(base.cycle)} days, the median gap between two orders of "
                     f"repeat customers")
            if days > limit:
                out.append(_claim("lapsed", quiet_text(days), rec, days, limit,
                                  f"median {_n(days)} days since the last order > {cycle}"))
            else:
                out.append(_claim("active", "still buying", rec, days, limit,
                                  f"median {_n(days)} days since the last order <= {cycle}"))
        elif "recency_high" in have:  # a customer table: its recency may not count days, so no duration
            t = have["recency_high"]
            out.append(_claim("lapsed", t["text"], rec, days, t["reference"], t["rule"]))
        elif days <= base.features[rec].median:
            out.append(_claim("active", "still buying", rec, days, base.features[rec].median,
                              f"median {_n(days)} since the last order <= the median of all customers "
                              f"({_n(base.features[rec].median)})"))
    if "tenure_low" in have:
        t, tenure = have["tenure_low"], _median(seg, ten)
        if not base.cycle or (tenure is not None and tenure <= LAPSE_CYCLES * base.cycle):
            extra = (f"; and {_n(tenure)} days <= {LAPSE_CYCLES:g} buying cycles ({_n(LAPSE_CYCLES * base.cycle)} "
                     f"days) since the first order") if base.cycle and tenure is not None else ""
            out.append(_claim("new", "new customers", ten, t["value"], t["reference"], t["rule"] + extra))
    orders = _median(seg, freq)
    if base.order_log and freq and orders is not None:
        if orders <= 1:
            out.append(_claim("one_off", "one-off buyers", freq, orders, 1.0, f"median {_n(orders)} order"))
        else:
            out.append(_claim("repeat", "repeat buyers", freq, orders, 2.0, f"median {_n(orders)} orders"))
    for state, direction in (("high_value", "high"), ("low_value", "low")):
        t = have.get(f"monetary_{direction}") or have.get(f"spend_{direction}")
        if t is not None:
            out.append(_claim(state, f"{direction} value", t["feature"], t["value"], t["reference"], t["rule"]))
    return out


def quiet_text(days: float) -> str:
    """'gone quiet 16 months' (whole months, rounded down: true of the median member); weeks
    under two months."""
    months = int(days // DAYS_PER_MONTH)
    if months >= 2:
        return f"gone quiet {months} months"
    weeks = int(days // 7)
    return f"gone quiet {weeks} weeks" if weeks >= 2 else "gone quiet"


def active_text(days: float) -> str:
    """'active in the last 16 weeks' (rounded up: the median member bought within that time)."""
    if days < 14:
        return f"active in the last {max(1, math.ceil(days))} days"
    return f"active in the last {math.ceil(days / 7)} weeks"


def rfm_head(seg: Mapping[str, Any]) -> dict[str, Any] | None:
    """The RFM label of at least `HEAD_SHARE` of the members, as a claim (None: no such label)."""
    mix = seg.get("rfm_mix") or {}
    if not mix:
        return None
    label, share = max(mix.items(), key=lambda t: (t[1], t[0]))
    if share < HEAD_SHARE or label == "Others":
        return None
    return _claim("rfm_label", label, None, float(share), HEAD_SHARE,
                  f"{share:.0%} of the members carry the RFM label {label} (>= {HEAD_SHARE:.0%})")


def claims_of(seg: Mapping[str, Any], base: Base) -> list[dict[str, Any]]:
    """Every claim the numbers of one segment support: traits, states, the RFM head."""
    traits = trait_claims(seg, base)
    out = traits + state_claims(seg, base, traits)
    rec = base.column("recency")
    if "recency_low" in {t["id"] for t in traits} and rec and base.order_log:  # days since the last order
        t = next(t for t in traits if t["id"] == "recency_low")
        out.append(_claim("recent", active_text(t["value"]), rec, t["value"], t["reference"], t["rule"]))
    head = rfm_head(seg)
    return out + ([head] if head else [])


ARCHETYPES = {  # (income level, spending level) → (key, display name)
    ("high", "high"): ("premium", "Premium"),
    ("high", "low"): ("potential", "Potential"),
    ("low", "high"): ("deal_seekers", "Deal seekers"),
    ("low", "low"): ("low_value", "Low value"),
    ("mid", "mid"): ("average", "Average"),
}


def archetype_of(seg: Mapping[str, Any], base: Base, claims: Iterable[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(key, display name) of the income × spending archetype the segment's traits make, or None.
    "Average" needs more than no trait: both medians in the middle half of all customers."""
    ids = {c["id"] for c in claims}
    level = {r: "high" if f"{r}_high" in ids else "low" if f"{r}_low" in ids else "mid" for r in ("income", "spend")}
    got = ARCHETYPES.get((level["income"], level["spend"]))
    if got and got[0] == "average":
        for col in (base.column("income"), base.column("spend")):
            v, fb = _median(seg, col), base.features.get(col or "")
            if v is None or fb is None or not fb.q25 <= v <= fb.q75:
                return None
    return got


def archetype_claims(seg: Mapping[str, Any], base: Base) -> list[dict[str, Any]]:
    """The claim behind `seg["archetype"]` when its traits make that archetype (else none)."""
    claims = claims_of(seg, base)
    got = archetype_of(seg, base, claims)
    if got is None or got[0] != seg.get("archetype"):
        return []
    parts = []
    for col in (base.column("income"), base.column("spend")):
        t = next((c for c in claims if c["feature"] == col and is_trait(c["id"])), None)
        fb = base.features[col]  # type: ignore[index]
        parts.append(f"{base.labels.get(col, col)}: " + (t["rule"] if t else
                     f"median {_n(_median(seg, col) or float('nan'))}, in the middle half of all customers "
                     f"({_n(fb.q25)} to {_n(fb.q75)})"))
    return [_claim("archetype", got[1], None, None, None, "; ".join(parts))]


def median_fact(seg: Mapping[str, Any], col: str, base: Base) -> dict[str, Any] | None:
    """A plain fact, to tell apart two segments whose claims read alike: 'median orders 3'."""
    v = _median(seg, col)
    if v is None or col not in base.features:
        return None
    label = base.labels.get(col, col)
    return _claim(f"median:{col}", f"median {label[:1].lower() + label[1:]} {_n(v)}", col, v,
                  base.features[col].median, f"median {_n(v)} (all customers {_n(base.features[col].median)})")
