"""Every k of the evidence table, kept so that people can choose it later without a refit, and the
sufficient statistics that let them merge segments honestly (`model.contract.stats`).

The fitted k is kept as fitted (its described segments, rules, boxes, verdict). Every other k gets
its own KMeans on the same preprocessed rows (a fixed-seed sample of at most `ALT_FIT_ROWS` rows;
every customer is then labelled by the nearest centre), segments described as training describes
them (names, claims, offers; bootstrap stability is measured only at the fitted k), its surrogate
rules and its box plots. Cost: one small KMeans fit, one labelling pass, one profile and one tree
per k — bounded by the evidence table's ks, not by the data.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from model.contract.schema import Schema
from model.contract.stats import FORMAT, QUANTILES
from model.serving.rfm import rfm_scores
from training.compile import compile_pipeline
from training.description.segments import describe_segments
from training.description.summary import pca_rows, segment_boxes
from training.rules.tree import Rules, fit_rules
from training.selection.clustering import LABEL_BLOCK, Fitted, _order_by_size
from training.selection.preprocess import make_pipeline
from training.selection.select_k import clusterability, make_kmeans

log = logging.getLogger(__name__)

ALT_FIT_ROWS = 20_000  # rows each alternative KMeans is fitted on (fixed seed); every row is labelled


def segment_stats(frame: pd.DataFrame, schema: Schema, fitted: Fitted, *, segments: list[dict[str, Any]],
                  rules: Rules, by_segment: Mapping[str, Any], catalogue: Mapping[str, Any], seed: int, rfm: bool,
                  fills: Mapping[str, Any], value: Mapping[str, Any] | None = None,
                  order_log: bool = False) -> dict[str, Any]:
    """segment_stats.json's content (`model.contract.stats.SegmentStats` fields) for the fitted
    bundle: the fitted k as described (`segments`, `rules`, `by_segment`), and every other k of the
    evidence table fitted and described here."""
    trained_k = int(fitted.selection["k"])
    table = fitted.selection["table"]
    prep = fitted.pipeline.named_steps["prep"]
    z = fitted.z_fit if len(fitted.z_fit) == len(frame) else None  # above 1 M rows: labelled in blocks
    rows = pca_rows(fitted.labels, seed=seed)
    labels_rfm = _rfm_labels(frame, schema) if rfm else None
    candidates = []
    for row in sorted(table, key=lambda r: r["k"]):
        k = int(row["k"])
        if k == trained_k:
            km = fitted.pipeline.named_steps["cluster"]
            labels, dist, segs, k_rules, k_value = fitted.labels, fitted.dist, segments, rules, value
            verdict, metrics = fitted.selection["clusterability"], fitted.metrics
            fit = "the fitted KMeans (the bundle as trained)"
            boxes = dict(by_segment)
        else:
            log.info("describing the alternative k=%d", k)
            km, labels, dist = _fit_alternative(fitted.z_fit, z, frame, prep, k, seed=seed)
            segs, k_value = describe_segments(frame, labels, dist, schema=schema, k=k, catalogue=catalogue,
                                              z_fit=fitted.z_fit, fit_labels=labels, seed=seed, rfm=rfm, bootstrap=0,
                                              order_log=order_log)
            k_rules = fit_rules(frame, labels, schema, seed=seed, fills=fills, k=k)
            verdict = clusterability(table, k)
            metrics = {"silhouette": row["silhouette"], "calinski_harabasz": row["calinski_harabasz"],
                       "davies_bouldin": row["davies_bouldin"], "inertia": round(float((dist ** 2).sum()), 2),
                       "metric_sample_size": int(row["n_silhouette"])}
            fit = (f"KMeans on a fixed-seed sample of {min(ALT_FIT_ROWS, len(fitted.z_fit)):,} rows, every customer "
                   f"labelled by the nearest centre; silhouette, Calinski–Harabasz and Davies–Bouldin from the "
                   f"evidence table's working sample; per-segment stability not measured at this k")
            boxes = segment_boxes(frame, labels, numeric=[f.name for f in schema.numeric],
                                  categorical=[f.name for f in schema.categorical], k=k)
        centres = compile_pipeline(make_pipeline(prep, km), fitted.pca, schema).centres
        leaves = k_rules.leaves(frame)
        hit = leaves >= 0
        rule_atoms = np.bincount(leaves[hit] * k + labels[hit], minlength=len(k_rules.rules) * k)
        p99 = np.array([s["distance_p99"] if s["distance_p99"] is not None else np.inf for s in segs])
        n = len(frame)
        candidates.append({
            "k": k, "fit": fit, "centres": [[float(x) for x in c] for c in centres],
            "sample": labels[rows].astype(int).tolist(),
            "atoms": [_atom(frame, schema, labels == j, dist, segs[j], labels_rfm) for j in range(k)],
            "segments": segs, "clusterability": verdict, "metrics": metrics, "by_segment": boxes,
            "drift_segments": [round(float(c) / n, 6) for c in np.bincount(labels, minlength=k)],
            "rules": k_rules.as_dict(), "rule_atoms": rule_atoms.reshape(len(k_rules.rules), k).tolist(),
            "unlike_training": round(float((dist > p99[labels]).mean()), 6), "value": k_value,
        })
    return {"format": FORMAT, "quantiles": list(QUANTILES), "trained_k": trained_k, "rows": int(len(frame)),
            "candidates": candidates}


def _fit_alternative(z_fit: np.ndarray, z: np.ndarray | None, frame: pd.DataFrame, prep: Any, k: int, *,
                     seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """KMeans at `k` on a fixed-seed sample of the preprocessed rows; every row's segment (0 =
    largest) and distance to its centre."""
    rng = np.random.default_rng([seed, k])
    fit_rows = np.sort(rng.choice(len(z_fit), ALT_FIT_ROWS, replace=False)) if len(z_fit) > ALT_FIT_ROWS else None
    with threadpool_limits(1):
        km = make_kmeans(k, ALT_FIT_ROWS if fit_rows is not None else len(z_fit), seed=seed)
        km.fit(z_fit if fit_rows is None else z_fit[fit_rows])
        if z is not None:
            raw = km.predict(z)
        else:
            raw = np.concatenate([km.predict(prep.transform(frame.iloc[s:s + LABEL_BLOCK]).astype(np.float64))
                                  for s in range(0, len(frame), LABEL_BLOCK)])
    labels = _order_by_size(km, raw)  # reorders km's centres too
    centres = km.cluster_centers_
    if z is not None:
        dist = np.linalg.norm(z - centres[labels], axis=1)
    else:
        dist = np.concatenate([
            np.linalg.norm(prep.transform(frame.iloc[s:s + LABEL_BLOCK]).astype(np.float64)
                           - centres[labels[s:s + LABEL_BLOCK]], axis=1) for s in range(0, len(frame), LABEL_BLOCK)])
    return km, labels, dist


def _rfm_labels(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    col = {f.role: f.name for f in schema.numeric}
    return rfm_scores(frame, recency=col["recency"], frequency=col["frequency"],
                      monetary=col["monetary"])["rfm_label"].to_numpy()


def _quantiles(values: np.ndarray) -> list[float]:
    return [float(f"{q:.6g}") for q in np.quantile(values, QUANTILES)] if len(values) else []


def _rounded_sum(values: np.ndarray) -> float:
    """The sum to the cent and to at least 6 significant digits: enough for a merged segment's
    revenue and means, while the sum of a column of whole numbers no longer carries one customer's
    decimals in full (tests/test_training.py, the canary)."""
    total = float(values.sum())
    if total == 0 or not np.isfinite(total):
        return total
    return round(total, max(2, 5 - int(np.floor(np.log10(abs(total))))))


def _atom(frame: pd.DataFrame, schema: Schema, mask: np.ndarray, dist: np.ndarray, segment: Mapping[str, Any],
          rfm_labels: np.ndarray | None) -> dict[str, Any]:
    """One cluster's sufficient statistics (`model.contract.stats.AtomStats`)."""
    part = frame.loc[mask]
    numeric = {}
    for f in schema.numeric:
        v = part[f.name].dropna().to_numpy(dtype=float)
        numeric[f.name] = {"n": int(len(v)), "sum": _rounded_sum(v), "quantiles": _quantiles(v),
                           "z": float(segment["profile"]["numeric"][f.name]["z"])}
    categorical = {f.name: {str(lv): int(n) for lv, n in part[f.name].value_counts().items()}
                   for f in schema.categorical}
    out: dict[str, Any] = {"size": int(mask.sum()), "numeric": numeric, "categorical": categorical,
                           "distance": _quantiles(dist[mask])}
    if rfm_labels is not None:
        out["rfm"] = {str(lv): int(n) for lv, n in pd.Series(rfm_labels[mask]).value_counts().items()}
    return out
