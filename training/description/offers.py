"""The offer catalogue (training/description/offers.yaml): rules keyed on column roles, archetypes, category
levels and RFM labels → offers per segment, and a guarantee that two segments get different offer
lists whenever the catalogue can tell them apart — when it cannot, a note says which role would.

A segment is given as its traits — ``{"role": "support" | None, "direction": "high" | "low",
"z": 1.3, "feature": "CustServ Calls", "text": "many support calls"}`` (the strength is ``|z|``),
or for a category ``{"kind": "categorical", "feature": ..., "level": "Sports", "share": 0.6}`` —
its archetype (income × spending), its RFM mix ``{"At Risk": 0.62, ...}`` and its claims (the ids
of what its numbers support, `training.description.claims`). Every offer states what it says
about the customers it goes to (`requires`: claim ids such as ``lapsed`` or ``high_value``) and is
attached only to segments that carry all of them. Every offer carries its `basis`: the traits that
earned it, so that serving can tell when a customer's own values contradict an offer of their
segment. The rule format is described at the top of the YAML. Never regular expressions on column
names: roles say what a column means.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from model.contract.constraints import category_key
from model.serving.rfm import LABELS
from training.description.claims import ARCHETYPES as CLAIM_ARCHETYPES, vocabulary
from training.reading.roles import ROLES

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "offers.yaml"
ARCHETYPES = tuple(key for key, _ in CLAIM_ARCHETYPES.values())  # premium, potential, deal_seekers, …
ARCHETYPE_WEIGHT = 3.0  # an archetype names the segment: its offers come first
RFM_WEIGHT = 2.0  # an RFM label's share × this = its weight, comparable to a trait's |z|
MIN_SHARE = 0.25
CLAIM_WEIGHT = 1.0  # a state such as "lapsed" weighs like a trait 1 SD from the mean


class CatalogueError(ValueError):
    """The catalogue YAML is malformed; the message names the rule."""


def load_catalogue(path: Path | str = DEFAULT_CATALOGUE) -> dict[str, Any]:
    """Read and check the playbook; errors name the rule and what is allowed."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"offer catalogue {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"offer catalogue {path}: expected a mapping at the top level")
    lo, hi = data.get("min_offers", 2), data.get("max_offers", 4)
    if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
        raise CatalogueError(f"offer catalogue {path}: need whole numbers 1 <= min_offers <= max_offers, "
                            f"got {lo!r}, {hi!r}")
    rules = data.get("rules") or []
    ids = set()
    for i, rule in enumerate(rules):
        where = f"offer catalogue {path}: rules[{i}]" + (f" (id {rule.get('id')!r})" if isinstance(rule, dict) else "")
        if not isinstance(rule, dict) or "match" not in rule:
            raise CatalogueError(f"{where}: every rule needs `match` (and `offers`)")
        if rule.get("id") in ids:
            raise CatalogueError(f"{where}: id used twice")
        ids.add(rule.get("id"))
        _check(rule["match"], where + ".match")
        if "unless" in rule:
            _check(rule["unless"], where + ".unless")
        if not isinstance(rule.get("priority", 0), (int, float)):
            raise CatalogueError(f"{where}: priority must be a number, got {rule.get('priority')!r}")
        _check_offers(rule.get("offers"), where)
    _check_offers(data.get("default"), f"offer catalogue {path}: default")
    if len(data["default"]) < lo:
        raise CatalogueError(f"offer catalogue {path}: `default` needs at least min_offers={lo} offers")
    return data


_KINDS = {"rfm", "role", "archetype", "level", "claim", "all", "any"}


def _check(cond: Any, where: str) -> None:
    if not isinstance(cond, dict) or len(set(cond) & _KINDS) != 1:
        raise CatalogueError(f"{where}: a condition is one of {{rfm: LABEL}}, {{role: ROLE, direction: "
                             f"high|low}}, {{archetype: NAME}}, {{level: TEXT}}, {{claim: ID}}, {{all: [...]}}, "
                             f"{{any: [...]}}; "
                             f"got {cond!r}"[:300])
    if "archetype" in cond:
        if cond["archetype"] not in ARCHETYPES:
            raise CatalogueError(f"{where}: unknown archetype {cond['archetype']!r}; archetypes are: "
                                 f"{', '.join(ARCHETYPES)}")
    elif "claim" in cond:
        _check_ids([cond["claim"]], where)
    elif "level" in cond:
        if not isinstance(cond["level"], str) or not cond["level"].strip():
            raise CatalogueError(f"{where}: level must be the text of a category level, got {cond['level']!r}")
    elif "rfm" in cond:
        labels = cond["rfm"] if isinstance(cond["rfm"], list) else [cond["rfm"]]
        bad = [x for x in labels if x not in LABELS]
        if bad:
            raise CatalogueError(f"{where}: unknown RFM label(s) {bad}; labels are: {', '.join(LABELS)}")
        share = cond.get("min_share", MIN_SHARE)
        if not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise CatalogueError(f"{where}: min_share must be a number in (0, 1], got {share!r}")
    elif "role" in cond:
        if cond["role"] not in ROLES:
            raise CatalogueError(f"{where}: unknown role {cond['role']!r}; roles are: {', '.join(ROLES)}")
        if cond.get("direction") not in ("high", "low"):
            raise CatalogueError(f"{where}: direction must be high or low, got {cond.get('direction')!r}")
    else:
        key = "all" if "all" in cond else "any"
        if not isinstance(cond[key], list) or not cond[key]:
            raise CatalogueError(f"{where}: `{key}` needs a non-empty list of conditions")
        for j, part in enumerate(cond[key]):
            _check(part, f"{where}.{key}[{j}]")


def _check_offers(offers: Any, where: str) -> None:
    if not isinstance(offers, list) or not offers:
        raise CatalogueError(f"{where}: needs a non-empty list of offers")
    for o in offers:
        if not isinstance(o, dict) or not o.get("title") or not o.get("rationale"):
            raise CatalogueError(f"{where}: every offer needs a title and a rationale, got {o!r}"[:300])
        requires = o.get("requires", [])
        if not isinstance(requires, list):
            raise CatalogueError(f"{where}: offer {o['title']!r}: requires must be a list of claims, got {requires!r}"[:300])
        _check_ids(requires, f"{where}: offer {o['title']!r}")


def _check_ids(ids: list[Any], where: str) -> None:
    known = vocabulary()
    bad = [x for x in ids if x not in known]
    if bad:
        raise CatalogueError(f"{where}: unknown claim {bad[0]!r}; claims are: {', '.join(known)}"[:600])


Basis = tuple[tuple[str, str | None, str | None], ...]  # (feature, direction, level) that earned an offer


def _holds(cond: Mapping[str, Any], seg: "_Facts") -> tuple[float, str, Basis] | None:
    """(weight, why, basis) when the condition holds for the segment, else None."""
    if "rfm" in cond:
        labels = cond["rfm"] if isinstance(cond["rfm"], list) else [cond["rfm"]]
        share = sum(float(seg.mix.get(x, 0.0)) for x in labels)
        if share < cond.get("min_share", MIN_SHARE):
            return None
        return RFM_WEIGHT * share, f"RFM: {share:.0%} {' / '.join(labels)}", ()
    if "archetype" in cond:
        if seg.archetype != cond["archetype"]:
            return None
        return ARCHETYPE_WEIGHT, f"archetype: {seg.archetype}", seg.archetype_basis
    if "role" in cond:
        return seg.traits.get((cond["role"], cond["direction"]))
    if "claim" in cond:
        return (CLAIM_WEIGHT, f"claim: {seg.claims[cond['claim']]}", ()) if cond["claim"] in seg.claims else None
    if "level" in cond:
        want = category_key(cond["level"])
        hits = [v for (feature, level), v in seg.levels.items() if want in category_key(level)]
        return max(hits) if hits else None
    parts = [_holds(c, seg) for c in cond.get("all") or cond.get("any")]
    if "all" in cond:
        if None in parts:
            return None
        return (sum(p[0] for p in parts), " and ".join(p[1] for p in parts),  # type: ignore[index]
                tuple(b for p in parts for b in p[2]))  # type: ignore[index]
    got = [p for p in parts if p is not None]
    return max(got) if got else None


class _Facts:
    """What the rules look at in one segment."""

    def __init__(self, segment_traits: Sequence[Mapping[str, Any]], rfm_mix: Mapping[str, float] | None,
                 archetype: str | None = None, claims: Sequence[Mapping[str, Any]] = ()):
        self.traits: dict[tuple[str, str], tuple[float, str, Basis]] = {}
        self.levels: dict[tuple[str, str], tuple[float, str, Basis]] = {}
        self.archetype = archetype
        basis: list[tuple[str, str | None, str | None]] = []
        for t in segment_traits:
            if t.get("kind") == "categorical" and t.get("level") is not None:
                weight = RFM_WEIGHT * float(t.get("share", 0.5))
                self.levels[(str(t.get("feature")), str(t["level"]))] = (
                    weight, f"trait: {t.get('text') or t['level']}", ((str(t.get("feature")), None, str(t["level"])),))
            elif t.get("role") in ROLES and t.get("direction") in ("high", "low"):
                strength = abs(float(t.get("strength", t.get("z", 1.0))))
                key = (t["role"], t["direction"])
                if key not in self.traits or strength > self.traits[key][0]:
                    self.traits[key] = (strength, f"trait: {t.get('text') or t['role']}",
                                        ((str(t.get("feature", t["role"])), t["direction"], None),))
                if t["role"] in ("income", "spend"):
                    basis.append((str(t.get("feature", t["role"])), t["direction"], None))
        self.archetype_basis: Basis = tuple(basis)
        self.mix = rfm_mix or {}
        # a role trait is the claim `<role>_<direction>` (training.description.claims names them so)
        self.claims = {f"{role}_{d}": why for (role, d), (_, why, _) in self.traits.items()}
        self.claims.update({str(c["id"]): str(c.get("text", c["id"])) for c in claims})

    def allows(self, offer: Mapping[str, Any]) -> bool:
        """Whether the segment carries every claim the offer requires."""
        return all(r in self.claims for r in offer.get("requires") or [])


def ranked_offers(segment_traits: Sequence[Mapping[str, Any]], rfm_mix: Mapping[str, float] | None,
                  catalogue: Mapping[str, Any], *, archetype: str | None = None,
                  claims: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Every offer of every rule that holds whose requirements the segment's claims meet,
    heaviest rule first, each title once."""
    seg = _Facts(segment_traits, rfm_mix, archetype, claims)
    hits = []
    for order, rule in enumerate(catalogue.get("rules") or []):
        got = _holds(rule["match"], seg)
        if got is None or ("unless" in rule and _holds(rule["unless"], seg) is not None):
            continue
        hits.append((-(got[0] + float(rule.get("priority", 0))), order, got[1], got[2], rule))
    out: list[dict[str, Any]] = []
    for _, _, why, basis, rule in sorted(hits, key=lambda h: h[:2]):
        for o in rule["offers"]:
            if seg.allows(o) and all(p["title"] != o["title"] for p in out):
                out.append({"title": str(o["title"]), "rationale": str(o["rationale"]),
                            "source": f"{why} (rule {rule.get('id', '?')})", "requires": list(o.get("requires") or []),
                            "basis": [{"feature": f, "direction": d, "level": lv} for f, d, lv in basis]})
    return out


def offers_for_segment(segment_traits: Sequence[Mapping[str, Any]], rfm_mix: Mapping[str, float] | None,
                       catalogue: Mapping[str, Any], *, archetype: str | None = None,
                       claims: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """min_offers..max_offers offers for one segment: its heaviest rules' offers, then defaults."""
    hi = int(catalogue.get("max_offers", 4))
    return _fill(ranked_offers(segment_traits, rfm_mix, catalogue, archetype=archetype, claims=claims)[:hi],
                 catalogue, _Facts((), None, None, claims))


def _fill(picked: list[dict[str, Any]], catalogue: Mapping[str, Any], seg: "_Facts") -> list[dict[str, Any]]:
    """`picked` topped up with default offers (those the segment's claims allow) to min_offers."""
    out = list(picked)
    for o in catalogue["default"]:
        if len(out) >= int(catalogue.get("min_offers", 2)):
            break
        if seg.allows(o) and all(p["title"] != o["title"] for p in out):
            out.append({"title": str(o["title"]), "rationale": str(o["rationale"]), "source": "default",
                        "requires": list(o.get("requires") or []), "basis": []})
    return out


def assign_offers(segments: Sequence[Mapping[str, Any]], catalogue: Mapping[str, Any]
                  ) -> list[dict[str, Any]]:
    """Offers for every segment ({"traits", "rfm_mix", optional "archetype" and "id"}; the first keeps its best
    offers), such that no two lists are identical while a segment still has an unused matching
    offer: its weakest offer gives way to the next one it matches. Segments left identical get a
    `note` naming what would tell them apart. Returns [{"offers": [...], "note": str | None}]."""
    hi = int(catalogue.get("max_offers", 4))
    ranked = [ranked_offers(s.get("traits") or [], s.get("rfm_mix"), catalogue, archetype=s.get("archetype"),
                            claims=s.get("claims") or ()) for s in segments]
    facts = [_Facts((), None, None, s.get("claims") or ()) for s in segments]
    picks = [_fill(r[:hi], catalogue, f) for r, f in zip(ranked, facts)]
    titles = lambda p: tuple(o["title"] for o in p)  # noqa: E731
    changed = True
    while changed:  # every change leaves one fewer clashing segment, so this ends
        changed = False
        for i in range(len(picks)):
            if not any(titles(picks[j]) == titles(picks[i]) for j in range(i)):
                continue
            taken = {titles(p) for p in picks}
            keep = [o for o in picks[i] if o["source"] != "default"]
            for cand in ranked[i]:
                if any(cand["title"] == o["title"] for o in keep):
                    continue
                new = _fill(keep + [cand] if len(keep) < hi else keep[:-1] + [cand], catalogue, facts[i])
                if titles(new) not in taken:
                    picks[i], changed = new, True
                    break
    out = []
    for i, p in enumerate(picks):
        twins = [j for j, q in enumerate(picks) if j != i and titles(q) == titles(p)]
        out.append({"offers": p, "note": _why_same(segments, i, twins, catalogue) if twins else None})
    return out


def _why_same(segments: Sequence[Mapping[str, Any]], i: int, twins: list[int],
              catalogue: Mapping[str, Any]) -> str:
    """Which role (or column without one) would let the catalogue tell segment i from its twins."""
    def key(t: Mapping[str, Any]) -> tuple[str, str]:
        return (t.get("role") or f"column:{t.get('feature')}", t.get("direction", ""))

    mine = {key(t): t for t in segments[i].get("traits") or []}
    theirs = {key(t) for j in twins for t in segments[j].get("traits") or []}
    covered = {(c["role"], c["direction"]) for r in catalogue.get("rules") or [] for c in _conds(r["match"])
               if "role" in c}
    hints = []
    for k, t in mine.items():
        if k in theirs:
            continue
        if not t.get("role"):
            hints.append(f"column {t.get('feature')!r} has no role: give it one (--role ROLE={t.get('feature')})")
        elif k not in covered:
            hints.append(f"the catalogue has no rule for role {t['role']} ({t['direction']}): add one")
    names = ", ".join(str(segments[j].get("id", j)) for j in twins)
    why = "; ".join(hints) or "they differ on no trait and no RFM label the catalogue knows"
    return f"same offers as segment {names}: the catalogue cannot tell them apart — {why}"


def _conds(cond: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "all" in cond or "any" in cond:
        return [c for part in cond.get("all") or cond.get("any") for c in _conds(part)]
    return [cond]
