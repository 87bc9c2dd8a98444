"""Segment names and one-line descriptions, made only of claims (`training.description.claims`).

* an order log (recency / frequency / monetary roles): the RFM label of at least half the members
  as the head, when no larger segment has taken it, then what the members are: new, frequent /
  repeat / one-off, big / small spenders, active in the last N weeks / gone quiet N months
  ("Champions · frequent big spenders active in the last 9 weeks");
* a table with an income and a spending role: the classic archetypes (premium, potential, deal
  seekers, low value, average), each to at most one segment, the most typical one, then its other
  traits;
* otherwise its two strongest traits.

A name is rebuilt from its claims by `compose_name`, which is how `claims.verify` checks it. Two
segments never share a name: the later (smaller) one adds its next claim, then a median ("median
orders 3") until it differs.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from model.contract.constraints import display_number
from training.description.claims import Base, archetype_claims, archetype_of, claims_of, is_trait, median_fact

HEADS = ("rfm_label", "archetype")
_ADJECTIVE = {"new": "new", "frequency_high": "frequent", "frequency_low": "infrequent", "repeat": "repeat",
              "one_off": "one-off",
              "monetary_high": "big", "monetary_low": "small"}
_WHEN = ("recent", "lapsed")
_ORDER = ["new", "frequency_high", "frequency_low", "one_off", "repeat", "monetary_high", "monetary_low", "recent",
          "lapsed"]


def compose_name(seg: Mapping[str, Any], claims: Sequence[Mapping[str, Any]]) -> str:
    """The name the claims make, in their order (heads first)."""
    head = next((c["text"] for c in claims if c["id"] in HEADS), None)
    rest = [c for c in claims if c["id"] not in HEADS]
    if seg.get("rfm_mix") is not None:
        adj = [_ADJECTIVE[c["id"]] for c in rest if c["id"] in _ADJECTIVE]
        noun = "spenders" if adj and adj[-1] in ("big", "small") else "buyers" if adj else ""
        body = " ".join(adj + [noun]) if adj else ""
        when = [c["text"] for c in rest if c["id"] in _WHEN]
        body = " ".join(p for p in [body, *when] if p)
        other = [c["text"] for c in rest if c["id"] not in _ADJECTIVE and c["id"] not in _WHEN]
        body = ", ".join(p for p in [body, *other] if p)
    else:
        body = (", " if head else " · ").join(c["text"] for c in rest)
        if rest and all(c["id"].startswith("median:") for c in rest) and not head:
            body = "Typical customers · " + body  # no trait at all: only a median tells it apart
    if head:
        return f"{head} · {body}" if body else head
    return body[:1].upper() + body[1:] if body else "Typical customers"


def assign_names(segments: list[dict[str, Any]], base: Base, *, rfm: bool) -> None:
    """Set, in place, on every segment: `claims` (all its numbers support), numeric `traits`
    (the trait claims, for the offer rules), `archetype` (or None), `name_claims` and a unique `name`."""
    for seg in segments:
        seg["claims"] = claims_of(seg, base)
        numeric = [_trait(c, seg, base) for c in seg["claims"] if is_trait(c["id"])]
        seg["traits"] = numeric + [t for t in seg.get("traits") or [] if t.get("kind") == "categorical"]
        seg["archetype"] = None
    if not rfm and base.column("income") and base.column("spend"):
        _archetypes(segments, base)
    used: set[str] = set()
    skip = {base.column("income"), base.column("spend")}
    heads = _rfm_heads(segments) if rfm else {}
    for seg in sorted(segments, key=lambda s: (-s["size"], s["id"])):
        head = heads.get(seg["id"])
        if seg["archetype"]:
            head = archetype_claims(seg, base)[0]
            seg["claims"].append(head)
        words = _words(seg["claims"], rfm=rfm, skip=skip if seg["archetype"] else set())
        first = min(_rfm_words(words) + 1, len(words)) if rfm else min(2, len(words))
        chosen = ([head] if head else []) + words[:first]
        spare = words[first:] + [f for f in (median_fact(seg, col, base) for col in _fact_columns(seg, base)) if f]
        name = compose_name(seg, chosen)
        for c in spare:
            if name.casefold() not in used:
                break
            chosen.append(c)
            name = compose_name(seg, chosen)
        if name.casefold() in used:  # every claim and median is shared: only its id tells it apart
            name = f"{name} ({seg['id']})"
        used.add(name.casefold())
        seg["name"], seg["name_claims"] = name, [c["id"] for c in chosen]
        seg["claims"] += [c for c in chosen if c not in seg["claims"]]  # a median it was told apart by


# said by the R/F/M words already
_COVERED = {"recency_low", "recency_high", "frequency_high", "frequency_low", "monetary_high", "monetary_low"}


def _rfm_heads(segments: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each RFM label heads at most one name: the segment where it is the largest share."""
    best: dict[str, tuple[float, dict[str, Any]]] = {}
    for seg in segments:
        head = next((c for c in seg["claims"] if c["id"] == "rfm_label"), None)
        if head is not None and (head["text"] not in best or head["value"] > best[head["text"]][0]):
            best[head["text"]] = (head["value"], seg)
    return {seg["id"]: next(c for c in seg["claims"] if c["id"] == "rfm_label") for _, seg in best.values()}


def _rfm_words(words: list[dict[str, Any]]) -> int:
    """How many of `words` are R/F/M words (they come first)."""
    return sum(1 for c in words if c["id"] in _ORDER)


def _words(claims: list[dict[str, Any]], *, rfm: bool, skip: set[str | None]) -> list[dict[str, Any]]:
    """The claims a name is made of, in name order: an order log's RFM words, else the traits."""
    if rfm:  # the R/F/M words, then the other traits (an order log's basket size, tenure)
        got = {c["id"]: c for c in claims}
        if "frequency_high" in got or "frequency_low" in got:
            got.pop("repeat", None)  # "frequent" / "infrequent" say more
        if "one_off" in got:
            got.pop("frequency_low", None)  # one order is infrequent
        covered = {*_COVERED, *(("tenure_low",) if "new" in got else ())}
        if "recent" not in got:  # a customer table's recency: no weeks to count, the trait says it
            covered.discard("recency_low")
        return [got[i] for i in _ORDER if i in got] + [c for c in claims if c["id"] not in covered and c["id"]
                                                       not in _ORDER and is_trait(c["id"])]
    return [c for c in claims if (is_trait(c["id"]) or c["id"].startswith("level:")) and c["feature"] not in skip]


def _fact_columns(seg: Mapping[str, Any], base: Base) -> list[str]:
    """Columns whose medians may tell two names apart, where the segment stands out most first
    (|z| only orders them)."""
    z = {c: abs(float((seg["profile"]["numeric"].get(c) or {}).get("z") or 0.0)) for c in base.features}
    return sorted(base.features, key=lambda c: -z[c])


def _archetypes(segments: list[dict[str, Any]], base: Base) -> None:
    """Each archetype to at most one segment: the most typical (strongest; for "average", the
    closest to the middle)."""
    inc, spend = base.column("income"), base.column("spend")
    claims: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for seg in segments:
        got = archetype_of(seg, base, seg["claims"])
        if got:
            z = [abs(float(seg["profile"]["numeric"][c]["z"])) for c in (inc, spend)]
            claims.setdefault(got[0], []).append((-sum(z) if got[0] == "average" else sum(z), seg))
    for key, cands in claims.items():
        max(cands, key=lambda t: (t[0], -t[1]["id"]))[1]["archetype"] = key


def _trait(claim: Mapping[str, Any], seg: Mapping[str, Any], base: Base) -> dict[str, Any]:
    """A numeric trait claim in the manifest's `Trait` shape."""
    col = claim["feature"]
    return {"feature": col, "kind": "numeric", "direction": "high" if claim["id"].endswith("high") else "low",
            "z": float(seg["profile"]["numeric"][col]["z"]), "role": base.roles.get(col), "text": claim["text"]}


def describe(seg: Mapping[str, Any], base: Base) -> str:
    """One sentence on what sets the segment apart, in original units (its claims' numbers)."""
    parts = []
    for c in seg.get("claims") or []:
        if is_trait(c["id"]) and c["feature"] in base.features:
            label = base.labels.get(c["feature"], c["feature"])
            parts.append(f"{label} median {display_number(c['value'])} "
                         f"(all customers {display_number(c['reference'])})")
        elif c["id"].startswith("level:"):
            parts.append(f"{base.labels.get(c['feature'], c['feature'])}: {c['text']} ({c['rule']})")
        elif c["id"] in ("lapsed", "active") and base.cycle:
            within = "more than" if c["id"] == "lapsed" else "within"
            parts.append(f"last order a median {display_number(c['value'])} days ago, {within} two buying "
                         f"cycles ({display_number(c['reference'])} days)")
        if len(parts) == 4:
            break
    return "; ".join(parts) + "." if parts else "Close to the typical customer on every feature."
