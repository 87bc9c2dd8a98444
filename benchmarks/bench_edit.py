"""Figure 12: what an edit costs. (a) One edit in the Space — a merge and a rename, applied to a fitted
bundle (the preview) and written as a verified bundle (the zip, publishing) — against a refit of the
same data, the only way to change segments before edits existed. (b) What keeping every k of the
evidence table costs a fit: the time of `segment_stats` (alternative fits, descriptions, rules,
sufficient statistics) as a share of the whole fit, measured in the same process."""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result, fmt_s, synthetic_csv


def run(smoke: bool = False) -> list[Result]:
    import training.finish as finish
    from model.contract.bundle import read_bundle
    from model.contract.stats import read_stats
    from model.editing.apply import apply_edit
    from model.editing.files import write_edited
    from model.editing.spec import build_spec
    from training.fit import FitOptions, fit

    rows = 1_000 if smoke else 100_000
    data = synthetic_csv(rows)
    spent: list[float] = []
    original = finish.segment_stats

    def timed(*args, **kwargs):  # what keeping every k costs, inside the same fit
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t0)

    finish.segment_stats = timed
    with tempfile.TemporaryDirectory() as tmp:
        try:
            t0 = time.perf_counter()
            fit(FitOptions(data=data, out=Path(tmp) / "b", seed=3, compare=False, bootstrap=0 if smoke else 50))
            fit_s = time.perf_counter() - t0
        finally:
            finish.segment_stats = original
        bundle = read_bundle(Path(tmp) / "b")
        stats = read_stats(Path(tmp) / "b" / "segment_stats.json")
        spec = build_spec(merges=["1,2"], renames=["0=Our best customers"])
        applies, writes = [], []
        for i in range(3 if smoke else 15):
            t0 = time.perf_counter()
            edited = apply_edit(bundle, stats, spec)
            applies.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            write_edited(edited, Path(tmp) / "b", Path(tmp) / f"e{i}")
            read_bundle(Path(tmp) / f"e{i}")
            writes.append(time.perf_counter() - t0)
    apply_s, write_s = statistics.median(applies), statistics.median(writes)
    keep_s = spent[0] if spent else float("nan")
    return [
        Result(f"edit: one edit (merge + rename), {rows:,} rows: preview / written bundle p50",
               f"{fmt_s(apply_s)} / {fmt_s(apply_s + write_s)}", f"refit {fmt_s(fit_s)}",
               f"{fit_s / (apply_s + write_s):,.0f}x faster", "reported", None,
               {"apply_s": applies, "write_s": writes, "fit_s": fit_s}),
        Result(f"edit: keeping every k for edits, {rows:,} rows", fmt_s(keep_s), f"whole fit {fmt_s(fit_s)}",
               f"{keep_s / fit_s:.0%} of the fit", "reported", None, {"segment_stats_s": keep_s, "fit_s": fit_s}),
    ]


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
