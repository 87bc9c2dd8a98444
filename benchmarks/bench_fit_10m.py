"""fit-10m: `python -m training fit` on 10,000,000 generated rows (a 0.5 GB CSV) in a fresh
process under /usr/bin/time -v: it must finish with peak memory <= 8 GiB; the time is reported.
The CSV is read and encoded in chunks, and above 1 M rows the k selection, KMeans and PCA fit on a
fixed-seed 1 M-row sample, while every row is still labelled, profiled and summarised."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.bench_fit import fit_cmd
from benchmarks.common import Result, fmt_s, run_measured, synthetic_csv

TARGET_BYTES = 8 * 1024 ** 3
GiB = 1024 ** 3


def run(smoke: bool = False) -> list[Result]:
    rows = 2_000 if smoke else 10_000_000
    data = synthetic_csv(rows)
    with tempfile.TemporaryDirectory() as tmp:
        got = run_measured(fit_cmd(data, Path(tmp) / "bundle", smoke=smoke), timeout=3_000)
    ok = got["returncode"] == 0 and not got["timed_out"]
    peak = got["peak_bytes"] or 0
    return [Result(f"fit-10m: fit on {rows:,} rows", f"{fmt_s(got['seconds'])}, peak {peak / GiB:.2f} GiB",
                   f"input {data.stat().st_size / 1e9:.2f} GB CSV", "", "completes, <= 8 GiB",
                   None if smoke else (ok and 0 < peak <= TARGET_BYTES),
                   {"seconds": got["seconds"], "peak_bytes": peak, "returncode": got["returncode"],
                    "stderr_tail": got["stderr"][-600:] if not ok else ""})]


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
