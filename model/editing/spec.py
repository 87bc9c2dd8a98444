"""What people ask of an edit, checked as text before any bundle is touched.

An edit says: another k of the evidence table (`k`), segments to merge (`merges`: groups of ids),
new names (`renames`) and new offer lists (`offers`). Every id refers to the segments the edit
starts from: the bundle's own, or — with `k` — those of that k as training described them. The
command line writes it as flags (`--rename 2="Sports fans"`, `--merge 1,3`, `--k 4`, `--offers
FILE.yaml`), the Space as form values; both end here. Each problem raises `EditError` naming what
to fix, the allowed values and what was received.

The offers file::

    segments:
      2:                      # a segment id
        - title: Sports gear club
          rationale: Members who prefer Sports come back for club events.
          requires: [level:preferred_category:Sports]   # optional: claims the offer's words make
        - title: …
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import yaml

from model.contract.errors import EditError, echo

MAX_NAME = 80  # characters of a segment name
MAX_TITLE = 120
MAX_RATIONALE = 400
MAX_OFFERS = 8  # offers per segment
MAX_OFFERS_BYTES = 256 * 1024  # an offers file larger than this is refused before it is parsed
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class OfferText:
    """An offer as people write it; `requires` names the claims its words make about the segment."""
    title: str
    rationale: str
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class EditSpec:
    k: int | None = None
    merges: tuple[tuple[int, ...], ...] = ()
    renames: Mapping[int, str] = field(default_factory=dict)
    offers: Mapping[int, tuple[OfferText, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.k is None and not self.merges and not self.renames and not self.offers


def clean_text(value: Any, what: str, *, limit: int) -> str:
    """A name, title or rationale: text, spaces collapsed, not empty, at most `limit` characters."""
    if not isinstance(value, str):
        raise EditError(f"{what} must be text, got {echo(value)}")
    text = " ".join(_CONTROL.sub(" ", value).split())
    if not text:
        raise EditError(f"{what} is empty: write a few words")
    if len(text) > limit:
        raise EditError(f"{what} is {len(text)} characters long; at most {limit} are allowed (got {echo(text)})")
    return text


def segment_id(value: Any, what: str) -> int:
    """A segment id written by people: a whole number (as text or a number)."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is None or not re.fullmatch(r"\d{1,4}", text):
        raise EditError(f"{what} must be a segment id (a whole number such as 0 or 3), got {echo(value)}")
    return int(text)


def parse_rename(text: str) -> tuple[int, str]:
    """`--rename ID=NAME` → (id, name)."""
    sid, sep, name = str(text).partition("=")
    if not sep:
        raise EditError(f"--rename must look like ID=NAME (e.g. 2=Sports fans), got {echo(text)}")
    sid_ = segment_id(sid, "--rename's ID")
    return sid_, clean_text(name, f"the new name of segment {sid_}", limit=MAX_NAME)


def parse_merge(text: str) -> tuple[int, ...]:
    """`--merge ID,ID[,ID…]` → the ids, each once: merging a segment with itself is refused."""
    parts = [p for p in str(text).replace(" ", "").split(",")]
    if len(parts) < 2 or any(not p for p in parts):
        raise EditError(f"--merge needs two or more segment ids separated by commas (e.g. 1,3), got {echo(text)}")
    ids = tuple(segment_id(p, "--merge's ids") for p in parts)
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise EditError(f"--merge {text}: segment {twice} cannot be merged with itself; name two different segments")
    return ids


def parse_offers(data: Any, *, where: str = "the offers") -> dict[int, tuple[OfferText, ...]]:
    """Offers as YAML text (or already parsed): {segment id: offers}, each offer checked."""
    if isinstance(data, (bytes, str)):
        size = len(data.encode("utf-8") if isinstance(data, str) else data)
        if size > MAX_OFFERS_BYTES:
            raise EditError(f"{where} is {size:,} bytes; at most {MAX_OFFERS_BYTES:,} are read")
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise EditError(f"{where} is not valid YAML{line}: {getattr(exc, 'problem', None) or exc}; "
                            "expected `segments:` mapping each segment id to a list of offers with a title "
                            "and a rationale") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("segments"), Mapping) or set(data) - {"segments"}:
        raise EditError(f"{where} must hold one key, `segments:`, mapping segment ids to lists of offers; "
                        f"got {echo(data)}")
    out: dict[int, tuple[OfferText, ...]] = {}
    for key, offers in data["segments"].items():
        sid = segment_id(key, f"{where}: a key under `segments`")
        if sid in out:
            raise EditError(f"{where}: segment {sid} is listed twice")
        out[sid] = offer_list(offers, where=f"{where}: segment {sid}")
    return out


def offer_list(offers: Any, *, where: str) -> tuple[OfferText, ...]:
    """A list of offers (mappings with title, rationale and optional requires), checked."""
    if not isinstance(offers, list) or not offers:
        raise EditError(f"{where} needs a list of at least one offer (each with a title and a rationale), "
                        f"got {echo(offers)}")
    if len(offers) > MAX_OFFERS:
        raise EditError(f"{where} has {len(offers)} offers; at most {MAX_OFFERS} are allowed")
    out, titles = [], set()
    for i, o in enumerate(offers, start=1):
        at = f"{where}, offer {i}"
        if not isinstance(o, Mapping) or set(o) - {"title", "rationale", "requires"}:
            raise EditError(f"{at} must have a title and a rationale (and optionally `requires`), got {echo(o)}")
        title = clean_text(o.get("title"), f"{at}: the title", limit=MAX_TITLE)
        rationale = clean_text(o.get("rationale"), f"{at} (“{title}”): the rationale", limit=MAX_RATIONALE)
        requires = o.get("requires") or []
        if not isinstance(requires, list) or not all(isinstance(r, str) and r.strip() for r in requires):
            raise EditError(f"{at} (“{title}”): `requires` must be a list of claim ids, got {echo(requires)}")
        if title.casefold() in titles:
            raise EditError(f"{where}: the title “{title}” is used twice; each offer needs its own title")
        titles.add(title.casefold())
        out.append(OfferText(title, rationale, tuple(r.strip() for r in requires)))
    return tuple(out)


def build_spec(*, k: Any = None, merges: Iterable[str | Iterable[int]] = (), renames: Iterable[str] = (),
               offers: Mapping[int, tuple[OfferText, ...]] | None = None) -> EditSpec:
    """An `EditSpec` from the command line's flags (text) or from already parsed values."""
    if k is not None and (isinstance(k, bool) or not isinstance(k, int)):
        k = segment_id(k, "--k")
    groups = tuple(parse_merge(m) if isinstance(m, str) else tuple(m) for m in merges)
    names: dict[int, str] = {}
    for text in renames:
        sid, name = parse_rename(text)
        if sid in names and names[sid] != name:
            raise EditError(f"--rename gives segment {sid} two names: “{names[sid]}” and “{name}”; keep one")
        names[sid] = name
    return EditSpec(k=k, merges=groups, renames=names, offers=dict(offers or {}))
