"""spark: the Spark engine next to the local one. `python -m training fit` on the same synthetic
CSV with the local engine, with `--engine spark --spark-master local[2]` and with
`local-cluster[2,1,MB]` (two executor JVMs), each in a fresh process, at 1 M and 10 M rows.

Measured: wall time (interpreter start and Spark start-up included) and peak memory, polled from
/proc every half second over the process tree: the driver (the Python process plus Spark's driver
JVM — which in local[2] also runs the executors and holds the cached data) and the executor JVMs.
Then agreement: each bundle labels the same 100,000 held-out rows (a seed the fits never saw); the
adjusted Rand index of each Spark bundle against the local one and of every bundle against the
planted segments. With two sizes, the growth of the driver's Python memory from the smaller to the
larger table (the part `docs/spark.md` says is bounded by constants, not by rows).

    BENCH_SPARK_ROWS=1000000 python -m benchmarks --only 10  # one size only
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import PYTHON, ROOT, Result, fmt_s, synthetic_csv

SIZES = (1_000_000, 10_000_000)
SMOKE_SIZES = (3_000,)
EXECUTOR_MB = 3072
HELD_OUT, HELD_OUT_SEED = 100_000, 4242
GiB = 1024 ** 3
QUICK_JIT = "-XX:TieredStopAtLevel=1"  # smoke runs only: short JVMs, no time spent in C2


def sizes(smoke: bool) -> tuple[int, ...]:
    if smoke:
        return SMOKE_SIZES
    env = os.environ.get("BENCH_SPARK_ROWS")
    return tuple(int(x) for x in env.split(",")) if env else SIZES


def fit_cmd(data: Path, out: Path, master: str | None, smoke: bool) -> list[str]:
    cmd = [PYTHON, "-m", "training", "fit", "--data", str(data), "--out", str(out), "--k", "auto"]
    if smoke:  # the harness only: few stability refits (every engine alike)
        cmd += ["--bootstrap", "5"]
    if master:
        cmd += ["--engine", "spark", "--spark-master", master,
                "--spark-conf", "spark.driver.memory=" + ("2g" if "cluster" in master else "6g")]
        if smoke:
            cmd += ["--spark-conf", f"spark.driver.extraJavaOptions={QUICK_JIT}",
                    "--spark-conf", f"spark.executor.extraJavaOptions={QUICK_JIT}"]
    return cmd


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid → (parent pid, resident bytes, command line) of every process we can read."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            rss = next((int(line.split()[1]) * 1024 for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                        if line.startswith("VmRSS:")), 0)
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        out[int(entry)] = (ppid, rss, cmd)
    return out


def _kind(pid: int, root: int, cmd: str) -> str:
    if pid == root:
        return "driver_python"
    if "CoarseGrainedExecutorBackend" in cmd:
        return "executors"
    if "SparkSubmit" in cmd or "org.apache.spark" in cmd:
        return "driver_jvm"
    return "other"  # pyspark's Python workers, /usr/bin/time …


def run_tree(cmd: list[str], *, timeout: float, log: Path) -> dict[str, Any]:
    """Run `cmd`; wall seconds, exit code and the peak resident memory of each part of its tree."""
    peaks = {"driver_python": 0, "driver_jvm": 0, "driver": 0, "executors": 0, "other": 0, "total": 0}
    done = threading.Event()
    start = time.perf_counter()
    with log.open("w") as handle:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)

        def poll() -> None:
            while not done.is_set():
                procs = _processes()
                tree, frontier = {proc.pid}, [proc.pid]
                while frontier:
                    parent = frontier.pop()
                    kids = [p for p, (pp, _, _) in procs.items() if pp == parent and p not in tree]
                    tree.update(kids)
                    frontier += kids
                now = dict.fromkeys(peaks, 0)
                for pid in tree & procs.keys():
                    _, rss, command = procs[pid]
                    now[_kind(pid, proc.pid, command)] += rss
                now["driver"] = now["driver_python"] + now["driver_jvm"]
                now["total"] = sum(v for k, v in now.items() if k not in ("driver", "total"))
                for key, value in now.items():
                    peaks[key] = max(peaks[key], value)
                done.wait(0.5)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
        done.set()
        watcher.join(5)
    return {"seconds": time.perf_counter() - start, "returncode": code, "peaks": peaks,
            "log_tail": log.read_text(errors="replace")[-1500:]}


def agreement(bundles: dict[str, Path]) -> dict[str, float]:
    """ARI of each Spark bundle against the local one, and of each bundle against the planted
    segments, on held-out rows."""
    from sklearn.metrics import adjusted_rand_score

    from model.serving.predictor import Predictor
    from training.synthetic.customers import generate
    frame, planted = generate(HELD_OUT, seed=HELD_OUT_SEED, mess=False)
    labels = {name: Predictor.from_dir(path).predict_frame(frame.drop(columns=["id"]))["segment_id"]
              .to_numpy(dtype=int) for name, path in bundles.items()}
    out = {f"{name}_vs_planted": adjusted_rand_score(planted, lab) for name, lab in labels.items()}
    out.update({f"{name}_vs_local": adjusted_rand_score(labels["local"], lab)
                for name, lab in labels.items() if name != "local"})
    return out


def run(smoke: bool = False) -> list[Result]:
    results: list[Result] = []
    driver_python: dict[int, int] = {}
    cluster = f"local-cluster[2,1,{1024 if smoke else EXECUTOR_MB}]"
    for rows in sizes(smoke):
        data = synthetic_csv(rows)
        runs: dict[str, dict[str, Any]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            bundles = {}
            for name, master in (("local", None), ("local[2]", "local[2]"), ("local-cluster", cluster)):
                out = Path(tmp) / name.replace("[", "").replace("]", "")
                runs[name] = run_tree(fit_cmd(data, out, master, smoke), timeout=3 * 3600,
                                      log=Path(tmp) / f"{out.name}.log")
                if runs[name]["returncode"] != 0:
                    raise RuntimeError(f"{name} fit on {rows:,} rows failed: {runs[name]['log_tail']}")
                bundles[name] = out
            ari = agreement(bundles)
        base = runs["local"]
        driver_python[rows] = runs["local[2]"]["peaks"]["driver_python"]
        for name in ("local[2]", "local-cluster"):
            r, p = runs[name], runs[name]["peaks"]
            value = (f"{fmt_s(r['seconds'])}; driver {p['driver'] / GiB:.2f} GiB (Python "
                     f"{p['driver_python'] / GiB:.2f} + JVM {p['driver_jvm'] / GiB:.2f})"
                     + (f", executors {p['executors'] / GiB:.2f} GiB" if name != "local[2]" else ""))
            results.append(Result(
                f"spark: fit {rows:,} rows, Spark {name if name == 'local[2]' else cluster}", value,
                f"local engine {fmt_s(base['seconds'])}, peak {base['peaks']['total'] / GiB:.2f} GiB",
                f"{r['seconds'] / base['seconds']:.1f}x time", "reported (no target)", None,
                {"seconds": r["seconds"], "peaks": p, "local_seconds": base["seconds"],
                 "local_peaks": base["peaks"]}))
        worst = min(ari["local[2]_vs_local"], ari["local-cluster_vs_local"])
        results.append(Result(
            f"spark: agreement at {rows:,} rows (ARI, {HELD_OUT:,} held-out rows)",
            f"local[2] vs local {ari['local[2]_vs_local']:.3f}, local-cluster vs local "
            f"{ari['local-cluster_vs_local']:.3f}",
            f"vs planted: local {ari['local_vs_planted']:.3f}, local[2] {ari['local[2]_vs_planted']:.3f}, "
            f"local-cluster {ari['local-cluster_vs_planted']:.3f}", "", ">= 0.90",
            None if smoke else worst >= 0.90, {"ari": ari}))
    if len(driver_python) > 1:
        (small, a), (big, b) = sorted(driver_python.items())[0], sorted(driver_python.items())[-1]
        results.append(Result(
            f"spark: driver Python memory, {small:,} -> {big:,} rows (local[2])",
            f"{a / GiB:.2f} -> {b / GiB:.2f} GiB ({b / a:.2f}x for {big / small:.0f}x rows)", "", "",
            "< 1.5x", b / a < 1.5, {"bytes": driver_python}))
    return results


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
