"""fit: `python -m training fit --k auto` (selection, comparison and final fit) on 100 k and
1 M synthetic rows, each in a fresh process under /usr/bin/time -v (wall time includes interpreter
start and imports; peak memory is the process's maximum RSS); and the original full-silhouette
loop on the same 1 M rows as the baseline, stopped at a time limit."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import PYTHON, ROOT, Result, fmt_s, run_measured, synthetic_csv

TARGET_S, TARGET_BYTES, TARGET_GROWTH = 30.0, 4 * 1024 ** 3, 12.0
GiB = 1024 ** 3


def fit_cmd(data: Path, out: Path, *, smoke: bool = False) -> list[str]:
    """The fit as users run it; at smoke sizes (the harness checked, no figure) without the
    per-segment stability, which would be most of the time there."""
    return [PYTHON, "-m", "training", "fit", "--data", str(data), "--out", str(out), "--k", "auto",
            *(["--bootstrap", "0"] if smoke else [])]


def run(smoke: bool = False) -> list[Result]:
    small_rows, big_rows = (500, 2_000) if smoke else (100_000, 1_000_000)
    limit = 3.0 if smoke else 120.0
    small, big = synthetic_csv(small_rows), synthetic_csv(big_rows)
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for name, data in (("small", small), ("big", big)):
            runs[name] = run_measured(fit_cmd(data, Path(tmp) / name, smoke=smoke), timeout=600)
            if runs[name]["returncode"] != 0:
                raise RuntimeError(f"fit on {data.name} failed: {runs[name]['stderr'][-800:]}")
    baseline = _baseline(big, limit)
    t_small, t_big = runs["small"]["seconds"], runs["big"]["seconds"]
    peak = runs["big"]["peak_bytes"] or 0
    growth = t_big / t_small
    base = (f"full-silhouette loop > {limit:.0f} s (stopped; {baseline['progress']})" if baseline["stopped"]
            else f"full-silhouette loop {fmt_s(baseline['seconds'])}")
    ratio = (f"> {limit / t_big:.1f}x faster" if baseline["stopped"] else f"{baseline['seconds'] / t_big:.1f}x faster")
    return [
        Result(f"fit: --k auto, {big_rows:,} rows", f"{fmt_s(t_big)}, peak {peak / GiB:.2f} GiB", base, ratio,
               "<= 30 s and <= 4 GiB", None if smoke else (t_big <= TARGET_S and 0 < peak <= TARGET_BYTES),
               {"seconds": t_big, "peak_bytes": peak, "baseline": baseline}),
        Result(f"fit: time {small_rows:,} -> {big_rows:,} rows", f"{growth:.1f}x time for 10x rows",
               f"{fmt_s(t_small)} at {small_rows:,} rows", f"{growth:.1f}x", f"<= {TARGET_GROWTH:.0f}x",
               None if smoke else growth <= TARGET_GROWTH,
               {"small_s": t_small, "big_s": t_big, "small_peak_bytes": runs["small"]["peak_bytes"]}),
    ]


def _baseline(data: Path, limit: float) -> dict:
    """Run the original loop until it finishes or `limit` seconds pass; report how far it got."""
    cmd = [PYTHON, "-m", "benchmarks.full_silhouette", str(data)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        out, _ = proc.communicate(timeout=limit)
        stopped = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        stopped = True
    lines = [line for line in (out or "").splitlines() if line.strip()]
    return {"stopped": stopped, "seconds": time.perf_counter() - start, "limit": limit,
            "progress": lines[-1] if lines else "nothing finished", "log": lines}


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
