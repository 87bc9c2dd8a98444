"""Figure 4: batch scoring. (a) In memory: `Predictor.predict_frame` (validation, segment,
margin, runner-up, why, PCA point, notes) on the frame the strict reader makes of a 1 M-row CSV, against the
bundle's scikit-learn Pipeline (`predict`, labels only) on the same frame, alternating.
(b) End to end: the 1 M-row CSV → scored CSV (`training.score.score_file`: strict read, validate,
score, injection-safe export) against pandas just reading and writing the same file."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.common import Result, fmt_s, interleaved, p50, synthetic_csv

TARGET_RATE, TARGET_VS_PIPELINE, TARGET_E2E = 3_000_000, 2.0, 2.0


def run(smoke: bool = False) -> list[Result]:
    rows = 20_000 if smoke else 1_000_000
    path = synthetic_csv(rows)
    return [_in_memory(path, rows, smoke), _end_to_end(path, rows, smoke)]


def _in_memory(path: Path, rows: int, smoke: bool) -> Result:
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
    agree = float((ours["segment_id"].to_numpy(dtype=int, na_value=-1) == theirs).mean())
    t = interleaved({"ours": lambda: p.predict_frame(frame),
                     "pipeline": lambda: pipeline.predict(inputs)}, rounds=2 if smoke else 7)
    a, b = p50(t["ours"]), p50(t["pipeline"])
    rate = len(frame) / a
    return Result(f"4a batch in memory, {rows:,} rows", f"{rate / 1e6:.2f} M rows/s ({fmt_s(a)})",
                  f"Pipeline {len(frame) / b / 1e6:.2f} M rows/s ({fmt_s(b)})", f"{b / a:.2f}x",
                  ">= 3 M rows/s and >= 2x Pipeline",
                  None if smoke else (rate >= TARGET_RATE and b / a >= TARGET_VS_PIPELINE),
                  {"ours_s": a, "pipeline_s": b, "rows": len(frame), "same_segment_share": agree})


def _end_to_end(path: Path, rows: int, smoke: bool) -> Result:
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
    return Result(f"4b CSV -> scored CSV, {rows:,} rows", fmt_s(a), f"pandas read+write {fmt_s(b)}",
                  f"{a / b:.2f}x", f"<= {TARGET_E2E}x pandas", None if smoke else a / b <= TARGET_E2E,
                  {"ours_s": a, "pandas_s": b, "input_bytes": path.stat().st_size, "output_bytes": size})


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
