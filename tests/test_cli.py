"""The command line as a user runs it: --help everywhere, synth, fit, score (bad rows and bad files)."""
from __future__ import annotations

import csv
import re
import subprocess
import sys

import pytest

from tests.server import ROOT


def run(*args, check=True):
    res = subprocess.run([sys.executable, "-m", "training", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    if check:
        assert res.returncode == 0, res.stderr
    return res


@pytest.mark.parametrize("cmd", [[], ["fit"], ["score"], ["push"], ["synth"]])
def test_help(cmd):
    res = run(*cmd, "--help")
    assert "usage: python -m training" in res.stdout


def test_synth_fit_score_end_to_end(tmp_path):
    data, labels = tmp_path / "c.csv", tmp_path / "planted.csv"
    res = run("synth", "--rows", "800", "--out", str(data), "--seed", "3", "--labels", str(labels))
    assert "wrote 800 rows" in res.stdout
    assert sum(1 for _ in open(labels)) == 801
    lines = list(csv.reader(open(data, newline="")))[1:]
    duplicates = len(lines) - len({tuple(line) for line in lines})
    assert duplicates > 0  # synth plants exact duplicates: the count below is not vacuous
    bundle = tmp_path / "b"
    res = run("fit", "--data", str(data), "--out", str(bundle), "--no-compare", "--bootstrap", "0")
    assert "rows in: 800" in res.stdout and f"exact duplicates dropped: {duplicates}" in res.stdout
    assert "k = " in res.stdout and "cluster structure:" in res.stdout
    # plain progress lines when not on a terminal: [1/N …] … [N/N …], each step once, in order
    steps = [tuple(map(int, m.groups())) for m in re.finditer(r"^\[(\d+)/(\d+) ", res.stderr, re.M)]
    assert len(steps) >= 3 and steps == [(i, steps[0][1]) for i in range(1, steps[0][1] + 1)], steps
    rows = list(csv.DictReader(open(data)))
    rows[0]["gender"] = "Martian"
    rows[1]["age"] = "-4"
    rows[2]["income"] = "thirty"  # text in a numeric column: an error of its row, not of the file
    bad = tmp_path / "new.csv"
    with open(bad, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows[:50])
    out = tmp_path / "scored.csv"
    res = run("score", "--bundle", str(bundle), "--data", str(bad), "--out", str(out))
    assert "scored 47 rows, rejected 3" in res.stdout
    scored = list(csv.DictReader(open(out)))
    assert len(scored) == 50 and [r["id"] for r in scored] == [r["id"] for r in rows[:50]]
    assert "gender must be one of Female, Male, Other; got 'Martian'" in scored[0]["error"]
    assert "age must be" in scored[1]["error"] and scored[1]["segment_name"] == ""
    assert "income must be a number between" in scored[2]["error"] and "got 'thirty'" in scored[2]["error"]
    assert all(r["segment_name"] and r["offers"] and r["runner_up"] for r in scored[3:])
    assert "line 4: income must be" in res.stdout  # rejected rows are listed with their line


def test_unusable_file_fails_with_a_clear_message(tmp_path, default_bundle):
    bad = tmp_path / "ragged.csv"
    header = "age;income;spending_score;membership_years;purchase_frequency;last_purchase_amount;gender;preferred_category"
    bad.write_text(f"{header}\n30;1000;50;2;3;10,5;Male;Sports;x\n")
    res = run("score", "--bundle", str(default_bundle), "--data", str(bad), "--out", str(tmp_path / "o.csv"),
              check=False)
    assert res.returncode == 2 and "error:" in res.stderr and "line 2 has 9" in res.stderr
    assert "';' (semicolon)" in res.stderr  # how the file was read, so the user sees why
    assert "Traceback" not in res.stderr


def test_bad_k_is_explained():
    res = run("fit", "--k", "1", "--out", "unused", check=False)
    assert res.returncode == 2 and "--k must be between 2 and 30, got 1" in res.stderr


def test_order_log_fit_score_and_monitor(tmp_path):
    """An order log end to end: synthetic log → fit (columns recognised) → one scored row per
    customer, named as in the form, with the RFM label → a drift report."""
    log = tmp_path / "log.csv"
    res = run("synth", "--transactions", "--customers", "600", "--out", str(log), "--seed", "5")
    assert "order lines of 600 customers" in res.stdout
    bundle = tmp_path / "orders"
    res = run("fit", "--transactions", str(log), "--out", str(bundle), "--no-compare", "--bootstrap", "0")
    assert "customer:" in res.stdout and "lines in:" in res.stdout and "log1p for clustering" in res.stdout
    assert "recency_days → recency" in res.stdout and "fidelity" in res.stdout
    out = tmp_path / "customers.csv"
    res = run("score", "--bundle", str(bundle), "--transactions", str(log), "--out", str(out))
    assert "order log:" in res.stdout
    rows = list(csv.DictReader(open(out)))
    assert rows and {"customer_id", "recency_days", "frequency", "monetary", "segment_name", "rfm_label",
                     "offers"} <= set(rows[0])
    assert all(r["segment_name"] and r["rfm_label"] for r in rows if not r["error"])
    report = tmp_path / "drift"
    res = run("monitor", "--bundle", str(bundle), "--transactions", str(log), "--out", str(report))
    assert "verdict: stable" in res.stdout
    assert (report / "report.json").is_file() and (report / "report.md").is_file()


def test_an_order_log_needs_a_bundle_trained_on_one(tmp_path, default_bundle):
    log = tmp_path / "log.csv"
    log.write_text("InvoiceNo,InvoiceDate,CustomerID,Amount\n1,2024-01-01,7,5.00\n")
    res = run("score", "--bundle", str(default_bundle), "--transactions", str(log), "--out", str(tmp_path / "o.csv"),
              check=False)
    assert res.returncode == 2 and "trained on a customer table (features age," in res.stderr
    assert "not on an order log; score a customer table with --data" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "o.csv").exists()


def test_roles_are_set_by_flag_and_a_wrong_one_is_explained(tmp_path, shared_data):
    data = shared_data / "customer_segmentation_data.csv"
    res = run("fit", "--data", str(data), "--out", str(tmp_path / "b"), "--no-compare", "--bootstrap", "0",
              "--role", "engagement=purchase_frequency", "--role", "none=last_purchase_amount")
    assert "purchase_frequency → engagement" in res.stdout and "last_purchase_amount →" not in res.stdout
    res = run("fit", "--data", str(data), "--out", str(tmp_path / "c"), "--role", "loyalty=age", check=False)
    assert res.returncode == 2 and "unknown role 'loyalty'" in res.stderr and "recency" in res.stderr


def test_edit_from_the_command_line(tmp_path, default_bundle):
    """`edit` prints what changed and writes a bundle that verifies; bad input writes nothing."""
    out = tmp_path / "edited"
    offers = tmp_path / "offers.yaml"
    offers.write_text("segments:\n  0:\n    - title: Student night\n      rationale: Young and price-aware.\n")
    res = run("edit", "--bundle", str(default_bundle), "--merge", "1,4", "--rename", "2=Sports fans",
              "--offers", str(offers), "--out", str(out))
    assert "merged segments 1" in res.stdout and "renamed segment 2" in res.stdout
    assert "offers of segment 0: Student night" in res.stdout
    assert "[2] Sports fans (named by people)" in res.stdout and "edited, not re-measured" in res.stdout
    from model.contract.bundle import read_bundle
    assert read_bundle(out).manifest.k == 4
    for args, message in [(["--rename", "1=Sports fans", "--bundle", str(out)], "names must be unique"),
                          (["--rename", "1="], "is empty"),
                          (["--merge", "3,3"], "cannot be merged with itself"),
                          (["--k", "11"], "k must be one of the evidence table's ks"),
                          (["--offers", str(tmp_path / "bad.yaml")], "is not valid YAML")]:
        (tmp_path / "bad.yaml").write_text("segments: {0: [title: x\n")
        target = tmp_path / "never"
        res = run("edit", "--bundle", str(default_bundle), *args, "--out", str(target), check=False)
        assert res.returncode == 2 and message in res.stderr and not target.exists()
