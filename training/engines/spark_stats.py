"""Spark aggregations behind the profiles, the schema and the summary: a handful of passes over
the labelled frame, each returning a few numbers per feature (per segment), never rows.

* `overall`: per numeric feature count, min, max, mean, population std, non-whole count and
  quantiles; pairwise correlations; a row count and an order-free hash sum (the fingerprint).
* `spread`: histogram counts and box-plot whiskers/outliers (needs `overall`'s edges and fences).
* `by_segment`: per segment size, means, quartiles, 99th percentile of the distance to the centre.
* `segment_spread`: per-segment box whiskers/outliers; `level_counts`: category counts per segment.

Quantiles are Spark's `percentile_approx` (`ACCURACY`: rank error 1/ACCURACY): a value of the
column, where pandas interpolates between two — the figures differ by less than that rank error.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

ACCURACY = 10_000
BINS = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)  # plus min and max: training.description.summary's
QUARTILES = (0.25, 0.5, 0.75)


def nan_if_null(value: Any) -> float:
    """A Spark aggregate as a float: null (an empty group) becomes NaN."""
    return float("nan") if value is None else float(value)


def _log1p(s: Any) -> Any:
    """`training.description.profile`'s scale for log-transformed columns: log1p of the value clipped at 0."""
    from pyspark.sql import functions as F
    return F.log1p(F.greatest(s, F.lit(0.0)))


def overall(frame: Any, numeric: Sequence[str], safe: dict[str, str], features: Sequence[str],
            log: Sequence[str] = ()) -> dict[str, Any]:
    """One pass: {"rows", "hash_sum", "numeric": {name: {...}}, "corr": {(a, b): r}}; for columns
    in `log` also the mean and population std of log1p (the scale of their profile z)."""
    from pyspark.sql import functions as F
    aggs = [F.count(F.lit(1)).alias("rows"),
            F.sum(F.xxhash64(*[F.col(safe[c]) for c in features]).cast("decimal(38,0)")).alias("hash")]
    for j, name in enumerate(numeric):
        s = F.col(safe[name])
        aggs += [F.count(s).alias(f"n{j}"), F.min(s).alias(f"lo{j}"), F.max(s).alias(f"hi{j}"),
                 F.avg(s).alias(f"mean{j}"), F.stddev_pop(s).alias(f"std{j}"),
                 F.count_if(s % 1 != 0).alias(f"frac{j}"),
                 F.percentile_approx(s, list(QUANTILES), ACCURACY).alias(f"q{j}")]
        if name in set(log):
            aggs += [F.avg(_log1p(s)).alias(f"lmean{j}"), F.stddev_pop(_log1p(s)).alias(f"lstd{j}")]
    pairs = [(a, b) for i, a in enumerate(numeric) for b in numeric[i + 1:]]
    aggs += [F.corr(safe[a], safe[b]).alias(f"r{i}") for i, (a, b) in enumerate(pairs)]
    row = frame.agg(*aggs).first()
    out: dict[str, Any] = {"rows": int(row["rows"]), "hash_sum": str(row["hash"]), "numeric": {},
                           "corr": {p: nan_if_null(row[f"r{i}"]) for i, p in enumerate(pairs)}}
    for j, name in enumerate(numeric):
        qs = row[f"q{j}"] or [None] * len(QUANTILES)
        out["numeric"][name] = {"n": int(row[f"n{j}"]), "min": nan_if_null(row[f"lo{j}"]),
                                "max": nan_if_null(row[f"hi{j}"]),
                                "mean": nan_if_null(row[f"mean{j}"]), "std": nan_if_null(row[f"std{j}"]),
                                "integer": int(row[f"frac{j}"]) == 0,
                                "quantiles": dict(zip(QUANTILES, map(nan_if_null, qs)))}
        if name in set(log):
            out["numeric"][name].update(log_mean=nan_if_null(row[f"lmean{j}"]), log_std=nan_if_null(row[f"lstd{j}"]))
    return out


def edges(lo: float, hi: float) -> np.ndarray:
    """numpy.histogram's bin edges for `BINS` bins over [lo, hi]."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return np.linspace(0.0, 1.0, BINS + 1)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, BINS + 1)


def fences(q1: float, q3: float) -> tuple[float, float]:
    iqr = q3 - q1
    return q1 - 1.5 * iqr, q3 + 1.5 * iqr


def spread(frame: Any, numeric: Sequence[str], safe: dict[str, str], stats: dict[str, Any]
           ) -> dict[str, Any]:
    """Two passes: per numeric feature the histogram counts over `edges` (numpy's bins: closed on
    the left, the last on both sides) and the box whiskers and outlier count."""
    from pyspark.sql import functions as F
    if not numeric:
        return {}
    bins = []
    for j, name in enumerate(numeric):
        bins.append(F.struct(F.lit(j).alias("j"), _bin(F.col(safe[name]), edges(
            stats[name]["min"], stats[name]["max"])).alias("b")))
    counts = np.zeros((len(numeric), BINS), dtype=np.int64)
    for r in (frame.select(F.explode(F.array(*bins)).alias("p")).select("p.j", "p.b")
              .where(F.col("b").isNotNull()).groupBy("j", "b").count().collect()):
        counts[r["j"], r["b"]] = r["count"]
    aggs = []
    for j, name in enumerate(numeric):
        q = stats[name]["quantiles"]
        aggs += _whisker_aggs(F.col(safe[name]), *fences(q[0.25], q[0.75]), f"{j}")
    row = frame.agg(*aggs).first()
    return {name: {"counts": counts[j].tolist(), "edges": edges(stats[name]["min"], stats[name]["max"]),
                   **_whiskers(row, f"{j}")} for j, name in enumerate(numeric)}


def _bin(s: Any, e: np.ndarray) -> Any:
    """numpy.histogram's bin of each value for edges `e`: the estimate from the bin width,
    corrected against the edges themselves (numpy does the same), the last bin closed."""
    from pyspark.sql import functions as F
    lo, hi = float(e[0]), float(e[-1])
    table = F.array(*[F.lit(float(x)) for x in e])
    guess = F.least(F.lit(BINS - 1), F.greatest(F.lit(0), F.floor((s - lo) * (BINS / (hi - lo))).cast("int")))
    down = F.when(s < F.element_at(table, guess + 1), guess - 1).otherwise(guess)
    up = F.when((s >= F.element_at(table, down + 2)) & (down != BINS - 1), down + 1).otherwise(down)
    return F.when((s >= lo) & (s <= hi), up)


def _whisker_aggs(s: Any, lo: Any, hi: Any, tag: str) -> list[Any]:
    from pyspark.sql import functions as F
    inside = (s >= lo) & (s <= hi)
    return [F.min(F.when(inside, s)).alias(f"wl{tag}"), F.max(F.when(inside, s)).alias(f"wh{tag}"),
            F.count_if(s.isNotNull() & ~inside).alias(f"out{tag}")]


def _whiskers(row: Any, tag: str) -> dict[str, Any]:
    return {"whisker_low": nan_if_null(row[f"wl{tag}"]), "whisker_high": nan_if_null(row[f"wh{tag}"]),
            "outliers": int(row[f"out{tag}"])}


def by_segment(frame: Any, numeric: Sequence[str], safe: dict[str, str], k: int,
               log: Sequence[str] = ()) -> dict[int, Any]:
    """One grouped pass: {segment: {"size", "distance_p99", "numeric": {name: {n, mean, q25,
    median, q75[, log_mean]}}}} for every segment 0..k-1 (empty ones with size 0)."""
    from pyspark.sql import functions as F
    aggs = [F.count(F.lit(1)).alias("size"),
            F.percentile_approx("distance", 0.99, ACCURACY).alias("p99")]
    for j, name in enumerate(numeric):
        s = F.col(safe[name])
        aggs += [F.count(s).alias(f"n{j}"), F.avg(s).alias(f"mean{j}"),
                 F.percentile_approx(s, list(QUARTILES), ACCURACY).alias(f"q{j}")]
        if name in set(log):
            aggs.append(F.avg(_log1p(s)).alias(f"lmean{j}"))
    got = {int(r["segment"]): r for r in frame.groupBy("segment").agg(*aggs).collect()}
    out = {}
    for seg in range(k):
        r = got.get(seg)
        entry: dict[str, Any] = {"size": int(r["size"]) if r else 0,
                                 "distance_p99": nan_if_null(r["p99"]) if r else None, "numeric": {}}
        for j, name in enumerate(numeric):
            qs = (r[f"q{j}"] if r else None) or [None] * 3
            entry["numeric"][name] = {"n": int(r[f"n{j}"]) if r else 0,
                                      "mean": nan_if_null(r[f"mean{j}"]) if r else float("nan"),
                                      **dict(zip(("q25", "median", "q75"), map(nan_if_null, qs)))}
            if name in set(log):
                entry["numeric"][name]["log_mean"] = nan_if_null(r[f"lmean{j}"]) if r else float("nan")
        out[seg] = entry
    return out


def segment_spread(frame: Any, numeric: Sequence[str], safe: dict[str, str],
                   per_segment: dict[int, Any]) -> dict[int, dict[str, Any]]:
    """One grouped pass: per segment and numeric feature the box whiskers and outlier count,
    with each segment's own fences."""
    from pyspark.sql import functions as F
    if not numeric:
        return {seg: {} for seg in per_segment}
    seg_col = F.col("segment")
    aggs = []
    for j, name in enumerate(numeric):
        lo = hi = F.lit(None).cast("double")
        for seg, entry in per_segment.items():
            p = entry["numeric"][name]
            if entry["size"] and np.isfinite(p["q25"]) and np.isfinite(p["q75"]):
                a, b = fences(p["q25"], p["q75"])
                lo = F.when(seg_col == seg, F.lit(a)).otherwise(lo)
                hi = F.when(seg_col == seg, F.lit(b)).otherwise(hi)
        aggs += _whisker_aggs(F.col(safe[name]), lo, hi, f"{j}")
    got = {int(r["segment"]): r for r in frame.groupBy("segment").agg(*aggs).collect()}
    return {seg: ({name: _whiskers(got[seg], f"{j}") for j, name in enumerate(numeric)}
                  if seg in got else {}) for seg in per_segment}


def level_counts(frame: Any, categorical: Sequence[str], safe: dict[str, str]
                 ) -> dict[int, dict[str, dict[str, int]]]:
    """One grouped pass: {segment: {feature: {level: rows}}} (missing cells not counted)."""
    from pyspark.sql import functions as F
    if not categorical:
        return {}
    pairs = F.explode(F.array(*[F.struct(F.lit(j).alias("j"), F.col(safe[c]).alias("v"))
                                for j, c in enumerate(categorical)]))
    rows = (frame.select("segment", pairs.alias("p")).select("segment", "p.j", "p.v")
            .where(F.col("v").isNotNull()).groupBy("segment", "j", "v").count().collect())
    out: dict[int, dict[str, dict[str, int]]] = {}
    for r in rows:
        per = out.setdefault(int(r["segment"]), {c: {} for c in categorical})
        per[categorical[r["j"]]][r["v"]] = int(r["count"])
    return out
