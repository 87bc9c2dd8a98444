"""The benchmark harness runs end to end at tiny sizes (`python -m benchmarks --smoke`): every
figure produces its rows, the table and the JSON are written. Correctness of the harness only:
timings are not asserted here (they are machine-dependent and reported by `python -m benchmarks`).
Two halves run side by side to keep the test short (servers vs training subprocesses). Figure 10
(Spark: three fits, two of them starting Spark, ~4 minutes at smoke size on 2 cores) is not run
here — it would take a fifth of CI's budget; the engine it measures is tested in tests/test_spark.py
and the figure runs in `make bench`."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HALVES = {("1", "2", "3", "4", "6", "9"): {"1", "2a", "2b", "3a", "3b", "4a", "4b", "6a", "6b", "6c", "9"},
          ("5", "7", "8", "11", "12"): {"5a", "5b", "7", "8", "11a", "11b", "12a", "12b"}}


def test_every_figure_but_spark_is_in_the_smoke_run():
    from benchmarks.__main__ import FIGURES
    assert set(FIGURES) - {f for half in HALVES for f in half} == {"10"}


@pytest.mark.timeout(600)  # a bound against hangs, not a speed target
def test_every_figure_runs_at_smoke_sizes(tmp_path):
    env = {"BENCH_CACHE": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    procs = {figs: subprocess.Popen([sys.executable, "-m", "benchmarks", "--smoke", "--only", *figs,
                                     "--out", str(tmp_path / figs[0])],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for figs in HALVES}
    for figs, proc in procs.items():
        out, err = proc.communicate(timeout=580)
        assert proc.returncode == 0, err[-3000:]
        assert "| figure" in out
        data = json.loads((tmp_path / figs[0] / "results.json").read_text())
        rows = data["results"]
        assert data["machine"]["cores"] >= 1 and data["machine"]["environment"]["name"] == "dev"
        assert data["machine"]["environment"]["packages"]["gradio"]
        assert {r["figure"].split()[0] for r in rows} == HALVES[figs], [r["figure"] for r in rows]
        for r in rows:
            assert r["value"] and r["target"] and r["passed"] is None, r  # smoke: no verdicts
        table = (tmp_path / figs[0] / "results.md").read_text()
        assert "| figure" in table and "load average" in table and "Environment: dev environment" in table
