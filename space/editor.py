"""What the Edit tab computes (no gradio): a visitor's edit of the live bundle, kept in their session
as plain data, applied by the edit core (`model.editing`) for a preview, written as a zip, or
published (`space.publish`). Nothing here changes what other visitors are served.

The state is JSON-able: ``{"k": 4, "merges": [[1, 3]], "renames": {"2": "Sports fans"},
"offers": {"0": [["title", "rationale"], …]}}``; ids are those of the segments the edit starts
from (the live bundle's, or with "k" that k's), as on the command line.
"""
from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from model.contract.errors import EditError
from model.contract.stats import STATS, SegmentStats, read_stats
from model.editing.apply import Edited, apply_edit
from model.editing.diff import diff_manifests
from model.editing.files import write_edited, zip_folder
from model.editing.spec import EditSpec, OfferText, clean_text, offer_list, MAX_NAME

log = logging.getLogger(__name__)
State = dict[str, Any]


class Editor:
    """Edits of one live bundle (`space.loader.Live`)."""

    def __init__(self, live: Any, files: Any):
        self.live, self.files = live, files
        self.bundle = live.predictor.bundle
        self._stats: SegmentStats | None | bool = False  # False: not read yet
        self._lock = threading.Lock()

    @property
    def stats(self) -> SegmentStats | None:
        """segment_stats.json, read (and verified) on first use; None when the bundle has none."""
        with self._lock:
            if self._stats is False:
                path = Path(self.bundle.path) / STATS
                expected = self.bundle.manifest.files.get(STATS)
                self._stats = read_stats(path, expected_sha256=expected) if path.is_file() and expected else None
            return self._stats  # type: ignore[return-value]

    def k_choices(self) -> list[tuple[str, int]]:
        """Every k an edit can start from, each with the evidence for it."""
        m = self.bundle.manifest
        rows = {r.k: r for r in m.selection.table}
        ks = self.stats.ks if self.stats is not None else [m.k]
        out = []
        for k in ks:
            r = rows.get(k)
            tags = ["chosen by the evidence" if k == m.selection.k else ""]
            if r is not None:
                tags.append(f"silhouette {r.silhouette:.2f}, stability {r.stability:.2f}")
            out.append((f"{k} segments" + (f" ({'; '.join(t for t in tags if t)})" if any(tags) else ""), k))
        return out

    def spec(self, state: Mapping[str, Any]) -> EditSpec:
        offers = {int(i): tuple(OfferText(*o) for o in rows) for i, rows in (state.get("offers") or {}).items()}
        return EditSpec(k=state.get("k"), merges=tuple(tuple(m) for m in state.get("merges") or ()),
                        renames={int(i): n for i, n in (state.get("renames") or {}).items()}, offers=offers)

    def apply(self, state: Mapping[str, Any]) -> Edited | None:
        """The edited bundle of `state` (None for an empty edit: the live bundle). EditError on bad input."""
        spec = self.spec(state)
        return None if spec.empty else apply_edit(self.bundle, self.stats, spec)

    def diff(self, edited: Edited) -> list[dict[str, str]]:
        return diff_manifests(self.bundle.manifest, edited.manifest, edited.id_map)

    def zip(self, state: Mapping[str, Any], *, owner: str = "unknown") -> str:
        """The edited bundle as a zip, written for download within `owner`'s share of the one disk
        budget (`space.files`)."""
        edited = self.apply(state)
        if edited is None:
            raise EditError("nothing to download yet: make an edit first")
        with tempfile.TemporaryDirectory(prefix="edit-") as tmp:
            write_edited(edited, self.bundle.path, Path(tmp) / "bundle")
            data = zip_folder(Path(tmp) / "bundle", top="edited-bundle")
        with self.files.folder(incoming=len(data), owner=owner) as folder:
            target = folder / "edited-bundle.zip"
            target.write_bytes(data)
        return str(target)

    def written(self, state: Mapping[str, Any], folder: Path) -> Edited:
        """Write the edited bundle of `state` into `folder` (for publishing)."""
        edited = self.apply(state)
        if edited is None:
            raise EditError("nothing to publish yet: make an edit first")
        write_edited(edited, self.bundle.path, folder)
        return edited


def with_words(state: Mapping[str, Any], edited: Edited | None, live: Any, *, start_id: int, name: str,
               offers: Any) -> State:
    """`state` with the name and offers people typed for the segment that holds start segment
    `start_id`; a value equal to what the preview already shows is not recorded (a machine's
    offer keeps its preconditions)."""
    manifest = edited.manifest if edited is not None else live
    id_map = edited.id_map if edited is not None else {s.id: s.id for s in manifest.segments}
    if start_id not in id_map:
        raise EditError(f"there is no segment {start_id}: choose one in the list")
    seg = manifest.segments[id_map[start_id]]
    out: State = {**state, "renames": dict(state.get("renames") or {}), "offers": dict(state.get("offers") or {})}
    new_name = clean_text(name, f"the name of segment {seg.id}", limit=MAX_NAME)
    if new_name != seg.name:
        out["renames"][str(start_id)] = new_name
    rows = offer_rows(offers, where=f"the offers of segment {seg.id}")
    if [(o.title, o.rationale) for o in rows] != [(o.title, o.rationale) for o in seg.offers]:
        out["offers"][str(start_id)] = [[o.title, o.rationale] for o in rows]
    return out


def offer_rows(table: Any, *, where: str) -> tuple[OfferText, ...]:
    """The offers table of the Edit tab (order, title, rationale; a row left empty is removed) as
    checked offers, in the order people numbered them."""
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table or [], columns=["order", "title", "rationale"])
    rows = []
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        order, title, rationale = (list(row) + [None, None, None])[:3]
        title, rationale = ("" if v is None or (isinstance(v, float) and v != v) else str(v) for v in (title, rationale))
        if not title.strip() and not rationale.strip():
            continue
        try:
            rank = float(order) if str(order).strip() not in ("", "None", "nan") else float(i)
        except (TypeError, ValueError):
            raise EditError(f"{where}, row {i}: the order must be a number, got {str(order)[:40]!r}") from None
        rows.append((rank, i, {"title": title, "rationale": rationale}))
    return offer_list([r for _, _, r in sorted(rows, key=lambda t: t[:2])], where=where)
