"""Offer catalogue (editable YAML) → 2–4 offers per segment, each with a one-line rationale."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "offers.yaml"


def load_catalogue(path: Path | str = DEFAULT_CATALOGUE) -> dict[str, Any]:
    """Read and check the catalogue; errors name the rule that is wrong."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"offer catalogue {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"offer catalogue {path}: expected a mapping at the top level")
    lo, hi = int(data.get("min_offers", 2)), int(data.get("max_offers", 4))
    if not 1 <= lo <= hi:
        raise ValueError(f"offer catalogue {path}: need 1 <= min_offers <= max_offers, got {lo}, {hi}")
    offers = [("default", o) for o in data.get("default", [])]
    offers += [(f"archetypes.{k}", o) for k, v in (data.get("archetypes") or {}).items() for o in v]
    for i, rule in enumerate(data.get("traits") or []):
        m = rule.get("match") or {}
        if not ("level" in m or ("feature" in m and m.get("direction") in ("high", "low"))):
            raise ValueError(f"offer catalogue {path}: traits[{i}].match needs `level`, or `feature` "
                             f"with direction high|low; got {m}")
        offers += [(f"traits[{i}]", o) for o in rule.get("offers", [])]
    for where, o in offers:
        if not isinstance(o, dict) or not o.get("title") or not o.get("rationale"):
            raise ValueError(f"offer catalogue {path}: every offer in {where} needs a title and a rationale")
    if len(data.get("default", [])) < lo:
        raise ValueError(f"offer catalogue {path}: `default` needs at least min_offers={lo} offers")
    return data


def _matches(rule: dict[str, Any], trait: dict[str, Any]) -> bool:
    m = rule["match"]
    if "level" in m:
        return trait["kind"] == "categorical" and re.search(m["level"], trait["level"], re.I) is not None
    return (trait["kind"] == "numeric" and trait["direction"] == m["direction"]
            and re.search(m["feature"], trait["feature"], re.I) is not None)


def offers_for(segment: dict[str, Any], catalogue: dict[str, Any]) -> list[dict[str, str]]:
    """The offers for one profiled segment (needs `archetype` and `traits`)."""
    lo, hi = int(catalogue.get("min_offers", 2)), int(catalogue.get("max_offers", 4))
    picked: list[dict[str, str]] = []

    def add(items: list[dict[str, Any]], source: str) -> None:
        for o in items:
            if len(picked) < hi and all(p["title"] != o["title"] for p in picked):
                picked.append({"title": str(o["title"]), "rationale": str(o["rationale"]), "source": source})

    if segment.get("archetype"):
        add((catalogue.get("archetypes") or {}).get(segment["archetype"], []), f"archetype: {segment['archetype']}")
    for trait in segment["traits"]:
        for rule in catalogue.get("traits") or []:
            if _matches(rule, trait):
                add(rule.get("offers", []), f"trait: {trait['text']}")
    for o in catalogue["default"]:
        if len(picked) >= lo:
            break
        add([o], "default")
    return picked
