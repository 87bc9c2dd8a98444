"""The benchmark harness runs end to end at tiny sizes (`python -m benchmarks --smoke`) and its table
tells the truth: every figure produces its rows, each with a value and a baseline measured in the
same run, a ratio that is the ratio of those two numbers, the environment it ran in, and — where a
figure checks a result — the right result (the served path gives the Pipeline's segments). Timings
are not asserted (machine-dependent; `python -m benchmarks` reports them). Two halves run side by
side (servers and in-process figures; training subprocesses). The spark figure (three fits, two of
them starting Spark, ~4 minutes at smoke size on 2 cores) is not run here; the engine it measures is
tested in tests/test_spark.py and the figure runs in `make bench`."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from importlib import metadata

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.bench

# figure → rows it reports at smoke size (batch: in the Space's configuration and with pyarrow)
HALVES = {("single", "json", "gradio", "batch", "cold-start", "stability"):
          {"single": 1, "json": 2, "gradio": 2, "batch": 4, "cold-start": 3, "stability": 2},
          ("fit", "fit-10m", "order-log", "space-train", "edit"):
          {"fit": 2, "fit-10m": 1, "order-log": 1, "space-train": 2, "edit": 2}}
# row → (detail numerator, detail denominator, how the ratio column writes their ratio)
RATIOS = {"json: POST": ("app_s", "bare_s", "{:.2f}x"), "json: batch": ("batch_s", "single_s", "{:.1f}x"), "gradio: /predict": ("predict_s", "ping_s", "{:.2f}x"),
          "gradio: map": ("rebuild_s", "plot_s", "{:,.0f}x faster"), "single:": ("original_s", "ours_s", "{:,.0f}x faster"),
          "batch: in memory": ("pipeline_s", "ours_s", "{:.2f}x"), "batch: CSV": ("ours_s", "pandas_s", "{:.2f}x"),
          "fit: time": ("big_s", "small_s", "{:.1f}x")}


def test_every_figure_but_spark_is_in_the_smoke_run():
    from benchmarks.__main__ import FIGURES
    assert set(FIGURES) - {f for half in HALVES for f in half} == {"spark"}


def _finite_positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.mark.timeout(600)  # a bound against hangs, not a speed target
def test_every_figure_runs_at_smoke_sizes_and_its_table_adds_up(tmp_path):
    env = {"BENCH_CACHE": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    procs = {figs: subprocess.Popen([sys.executable, "-m", "benchmarks", "--smoke", "--only", *figs,
                                     "--out", str(tmp_path / figs[0])],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for figs in HALVES}
    checked = set()
    for figs, proc in procs.items():
        out, err = proc.communicate(timeout=580)
        assert proc.returncode == 0, err[-3000:]
        data = json.loads((tmp_path / figs[0] / "results.json").read_text())
        rows = data["results"]
        counts = {f: sum(r["figure"].split(":")[0] == f for r in rows) for f in figs}
        assert counts == HALVES[figs], [r["figure"] for r in rows]
        environment = data["machine"]["environment"]
        assert data["machine"]["cores"] >= 1 and environment["name"] == "dev" and environment["packages"]["gradio"]
        assert environment["pyarrow"] == metadata.version("pyarrow") and environment["string_storage"] == "pyarrow"
        assert environment["summary"] in (tmp_path / figs[0] / "results.md").read_text() and environment["summary"] in out
        for r in rows:
            assert r["value"] and r["target"] and r["passed"] is None, r  # smoke: no verdicts, no failure
            timings = {k: v for k, v in r["detail"].items() if k.endswith("_s") and not isinstance(v, list)}
            # a duration is positive; a difference of two ("extra_…": the app over `import gradio`)
            # is only finite: at smoke sizes on a loaded machine it can come out below zero
            assert all(math.isfinite(v) if k.startswith("extra") else _finite_positive(v)
                       for k, v in timings.items()), r
            for prefix, (num, den, text) in RATIOS.items():
                if r["figure"].startswith(prefix):
                    assert r["ratio"] == text.format(r["detail"][num] / r["detail"][den]), r
                    checked.add(prefix)
            if r["figure"].startswith("batch: in memory"):
                assert r["detail"]["same_segment_share"] == 1.0 and r["detail"]["rows_compared"] > 0.9 * r["detail"]["rows"]
                assert r["detail"]["string_storage"] == ("python" if "(Space: no pyarrow)" in r["figure"] else "pyarrow")
            if r["figure"].startswith("fit-10m"):
                assert r["detail"]["returncode"] == 0
    assert checked == set(RATIOS)
