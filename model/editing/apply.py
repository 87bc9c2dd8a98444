"""People's edit of a bundle, applied: a pure function from the bundle (and its segment_stats.json)
and an `EditSpec` to the new manifest, serving arrays, map sample and summary — nothing is written
(`model.editing.files` writes them). Used by `python -m training edit` and by the Space's Edit tab.

The segments of an edited bundle are unions of the clusters ("atoms") of one k of the evidence
table (`Edit.groups`): choosing k starts from that k's clusters as training described them;
merging unions clusters; serving then finds a customer's nearest centre and answers with the
segment that owns it (`model.serving.compiled`: `centre_segment`), so a merged segment holds
exactly its parts' customers. Ids after an edit are renumbered in the order of the segments they
came from (a merged segment takes its smallest part's place).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

import numpy as np
import pandas as pd

from model.contract.bundle import Bundle
from model.contract.errors import EditError
from model.contract.manifest import Manifest, Segment, Summary
from model.contract.stats import Candidate, SegmentStats
from model.editing import combine, segments as seg_rules
from model.editing.spec import EditSpec
from model.serving.compiled import Compiled

MAX_OFFERS = 4  # a merged segment keeps at most this many of its parts' offers


@dataclass(frozen=True)
class Edited:
    manifest: Manifest
    compiled: Compiled
    sample: pd.DataFrame
    summary: Summary
    changes: list[str]  # this edit's changes, in words
    id_map: dict[int, int]  # the id of each segment the edit started from → its id now


@dataclass(frozen=True)
class _Start:
    k: int  # the clusters' k
    segments: list[Segment]
    groups: list[list[int]]  # the clusters of each segment
    history: list[str]  # earlier edits' changes kept


def _start(bundle: Bundle, stats: SegmentStats | None, spec: EditSpec) -> tuple[_Start, Candidate | None, list[str]]:
    m, changes = bundle.manifest, []
    cur_k = m.edit.k if m.edit else m.k
    groups = m.edit.groups if m.edit else [[i] for i in range(m.k)]
    history = list(m.edit.changes) if m.edit else []
    if (spec.k is not None or spec.merges) and stats is None:
        raise EditError("this bundle has no segment_stats.json, so its segments cannot be merged and no other k "
                        "can be chosen (renaming and offers still work): re-run `python -m training fit` to "
                        "write one (bundles of the Spark engine have none)")
    if spec.k is None or (spec.k == m.k and m.edit is None):
        return _Start(cur_k, list(m.segments), groups, history), _candidate(stats, cur_k), changes
    if spec.k not in stats.ks:  # type: ignore[union-attr]
        raise EditError(f"k must be one of the evidence table's ks ({', '.join(map(str, stats.ks))}), "  # type: ignore[union-attr]
                        f"got {spec.k}")
    cand = stats.candidate(spec.k)  # type: ignore[union-attr]
    was = f"{m.k} (edited)" if m.edit else str(m.k)
    changes.append(f"k: {was} → {spec.k}: the k={spec.k} fit of the evidence table, as training described it"
                   + ("; earlier edits dropped" if m.edit else ""))
    return _Start(spec.k, list(cand.segments), [[i] for i in range(spec.k)], []), cand, changes


def _candidate(stats: SegmentStats | None, k: int) -> Candidate | None:
    if stats is None:
        return None
    try:
        return stats.candidate(k)
    except KeyError:
        raise EditError(f"segment_stats.json has no k={k}: the bundle and its statistics disagree") from None


def _groups(n: int, merges: Sequence[Sequence[int]]) -> list[list[int]]:
    """The final segments as lists of start ids (union of the merges), ordered by their first id."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for ids in merges:
        for i in ids:
            if not 0 <= i < n:
                raise EditError(f"cannot merge segment {i}: the segments are 0..{n - 1}")
        if len(set(ids)) < len(ids) or len(ids) < 2:
            raise EditError(f"merging {', '.join(map(str, ids))}: a segment cannot be merged with itself; name two "
                            "different segments")
        for i in ids[1:]:
            parent[root(i)] = root(ids[0])
    out: dict[int, list[int]] = {}
    for i in range(n):
        out.setdefault(root(i), []).append(i)
    if len(out) < 2:
        raise EditError("merging every segment into one leaves nothing to tell apart; keep at least two segments")
    return sorted(out.values(), key=lambda g: g[0])


def _per_group(values: dict[int, Any], groups: list[list[int]], what: str) -> dict[int, Any]:
    """People's values by start id → by final segment; two different values for one merged
    segment are refused."""
    out: dict[int, Any] = {}
    where = {i: g for g, members in enumerate(groups) for i in members}
    for sid, value in values.items():
        if sid not in where:
            raise EditError(f"{what} for segment {sid}: there is no segment {sid}; the segments are "
                            f"0..{len(where) - 1}")
        g = where[sid]
        if g in out and out[g] != value:
            raise EditError(f"segments {', '.join(map(str, groups[g]))} are merged, but {what} differs between "
                            "them; give the merged segment one")
        out[g] = value
    return out


def apply_edit(bundle: Bundle, stats: SegmentStats | None, spec: EditSpec, *, now: str | None = None) -> Edited:
    """The bundle after `spec` (module docstring). Raises EditError naming what to fix."""
    m = bundle.manifest
    start, cand, changes = _start(bundle, stats, spec)
    groups = _groups(len(start.segments), spec.merges)
    names = _per_group(dict(spec.renames), groups, "the name")
    offers = _per_group(dict(spec.offers), groups, "the offers")
    rows = stats.rows if stats is not None else m.training.rows
    grid = stats.quantiles if stats is not None else []
    new_segments, new_atoms, id_map = [], [], {}
    taken = {s.name.casefold() for g, members in enumerate(groups) if len(members) == 1 and g not in names
             for s in [start.segments[members[0]]]}
    for new_id, members in enumerate(groups):
        parts = [start.segments[i] for i in members]
        atoms = sorted(a for i in members for a in start.groups[i])
        id_map.update({i: new_id for i in members})
        if len(members) == 1:
            seg = parts[0].as_dict() | {"id": new_id}
        else:
            seg = seg_rules.merged_segment(parts, [cand.atoms[a] for a in atoms],  # type: ignore[union-attr]
                                           [cand.segments[a].distance_p99 for a in atoms],  # type: ignore[union-attr]
                                           grid=grid, rows=rows, max_offers=MAX_OFFERS)
            name, made_of = seg_rules.default_name(seg, members)
            name = seg_rules.dedupe_default(name, taken)
            taken.add(name.casefold())
            seg |= {"id": new_id, "name": name, "named_by": "model", "parts": atoms, "name_claims": made_of,
                    "description": seg_rules.merged_description(members, seg["traits"], start.k)}
            changes.append(f"merged segments {', '.join(f'{i} (“{start.segments[i].name}”)' for i in members)} "
                           f"into segment {new_id} “{name}”")
        if new_id in names and names[new_id] != seg["name"]:
            changes.append(f"renamed segment {new_id}: “{seg['name']}” → “{names[new_id]}”")
            seg |= {"name": names[new_id], "named_by": "people", "name_claims": []}
        if new_id in offers:
            record = Segment.from_dict(seg)
            new = seg_rules.people_offers(record, offers[new_id])
            before, after = [o["title"] for o in seg["offers"]], [o["title"] for o in new]
            if before != after or any(o["rationale"] != r.rationale for o, r in zip(seg["offers"], offers[new_id])):
                changes.append(f"offers of segment {new_id}: " + "; ".join(after)
                               + (f" (were: {'; '.join(before)})" if before else ""))
            seg |= {"offers": new, "offer_note": None}
        new_segments.append(seg)
        new_atoms.append(atoms)
    seg_rules.unique_names(new_segments)
    moved = [f"{i} → {id_map[i]}" for members in groups if len(members) == 1 for i in members if id_map[i] != i]
    if moved:
        changes.append("segment ids renumbered: " + ", ".join(moved))
    if not changes:
        raise EditError("nothing to change: rename a segment, edit its offers, merge two segments or choose "
                        "another k")
    return _assemble(bundle, stats, cand, start, new_segments, new_atoms, changes, id_map, now=now)


def _assemble(bundle: Bundle, stats: SegmentStats | None, cand: Candidate | None, start: _Start,
              segments: list[dict[str, Any]], groups: list[list[int]], changes: list[str], id_map: dict[int, int],
              *, now: str | None) -> Edited:
    """Manifest, serving arrays, map sample and summary for the edited segments."""
    m = bundle.manifest
    merged = any(len(g) > 1 for g in groups)
    owner = {a: sid for sid, g in enumerate(groups) for a in g}
    k = len(segments)
    data = m.as_dict()
    data.update(k=k, segments=segments)
    compiled, sample, summary = bundle.compiled, bundle.sample, bundle.summary
    trained_k = stats.trained_k if stats is not None else (m.edit.trained_k if m.edit else m.k)
    if cand is not None:
        centres = np.array([cand.centres[a] for g in groups for a in g], dtype=float)
        centre_segment = np.array([sid for sid, g in enumerate(groups) for _ in g], dtype=np.int64)
        compiled = dataclasses.replace(bundle.compiled, centres=centres,
                                       centre_segment=centre_segment if merged else None)
        if len(cand.sample) != len(bundle.sample):
            raise EditError("pca_sample.csv and segment_stats.json disagree on the map's rows: the bundle's files "
                            "do not belong together; re-run `python -m training fit`")
        sample = bundle.sample.assign(segment=[owner[a] for a in cand.sample])
        summary = _summary(bundle.summary, cand, groups, stats.quantiles)  # type: ignore[union-attr]
        data.update(rules=_rules(cand, owner, k), clusterability=_verdict(cand, groups),
                    metrics=_metrics(cand, merged))
        if m.drift_reference is not None:
            shares = [round(sum(cand.drift_segments[a] for a in g), 6) for g in groups]
            data["drift_reference"] = m.drift_reference.as_dict() | {
                "segments": shares, "unlike_training": cand.unlike_training}
    _value(data, cand, groups, segments)
    not_remeasured = []
    if merged:
        not_remeasured = [
            f"bootstrap stability of segment{'s' if sum(len(g) > 1 for g in groups) > 1 else ''} "
            + ", ".join(str(i) for i, g in enumerate(groups) if len(g) > 1),
            "silhouette, Calinski–Harabasz and Davies–Bouldin of the merged segmentation",
            "medians, quartiles, box plots and the 99th-percentile distance of merged segments: approximate "
            "(from the parts' quantile sketches)"]
    served = (f"serving.npz: the centres of the k={start.k} fit"
              + (", several per merged segment (centre_segment): a customer joins the segment of the nearest "
                 "centre" if merged else "")
              + f". model.skops and sklearn_model.joblib are the pipeline as trained (k={trained_k}, numbered as "
                f"trained): they do not include this edit")
    data["edit"] = {"trained_k": trained_k, "k": start.k, "groups": groups, "changes": start.history + changes,
                    "not_remeasured": not_remeasured, "served": served,
                    "edited_at": now or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    manifest = Manifest.read(data)
    return Edited(manifest=manifest, compiled=compiled, sample=sample, summary=summary, changes=changes, id_map=id_map)


def _summary(summary: Summary, cand: Candidate, groups: list[list[int]], grid: Sequence[float]) -> Summary:
    by_segment = {}
    for sid, g in enumerate(groups):
        if len(g) == 1:
            by_segment[str(sid)] = cand.by_segment[str(g[0])].as_dict()
            continue
        atoms = [cand.atoms[a] for a in g]
        first = cand.by_segment[str(g[0])]
        by_segment[str(sid)] = {"numeric": {c: combine.merged_box(atoms, c, grid) for c in first.numeric},
                                "categorical": combine.merged_categorical(atoms, list(first.categorical))}
    return Summary.from_dict(summary.as_dict() | {"by_segment": by_segment})


def _rules(cand: Candidate, owner: dict[int, int], k: int) -> dict[str, Any] | None:
    """The candidate's rules with each leaf's segment mapped, rows and agreement recounted exactly."""
    if cand.rules is None or cand.rule_atoms is None:
        return None
    rules = []
    for r, counts in zip(cand.rules.rules, cand.rule_atoms):
        seg = owner[r.segment]
        agree = sum(n for a, n in enumerate(counts) if owner[a] == seg)
        rules.append(r.as_dict() | {"segment": seg, "rows": int(sum(counts)), "agree": int(agree)})
    per = [{"id": s, "rules": [r["text"] for r in rules if r["segment"] == s],
            "rows_selected": sum(r["rows"] for r in rules if r["segment"] == s),
            "rows_agreeing": sum(r["agree"] for r in rules if r["segment"] == s)} for s in range(k)]
    fidelity = round(sum(r["agree"] for r in rules) / cand.rules.rows, 6) if cand.rules.rows else 0.0
    return cand.rules.as_dict() | {"k": k, "rules": rules, "segments": per, "fidelity": fidelity}


def _verdict(cand: Candidate, groups: list[list[int]]) -> dict[str, Any]:
    out = cand.clusterability.as_dict()
    merged = [g for g in groups if len(g) > 1]
    if merged:
        out["summary"] += (f" (Measured for the k={cand.k} fit; people merged its clusters "
                           + "; ".join(" and ".join(map(str, g)) for g in merged)
                           + f" since, leaving {len(groups)} segments: {combine.NOT_REMEASURED}.)")
    return out


def _metrics(cand: Candidate, merged: bool) -> dict[str, Any]:
    out = cand.metrics.as_dict()
    if merged:  # every customer keeps its centre, so the inertia stands; the indices change
        out.update(silhouette=None, calinski_harabasz=None, davies_bouldin=None)
    return out


def _value(data: dict[str, Any], cand: Candidate | None, groups: list[list[int]],
           segments: list[dict[str, Any]]) -> None:
    """Each merged segment's value, and the revenue headline of the edited segments (in place)."""
    from model.derived.value import headline
    summary = cand.value.as_dict() if cand is not None and cand.value is not None else data.get("value")
    if summary is None:
        return
    orders = _orders_column(data) if summary.get("orders") is not None else None
    for seg, g in zip(segments, groups):
        if len(g) > 1 and cand is not None:
            seg["value"] = seg_rules.segment_value([cand.atoms[a] for a in g], money=summary["feature"], orders=orders,
                                                   customers=summary["customers"], revenue=summary["revenue"])
    values = [s.get("value") for s in segments]
    if any(values):
        summary = {**summary, "headline": headline(segments, values)}
    data["value"] = summary


def _orders_column(data: dict[str, Any]) -> str | None:
    """The order count's column (the frequency role) of a bundle trained on an order log."""
    feats = data["schema"]["features"] if isinstance(data.get("schema"), dict) else []
    return next((f["name"] for f in feats if f.get("role") == "frequency"), None)
