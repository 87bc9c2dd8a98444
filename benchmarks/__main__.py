"""`python -m benchmarks` (make bench): every performance figure, each measured against a baseline in
the same run, as one table (stdout, plus Markdown and JSON files) that says which environment it ran
in.

Figures, one script each (benchmarks/bench_<name>.py): single (one prediction in-process), json
(POST /predict, one customer and a batch), gradio (the queue; the map), batch (in memory and CSV to
CSV, in the Space's configuration and with pyarrow), fit (100 k and 1 M rows), cold-start
(read_bundle, app start, RSS), fit-10m, order-log (order lines to customers), stability (stability
and rules by size), spark, space-train (the Train tab against the CLI fit), edit (what an edit costs).

    python -m benchmarks                  # full sizes (~10 minutes here, most of it fit-10m; spark,
                                          # at 1 M and 10 M rows, takes hours)
    python -m benchmarks --smoke          # tiny sizes: checks the harness, asserts no target
    python -m benchmarks --only single batch
    python -m benchmarks --load [ARGS]    # the bounded load test instead (benchmarks.load)
    python -m benchmarks --space          # the serving figures only (single, json, gradio, cold-start): what runs with the
                                          # Space's own requirements.txt (no scikit-learn, no pyarrow);
                                          # the default where scikit-learn is not installed

Every run says which environment it ran in (BENCH_ENV=NAME labels it; otherwise "dev" or "space",
detected from scikit-learn): on stderr, in results.md and in results.json.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import platform
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Sequence

from benchmarks.common import ROOT, Result, describe, dump, environment

log = logging.getLogger("benchmarks")
FIGURES = ("single", "json", "gradio", "batch", "fit", "cold-start", "fit-10m", "order-log", "stability", "spark",
           "space-train", "edit")
HTTP = {"json", "gradio"}  # these share one running app
IN_PROCESS = FIGURES[:4]  # run while that app is up; the others run after it is stopped
SERVING = ("single", "json", "gradio", "cold-start")  # need only the Space's requirements


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor() or "unknown")
    mem = next((int(line.split()[1]) * 1024 for line in _lines("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 1024 ** 3, 1),
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _figure(fig: str) -> Any:
    """A figure's module (benchmarks/bench_<name>.py), imported when it runs: some need the training
    requirements."""
    return importlib.import_module(f"benchmarks.bench_{fig.replace('-', '_')}")


def run_figures(figures: Sequence[str], *, smoke: bool) -> list[Result]:
    results: list[Result] = []
    with ExitStack() as stack:
        app_url = None
        if HTTP & set(figures):
            from benchmarks.servers import app_cmd, free_port, serve
            port = free_port()
            app_url, _ = stack.enter_context(serve(app_cmd(), port))
        for fig in [f for f in IN_PROCESS if f in figures]:  # the HTTP ones share the running app
            results += _one(fig, lambda fig=fig: (_figure(fig).run(smoke, app_url) if fig in HTTP
                                                  else _figure(fig).run(smoke)))
    for fig in [f for f in FIGURES if f not in IN_PROCESS and f in figures]:  # the app is stopped: nothing else runs
        results += _one(fig, lambda fig=fig: _figure(fig).run(smoke))
    return results


def _one(fig: str, fn: Callable[[], list[Result]]) -> list[Result]:
    log.info("figure %s ...", fig)
    start = time.perf_counter()
    try:
        rows = fn()
    except Exception as exc:  # one broken figure must not hide the others
        log.exception("figure %s failed", fig)
        rows = [Result(f"{fig}: failed", "error", "", "", "", False, {"error": f"{type(exc).__name__}: {exc}"})]
    log.info("figure %s done in %.1f s", fig, time.perf_counter() - start)
    return rows


def table(results: Sequence[Result]) -> str:
    """A Markdown table (also readable as plain text)."""
    head = ["figure", "value", "baseline (same run)", "ratio", "target", "pass"]
    rows = [[r.figure, r.value, r.baseline, r.ratio, r.target,
             "—" if r.passed is None else ("PASS" if r.passed else "FAIL")] for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def write(results: Sequence[Result], out: Path, info: dict[str, Any], smoke: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    dump(list(results), out / "results.json", machine=info)
    text = (f"# Benchmark results{' (smoke sizes: no targets)' if smoke else ''}\n\n"
            f"Run {info['finished']} on {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
            f"Python {info['python']}; load average at start {info['load_average']}, at end "
            f"{info['load_average_end']} (a shared machine: every ratio is measured in this run).\n\n"
            f"Environment: {describe(info['environment'])}.\n\n"
            f"{table(results)}\n")
    (out / "results.md").write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--load"]:
        from benchmarks.load import main as load_main
        return load_main(argv[1:] or ["--start", "--clients", "8", "32", "--seconds", "30",
                                      "--target", "json", "gradio"])
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes; checks the harness only")
    ap.add_argument("--only", nargs="+", choices=FIGURES, default=None, metavar="FIG",
                    help=f"figures to run ({', '.join(FIGURES)})")
    ap.add_argument("--space", action="store_true",
                    help=f"the serving figures only ({', '.join(SERVING)}), as in the Space's own environment")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder for results.md / results.json (default: benchmarks/, or a temp folder "
                         "with --smoke)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "model"):  # one line per request / per bundle load otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    info = machine()
    info["environment"] = env = environment()
    log.info("running in the %s", describe(env))
    serving_only = args.space or env["detected"] == "space"
    figures = args.only or list(SERVING if serving_only else FIGURES)
    if serving_only and set(figures) - set(SERVING):
        ap.error(f"figures {', '.join(sorted(set(figures) - set(SERVING)))} need the training requirements "
                 f"(requirements-training.txt); in the Space's environment run {', '.join(SERVING)}")
    results = run_figures(figures, smoke=args.smoke)
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    info["finished"] = time.strftime("%Y-%m-%d %H:%M")
    out = args.out or (ROOT / "benchmarks" if not args.smoke else Path(os.environ.get("TMPDIR", "/tmp")) / "bench-smoke")
    write(results, out, info, args.smoke)
    print(f"environment: {describe(env)}\n")
    print(table(results))
    print(f"\nwritten to {out / 'results.md'} and {out / 'results.json'}")
    return 1 if any(r.passed is False for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
