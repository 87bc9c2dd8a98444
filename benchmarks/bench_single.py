"""single: one prediction in-process (validation + transform + segment + margin + runner-up +
why + PCA point + offers) against the original service's path, rebuilt from the bundle's own pipeline:
a one-row DataFrame → ColumnTransformer (impute, scale, one-hot) → KMeans.predict."""
from __future__ import annotations

import sys

import pandas as pd

from benchmarks.common import Result, fmt_s, interleaved, p50

TARGET_S, TARGET_SPEEDUP = 50e-6, 100.0


def run(smoke: bool = False) -> list[Result]:
    from model.contract.writing import load_pipeline
    from model.serving.predictor import Predictor
    from model.contract.bundle import DEFAULT_BUNDLE_DIR
    p = Predictor.from_dir(DEFAULT_BUNDLE_DIR)
    record = p.schema.example()
    pipeline = load_pipeline(DEFAULT_BUNDLE_DIR)
    prep, kmeans = pipeline.named_steps["prep"], pipeline.named_steps["cluster"]

    def ours() -> None:
        p.predict_one(record)

    def original() -> None:
        kmeans.predict(prep.transform(pd.DataFrame([record])))

    expected = int(kmeans.predict(prep.transform(pd.DataFrame([record])))[0])
    assert expected == p.predict_one(record)["segment_id"], "the two paths disagree on the example"
    rounds, ours_n, orig_n = (3, 50, 3) if smoke else (10, 2_000, 40)
    interleaved({"ours": ours, "original": original}, rounds=1, repeat=5)  # warm-up
    ours_t, orig_t = [], []
    for _ in range(rounds):
        t = interleaved({"ours": ours, "original": original}, rounds=1, repeat=1)
        ours_t += interleaved({"ours": ours}, rounds=1, repeat=ours_n)["ours"]
        orig_t += interleaved({"original": original}, rounds=1, repeat=orig_n)["original"] + t["original"]
    a, b = p50(ours_t), p50(orig_t)
    speedup = b / a
    return [Result("single: one prediction, in-process p50", fmt_s(a), f"original path {fmt_s(b)}",
                   f"{speedup:,.0f}x faster", f"<= 50 µs and >= {TARGET_SPEEDUP:.0f}x",
                   None if smoke else (a <= TARGET_S and speedup >= TARGET_SPEEDUP),
                   {"ours_s": a, "original_s": b, "samples": [len(ours_t), len(orig_t)]})]


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
