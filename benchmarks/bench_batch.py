"""batch: batch scoring. (a) In memory: `Predictor.predict_frame` (validation, segment,
margin, runner-up, why, PCA point, notes) on the frame the strict reader makes of a 1 M-row CSV, against the
bundle's scikit-learn Pipeline (`predict`, labels only) on the same frame, alternating.
(b) End to end: the 1 M-row CSV → scored CSV (`training.score.score_file`: strict read, validate,
score, injection-safe export) against pandas just reading and writing the same file.

Both in the Space's configuration — requirements.txt has no pyarrow, so pandas keeps strings as
Python objects (``mode.string_storage="python"``, what pandas does without pyarrow) — and, when
pyarrow is installed (make bench: requirements-spark.txt), with strings in Arrow arrays."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import Result, fmt_s, interleaved, p50, synthetic_csv

TARGET_RATE, TARGET_VS_PIPELINE, TARGET_E2E = 3_000_000, 2.0, 2.0


def run(smoke: bool = False) -> list[Result]:
    rows = 20_000 if smoke else 1_000_000
    path = synthetic_csv(rows)
    results = []
    for config, storage in configurations():
        with pd.option_context("mode.string_storage", storage):
            results += [_in_memory(path, rows, smoke, config), _end_to_end(path, rows, smoke, config)]
    return results


def configurations() -> list[tuple[str, str]]:
    """(label, pandas string storage): the Space's first, then with pyarrow when it is installed."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return [(" (Space: no pyarrow)", "python")]
    return [(" (Space: no pyarrow)", "python"), (" (with pyarrow)", "pyarrow")]


def _in_memory(path: Path, rows: int, smoke: bool, config: str) -> Result:
    from model.contract.writing import load_pipeline
    from model.tables.reading import read_csv_strict
    from model.serving.predictor import Predictor
    from model.contract.bundle import DEFAULT_BUNDLE_DIR
    p = Predictor.from_dir(DEFAULT_BUNDLE_DIR)
    pipeline = load_pipeline(DEFAULT_BUNDLE_DIR)
    frame = read_csv_strict(path, max_bytes=1 << 34, max_rows=1 << 30, required_columns=p.schema.names,
                            numeric_columns=[f.name for f in p.schema.numeric])
    inputs = frame[p.schema.names]
    ours = p.predict_frame(frame)
    theirs = pipeline.predict(inputs)
    # rows whose categories are spelled as trained: the Pipeline reads " female" as an unknown level,
    # the served path as Female — on those the two need not agree
    spelled = np.ones(len(frame), dtype=bool)
    for f in p.schema.categorical:
        spelled &= (inputs[f.name].isna() | inputs[f.name].isin(list(f.levels))).to_numpy()
    same = ours["segment_id"].to_numpy(dtype=int, na_value=-1) == theirs
    agree = float(same[spelled].mean())
    t = interleaved({"ours": lambda: p.predict_frame(frame),
                     "pipeline": lambda: pipeline.predict(inputs)}, rounds=2 if smoke else 7)
    a, b = p50(t["ours"]), p50(t["pipeline"])
    rate = len(frame) / a
    return Result(f"batch: in memory, {rows:,} rows{config}", f"{rate / 1e6:.2f} M rows/s ({fmt_s(a)})",
                  f"Pipeline {len(frame) / b / 1e6:.2f} M rows/s ({fmt_s(b)})", f"{b / a:.2f}x",
                  ">= 3 M rows/s and >= 2x Pipeline",
                  None if smoke else (rate >= TARGET_RATE and b / a >= TARGET_VS_PIPELINE),
                  {"ours_s": a, "pipeline_s": b, "rows": len(frame), "same_segment_share": agree,
                   "rows_compared": int(spelled.sum()),
                   "string_storage": frame[p.schema.categorical[0].name].dtype.storage if p.schema.categorical
                   else None})


def _end_to_end(path: Path, rows: int, smoke: bool, config: str) -> Result:
    from model.contract.bundle import DEFAULT_BUNDLE_DIR
    from training.score import score_file
    with tempfile.TemporaryDirectory() as tmp:
        out_ours, out_pd = Path(tmp) / "scored.csv", Path(tmp) / "pandas.csv"

        def ours() -> None:
            score_file(DEFAULT_BUNDLE_DIR, path, out_ours)

        def pandas_only() -> None:
            pd.read_csv(path).to_csv(out_pd, index=False)

        t = interleaved({"ours": ours, "pandas": pandas_only}, rounds=1 if smoke else 3)
        size = out_ours.stat().st_size
    a, b = p50(t["ours"]), p50(t["pandas"])
    return Result(f"batch: CSV -> scored CSV, {rows:,} rows{config}", fmt_s(a), f"pandas read+write {fmt_s(b)}",
                  f"{a / b:.2f}x", f"<= {TARGET_E2E}x pandas", None if smoke else a / b <= TARGET_E2E,
                  {"ours_s": a, "pandas_s": b, "input_bytes": path.stat().st_size, "output_bytes": size})


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
