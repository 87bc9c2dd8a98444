"""Cost of the explain and monitor building blocks at 10 k / 100 k / 1 M rows, against the same
run's served KMeans fit (`training.selection.select_k.make_kmeans` on every row) as the baseline.

Measured per size, on synthetic rows preprocessed by the model's own preprocessor: per-segment
bootstrap stability (B=50 on the capped working sample), prediction strength for k = 2..8, the
surrogate rules (fit capped, fidelity on every row) and the drift reference.

    python -m benchmarks.bench_stability [--smoke]
"""
from __future__ import annotations

import sys
import time
from typing import Any, Callable

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.common import Result, fmt_s
from model.contract.schema import Schema
from training.reading import table as data_mod
from training.synthetic import customers as synthetic
from training.monitoring.reference import drift_reference
from training.selection.preprocess import make_preprocessor
from training.reading.schema import build_schema
from training.rules.tree import fit_rules
from training.selection.stability import prediction_strength, segment_stability
from training.selection.select_k import make_kmeans

K = 5


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _prepare(rows: int) -> tuple[Any, Schema, np.ndarray]:
    frame, _ = synthetic.generate(rows, seed=3, mess=False)
    cleaned = data_mod.clean(frame.astype("string"))
    schema = build_schema(cleaned.frame, cleaned.numeric, cleaned.categorical, None)
    prep = make_preprocessor(cleaned.numeric, cleaned.categorical, [list(f.levels) for f in schema.categorical])
    return cleaned.frame, schema, prep.fit_transform(cleaned.frame).astype(np.float64)


def run(smoke: bool = False) -> list[Result]:
    sizes = (2_000, 20_000) if smoke else (10_000, 100_000, 1_000_000)
    results = []
    first: dict[str, float] = {}  # the smallest size's stability time: the flatness baseline
    for rows in sizes:
        frame, schema, z = _prepare(rows)
        with threadpool_limits(1):
            t_fit, km = _timed(lambda: make_kmeans(K, len(z), seed=0).fit(z))
        labels = km.labels_
        t_stab, stab = _timed(lambda: segment_stability(z, labels, k=K, seed=0))
        t_ps, _ = _timed(lambda: prediction_strength(z, range(2, 9), seed=0))
        t_rules, rules = _timed(lambda: fit_rules(frame, labels, schema, seed=0, k=K))
        t_ref, _ = _timed(lambda: drift_reference(frame, labels, schema, k=K))
        results.append(Result(
            f"stability: stability + rules at {rows:,} rows", f"stability {fmt_s(t_stab)}", f"served fit {fmt_s(t_fit)}",
            f"{t_stab / t_fit:.1f}x the fit", "stability ≤ 3x its time at the smallest size",
            None if smoke else t_stab <= 3 * first.setdefault("stab", t_stab),
            {"rows": rows, "stability_s": round(t_stab, 3), "prediction_strength_s": round(t_ps, 3),
             "rules_s": round(t_rules, 3), "drift_reference_s": round(t_ref, 3),
             "fit_s": round(t_fit, 3), "stability": stab, "rules_fidelity": rules.fidelity,
             "rules_depth": rules.depth}))
    return results


if __name__ == "__main__":
    for r in run(smoke="--smoke" in sys.argv):
        d = r.detail
        print(f"{d['rows']:>9,} rows: served fit {d['fit_s']:.2f} s | stability (B=50) {d['stability_s']:.2f} s | "
              f"prediction strength k=2..8 {d['prediction_strength_s']:.2f} s | rules {d['rules_s']:.2f} s "
              f"(fidelity {d['rules_fidelity']:.3f}, depth {d['rules_depth']}) | drift reference "
              f"{d['drift_reference_s']:.2f} s")
