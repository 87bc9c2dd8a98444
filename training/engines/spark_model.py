"""Preprocessing and KMeans in Spark ML, and the same model as a fitted scikit-learn pipeline.

Spark stages (`fit_preprocess`), branch for branch those of `training.selection.preprocess.make_preprocessor`:
numeric — `Imputer(median)` → `VectorAssembler` → `StandardScaler(withMean, withStd)` →
`ElementwiseProduct(√(n/(n-1)))`; "log" (columns the schema marks `log1p`) — `Imputer(median)` →
`SQLTransformer(log1p)` → the same three; categorical —
`StringIndexer(alphabetAsc, keep)` (missing → an extra index, marked -1 by a `SQLTransformer`)
→ `Imputer(mode)` on the index →
`OneHotEncoder(dropLast=False)`; then one `VectorAssembler` in scikit-learn's column order
(numeric block, log block, then each categorical block in sorted level order).

Why the `ElementwiseProduct`: Spark's StandardScaler divides by the *corrected sample* standard
deviation, scikit-learn's by the *population* one (checked: [1, 2, 3, 4, 2] → 1.1402 in Spark,
1.0198 in numpy). Multiplying by √(n/(n-1)) makes Spark's features exactly scikit-learn's
(x - mean) / σ_pop, and the bundle stores σ_pop, so the served pipeline computes what was fitted.

Spark's Imputer median is approxQuantile (`REL_ERROR`): an actual value of the column within that
rank error, where pandas interpolates; the bundle stores Spark's value (and the schema reports it).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from training.selection.preprocess import make_pipeline, make_preprocessor
from training.selection.select_k import make_kmeans

log = logging.getLogger(__name__)
REL_ERROR = 1e-4  # approxQuantile rank error of the median imputation
MAX_ITER, TOL = 50, 1e-4
# Spark's KMeans has one k-means|| start per fit (no n_init, no initial model): with unequal
# segments a start often puts two centres in one group (measured on the synthetic data, 4,000 rows,
# seeds 0-9: 4 of 10 starts ended 24-59 % above the best cost). So the lowest-cost of N_INIT seeded
# starts, as scikit-learn's n_init does, plus one started from the driver sample's k-means++ centres
# (`_warm_start`); they run as concurrent Spark jobs (`concurrently`).
N_INIT = 5


@dataclass
class SparkPrep:
    """The fitted Spark preprocessing and the numbers a scikit-learn pipeline needs."""
    model: Any  # pyspark.ml.PipelineModel: frame (f0…) → "features"
    numeric: list[str]  # in schema order
    categorical: list[str]
    levels: list[list[str]]
    branches: dict[str, "NumericBranch"]  # "num" and/or "log", as training.selection.preprocess names them
    cat_fill: list[str]
    n_rows: int

    @property
    def fill(self) -> dict[str, float]:
        """The median each numeric column is imputed with (Spark's Imputer)."""
        return {c: float(v) for b in self.branches.values() for c, v in zip(b.columns, b.fill)}

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(lv) for lv in self.levels)


@dataclass
class NumericBranch:
    columns: list[str]
    fill: np.ndarray
    mean: np.ndarray  # after log1p in the "log" branch
    var: np.ndarray  # population variance
    scale: np.ndarray  # population std, 1 where the variance is 0 (as scikit-learn)


@dataclass
class SparkKMeans:
    """Spark's KMeans, segments numbered by size (0 = largest, as `training.fit._order_by_size`)."""
    model: Any  # pyspark.ml.clustering.KMeansModel, prediction column "cluster"
    centres: np.ndarray  # (k, d) in segment order
    remap: list[int]  # Spark cluster index → segment id
    sizes: list[int]  # rows per segment
    cost: float
    iterations: int
    starts: int = 1


def fit_preprocess(frame: Any, *, numeric: Sequence[str], categorical: Sequence[str],
                   safe: dict[str, str], n_rows: int, log: Sequence[str] = (),
                   weights: dict[str, float] | None = None) -> SparkPrep:
    """Fit the Spark stages of the module docstring on `frame` (columns `safe[name]`); columns in
    `log` go through log1p between imputation and scaling; `weights` (numeric column → weight,
    `training.selection.weights`) multiply the scaled columns, and divide the scale the bundle
    stores. The branches are fitted concurrently."""
    from pyspark.ml import PipelineModel
    from pyspark.ml.feature import VectorAssembler
    parts = {"num": [c for c in numeric if c not in set(log)], "log": [c for c in numeric if c in set(log)]}
    parts = {tag: cols for tag, cols in parts.items() if cols}
    cat = [safe[n] for n in categorical]
    w = {tag: np.array([(weights or {}).get(c, 1.0) for c in cols], dtype=float) for tag, cols in parts.items()}
    fitted = concurrently(*[lambda tag=tag, cols=cols: _numeric_branch(frame, [safe[c] for c in cols], n_rows, tag,
                                                                       w[tag])
                            for tag, cols in parts.items()], lambda: _categorical_branch(frame, cat))
    *num_fits, (cat_stages, levels, cat_fill) = fitted
    branches = {tag: NumericBranch(columns=cols, fill=f[1], mean=f[2], var=f[3], scale=f[4])
                for (tag, cols), f in zip(parts.items(), num_fits)}
    assembler = VectorAssembler(inputCols=[f"_{tag}_z" for tag in parts] + [f"{c}_o" for c in cat],
                                outputCol="features")
    stages = [stage for f in num_fits for stage in f[0]]
    return SparkPrep(model=PipelineModel([*stages, *cat_stages, assembler]), numeric=list(numeric),
                     categorical=list(categorical), levels=levels, branches=branches, cat_fill=cat_fill,
                     n_rows=int(n_rows))


def _numeric_branch(frame: Any, num: list[str], n_rows: int, tag: str,
                    weights: np.ndarray) -> tuple[list[Any], np.ndarray, ...]:
    """Imputer(median) → [log1p] → VectorAssembler → StandardScaler → ElementwiseProduct(√(n/(n-1)) ×
    weight); and the imputation values, mean, population variance and scale (÷ weight)."""
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import ElementwiseProduct, Imputer, SQLTransformer, StandardScaler, VectorAssembler
    from pyspark.ml.linalg import Vectors
    inputs = [f"{c}_{tag}_i" for c in num]
    stages: list[Any] = [Imputer(strategy="median", relativeError=REL_ERROR, inputCols=num, outputCols=inputs)]
    if tag == "log":  # numpy's log1p: log1p(-1) = -inf, below -1 NaN; Spark's is null there
        logs = ", ".join(f"log1p({c}) AS {c}_l" for c in inputs)
        stages.append(SQLTransformer(statement=f"SELECT *, {logs} FROM __THIS__"))
        inputs = [f"{c}_l" for c in inputs]
    stages += [VectorAssembler(inputCols=inputs, outputCol=f"_{tag}"),
               StandardScaler(withMean=True, withStd=True, inputCol=f"_{tag}", outputCol=f"_{tag}_s")]
    fitted = Pipeline(stages=stages).fit(frame).stages
    imputer, scaler = fitted[0], fitted[-1]
    fill = np.array(imputer.surrogateDF.first(), dtype=float)
    mean = np.asarray(scaler.mean.toArray(), dtype=float)
    sample_std = np.asarray(scaler.std.toArray(), dtype=float)
    var = sample_std ** 2 * (n_rows - 1) / n_rows
    scale = np.where(var > 0, np.sqrt(var), 1.0) / weights
    rescale = ElementwiseProduct(scalingVec=Vectors.dense((math.sqrt(n_rows / (n_rows - 1)) * weights).tolist()),
                                 inputCol=f"_{tag}_s", outputCol=f"_{tag}_z")
    return [*fitted, rescale], fill, mean, var, scale


def _categorical_branch(frame: Any, cat: list[str]) -> tuple[list[Any], list[list[str]], list[str]]:
    """StringIndexer(alphabetAsc, keep) → SQLTransformer (missing index → -1) → Imputer(mode) →
    OneHotEncoder(dropLast=False); and the sorted levels and the imputed level of each."""
    from pyspark.ml.feature import Imputer, OneHotEncoder, SQLTransformer, StringIndexer
    if not cat:
        return [], [], []
    indexer = StringIndexer(inputCols=cat, outputCols=[f"{c}_x" for c in cat],
                            stringOrderType="alphabetAsc", handleInvalid="keep").fit(frame)
    levels = [list(lv) for lv in indexer.labelsArray]
    # handleInvalid="keep" puts missing cells at index len(levels): mark them -1 for Imputer
    marks = ", ".join(f"CASE WHEN {c}_x = {float(len(lv))} THEN -1.0 ELSE {c}_x END AS {c}_y"
                      for c, lv in zip(cat, levels))
    mark = SQLTransformer(statement=f"SELECT *, {marks} FROM __THIS__")
    indexed = mark.transform(indexer.transform(frame))
    imputer = Imputer(strategy="mode", missingValue=-1.0, inputCols=[f"{c}_y" for c in cat],
                      outputCols=[f"{c}_m" for c in cat]).fit(indexed)
    cat_fill = [lv[int(v)] for lv, v in zip(levels, imputer.surrogateDF.first())]
    onehot = OneHotEncoder(dropLast=False, inputCols=[f"{c}_m" for c in cat],
                           outputCols=[f"{c}_o" for c in cat], handleInvalid="error"
                           ).fit(imputer.transform(indexed))
    if list(onehot.categorySizes) != [len(lv) for lv in levels]:
        raise RuntimeError(f"one-hot sizes {onehot.categorySizes} differ from the levels "
                           f"{[len(lv) for lv in levels]}")
    return [indexer, mark, imputer, onehot], levels, cat_fill


def fit_kmeans(features: Any, k: int, *, seed: int, n_init: int = N_INIT,
               warm: np.ndarray | None = None) -> SparkKMeans:
    """Spark MLlib KMeans on every row of `features` (column "features"): the lowest full-data
    cost of `n_init` seeded k-means|| starts and, given `warm` centres, one more run of MLlib's
    KMeans started from them (see `_warm_start`)."""
    from pyspark.ml.clustering import KMeans

    def start(i: int) -> tuple[Any, float, np.ndarray, int]:
        model = KMeans(k=int(k), seed=int(seed) + 7919 * i, initMode="k-means||", initSteps=2,
                       maxIter=MAX_ITER, tol=TOL, featuresCol="features", predictionCol="cluster").fit(features)
        summary = model.summary
        counts = np.zeros(k, dtype=np.int64)
        counts[: len(summary.clusterSizes)] = summary.clusterSizes
        return model, float(summary.trainingCost), counts, int(summary.numIter)

    jobs = [lambda i=i: start(i) for i in range(n_init)]
    if warm is not None:
        jobs.append(lambda: _warm_start(features, warm, seed=seed))
    fits = concurrently(*jobs)
    best = min(range(len(fits)), key=lambda i: (fits[i][1], i))
    log.info("KMeans k=%d: cost of each start %s (the last from the driver sample's centres: %s); best %d",
             k, [round(f[1], 1) for f in fits], warm is not None, best)
    model, cost, counts, iterations = fits[best]
    raw = np.array([np.asarray(c, dtype=float) for c in model.clusterCenters()])
    order = np.lexsort((np.arange(len(raw)), -counts))  # as training.selection.clustering._order_by_size
    remap = np.empty(len(raw), dtype=np.int64)
    remap[order] = np.arange(len(raw))
    return SparkKMeans(model=model, centres=raw[order], remap=remap.tolist(), sizes=counts[order].tolist(),
                       cost=cost, iterations=iterations, starts=len(fits))


def _warm_start(features: Any, centres: np.ndarray, *, seed: int) -> tuple[Any, float, np.ndarray, int]:
    """MLlib's KMeans (the RDD API: the one that takes an initial model) on every row, started from
    `centres`, wrapped as a `pyspark.ml` KMeansModel so that Spark's own `transform` labels rows.

    Why: at 1 M synthetic rows the k-means|| starts all ended in one local optimum (cost per row
    2.15, ARI 0.60 against the planted segments) that k-means++ on the 10,000-row driver sample
    avoids (1.78, ARI 0.996) — scikit-learn's restarts are cheap there, Spark's are passes over
    all rows. Lloyd's iterations then run on all rows in Spark, as for the other starts."""
    from pyspark.ml.clustering import KMeansModel
    from pyspark.mllib.common import callMLlibFunc
    from pyspark.mllib.linalg import Vectors as MLlibVectors
    k = len(centres)
    rows = features.select("features").rdd.map(lambda r: MLlibVectors.fromML(r[0]))
    initial = [MLlibVectors.dense(c) for c in np.asarray(centres, dtype=float)]
    trained = callMLlibFunc("trainKMeansModel", rows, k, MAX_ITER, "k-means||", int(seed), 2, TOL, initial,
                            "euclidean")
    jvm = features.sparkSession.sparkContext._jvm
    model = KMeansModel(jvm.org.apache.spark.ml.clustering.KMeansModel("kmeans_warm_start", trained))
    model.setFeaturesCol("features")
    model.setPredictionCol("cluster")
    counts = np.zeros(k, dtype=np.int64)
    for r in model.transform(features.select("features")).groupBy("cluster").count().collect():
        counts[int(r["cluster"])] = int(r["count"])
    return model, float(trained.trainingCost()), counts, int(trained.numIter())


def concurrently(*fns: Any) -> list[Any]:
    """Call each function in its own driver thread and return their results in order. Spark runs
    their jobs side by side: small jobs are dominated by scheduling latency, which this hides."""
    from concurrent.futures import ThreadPoolExecutor
    if len(fns) <= 1:
        return [fn() for fn in fns]
    with ThreadPoolExecutor(max_workers=len(fns), thread_name_prefix="spark-job") as pool:
        return [f.result() for f in [pool.submit(fn) for fn in fns]]


def sklearn_pipeline(prep: SparkPrep, km: SparkKMeans, *, seed: int) -> Any:
    """`training.selection.preprocess.make_pipeline` holding Spark's fitted numbers, ready to `predict`.

    The estimators are fitted on a two-row stub (that sets every structural attribute scikit-learn
    checks: feature names, dtypes, counts), then their learned numbers are replaced by Spark's."""
    prep_sk = sklearn_preprocessor(prep)
    k, d = km.centres.shape
    kmeans = make_kmeans(k, max(prep.n_rows, k + 1), seed=seed).fit(
        np.arange(k * d, dtype=float).reshape(k, d))
    kmeans.cluster_centers_ = np.ascontiguousarray(km.centres, dtype=float)
    kmeans.labels_ = np.arange(k, dtype=np.int32)
    kmeans.inertia_ = km.cost
    kmeans.n_iter_ = km.iterations
    return make_pipeline(prep_sk, kmeans)


def sklearn_preprocessor(prep: SparkPrep) -> Any:
    """The ColumnTransformer of `training.selection.preprocess` with Spark's imputation, scaling and levels."""
    stub = {n: pd.Series([0.0, 1.0]) for n in prep.numeric}
    stub.update({c: pd.Series([lv[0], lv[-1]], dtype=object)
                 for c, lv in zip(prep.categorical, prep.levels)})
    log = prep.branches["log"].columns if "log" in prep.branches else []
    ct = make_preprocessor(prep.numeric, prep.categorical, prep.levels, log=log).fit(pd.DataFrame(stub))
    for tag, branch in prep.branches.items():
        fitted = ct.named_transformers_[tag]
        fitted.named_steps["impute"].statistics_ = branch.fill.astype(float)
        scaler = fitted.named_steps["scale"]
        scaler.mean_ = branch.mean.astype(float)
        scaler.var_ = branch.var.astype(float)
        scaler.scale_ = branch.scale.astype(float)
        scaler.n_samples_seen_ = np.int64(prep.n_rows)
    if prep.categorical:
        cat = ct.named_transformers_["cat"]
        cat.named_steps["impute"].statistics_ = np.array(prep.cat_fill, dtype=object)
    return ct


def assign(features: Any, km: SparkKMeans, *, keep: Sequence[str] = ()) -> Any:
    """Spark's own transform: `keep` columns, "segment" (the size-ordered id of Spark's
    prediction) and "distance" to that segment's centre."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F
    out = km.model.transform(features)
    z = vector_to_array(F.col("features"))
    remap = F.array(*[F.lit(int(r)) for r in km.remap])
    segment = F.element_at(remap, F.col("cluster") + 1)
    k, d = km.centres.shape
    table = [F.array(*[F.lit(float(km.centres[j, i])) for j in range(k)]) for i in range(d)]
    own = sum(((z[i] - F.element_at(table[i], segment + 1)) ** 2 for i in range(d)), F.lit(0.0))
    return out.select(*keep, segment.alias("segment"), F.sqrt(own).alias("distance"))
