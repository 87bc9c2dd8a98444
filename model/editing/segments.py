"""One segment after an edit: kept as it was, or merged from its parts (`model.editing.combine`),
then renamed or re-offered by people — and checked: names are the marketer's words but unique; an
offer that states preconditions (`requires`) is kept only when the segment's numbers support them."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from model.contract.errors import EditError
from model.contract.manifest import Segment
from model.contract.stats import AtomStats
from model.editing import combine
from model.editing.spec import OfferText
from model.serving.rfm import LABELS

PEOPLE = "written by people"  # an offer's `source` when a marketer wrote it


def claim_ids(seg: Segment) -> set[str]:
    """What the numbers of a segment support, as the ids an offer may require: its traits
    (`<role>_<high|low>`, `column:<name>:<high|low>`, `level:<column>:<level>`) and, where the
    manifest records them, its checked claims."""
    out = set()
    for t in seg.traits:
        if t.kind == "categorical":
            out.add(f"level:{t.feature}:{t.level}")
        elif t.role:
            out.add(f"{t.role}_{t.direction}")
        else:
            out.add(f"column:{t.feature}:{t.direction}")
    out |= {c.id for c in getattr(seg, "claims", None) or []}
    return out


def merged_segment(parts: Sequence[Segment], atoms: Sequence[AtomStats], p99s: Sequence[float | None], *,
                   grid: Sequence[float], rows: int, max_offers: int) -> dict[str, Any]:
    """The `Segment` fields of the union of `parts` (whose clusters are `atoms`), re-derived from
    the atoms' statistics; id, name and description are set by the caller."""
    size = sum(a.size for a in atoms)
    profile = combine.merged_profile(parts, atoms, grid)
    traits = combine.merged_traits(parts, profile)
    claims = combine.merged_claims(parts)
    archetypes = {p.archetype for p in parts}
    return {
        "size": size, "share": round(size / rows, 4) if rows else 0.0, "profile": profile, "traits": traits,
        "claims": claims, "name_claims": [],
        "offers": combine.merged_offers(parts, traits, claims, limit=max_offers),
        "archetype": archetypes.pop() if len(archetypes) == 1 else None,
        "distance_p99": combine.merged_p99(atoms, p99s, grid),
        "stability": None, "stability_reading": combine.NOT_REMEASURED,
        "rfm_mix": combine.merged_rfm(atoms, LABELS), "offer_note": None,
    }


def default_name(seg: Mapping[str, Any], ids: Sequence[int]) -> tuple[str, list[str]]:
    """A merged segment's name until people give one — what all its parts had in common (its
    claims, else its traits) — and the claims (ids) it is made of."""
    said = [c for c in seg.get("claims") or [] if c["id"] not in ("rfm_label", "archetype")][:2]
    if said:
        body = ", ".join(str(c["text"]) for c in said)
        return body[:1].upper() + body[1:], [str(c["id"]) for c in said]
    texts = [str(t["text"]) for t in seg.get("traits") or []][:2]
    if texts:
        body = ", ".join(texts)
        return body[:1].upper() + body[1:], []
    return "Segments " + " + ".join(str(i) for i in ids), []


def merged_description(ids: Sequence[int], traits: Sequence[Mapping[str, Any]], k: int) -> str:
    shared = "; ".join(str(t["text"]) for t in traits[:4])
    return (f"Segments {', '.join(map(str, ids[:-1]))} and {ids[-1]} of the k={k} fit, merged by people"
            + (f"; what all of them had in common: {shared}." if shared else "; they had no trait in common."))


def people_offers(seg: Segment, offers: Sequence[OfferText]) -> list[dict[str, Any]]:
    """People's offers for `seg`, each precondition checked against the segment's numbers."""
    held = claim_ids(seg)
    out = []
    for o in offers:
        missing = [r for r in o.requires if r not in held]
        if missing:
            raise EditError(f"segment {seg.id}: the offer “{o.title}” requires {', '.join(missing)}, which the "
                            f"segment's numbers do not support (they support: {', '.join(sorted(held)) or 'no claim'}); "
                            "remove the requirement or the offer")
        out.append({"title": o.title, "rationale": o.rationale, "source": PEOPLE, "basis": [], "requires": list(o.requires)})
    return out


def unique_names(segments: Sequence[dict[str, Any]]) -> None:
    """Refuse two segments of one name (case and spacing ignored): names tell segments apart."""
    seen: dict[str, int] = {}
    for s in segments:
        key = " ".join(s["name"].casefold().split())
        if key in seen:
            raise EditError(f"segment names must be unique: “{s['name']}” would name segments {seen[key]} and "
                            f"{s['id']}; choose another name for one of them")
        seen[key] = s["id"]


def dedupe_default(name: str, taken: set[str]) -> str:
    """A generated name made unique with a number (people's names are refused instead)."""
    out, i = name, 2
    while out.casefold() in taken:
        out, i = f"{name} ({i})", i + 1
    return out


def segment_value(atoms: Sequence[AtomStats], *, money: str, orders: str | None, customers: int,
                  revenue: float) -> dict[str, Any]:
    """A merged segment's `SegmentValue`, exact from its clusters' sums (as training: the mean of the
    money column times the members), against the whole base's `customers` and `revenue`."""
    size = sum(a.size for a in atoms)
    m = combine.merged_numeric(atoms, money, [])
    rev = (m["mean"] or 0.0) * size
    out: dict[str, Any] = {"customers": size, "customer_share": round(size / customers, 4) if customers else 0.0,
                           "revenue": round(rev, 2), "revenue_share": round(rev / revenue, 4) if revenue else 0.0,
                           "revenue_per_customer": round(m["mean"] or 0.0, 2), "orders": None,
                           "orders_per_customer": None}
    if orders is not None:
        per = combine.merged_numeric(atoms, orders, [])["mean"]
        if per is not None:
            out.update(orders=round(per * size, 1), orders_per_customer=round(per, 2))
    return out
