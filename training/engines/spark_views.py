"""The dicts the rest of `fit` consumes, built from Spark's aggregates (`spark_stats`) in the very
shapes of `training.reading.schema.build_schema`, `training.description.profile.profile_segments` and
`training.description.summary.data_summary`; and the working sample pulled to the driver (for k, the PCA,
stability, rules and the drift reference)."""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from model.contract.schema import CategoricalFeature, NumericFeature, Schema
from training.engines import spark_rules as R
from training.engines.spark_stats import QUANTILES
from training.description.profile import category_traits, numeric_profile
from training.reading.schema import hard_limits
from training.description.summary import stored_number

SUMMARY_QUANTILES = (0.0, *QUANTILES, 1.0)


def full_schema(sample_schema: Schema, stats: dict[str, Any], levels: Mapping[str, Sequence[str]], *,
                fills: Mapping[str, float], modes: Mapping[str, str],
                limits: Mapping[str, tuple[float, float]] | None) -> Schema:
    """`training.reading.schema.build_schema` run on the driver sample (labels, roles, transforms and
    the limit rule are main's), with what all rows say instead of the sample: min, max, whole
    numbers, the hard limits from those, medians and modes as Spark's imputers fill them (what the
    bundle serves) and every level the one-hot encoder was fitted with."""
    feats: list[NumericFeature | CategoricalFeature] = []
    for f in sample_schema.features:
        if isinstance(f, NumericFeature):
            st = stats[f.name]
            lo, hi = st["min"], st["max"]
            hard = hard_limits(lo, hi)
            if limits and f.name in limits:
                hard = tuple(limits[f.name])
            feats.append(dataclasses.replace(f, min=lo, max=hi, median=round(float(fills[f.name]), 6),
                                             hard_min=hard[0], hard_max=hard[1], integer=st["integer"]))
        else:
            feats.append(dataclasses.replace(f, levels=tuple(levels[f.name]), mode=modes[f.name]))
    return Schema(features=tuple(feats), id_column=sample_schema.id_column)


def _shares(counts: dict[str, int]) -> list[tuple[str, float]]:
    """value_counts(normalize=True): largest first (ties by level)."""
    total = sum(counts.values())
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(lv, n / total) for lv, n in items] if total else []


def profiles(per_segment: dict[int, Any], seg_levels: dict[int, dict[str, dict[str, int]]],
             stats: dict[str, Any], level_counts: dict[str, dict[str, int]], *, schema: Schema,
             n: int, k: int) -> list[dict[str, Any]]:
    """`training.description.profile.profile_segments` from aggregates (same keys, rounding and traits; z on
    the log1p scale for columns the schema marks log1p)."""
    numeric, categorical = [f.name for f in schema.numeric], [f.name for f in schema.categorical]
    roles = {f.name: f.role for f in schema.features}
    names = {f.name: f.label for f in schema.features}
    logged = {f.name for f in schema.numeric if f.transform == "log1p"}
    centre = {c: stats[c]["log_mean"] if c in logged else stats[c]["mean"] for c in numeric}
    spread = {c: (stats[c]["log_std"] if c in logged else stats[c]["std"]) or 1.0 for c in numeric}
    pop_share = {c: dict(_shares(level_counts[c])) for c in categorical}
    out = []
    for seg in range(k):
        entry = per_segment[seg]
        size = entry["size"]
        num_prof, traits = {}, []
        for c in numeric:
            p = entry["numeric"][c]
            mean = p["mean"] if size else float("nan")
            own = p["log_mean"] if c in logged else mean
            z = float((own - centre[c]) / spread[c]) if size else 0.0
            num_prof[c] = numeric_profile(z, (mean, p["median"], p["q25"], p["q75"]),
                                          (stats[c]["mean"], stats[c]["quantiles"][0.5]))
        cat_prof = {}
        for c in categorical:
            cat_prof[c] = category_traits(c, _shares(seg_levels.get(seg, {}).get(c, {})), pop_share[c],
                                          role=roles.get(c), name=names.get(c, c), traits=traits)
        traits.sort(key=lambda t: -t["lift"])
        out.append({"id": seg, "size": size, "share": round(size / n, 4) if n else 0.0,
                    "profile": {"numeric": num_prof, "categorical": cat_prof}, "traits": traits,
                    "exact_means": {c: float(entry["numeric"][c]["mean"]) for c in numeric
                                    if size and entry["numeric"][c]["mean"] is not None}})
    return out


def _box(n: int, q: dict[float, float], mean: float, whiskers: dict[str, Any]) -> dict[str, Any]:
    """`training.description.summary._box` from aggregates."""
    if not n:
        return {"n": 0}
    return {"n": int(n), "q1": stored_number(q[0.25]), "median": stored_number(q[0.5]),
            "q3": stored_number(q[0.75]), "whisker_low": stored_number(whiskers["whisker_low"]),
            "whisker_high": stored_number(whiskers["whisker_high"]),
            "outliers": int(whiskers["outliers"]), "mean": stored_number(mean)}


def summary(stats: dict[str, Any], spread: dict[str, Any], corr: dict[tuple[str, str], float],
            per_segment: dict[int, Any], seg_spread: dict[int, Any],
            seg_levels: dict[int, dict[str, dict[str, int]]], level_counts: dict[str, dict[str, int]],
            missing: dict[str, int], *, numeric: Sequence[str], categorical: Sequence[str],
            k: int, n: int) -> dict[str, Any]:
    """`training.description.summary.data_summary` from aggregates (same keys and rounding)."""
    feats: dict[str, Any] = {}
    for c in numeric:
        st, sp = stats[c], spread[c]
        qs = {0.0: st["min"], **st["quantiles"], 1.0: st["max"]}
        feats[c] = {"kind": "numeric", "missing": int(missing[c]),
                    "histogram": {"counts": sp["counts"], "edges": [stored_number(e) for e in sp["edges"]]},
                    "quantiles": {f"{q:g}": stored_number(qs[q]) for q in SUMMARY_QUANTILES},
                    "mean": stored_number(st["mean"]), "std": stored_number(st["std"]),
                    "box": _box(st["n"], st["quantiles"], st["mean"], sp)}
    for c in categorical:
        feats[c] = {"kind": "categorical", "missing": int(missing[c]),
                    "counts": {str(k_): int(v) for k_, v in sorted(level_counts[c].items())}}
    matrix = None
    if len(numeric) > 1:
        def r(a: str, b: str) -> float | None:
            if a == b:
                return 1.0 if stats[a]["std"] else None
            return stored_number(corr.get((a, b), corr.get((b, a), float("nan"))))
        matrix = {"columns": list(numeric), "matrix": [[r(a, b) for b in numeric] for a in numeric]}
    by_seg: dict[str, Any] = {}
    for seg in range(k):
        entry = per_segment[seg]
        boxes = {}
        for c in numeric:
            p = entry["numeric"][c]
            boxes[c] = _box(p["n"], {0.25: p["q25"], 0.5: p["median"], 0.75: p["q75"]}, p["mean"],
                            seg_spread.get(seg, {}).get(c, {}))
        by_seg[str(seg)] = {
            "numeric": boxes,
            "categorical": {c: {str(k_): int(v) for k_, v in sorted(seg_levels.get(seg, {}).get(c, {}).items())}
                            for c in categorical},
        }
    return {"rows": int(n), "features": feats, "correlation": matrix, "by_segment": by_seg}


def hash_prefilter(frame: Any, columns: list[str], seed: int, want: int, have: int) -> Any:
    """Rows whose hash falls below a share that keeps `want` of `have` rows with near certainty;
    the caller then takes the `want` smallest hashes exactly."""
    from pyspark.sql import functions as F
    p = min(1.0, (want + 10 * math.sqrt(want) + 10) / max(have, 1))
    h = R.row_hash(columns, seed)
    out = frame.withColumn("_h", h)
    return out if p >= 1.0 else out.where(R.unit_interval(F.col("_h")) < p)


def working_sample(features: Any, columns: list[str], *, rows: int, size: int, seed: int
                   ) -> tuple[pd.DataFrame, np.ndarray]:
    """Every row when there are at most `size`, else `size` rows chosen by a seeded hash of their
    values (the same rows on any master and partitioning); in file order (`_row`), as the local
    engine keeps them: their feature values (columns as in `features`) and Spark's features."""
    from pyspark.ml.functions import vector_to_array
    picked = features if rows <= size else (
        hash_prefilter(features, columns, seed, size, rows).orderBy("_h", *columns).limit(size))
    picked = (picked.select("_row", *columns, vector_to_array("features").alias("_z"))
              .orderBy("_row").collect())
    raw = pd.DataFrame([[r[c] for c in columns] for r in picked], columns=columns)
    z = np.array([r["_z"] for r in picked], dtype=float).reshape(len(picked), -1)
    return raw, z
