"""From a fitted model to a bundle, whatever engine fitted it: segments with their meaning, rules
and their SQL, the drift reference, RFM edges, the typed manifest, plots, card, serving arrays."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from model.contract.bundle import dumps_json
from model.contract.files import CONFIG, RULES_SQL
from model.contract.writing import library_versions, write_bundle
from model.contract.manifest import FORMAT_VERSION, Manifest, Summary
from model.contract.stats import STATS, SegmentStats, dumps_stats
from model.serving.rfm import rfm_edges
from model.contract.schema import Schema
from model.derived.card import render_card
from training.selection.clustering import Fitted, fingerprint
from training.compile import compile_pipeline
from training.reading.inputs import Input
from training.monitoring.reference import drift_reference
from training.publishing.plots import render_selection_plots
from training.rules.tree import fit_rules
from model.derived.sql import rules_sql
from training.description.alternatives import segment_stats
from training.description.segments import describe_segments, name_split
from training.selection.select_k import make_kmeans
from training.selection.verdict import alternative_text
from training.description.summary import data_summary, pca_sample

RFM_ROLES = ("recency", "frequency", "monetary")


@dataclass
class Provenance:
    title: str
    license: str
    space_id: str | None
    seed: int
    k_requested: str
    engine: dict[str, Any]  # {"name": "local" | "spark", "version": ...}


def finish(data: Input, schema: Schema, fitted: Fitted, *, out: Path, catalogue: Mapping[str, Any],
           provenance: Provenance, bootstrap: int, step: Callable[[str], None],
           summary: dict[str, Any] | None = None, rows: int | None = None, data_fingerprint: str | None = None,
           profiles: list[dict[str, Any]] | None = None,
           distance_p99: list[float | None] | None = None) -> Manifest:
    """Describe the segments, assemble the manifest and write the bundle to `out`.

    An engine that fitted on more rows than `data.frame` holds (the Spark engine: `data.frame` is
    its driver sample) passes what it computed over all of them: the `summary` aggregates, the
    row count, the data fingerprint, the segment `profiles` (`training.description.profile.profile_segments`'
    shape) and each segment's 99th-percentile distance to its centre."""
    frame, labels, k = data.frame, fitted.labels, int(fitted.selection["k"])
    rfm = _has_rfm(schema)
    step("profiling segments")
    _describe_alternative(frame, schema, fitted, seed=provenance.seed, rfm=rfm,
                          order_log=data.transactions is not None)
    segments, value = describe_segments(frame, labels, fitted.dist, schema=schema, k=k, catalogue=catalogue,
                                        z_fit=fitted.z_fit, fit_labels=fitted.fit_labels, seed=provenance.seed,
                                        rfm=rfm, bootstrap=bootstrap, order_log=data.transactions is not None,
                                        profiles=profiles, distance_p99=distance_p99)
    step("segments as rules")
    fills = _fills(fitted.pipeline, schema)
    rules = fit_rules(frame, labels, schema, seed=provenance.seed, fills=fills, k=k)
    sql = rules_sql(rules, schema, names=[s["name"] for s in segments])
    unlike = fitted.dist > np.array([s["distance_p99"] if s["distance_p99"] is not None else np.inf
                                     for s in segments])[labels]
    manifest = Manifest.from_dict({
        "format_version": FORMAT_VERSION, "title": provenance.title, "license": provenance.license,
        "space_id": provenance.space_id, "engine": provenance.engine,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training": {"source": data.source, "rows": int(len(frame) if rows is None else rows),
                     "seed": provenance.seed, "features": list(schema.names), "id_column": data.id_column,
                     "data_fingerprint": data_fingerprint or fingerprint(frame),
                     "k_requested": provenance.k_requested},
        "schema": schema.as_dict(), "example": schema.example(), "k": k,
        "selection": fitted.selection, "clusterability": fitted.selection["clusterability"],
        "comparison": fitted.comparison, "metrics": fitted.metrics, "cleaning": data.cleaning,
        "segments": segments, "library_versions": library_versions(),
        "rules": rules.as_dict(), "drift_reference": drift_reference(frame, labels, schema, unlike=unlike, k=k),
        "transactions": data.transactions, "rfm": _rfm_model(frame, schema) if rfm else None, "value": value,
    })
    step("writing bundle")
    sample = pca_sample(fitted.points, labels, seed=provenance.seed)
    numeric, categorical = [f.name for f in schema.numeric], [f.name for f in schema.categorical]
    summary = summary if summary is not None else data_summary(frame, labels, numeric=numeric,
                                                               categorical=categorical, k=k)
    edits: dict[str, bytes] = {}
    if provenance.engine.get("name", "local") == "local":  # the Spark engine's frame is its driver sample
        stats = segment_stats(frame, schema, fitted, segments=segments, rules=rules, by_segment=summary["by_segment"],
                              catalogue=catalogue, seed=provenance.seed, rfm=rfm, fills=fills, value=value,
                              order_log=data.transactions is not None)
        edits[STATS] = dumps_stats(SegmentStats.from_dict(stats))
    summary = Summary.from_dict(summary)
    with tempfile.TemporaryDirectory() as tmp:
        rel = render_selection_plots(manifest.selection, manifest.comparison, Path(tmp))
        plots = {r: (Path(tmp) / r).read_bytes() for r in rel}
    config = {"sklearn": {"model": {"file": "sklearn_model.joblib"}, "model_format": "skops",
                          "safe_model": {"file": "model.skops"}, "columns": list(schema.names),
                          "example_input": {c: [v] for c, v in schema.example().items()}, "task": "clustering"}}
    extra = {CONFIG: dumps_json(config).encode(), RULES_SQL: sql.encode(), **plots, **edits}
    card = render_card(manifest, plots=sorted(plots))
    return write_bundle(out, manifest=manifest, compiled=compile_pipeline(fitted.pipeline, fitted.pca, schema),
                        pipeline=fitted.pipeline, sample=sample, summary=summary, card=card, extra_files=extra)


def _describe_alternative(frame: pd.DataFrame, schema: Schema, fitted: Fitted, *, seed: int, rfm: bool,
                          order_log: bool) -> None:
    """When the evidence prefers a smaller k (`select_k.smaller_k`), fit it on the same rows, name
    its segments from their claims and say so in the reason and the verdict (in place)."""
    sel = fitted.selection
    alt = sel.get("alternative")
    if not alt:
        return
    with threadpool_limits(1):
        km = make_kmeans(int(alt["k"]), len(fitted.z_fit), seed=seed).fit(fitted.z_fit)
    sizes = np.bincount(km.labels_, minlength=int(alt["k"]))
    rank = np.empty_like(sizes)
    rank[np.lexsort((np.arange(len(sizes)), -sizes))] = np.arange(len(sizes))
    rows = frame if fitted.fit_rows is None else frame.iloc[fitted.fit_rows]
    named = name_split(rows.reset_index(drop=True), rank[km.labels_], schema, int(alt["k"]), rfm=rfm,
                       order_log=order_log)
    alt["segments"], alt["shares"] = [n for n, _ in named], [s for _, s in named]
    text = alternative_text(int(sel["k"]), alt)
    sel["reason"] += " " + text
    sel["clusterability"]["summary"] += " " + text


def _has_rfm(schema: Schema) -> bool:
    roles = {f.role for f in schema.numeric}
    return all(r in roles for r in RFM_ROLES)


def _rfm_model(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    col = {f.role: f.name for f in schema.numeric if f.role in RFM_ROLES}
    return rfm_edges(frame, recency=col["recency"], frequency=col["frequency"], monetary=col["monetary"])


def _fills(pipeline: Any, schema: Schema) -> dict[str, Any]:
    """The imputers' exact fills (the schema's median is rounded for display)."""
    prep = pipeline.named_steps["prep"]
    out: dict[str, Any] = {}
    for name, branch, cols in prep.transformers_:
        if name == "remainder":
            continue
        stats = branch.named_steps["impute"].statistics_
        out.update({c: (str(v) if name == "cat" else float(v)) for c, v in zip(cols, stats)})
    return out
