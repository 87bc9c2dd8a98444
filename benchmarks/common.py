"""Shared helpers for the figure scripts: result rows, timing, data files, subprocess memory."""
from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CACHE = Path(os.environ.get("BENCH_CACHE", "/tmp/segments-bench"))  # generated data, reused


@dataclass
class Result:
    """One row of the table. `value` and `baseline` are display strings; `passed` is None when
    the figure has no target at this size (smoke runs) or could not be measured."""
    figure: str
    value: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def p50(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def timed(fn: Callable[[], Any], *, repeat: int, warmup: int = 0) -> list[float]:
    """Wall-clock seconds of `repeat` calls (after `warmup` untimed calls); GC paused meanwhile."""
    for _ in range(warmup):
        fn()
    samples = []
    gc.disable()
    try:
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t)
    finally:
        gc.enable()
    return samples


def interleaved(fns: dict[str, Callable[[], Any]], *, rounds: int, repeat: int = 1) -> dict[str, list[float]]:
    """Time several functions in alternation (ours, baseline, ours, …) so that a noisy neighbour
    on a shared machine hits both alike; per-call seconds for each."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            out[name] += [s for s in timed(fn, repeat=repeat)]
    return out


def fmt_s(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def synthetic_csv(rows: int, *, seed: int = 7, chunk: int = 1_000_000) -> Path:
    """A CSV of `rows` synthetic customers (training.synthetic.customers, with its mess), cached in CACHE.
    Above `chunk` rows it is written in parts generated with seeds seed, seed+1, … ."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"customers_{rows}_{seed}.csv"
    if path.exists():
        return path
    from training.synthetic.customers import generate
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        done, part = 0, 0
        while done < rows:
            n = min(chunk, rows - done)
            frame, _ = generate(max(n, 10), seed=seed + part)
            frame.iloc[:n].to_csv(handle, index=False, header=(part == 0), lineterminator="\n")
            done, part = done + n, part + 1
    tmp.rename(path)
    return path


def run_measured(args: Sequence[str], *, timeout: float, env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> dict[str, Any]:
    """Run a command under /usr/bin/time -v (or resource.getrusage as a fallback): wall seconds,
    peak RSS in bytes, exit code, tail of stderr. A run past `timeout` is killed (timed_out)."""
    use_time = Path("/usr/bin/time").exists()
    cmd = (["/usr/bin/time", "-v"] if use_time else []) + list(args)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return {"seconds": time.perf_counter() - t, "timed_out": True, "returncode": None,
                "peak_bytes": None, "stderr": (exc.stderr or b"")[-2000:] if isinstance(exc.stderr, bytes) else ""}
    seconds = time.perf_counter() - t
    peak = None
    for line in proc.stderr.splitlines():
        if "Maximum resident set size" in line:
            peak = int(line.rsplit(":", 1)[1]) * 1024
    if peak is None:  # ru_maxrss of the largest child so far (KiB on Linux)
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        peak = after * 1024 if after > before else None
    return {"seconds": seconds, "timed_out": False, "returncode": proc.returncode,
            "peak_bytes": peak, "stderr": proc.stderr[-2000:], "stdout": proc.stdout[-2000:]}


SERVING_PACKAGES = ("gradio", "fastapi", "uvicorn", "orjson", "numpy", "pandas")
TRAINING_PACKAGES = ("scikit-learn", "pyarrow", "pyspark")


def environment() -> dict[str, Any]:
    """Which Python environment the figures run in: "space" (the Space's own requirements: no
    scikit-learn, no pyarrow) or "dev" (with the training side), as BENCH_ENV names it or as
    detected; the interpreter, its prefix and the versions that matter (None: not installed)."""
    from importlib import metadata
    versions: dict[str, str | None] = {}
    for name in (*SERVING_PACKAGES, *TRAINING_PACKAGES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    detected = "dev" if versions["scikit-learn"] else "space"
    import pandas as pd
    # with pyarrow installed pandas keeps strings in Arrow arrays; the Space has none (Python objects)
    storage = pd.Series(["x"]).dtype.storage
    arrow = versions.get("pyarrow")
    summary = f"pandas {pd.__version__} with " + (f"pyarrow {arrow} (strings in Arrow)" if arrow else
                                                  "no pyarrow (strings as Python objects, as in the Space)")
    return {"name": os.environ.get("BENCH_ENV", "").strip() or detected, "detected": detected,
            "python": sys.executable, "prefix": sys.prefix, "venv": sys.prefix, "packages": versions,
            "pyarrow": arrow, "string_storage": storage, "summary": summary}


def describe(env: dict[str, Any]) -> str:
    """One line for people: 'space environment (/path/venv): gradio 6.31.0, …, pyarrow absent'."""
    parts = [f"{k} {v}" if v else f"{k} absent" for k, v in env["packages"].items()]
    return f"{env['name']} environment ({env['prefix']}; {env['summary']}): " + ", ".join(parts)


def dump(results: list[Result], path: Path, *, machine: dict[str, Any]) -> None:
    data = {"machine": machine, "results": [r.as_dict() for r in results]}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
