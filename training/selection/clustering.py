"""The local engine: one scikit-learn pipeline fitted on a cleaned frame, k chosen from evidence,
every row labelled. Above `FIT_ROWS` rows, selection, clustering and the PCA use a fixed-seed
sample of that size (their cost stops growing with the table); every row is still labelled."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from threadpoolctl import threadpool_limits

from model.contract.schema import Schema
from training.selection import compare
from training.selection.distinct import distinct_fit
from training.selection.preprocess import make_pipeline, make_preprocessor
from training.selection.select_k import select_k
from training.selection.verdict import clusterability, decide, smaller_k
from training.selection.stability import prediction_strength
from training.selection.weights import RULE as WEIGHT_RULE, apply_weights, role_weights

METRIC_SAMPLE = 10_000
FIT_ROWS = 1_000_000
LABEL_BLOCK = 500_000


@dataclass
class Fitted:
    """What an engine hands to `training.finish`: the fitted model and every row's segment."""
    pipeline: Any  # Pipeline([("prep", ColumnTransformer), ("cluster", KMeans)])
    pca: Any  # PCA(2) on the preprocessed sample
    labels: np.ndarray  # segment of every row (0 = largest)
    dist: np.ndarray  # distance of every row to its centre
    points: np.ndarray  # PCA point of every row (n, 2)
    z_fit: np.ndarray  # the preprocessed rows selection and stability work on
    fit_labels: np.ndarray  # their segments
    selection: dict[str, Any]
    metrics: dict[str, Any]
    comparison: dict[str, Any] | None
    fit_rows: np.ndarray | None = None  # the rows of the frame z_fit holds (None: every row, in order)


def fit_local(frame: pd.DataFrame, schema: Schema, *, k: int | str, seed: int, compare_algorithms: bool,
              step: Any) -> Fitted:
    numeric, categorical = [f.name for f in schema.numeric], [f.name for f in schema.categorical]
    prep = make_preprocessor(numeric, categorical, [list(f.levels) for f in schema.categorical],
                             log=[f.name for f in schema.numeric if f.transform == "log1p"])
    step("preprocessing")
    roles = {f.name: f.role for f in schema.numeric}
    weights = role_weights(roles)
    if len(frame) <= FIT_ROWS:
        z = (prep.fit_transform(frame) if weights is None
             else apply_weights(prep.fit(frame), weights).transform(frame)).astype(np.float64)
        z_fit, fit_rows = z, None
    else:
        apply_weights(prep.fit(frame), weights)
        fit_rows = np.sort(np.random.default_rng(seed).choice(len(frame), FIT_ROWS, replace=False))
        z_fit = prep.transform(frame.iloc[fit_rows]).astype(np.float64)
    step("choosing k" if k == "auto" else f"scoring k (forced k={k})")
    selection = choose_k(z_fit, k=k, seed=seed, n_numeric=len(numeric))
    if weights is not None:
        selection.update(weights=weights, weight_rule=WEIGHT_RULE)
    step(f"fitting KMeans (k={selection['k']})")
    kmeans = distinct_fit(frame if fit_rows is None else frame.iloc[fit_rows], z_fit, roles, selection, seed=seed)
    k = int(selection["k"])
    pca = PCA(n_components=2, random_state=seed).fit(z_fit)
    pipeline = make_pipeline(prep, kmeans)  # the same objects: _order_by_size below reaches it too
    if fit_rows is None:
        labels = _order_by_size(kmeans, kmeans.predict(z))
        points = pca.transform(z)
        dist = np.linalg.norm(z - kmeans.cluster_centers_[labels], axis=1)
        metrics = final_metrics(z, labels, float(kmeans.inertia_), seed)
        fit_labels = labels
    else:
        raw_labels, dist, points = _label_all(frame, prep, kmeans, pca)
        labels = _order_by_size(kmeans, raw_labels)
        fit_labels = labels[fit_rows]
        metrics = final_metrics(z_fit, fit_labels, float((dist ** 2).sum()), seed)
        metrics["fit_sample_size"] = int(len(fit_rows))
    comparison = None
    if compare_algorithms:
        step("comparing clustering algorithms")
        comparison = compare.compare_algorithms(z_fit, kmeans_labels=fit_labels, seed=seed)
    return Fitted(pipeline=pipeline, pca=pca, labels=labels, dist=dist, points=points, z_fit=z_fit,
                  fit_labels=fit_labels, selection=selection, metrics=metrics, comparison=comparison,
                  fit_rows=fit_rows)


def choose_k(z_fit: np.ndarray, *, k: int | str, seed: int, n_numeric: int) -> dict[str, Any]:
    """The evidence table (`select_k`) with each k's prediction strength: the selection of any engine."""
    selection = select_k(z_fit, seed=seed, k=k, n_numeric=n_numeric)
    strength = prediction_strength(z_fit, [r["k"] for r in selection["table"]], seed=seed)
    for row in selection["table"]:
        row["prediction_strength"] = None if strength.get(row["k"]) is None else round(float(strength[row["k"]]), 4)
    # the rule, the verdict and the reason read the prediction strength too (verdict: choose_k's
    # step 4, clusterability, smaller_k)
    selection["k"], selection["reason"] = decide(selection["table"], k)
    selection["clusterability"] = clusterability(selection["table"], selection["k"])
    alt = smaller_k(selection["table"], selection["k"])
    if alt is not None:
        selection["alternative"] = alt
    return selection


def _order_by_size(kmeans: Any, labels: np.ndarray) -> np.ndarray:
    """Renumber segments so that 0 is the largest (stable, readable ids); returns new labels."""
    k = kmeans.cluster_centers_.shape[0]
    sizes = np.bincount(labels, minlength=k)
    order = np.lexsort((np.arange(k), -sizes))
    kmeans.cluster_centers_ = kmeans.cluster_centers_[order]
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    new = remap[labels]
    if hasattr(kmeans, "labels_"):
        kmeans.labels_ = remap[kmeans.labels_]
    return new


def final_metrics(z: np.ndarray, labels: np.ndarray, inertia: float, seed: int) -> dict[str, Any]:
    n = len(labels)
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, size=min(n, METRIC_SAMPLE), replace=False)
    ok = len(np.unique(labels[idx])) > 1
    return {"silhouette": round(float(silhouette_score(z[idx], labels[idx])), 4) if ok else None,
            "calinski_harabasz": round(float(calinski_harabasz_score(z[idx], labels[idx])), 2) if ok else None,
            "davies_bouldin": round(float(davies_bouldin_score(z[idx], labels[idx])), 4) if ok else None,
            "inertia": round(float(inertia), 2), "metric_sample_size": int(len(idx))}


def _label_all(frame: pd.DataFrame, prep: Any, kmeans: Any, pca: Any
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment (before `_order_by_size`), distance to its centre and PCA point of every row,
    transforming `LABEL_BLOCK` rows at a time: the full preprocessed matrix is never held."""
    n = len(frame)
    labels, dist, points = np.empty(n, dtype=np.int64), np.empty(n), np.empty((n, 2))
    centres = kmeans.cluster_centers_
    with threadpool_limits(1):
        for start in range(0, n, LABEL_BLOCK):
            part = slice(start, min(n, start + LABEL_BLOCK))
            z = prep.transform(frame.iloc[part]).astype(np.float64)
            labels[part] = kmeans.predict(z)
            dist[part] = np.linalg.norm(z - centres[labels[part]], axis=1)
            points[part] = pca.transform(z)
    return labels, dist, points


def fingerprint(frame: pd.DataFrame) -> str:
    h = hashlib.sha256(",".join(frame.columns).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()
