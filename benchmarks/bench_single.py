"""single: one prediction in-process with everything it answers (validation, segment, margin,
runner-up, why, map point, offers checked against the customer) against the original service's
path, rebuilt from the bundle's own pipeline: a one-row DataFrame → ColumnTransformer (impute,
scale, one-hot) → KMeans.predict. The baseline needs scikit-learn (the training requirements): in
the Space's own environment only our side is measured."""
from __future__ import annotations

import sys

from benchmarks.common import Result, fmt_s, interleaved, p50

TARGET_SPEEDUP = 250.0


def _pipeline(bundle_dir) -> object | None:
    """The bundle's scikit-learn pipeline, or None where scikit-learn is not installed."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return None
    from model.contract.writing import load_pipeline  # the build side's reader (trust list in code)
    return load_pipeline(bundle_dir)


def run(smoke: bool = False) -> list[Result]:
    from model.contract.bundle import DEFAULT_BUNDLE_DIR
    from model.serving.predictor import Predictor
    p = Predictor.from_dir(DEFAULT_BUNDLE_DIR)
    record = p.schema.example()
    pipeline = _pipeline(DEFAULT_BUNDLE_DIR)
    rounds, ours_n, orig_n = (3, 50, 3) if smoke else (10, 2_000, 40)

    def ours() -> None:
        p.predict_one(record)

    if pipeline is None:
        interleaved({"ours": ours}, rounds=1, repeat=50)  # warm-up
        a = p50(interleaved({"ours": ours}, rounds=rounds, repeat=ours_n)["ours"])
        return [Result("single: one prediction, in-process p50", fmt_s(a),
                       "scikit-learn path: not in this environment (requirements-training.txt)", "",
                       f">= {TARGET_SPEEDUP:.0f}x the scikit-learn path", None, {"ours_s": a})]
    import pandas as pd
    prep, kmeans = pipeline.named_steps["prep"], pipeline.named_steps["cluster"]

    def original() -> None:
        kmeans.predict(prep.transform(pd.DataFrame([record])))

    expected = int(kmeans.predict(prep.transform(pd.DataFrame([record])))[0])
    assert expected == p.predict_one(record)["segment_id"], "the two paths disagree on the example"
    interleaved({"ours": ours, "original": original}, rounds=1, repeat=5)  # warm-up
    ours_t, orig_t = [], []
    for _ in range(rounds):
        t = interleaved({"ours": ours, "original": original}, rounds=1, repeat=1)
        ours_t += interleaved({"ours": ours}, rounds=1, repeat=ours_n)["ours"]
        orig_t += interleaved({"original": original}, rounds=1, repeat=orig_n)["original"] + t["original"]
    a, b = p50(ours_t), p50(orig_t)
    speedup = b / a
    return [Result("single: one prediction, in-process p50", fmt_s(a), f"scikit-learn path {fmt_s(b)}",
                   f"{speedup:,.0f}x faster", f">= {TARGET_SPEEDUP:.0f}x the scikit-learn path",
                   None if smoke else speedup >= TARGET_SPEEDUP,
                   {"ours_s": a, "original_s": b, "samples": [len(ours_t), len(orig_t)]})]


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
