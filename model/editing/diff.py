"""What changed between two bundles, in the words a marketer checks before publishing: k, names,
offers and sizes. Used for an edit against the live bundle (segments matched by the edit's
`id_map`: the segments a merged one came from are listed together) and between two commits of a
model repo (matched by id)."""
from __future__ import annotations

from typing import Mapping, Sequence

from model.contract.manifest import Manifest, Segment

Row = dict[str, str]  # segment, what, before, after


def _offers(seg: Segment) -> str:
    return "; ".join(o.title for o in seg.offers) or "(none)"


def _size(segs: Sequence[Segment]) -> str:
    return f"{sum(s.share for s in segs):.1%} ({sum(s.size for s in segs):,})"


def diff_manifests(old: Manifest, new: Manifest, id_map: Mapping[int, int] | None = None) -> list[Row]:
    """One row per difference; empty when the two bundles say the same. `id_map` maps each old
    segment id to the new segment it became (default: the same id)."""
    rows: list[Row] = []
    if old.k != new.k:
        rows.append({"segment": "all", "what": "number of segments (k)", "before": str(old.k), "after": str(new.k)})
    mapping = dict(id_map) if id_map is not None else {s.id: s.id for s in old.segments if s.id < new.k}
    for seg in new.segments:
        before = [s for s in old.segments if mapping.get(s.id) == seg.id]
        label = str(seg.id)
        if not before:
            rows.append({"segment": label, "what": "new segment", "before": "", "after": f"{seg.name} — {_size([seg])}"})
            continue
        names = " + ".join(s.name for s in before)
        if names != seg.name:
            rows.append({"segment": label, "what": "name" if len(before) == 1 else "merged",
                         "before": names, "after": seg.name + (" (named by people)" if seg.named_by == "people" else "")})
        if round(sum(s.share for s in before), 3) != round(seg.share, 3):
            rows.append({"segment": label, "what": "size", "before": _size(before), "after": _size([seg])})
        was = " | ".join(_offers(s) for s in before)
        if was != _offers(seg):
            rows.append({"segment": label, "what": "offers", "before": was, "after": _offers(seg)})
    gone = [s for s in old.segments if s.id not in mapping]
    rows += [{"segment": str(s.id), "what": "removed", "before": f"{s.name} — {_size([s])}", "after": ""} for s in gone]
    return rows
