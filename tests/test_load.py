"""A short, bounded load run on both targets against the session app: every request answered
correctly, none lost (timing is machine-dependent and reported by `python -m benchmarks`, not
asserted here), and the report's figures read correctly off the samples."""
from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from benchmarks.load import Run, check_loopback, main, run_load, table


@pytest.mark.parametrize("target", ["json", "gradio"])
def test_short_load_has_no_errors(target, app_url):
    run = asyncio.run(run_load(app_url, target, clients=8, seconds=3))
    summary = run.summary()
    # every worker finishes the request it started before the deadline, however slow the machine
    assert summary["errors"] == {} and summary["requests"] == summary["ok"] >= 8
    assert len(run.latencies) == summary["ok"]  # a latency for every answer, none for a failure
    assert run.elapsed >= 3  # every worker ran to the deadline


def test_the_report_reads_its_percentiles_off_the_samples():
    """100 answers of 1..100 ms (in any order) and 3 timeouts in 2 s: the p-th percentile is the
    smallest sample with p % of the samples at or below it; failures count as requests, not latencies."""
    run = Run("json", clients=2, seconds=2.0, latencies=[ms / 1000 for ms in range(100, 0, -1)],
              outcomes=Counter(ok=100, timeout=3), elapsed=2.0)
    s = run.summary()
    assert (s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"]) == (50.0, 95.0, 99.0, 100.0)
    assert (s["requests"], s["ok"], s["req_per_s"], s["errors"]) == (103, 100, 51.5, {"timeout": 3})
    assert Run("gradio", 1, 1.0).summary()["p50_ms"] is None  # no answer: no latency, not 0
    row = table([s]).splitlines()[2].split()
    assert row[:5] == ["json", "2", "2.0", "103", "51.5"] and row[-2:] == ["timeout:", "3"]


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.1:7860", "https://huggingface.co"])
def test_only_loopback_targets_are_accepted(url):
    with pytest.raises(ValueError, match="loopback"):
        check_loopback(url)


def test_cli_reports_a_table_and_json_lines(app_url, capsys):
    assert main(["--url", app_url, "--clients", "2", "--seconds", "0.5", "--target", "json", "gradio"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("target") and sum(line.startswith("{") for line in out) == 2
