"""A short, bounded load run on both targets against the session app: zero errors (timing is
machine-dependent and reported by `python -m benchmarks`, not asserted here)."""
from __future__ import annotations

import asyncio

import pytest

from benchmarks.load import check_loopback, main, run_load, table


@pytest.mark.parametrize("target", ["json", "gradio"])
def test_short_load_has_no_errors(target, app_url):
    run = asyncio.run(run_load(app_url, target, clients=8, seconds=3))
    summary = run.summary()
    assert summary["errors"] == {} and summary["requests"] == summary["ok"] > 8
    assert summary["p50_ms"] is not None and summary["p99_ms"] >= summary["p50_ms"]
    assert "req_per_s" in table([summary])


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.1:7860", "https://huggingface.co"])
def test_only_loopback_targets_are_accepted(url):
    with pytest.raises(ValueError, match="loopback"):
        check_loopback(url)


def test_cli_reports_a_table_and_json_lines(app_url, capsys):
    assert main(["--url", app_url, "--clients", "2", "--seconds", "0.5", "--target", "json", "gradio"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("target") and sum(line.startswith("{") for line in out) == 2
