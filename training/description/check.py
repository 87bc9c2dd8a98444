"""Check twice: before a bundle is written, every claim of every segment is derived again from its
numbers (`training.description.claims`), every offer's preconditions looked up among them and every
name rebuilt from its claims; anything contradicted stops the fit with a `ClaimError` naming it."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from model.contract.errors import ClaimError
from training.description.claims import Base, archetype_claims, claims_of, median_fact
from training.description.names import compose_name


def verify(segments: Sequence[Mapping[str, Any]], base: Base) -> None:
    """Re-derive every claim of every segment from its numbers; raise `ClaimError` naming each one
    the numbers contradict, an offer whose `requires` are not all claimed, and a name not made of
    the segment's claims. Run before the bundle is written."""
    problems = []
    for seg in segments:
        truth = {c["id"]: c for c in claims_of(seg, base)}
        truth.update({f["id"]: f for f in (median_fact(seg, col, base) for col in base.features) if f})
        if seg.get("archetype"):
            truth.update({c["id"]: c for c in archetype_claims(seg, base)})
        made = {c["id"]: c for c in seg.get("claims") or []}
        for cid, c in made.items():
            if cid not in truth or truth[cid]["text"] != c["text"]:
                problems.append(f"segment {seg['id']}: claim {c['text']!r} ({cid}) is not supported by its numbers")
        for o in seg.get("offers") or []:
            missing = [r for r in o.get("requires") or [] if r not in made]
            if missing:
                problems.append(f"segment {seg['id']}: offer {o['title']!r} requires {', '.join(missing)}, "
                                f"which its numbers do not show")
        expected = compose_name(seg, [made[c] for c in seg.get("name_claims") or [] if c in made])
        if seg.get("name") != expected and not str(seg.get("name", "")).startswith(expected + " ("):
            problems.append(f"segment {seg['id']}: name {seg.get('name')!r} is not made of its claims "
                            f"({expected!r})")
    if problems:
        raise ClaimError("refusing to write a bundle that contradicts its numbers: " + "; ".join(problems))
