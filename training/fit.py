"""`fit`: CSV → cleaned table → one pipeline → k chosen from evidence → profiles, names, offers →
bundle. Each step lives in its own module; this one only orders them and reports progress."""
from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from threadpoolctl import threadpool_limits

from model.bundle import CONFIG, dumps_json, library_versions, write_bundle
from model.manifest import FORMAT_VERSION, Manifest, Summary
from model.schema import CategoricalFeature, NumericFeature, Schema
from model.settings import DEFAULT_BUNDLE_DIR
from training import compare, data as data_mod, synthetic
from training.card import render_card
from training.compile import compile_pipeline
from training.offers import DEFAULT_CATALOGUE, load_catalogue, offers_for
from training.plots import render_selection_plots
from training.preprocess import make_pipeline, make_preprocessor
from training.profile import assign_names, describe, display_label, profile_segments
from training.select_k import make_kmeans, select_k
from training.summary import data_summary, pca_sample

log = logging.getLogger(__name__)
HARD_MARGIN = 2.0  # hard limits = training range widened by this many spans on each side
METRIC_SAMPLE = 10_000
# Above this many rows, k selection, the KMeans fit and the PCA use a fixed-seed sample of this
# size (their cost then stops growing with the table); every row is still labelled, profiled and
# summarised. At or below it nothing is sampled, so results on smaller tables are unchanged.
FIT_ROWS = 1_000_000
LABEL_BLOCK = 500_000


@dataclass
class FitOptions:
    data: Path | None = None
    out: Path = DEFAULT_BUNDLE_DIR
    features: Sequence[str] | None = None
    id_column: str | None = None
    k: int | str = "auto"
    seed: int = 42
    offers: Path = DEFAULT_CATALOGUE
    limits: dict[str, tuple[float, float]] | None = None  # per-column hard limits override
    compare: bool = True
    title: str = "Customer segments"
    license: str = "mit"  # the model card's licence: the data owner's choice (--license)
    space_id: str | None = None  # OWNER/NAME of the Space that will serve the bundle (--space)


def build_schema(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
                 id_column: str | None, limits: dict[str, tuple[float, float]] | None) -> Schema:
    """Numeric bounds and medians, categorical levels (sorted) and modes, display labels."""
    feats: list[NumericFeature | CategoricalFeature] = []
    for c in numeric:
        v = frame[c].dropna()
        lo, hi = float(v.min()), float(v.max())
        span = max(hi - lo, abs(hi), 1.0)
        hard = (0.0 if lo >= 0 else lo - HARD_MARGIN * span, hi + HARD_MARGIN * span)
        if limits and c in limits:
            hard = limits[c]
        integer = bool((v % 1 == 0).all())
        median = float(v.median())
        feats.append(NumericFeature(name=c, label=display_label(c), min=lo, max=hi,
                                    median=round(median) if integer else round(median, 4),
                                    hard_min=hard[0], hard_max=hard[1], integer=integer))
    for c in categorical:
        counts = frame[c].value_counts()
        levels = tuple(sorted(str(x) for x in counts.index))
        mode = str(sorted(counts[counts == counts.max()].index)[0])
        feats.append(CategoricalFeature(name=c, label=display_label(c), levels=levels, mode=mode))
    return Schema(features=tuple(feats), id_column=id_column)


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


def load_clean(opts: FitOptions) -> tuple[data_mod.Cleaned, str]:
    """The cleaned table and a description of where it came from (a CSV is read in chunks)."""
    if opts.data is None:
        frame, _ = synthetic.default_frame()
        cleaned = data_mod.clean(frame.astype("string"), features=opts.features, id_column=opts.id_column)
        return cleaned, (f"synthetic default data (seed {synthetic.DEFAULT_SEED}, "
                         f"{synthetic.DEFAULT_ROWS:,} rows)")
    cleaned = data_mod.clean_file(opts.data, features=opts.features, id_column=opts.id_column)
    return cleaned, Path(opts.data).name


@dataclass(frozen=True)
class FitResult:
    manifest: Manifest
    seconds: float


def fit(opts: FitOptions, *, step: Callable[[str], None] = log.info) -> FitResult:
    """Run the whole fit and write the bundle to `opts.out`. Returns the final manifest."""
    t0 = time.perf_counter()
    step("reading and cleaning data")
    cleaned, source = load_clean(opts)
    step("describing columns")
    frame, numeric, categorical = cleaned.frame, cleaned.numeric, cleaned.categorical
    schema = build_schema(frame, numeric, categorical, cleaned.id_column, opts.limits)
    levels = [list(f.levels) for f in schema.categorical]
    step("preprocessing")
    prep = make_preprocessor(numeric, categorical, levels)
    if len(frame) <= FIT_ROWS:
        z = prep.fit_transform(frame).astype(np.float64)
        z_fit, fit_rows = z, None
    else:  # bounded cost: selection, clustering and PCA on a fixed-seed sample; every row labelled
        prep.fit(frame)
        fit_rows = np.sort(np.random.default_rng(opts.seed).choice(len(frame), FIT_ROWS, replace=False))
        z_fit = prep.transform(frame.iloc[fit_rows]).astype(np.float64)
    step("choosing k" if opts.k == "auto" else f"scoring k (forced k={opts.k})")
    selection = select_k(z_fit, seed=opts.seed, k=opts.k, n_numeric=len(numeric))
    k = int(selection["k"])
    step(f"fitting KMeans (k={k})")
    with threadpool_limits(1):  # measured: small BLAS calls run faster single-threaded here
        kmeans = make_kmeans(k, len(z_fit), seed=opts.seed).fit(z_fit)
    pca = PCA(n_components=2, random_state=opts.seed).fit(z_fit)
    pipeline = make_pipeline(prep, kmeans)  # the same objects: _order_by_size below reaches it too
    if fit_rows is None:
        labels = _order_by_size(kmeans, kmeans.predict(z))
        points = pca.transform(z)
        dist = np.linalg.norm(z - kmeans.cluster_centers_[labels], axis=1)
        metrics = final_metrics(z, labels, float(kmeans.inertia_), opts.seed)
    else:
        raw_labels, dist, points = _label_all(frame, prep, kmeans, pca)
        labels = _order_by_size(kmeans, raw_labels)
        metrics = final_metrics(z_fit, labels[fit_rows], float((dist ** 2).sum()), opts.seed)
        metrics["fit_sample_size"] = int(len(fit_rows))
    comparison = None
    if opts.compare:
        step("comparing clustering algorithms")
        comparison = compare.compare_algorithms(
            z_fit, kmeans_labels=labels if fit_rows is None else labels[fit_rows], seed=opts.seed)
    step("profiling segments")
    catalogue = load_catalogue(opts.offers)
    segments = profile_segments(frame, labels, numeric=numeric, categorical=categorical, k=k)
    assign_names(segments, numeric)
    labels_map = {f.name: f.label for f in schema.features}
    for seg in segments:
        seg["offers"] = offers_for(seg, catalogue)
        seg["description"] = describe(seg, labels_map)
        own = dist[labels == seg["id"]]
        seg["distance_p99"] = round(float(np.quantile(own, 0.99)), 5) if len(own) else None
    manifest = Manifest.from_dict({
        "format_version": FORMAT_VERSION, "title": opts.title, "license": opts.license,
        "space_id": opts.space_id,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training": {"source": source, "rows": int(len(frame)), "seed": opts.seed,
                     "features": list(schema.names), "id_column": cleaned.id_column,
                     "data_fingerprint": fingerprint(frame), "k_requested": str(opts.k)},
        "schema": schema.as_dict(), "example": schema.example(), "k": k,
        "selection": selection, "clusterability": selection["clusterability"],
        "comparison": comparison, "metrics": metrics, "cleaning": cleaned.report,
        "segments": segments, "library_versions": library_versions(),
    })
    step("writing bundle")
    sample = pca_sample(points, labels, seed=opts.seed)
    summary = Summary.from_dict(data_summary(frame, labels, numeric=numeric, categorical=categorical, k=k))
    with tempfile.TemporaryDirectory() as tmp:
        rel = render_selection_plots(manifest.selection, manifest.comparison, Path(tmp))
        plots = {r: (Path(tmp) / r).read_bytes() for r in rel}
    config = {"sklearn": {"model": {"file": "sklearn_model.joblib"}, "model_format": "skops",
                          "safe_model": {"file": "model.skops"},
                          "columns": list(schema.names), "example_input": {c: [v] for c, v in schema.example().items()},
                          "task": "clustering"}}
    extra = {CONFIG: dumps_json(config).encode(), **plots}
    card = render_card(manifest, plots=sorted(plots))
    final = write_bundle(opts.out, manifest=manifest, compiled=compile_pipeline(pipeline, pca, schema),
                         pipeline=pipeline, sample=sample, summary=summary, card=card, extra_files=extra)
    log.info("fit done in %.1f s", time.perf_counter() - t0)
    return FitResult(manifest=final, seconds=round(time.perf_counter() - t0, 2))
