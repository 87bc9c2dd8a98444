"""training.monitoring.reference: drift reference and report on real data, shifted and unshifted; migration;
report files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.explain_cases import bootstrap, case
from model.drift.moves import MigrationError
from model.drift.report import MonitorError, drift_report, psi
from training.monitoring.reference import drift_reference
from training.monitoring.report import write_report

CASES = ["default", "mall", "csd"]
SCALED = {"default": "income", "mall": "Annual Income (k$)", "csd": "income"}


def _reference(c):
    return drift_reference(c.frame, c.labels, c.schema, unlike=c.unlike, k=c.k)


def _report(c, new, **kw):
    return drift_report(_reference(c), new, c.predictor.predict_frame(new), **kw)


def test_psi_of_identical_shares_is_zero_and_grows_with_the_shift():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    small, large = psi([0.55, 0.45], [0.5, 0.5]), psi([0.8, 0.2], [0.5, 0.5])
    assert 0 < small < large
    assert large == pytest.approx(0.3 * np.log(0.8 / 0.5) - 0.3 * np.log(0.2 / 0.5))


@pytest.mark.parametrize("name", CASES)
def test_the_reference_is_small_plain_data(name):
    c = case(name)
    ref = _reference(c)
    text = json.dumps(ref)
    assert len(text) < 400 * (len(c.schema.names) + 2)  # aggregates only: a few hundred bytes a feature
    assert json.loads(text) == ref
    assert sum(ref["segments"]) == pytest.approx(1, abs=1e-5)
    for name_, r in ref["numeric"].items():
        assert len(r["edges"]) <= 9
        assert sum(r["shares"]) + r["missing"] == pytest.approx(1, abs=1e-5)
    for r in ref["categorical"].values():
        assert sum(r["shares"]) + r["missing"] == pytest.approx(1, abs=1e-5)
    assert ref["unlike_training"] == pytest.approx(c.unlike.mean(), abs=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_an_unshifted_resample_is_stable(name):
    c = case(name)
    report = _report(c, bootstrap(c.raw, seed=5))
    assert all(f["psi"] < 0.1 for f in report["features"]), [(f["feature"], f["psi"]) for f in report["features"]]
    assert report["segments"]["psi"] < 0.1
    assert report["verdict"] == "stable", report["reasons"]
    assert {f["feature"] for f in report["features"]} == set(c.schema.names)


@pytest.mark.parametrize("name", CASES)
def test_a_feature_scaled_by_one_and_a_half_is_flagged(name):
    c = case(name)
    new = bootstrap(c.raw, seed=5)
    col = SCALED[name]
    new[col] = (pd.to_numeric(new[col]) * 1.5).astype("string")
    report = _report(c, new)
    entry = next(f for f in report["features"] if f["feature"] == col)
    assert entry["psi"] > 0.25
    assert entry["verdict"] == "re-train"
    assert report["verdict"] == "re-train"
    assert report["features"][0]["feature"] == col  # largest PSI first
    assert entry["median_now"] == pytest.approx(1.5 * np.nanmedian(pd.to_numeric(new[col]) / 1.5), rel=1e-9)
    assert entry["gained_most"]["bin"].startswith(">")  # the top bin gained most
    assert any(r.startswith(col) for r in report["reasons"])
    others = [f for f in report["features"] if f["feature"] != col]
    assert all(f["psi"] < 0.1 for f in others)


def test_a_shift_between_categories_is_flagged_and_named():
    c = case("default")
    new = bootstrap(c.raw, seed=6)
    male = new["gender"].astype("string").str.strip().str.lower() == "male"
    flip = male & (np.random.default_rng(0).random(len(new)) < 0.6)
    new.loc[flip, "gender"] = "Female"
    report = _report(c, new)
    entry = next(f for f in report["features"] if f["feature"] == "gender")
    assert entry["psi"] > 0.1
    assert entry["verdict"] in ("drifting", "re-train")
    assert entry["gained_most"]["bin"] == "Female" and entry["lost_most"]["bin"] == "Male"
    assert report["verdict"] != "stable"


def test_rows_with_errors_are_counted_never_dropped():
    c = case("default")
    new = bootstrap(c.raw, seed=7)
    new.loc[3, "age"] = "thirty"
    new.loc[10, "preferred_category"] = "Fashion"
    new.loc[11, "income"] = "-5"
    report = _report(c, new)
    assert report["rows"] == len(new)
    assert report["errors"]["rows"] == 3
    assert report["rows_scored"] == len(new) - 3
    assert [e["row"] for e in report["errors"]["examples"]] == [4, 11, 12]
    assert "age" in report["errors"]["examples"][0]["error"]
    age = next(f for f in report["features"] if f["feature"] == "age")
    bins = {b["bin"]: b["now"] for b in age["bins"]}
    assert bins["not a number"] == pytest.approx(1 / len(new), abs=1e-6)
    cat = next(f for f in report["features"] if f["feature"] == "preferred_category")
    assert {b["bin"]: b["now"] for b in cat["bins"]}["not a trained level"] == pytest.approx(1 / len(new), abs=1e-6)
    assert sum(b["now"] for b in age["bins"]) == pytest.approx(1, abs=1e-5)  # every row is in some bin


def test_bad_inputs_get_clear_errors():
    c = case("mall")
    ref = _reference(c)
    new = c.raw.copy()
    scored = c.predictor.predict_frame(new)
    with pytest.raises(MonitorError, match=r"no column 'Spending Score \(1-100\)'.*found: CustomerID"):
        drift_report(ref, new.drop(columns="Spending Score (1-100)"), scored)
    with pytest.raises(MonitorError, match="no column 'unlike_training'.*predict_frame"):
        drift_report(ref, new, scored.drop(columns="unlike_training"))
    with pytest.raises(MonitorError, match="199 rows but the new data has 200"):
        drift_report(ref, new, scored.iloc[1:])
    with pytest.raises(MonitorError, match="format 1"):
        drift_report({"rows": 3}, new, scored)
    other = scored.copy()
    other["segment_id"] = other["segment_id"] + 10
    with pytest.raises(MonitorError, match="were the scores made by this bundle"):
        drift_report(ref, new, other)


def _scored_file(c, frame):
    """What `python -m training score` writes, read back as text: the id column and segment_id."""
    scored = c.predictor.predict_frame(frame)
    out = pd.DataFrame({c.schema.id_column: frame[c.schema.id_column].astype("string"),
                        "segment_id": scored["segment_id"].astype("string")})
    return out


def test_migration_matrix_counts_moves_new_and_left_customers():
    c = case("mall")
    idc = c.schema.id_column
    before = c.raw.iloc[:150].reset_index(drop=True)
    previous = _scored_file(c, before)
    now = c.raw.iloc[20:].reset_index(drop=True).copy()  # ids 1-20 left, 151-200 are new
    col = "Annual Income (k$)"
    now[col] = (pd.to_numeric(now[col]) * 1.5).astype("string")
    report = _report(c, now, previous_scored=previous)
    mig = report["migration"]
    old = pd.to_numeric(previous["segment_id"]).to_numpy()
    new = c.predictor.predict_frame(now)["segment_id"].to_numpy(dtype=np.int64)
    expected = np.zeros((c.k, c.k), dtype=int)
    for o, w in zip(old[20:150], new[:130]):
        expected[o, w] += 1
    assert mig["matrix"] == expected.tolist()
    assert mig["moved"] == int((old[20:150] != new[:130]).sum()) > 0
    assert mig["stayed"] + mig["moved"] == 130
    assert mig["left"] == np.bincount(old[:20], minlength=c.k).tolist()
    assert mig["new"] == np.bincount(new[130:], minlength=c.k).tolist()
    assert mig["id_column"] == idc


def test_migration_needs_ids_it_can_match():
    c = case("mall")
    previous = _scored_file(c, c.raw)
    with pytest.raises(MigrationError, match="no id column 'CustomerID'"):
        _report(c, c.raw.drop(columns="CustomerID"), previous_scored=previous)
    twice = previous.copy()
    twice.loc[1, "CustomerID"] = twice.loc[0, "CustomerID"]
    twice.loc[1, "segment_id"] = str((int(twice.loc[0, "segment_id"]) + 1) % c.k)
    with pytest.raises(MigrationError, match="more than once with different segments \\('1'\\)"):
        _report(c, c.raw, previous_scored=twice)
    with pytest.raises(MigrationError, match="no segment_id column"):
        _report(c, c.raw, previous_scored=previous.drop(columns="segment_id"))


def test_write_report_writes_json_markdown_and_plots(tmp_path):
    c = case("mall")
    new = c.raw.copy()
    new["Annual Income (k$)"] = (pd.to_numeric(new["Annual Income (k$)"]) * 1.5).astype("string")
    report = _report(c, new, previous_scored=_scored_file(c, c.raw))
    paths = write_report(report, tmp_path / "a")
    names = sorted(p.relative_to(tmp_path / "a").as_posix() for p in paths)
    assert names == ["plots/drift_features.png", "plots/drift_segments.png", "plots/migration.png",
                     "report.json", "report.md"]
    assert json.loads((tmp_path / "a" / "report.json").read_text()) == json.loads(json.dumps(report))
    md = (tmp_path / "a" / "report.md").read_text()
    assert md.startswith("# Drift report: **re-train**")
    assert "| Annual Income \\(k\\$\\) |" in md and "## Migration (by CustomerID)" in md
    assert "PSI < 0.1 stable" in md
    for p in paths:
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = write_report(report, tmp_path / "b")
    for p, q in zip(paths, again):  # same process, same machine: same bytes
        assert p.read_bytes() == q.read_bytes()
