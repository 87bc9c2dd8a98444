"""`fit` on Spark: the steps of `training.fit.fit`, distributed, ending in the same
`training.finish.finish` as the local engine — one bundle writer.

Distributed over all rows: reading, cleaning, the Spark ML preprocessing, KMeans (k-means||), the
full-data silhouette (ClusteringEvaluator), labelling and the aggregates behind the schema's
ranges, the segment profiles (sizes, shares, means, quartiles, traits) and the summary. On the
driver, bounded by constants: the working sample (`SAMPLE_ROWS`, a seeded hash sample) on which
`finish` computes what needs rows — the k evidence, the PCA and its map sample, the sample metrics,
bootstrap stability, the surrogate rules and the drift reference — and the agreement check
(`AGREEMENT_ROWS`); and aggregates whose size is set by the schema (features, levels, k).
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from model.contract.manifest import Manifest
from training.selection import compare
from training.synthetic import customers as synthetic
from training.selection.clustering import Fitted, choose_k, distinct_fit, final_metrics
from training.engines import spark_model as M
from training.engines import spark_stats as S
from training.engines import spark_views as V
from training.engines.spark_clean import SparkCleaned, clean
from training.engines.spark_partitions import size_shuffles
from training.engines.spark_read import Source, read_table
from training.engines.spark_tx import customer_features
from training.finish import Provenance, finish
from training.fit import FitOptions
from training.reading.inputs import Input, log_roles
from training.description.offers import load_catalogue
from training.reading.roles import infer_roles, parse_role_flags
from training.reading.schema import build_schema
from training.selection.select_k import SAMPLE_ROWS
from training.selection.weights import RULE as WEIGHT_RULE, role_weights

log = logging.getLogger(__name__)
AGREEMENT_ROWS = 100_000
TIE = 1e-9  # |d1 - d2| < TIE * max(1, d2): a tie, either segment is right


@dataclass
class SparkFit:
    """What a Spark fit produced (the manifest is also written into the bundle)."""
    manifest: Manifest
    seconds: float
    cleaned: SparkCleaned
    prep: M.SparkPrep
    kmeans: M.SparkKMeans
    pipeline: Any
    pca: PCA
    sample: pd.DataFrame  # the working sample's feature values (named columns)
    sample_z: np.ndarray


def source_of(spark: Any, opts: FitOptions, data_format: str | None) -> tuple[Source, str]:
    """The table to fit (the embedded synthetic data without --data) and how to name it."""
    if opts.data is None:
        frame, _ = synthetic.default_frame()
        text = frame.astype("string").astype(object).where(frame.notna(), None)
        df = spark.createDataFrame([tuple(r) for r in text.itertuples(index=False)],
                                   ", ".join(f"c{i} string" for i in range(frame.shape[1])))
        return (Source(frame=df, columns=[str(c) for c in frame.columns], fmt="memory", uri=""),
                f"synthetic default data (seed {synthetic.DEFAULT_SEED}, {synthetic.DEFAULT_ROWS:,} rows)")
    return read_table(spark, opts.data, fmt=data_format), str(opts.data).rstrip("/").rsplit("/", 1)[-1]


def run_fit(spark: Any, opts: FitOptions, *, step: Callable[[str], None] = log.info,
            data_format: str | None = None) -> SparkFit:
    """Run the whole fit on `spark` and write the bundle to `opts.out`."""
    from pyspark import StorageLevel
    from pyspark.ml.evaluation import ClusteringEvaluator
    t0 = time.perf_counter()
    catalogue = load_catalogue(opts.offers)  # a broken catalogue fails before the work
    step("reading and cleaning data (Spark)")
    transactions = None
    if opts.transactions is not None:  # an order log: one row per customer, as training.reading.inputs
        log_source = read_table(spark, opts.transactions, fmt=data_format)
        shuffles = size_shuffles(spark, log_source.frame)
        tx = customer_features(log_source, name=str(opts.transactions).rstrip("/").rsplit("/", 1)[-1],
                               **opts.tx.columns, as_of=opts.tx.as_of, dayfirst=opts.tx.dayfirst,
                               date_format=opts.tx.date_format)
        cleaned, source, transactions = tx.cleaned, tx.source, tx.transactions
        roles, logged = log_roles(opts.roles), list(tx.transforms["log1p"])
    else:
        src, source = source_of(spark, opts, data_format)
        shuffles = size_shuffles(spark, src.frame)
        cleaned = clean(src, features=opts.features, id_column=opts.id_column)
        roles = infer_roles(cleaned.features, parse_role_flags(opts.roles, cleaned.features))
        logged = []  # a customer table: no column is log-transformed (training.reading.inputs)
    numeric, categorical, n = cleaned.numeric, cleaned.categorical, cleaned.rows
    if n < 10:  # a customer table is refused by `clean` already
        raise ValueError(f"only {n} customers after cleaning the order log; at least 10 are needed")
    cols = [cleaned.safe[c] for c in cleaned.features]
    step("preprocessing (Spark ML)")
    numeric_roles = {c: roles.get(c) for c in numeric}
    weights = role_weights(numeric_roles)
    prep = M.fit_preprocess(cleaned.frame, numeric=numeric, categorical=categorical,
                            safe=cleaned.safe, n_rows=n, log=logged, weights=weights)
    features = (prep.model.transform(cleaned.frame).select("_row", *cols, "features")
                .persist(StorageLevel.MEMORY_AND_DISK))
    step("choosing k" if opts.k == "auto" else f"scoring k (forced k={opts.k})")
    raw, z = V.working_sample(features, cols, rows=n, size=SAMPLE_ROWS, seed=opts.seed)
    sample = as_frame(raw, cleaned, cols)
    selection = choose_k(z, k=opts.k, seed=opts.seed, n_numeric=len(numeric))
    if weights is not None:
        selection.update(weights=weights, weight_rule=WEIGHT_RULE)
    # k-means++ with scikit-learn's restarts on the driver sample: a warm start, and the check that
    # no two segments are alike in recency, frequency and money (training.selection.clustering)
    warm = distinct_fit(sample, z, numeric_roles, selection, seed=opts.seed).cluster_centers_
    k = int(selection["k"])
    step(f"fitting KMeans on all {n:,} rows (Spark MLlib, k={k})")
    km = M.fit_kmeans(features.select("features"), k, seed=opts.seed, warm=warm)
    pipeline = M.sklearn_pipeline(prep, km, seed=opts.seed)
    pca = PCA(n_components=2, random_state=opts.seed).fit(z)
    centres = pipeline.named_steps["cluster"].cluster_centers_
    labels = pipeline.named_steps["cluster"].predict(z)
    labelled = M.assign(features, km, keep=cols).persist(StorageLevel.MEMORY_AND_DISK)
    evaluator = ClusteringEvaluator(featuresCol="features", predictionCol="cluster",
                                    metricName="silhouette", distanceMeasure="squaredEuclidean")
    silhouette, agreement, _ = M.concurrently(
        lambda: evaluator.evaluate(km.model.transform(features.select("features"))),
        lambda: check_agreement(features, km, pipeline, cleaned, rows=n, seed=opts.seed),
        labelled.count)
    features.unpersist()
    cleaned.frame.unpersist()
    metrics = final_metrics(z, labels, km.cost, opts.seed)
    metrics.update({"silhouette_full_spark": round(float(silhouette), 4), "silhouette_full_rows": n,
                    "kmeans_iterations": km.iterations, "kmeans_starts": km.starts,
                    "engine_agreement": agreement})
    comparison = None
    if opts.compare:
        step("comparing clustering algorithms (driver sample)")
        comparison = compare.compare_algorithms(z, kmeans_labels=labels, seed=opts.seed)
    step("profiling segments (Spark aggregations)")
    stats, per_seg, seg_levels = M.concurrently(
        lambda: S.overall(labelled, numeric, cleaned.safe, cleaned.features, log=logged),
        lambda: S.by_segment(labelled, numeric, cleaned.safe, k, log=logged),
        lambda: S.level_counts(labelled, categorical, cleaned.safe))
    spread, seg_spread = M.concurrently(
        lambda: S.spread(labelled, numeric, cleaned.safe, stats["numeric"]),
        lambda: S.segment_spread(labelled, numeric, cleaned.safe, per_seg))
    labelled.unpersist()
    schema = V.full_schema(
        build_schema(sample, numeric, categorical, cleaned.id_column, limits=opts.limits, roles=roles, log=logged),
        stats["numeric"], dict(zip(categorical, prep.levels)), fills=prep.fill,
        modes=dict(zip(categorical, prep.cat_fill)), limits=opts.limits)
    summary = V.summary(stats["numeric"], spread, stats["corr"], per_seg, seg_spread, seg_levels,
                        cleaned.level_counts, cleaned.report["missing"], numeric=numeric,
                        categorical=categorical, k=k, n=n)
    profiles = V.profiles(per_seg, seg_levels, stats["numeric"], cleaned.level_counts, schema=schema, n=n, k=k)
    p99 = [round(float(per_seg[j]["distance_p99"]), 5) if per_seg[j]["size"] and per_seg[j]["distance_p99"]
           is not None else None for j in range(k)]
    fitted = Fitted(pipeline=pipeline, pca=pca, labels=labels, dist=np.linalg.norm(z - centres[labels], axis=1),
                    points=pca.transform(z), z_fit=z, fit_labels=labels, selection=selection, metrics=metrics,
                    comparison=comparison)
    data = Input(frame=sample, numeric=numeric, categorical=categorical, id_column=cleaned.id_column,
                 cleaning=cleaned.report, source=source, roles=roles, log=logged, transactions=transactions)
    fingerprint = hashlib.sha256(f"spark-v1|{','.join(cleaned.features)}|{stats['rows']}|"
                                 f"{stats['hash_sum']}".encode()).hexdigest()
    engine = {"name": "spark", "version": spark.version, "master": spark.sparkContext.master,
              "shuffle_partitions": shuffles["partitions"], "shuffle_basis": shuffles["basis"]}
    manifest = finish(data, schema, fitted, out=opts.out, catalogue=catalogue, bootstrap=opts.bootstrap, step=step,
                      provenance=Provenance(title=opts.title, license=opts.license, space_id=opts.space_id,
                                            seed=opts.seed, k_requested=str(opts.k), engine=engine),
                      summary=summary, rows=n, data_fingerprint=fingerprint, profiles=profiles, distance_p99=p99)
    seconds = round(time.perf_counter() - t0, 2)
    log.info("Spark fit done in %.1f s", seconds)
    return SparkFit(manifest=manifest, seconds=seconds, cleaned=cleaned, prep=prep, kmeans=km, pipeline=pipeline,
                    pca=pca, sample=sample, sample_z=z)


def as_frame(rows: pd.DataFrame, cleaned: SparkCleaned, cols: list[str]) -> pd.DataFrame:
    """Collected rows (Spark column names) as the frame the scikit-learn pipeline expects:
    named columns, numeric float64 with NaN, categorical object with NaN for missing."""
    out = rows[cols].rename(columns={cleaned.safe[c]: c for c in cleaned.features})
    for c in cleaned.numeric:
        out[c] = pd.to_numeric(out[c], errors="raise").astype(float)
    for c in cleaned.categorical:
        out[c] = pd.Series([v if isinstance(v, str) else np.nan for v in out[c]], dtype=object,
                           index=out.index)
    return out


def check_agreement(features: Any, km: M.SparkKMeans, pipeline: Any, cleaned: SparkCleaned, *,
                    rows: int, seed: int, size: int = AGREEMENT_ROWS) -> dict[str, Any]:
    """Spark's own transform against the scikit-learn pipeline on up to `size` rows (a seeded
    hash sample): how many get the same segment, and how many of the others are ties (the two
    nearest centres within `TIE`, by the Spark features' own distances)."""
    from pyspark.ml.functions import vector_to_array
    cols = [cleaned.safe[c] for c in cleaned.features]
    picked = V.hash_prefilter(features, cols, seed + 1, size, rows).orderBy("_h", *cols).limit(size)
    scored = M.assign(picked, km, keep=[*cols, vector_to_array("features").alias("_z")]).toPandas()
    return agreement(pipeline.predict(as_frame(scored, cleaned, cols)), scored["segment"].to_numpy(),
                     np.stack(scored["_z"].to_numpy()) if len(scored) else np.zeros((0, 1)), km.centres)


def agreement(predicted: np.ndarray, spark_segment: np.ndarray, z: np.ndarray,
              centres: np.ndarray) -> dict[str, Any]:
    """Counts of same segment, ties and real disagreements (see `check_agreement`)."""
    same = np.asarray(predicted) == np.asarray(spark_segment, dtype=int)
    if len(z):
        d = np.sort(np.sqrt(((z[:, None, :] - centres[None]) ** 2).sum(axis=2)), axis=1)
        tie = np.abs(d[:, 0] - d[:, min(1, d.shape[1] - 1)]) < TIE * np.maximum(1.0, d[:, 0])
    else:
        tie = np.zeros(0, dtype=bool)
    return {"rows": int(len(same)), "same": int(same.sum()), "ties": int(tie.sum()),
            "differ_outside_ties": int((~same & ~tie).sum()),
            "share": round(float(same.mean()), 6) if len(same) else None}
