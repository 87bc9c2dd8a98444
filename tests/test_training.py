"""The build side: synthetic data, cleaning, fit → bundle → read, names, offers, reproducibility."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from model.contract.bundle import read_bundle
from model.contract.writing import load_pipeline
from model.contract.errors import BundleError
from model.serving.predictor import Predictor
from training.synthetic import customers as synthetic
from training.reading.table import clean, read_table
from training.fit import FitOptions, fit
from tests.test_predictor import random_records


def test_synthetic_is_deterministic_and_messy():
    a, la = synthetic.generate(2000, seed=5)
    b, lb = synthetic.generate(2000, seed=5)
    c, _ = synthetic.generate(2000, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert (la == lb).all() and not a.equals(c)
    assert list(a.columns) == list(synthetic.COLUMNS) and len(a) == len(la) == 2000
    assert a.duplicated().sum() >= 10  # exact duplicate rows
    assert a.isna().sum().sum() > 0  # empty cells
    genders = set(a["gender"].dropna())
    assert {"Female", "Male", "Other"} <= genders and len(genders) > 3  # spelling variants
    sizes = np.bincount(la) / len(la)
    assert 4 <= len(sizes) <= 6 and sizes.max() / sizes.min() > 2  # unequal sizes
    age = pd.to_numeric(a["age"]).dropna()
    assert age.between(18, 80).all()
    assert pd.to_numeric(a["spending_score"]).dropna().between(1, 100).all()


def test_cleaning_report_counts(tmp_path):
    csv = tmp_path / "crafted.csv"
    csv.write_text(
        "CustomerID,age,gender,income\n"
        "1,30,Female,50000\n"
        "2,40, male ,60000\n"
        "2,40, male ,60000\n"  # exact duplicate
        "3,,FEMALE,70000\n"  # missing age
        "4,50,Male,\n"  # missing income
        "5,60,female,abc\n"  # unparseable income among numbers
        + "".join(f"{i},{20 + i},{'Male' if i % 2 else 'Female'},{40000 + 1000 * i}\n" for i in range(6, 106))
    )
    c = clean(read_table(csv))
    r = c.report
    assert r["rows_in"] == 106 and r["duplicates_dropped"] == 1 and r["rows_out"] == 105
    assert r["id_column"] == "CustomerID" and "CustomerID" not in c.frame.columns
    assert c.numeric == ["age", "income"] and c.categorical == ["gender"]
    assert r["missing"] == {"age": 1, "income": 2, "gender": 0}
    assert r["unparseable_numbers_set_missing"] == {"income": 1}
    assert set(c.frame["gender"]) == {"Female", "Male"}
    assert r["category_spellings_unified"]["gender"][" male "] == "Male"
    assert r["category_spellings_unified"]["gender"]["FEMALE"] == "Female"


def test_features_restrict_and_unknown_feature_is_clear(tmp_path):
    frame, _ = synthetic.generate(300, seed=1)
    c = clean(frame.astype("string"), features=["income", "spending_score"])
    assert list(c.frame.columns) == ["income", "spending_score"]
    with pytest.raises(ValueError, match="no column named 'salary'"):
        clean(frame.astype("string"), features=["salary"])


def test_fit_round_trip_and_planted_segments(synth_csv, synth_fit):
    out, manifest = synth_fit
    path, planted = synth_csv
    assert manifest["k"] == 5
    bundle = read_bundle(out)
    pred = Predictor(bundle)
    raw = pd.read_csv(path)
    keep = ~raw.duplicated()
    frame = raw.loc[keep, pred.schema.names]
    ours = pred.predict_frame(frame)
    sk = load_pipeline(out).predict(frame)
    assert (ours["segment_id"].to_numpy() == sk).all()  # the served path equals the pipeline
    assert adjusted_rand_score(planted[keep.to_numpy()], sk) >= 0.9
    assert set(json.loads((out / "manifest.json").read_text())["files"]) >= {
        "model.skops", "sklearn_model.joblib", "serving.npz", "pca_sample.csv", "summary.json", "README.md"}


def test_manifest_contract(synth_fit):
    out, m = synth_fit
    assert m["format_version"] == 2 and m["library_versions"]["scikit-learn"]
    feats = {f["name"]: f for f in m["schema"]["features"]}
    assert feats["age"]["kind"] == "numeric" and feats["age"]["min"] <= feats["age"]["max"]
    assert feats["gender"]["levels"] == ["Female", "Male", "Other"]
    assert feats["spending_score"]["label"] == "Spending score"
    assert [r["k"] for r in m["selection"]["table"]] == list(range(2, 11))
    for row in m["selection"]["table"]:
        assert {"inertia", "silhouette", "calinski_harabasz", "davies_bouldin"} <= set(row)
    names = [s["name"] for s in m["segments"]]
    assert len(set(names)) == len(names)
    assert sum(s["size"] for s in m["segments"]) == m["training"]["rows"]
    for s in m["segments"]:
        assert {"id", "name", "size", "share", "profile", "offers"} <= set(s)
        assert 2 <= len(s["offers"]) <= 4
        assert all(o["title"] and o["rationale"] for o in s["offers"])
    assert m["cleaning"]["duplicates_dropped"] > 0


# A customer whose every number sits inside its column's range with decimals that no stored
# aggregate (a median, quantile, mean, limit or whisker, rounded to at most 6 digits) can equal.
CANARY = {"age": 41.2718281, "income": 61234.5678913, "spending_score": 47.3141592, "membership_years": 3.6180339,
          "purchase_frequency": 22.7320508, "last_purchase_amount": 187.4142135}


def _blobs(folder) -> list[bytes]:
    """Every file of a bundle, and every member of its zips (serving.npz, model.skops) unpacked."""
    import zipfile
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        out.append(data)
        if data[:2] == b"PK":
            with zipfile.ZipFile(path) as zf:
                out += [zf.read(name) for name in zf.namelist()]
    return out


def test_bundle_holds_no_customer_rows(synth_csv, tmp_path):
    """A planted customer's values appear in no file of the bundle — as text or as float64 bytes —
    while the bundle still describes that column: it stores aggregates and PCA points, never rows."""
    frame = pd.read_csv(synth_csv[0])
    frame.loc[len(frame) // 2, list(CANARY)] = list(CANARY.values())
    data = tmp_path / "customers.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "b"
    fit(FitOptions(data=data, out=out, seed=3, bootstrap=0))
    sample = pd.read_csv(out / "pca_sample.csv")
    assert list(sample.columns) == ["pc1", "pc2", "segment"] and len(sample) <= 5000
    blobs = _blobs(out)
    assert len(blobs) > 10 and any(b'"income"' in b for b in blobs)
    for column, value in CANARY.items():
        spelled = {f"{value}".encode(), f"{value:.6f}".encode(), f"{value:.5f}".encode(),
                   np.float64(value).tobytes()}
        found = [s for s in spelled for blob in blobs if s in blob]
        assert not found, f"{column}: the planted value {value} is stored in the bundle"


def stable(value):
    """The manifest without what may differ between runs: the timestamp, step timings and file hashes."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items()
                if k not in ("created_at", "files") and not k.endswith("seconds")}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def test_same_seed_same_bundle(synth_csv, synth_fit, tmp_path):
    """On one machine, in one process, the same data and seed give byte-identical files."""
    out, m1 = synth_fit
    m2 = fit(FitOptions(data=synth_csv[0], out=tmp_path / "again", seed=3, bootstrap=0)).manifest.as_dict()
    assert m1["files"] == m2["files"]  # every file byte-identical, model files included
    assert stable(m1) == stable(m2)


def test_fit_without_arguments_reproduces_the_committed_bundle(default_bundle, predictor, tmp_path):
    """What matters, on any machine: the same segments for the same customers, arrays and
    statistics equal within a tight tolerance (another BLAS may change the last bits, and with
    them the bytes of model files — bytes are compared in-process only, above)."""
    committed = json.loads((default_bundle / "manifest.json").read_text())
    again = fit(FitOptions(out=tmp_path / "default")).manifest
    fresh = Predictor.from_dir(tmp_path / "default")
    probe = random_records(predictor.schema, 5_000, seed=2024)
    ours, theirs = predictor.predict_frame(probe), fresh.predict_frame(probe)
    assert (ours["segment_id"] == theirs["segment_id"]).all(), "rerun `python -m training fit --default` and commit"
    for name, arr in predictor.compiled.as_arrays().items():
        np.testing.assert_allclose(fresh.compiled.as_arrays()[name], arr, rtol=1e-9, atol=1e-12, err_msg=name)
    assert_close(stable(again.as_dict()), stable(committed))
    assert_close(fresh.bundle.summary.as_dict(), predictor.bundle.summary.as_dict())
    np.testing.assert_allclose(fresh.bundle.sample[["pc1", "pc2"]], predictor.bundle.sample[["pc1", "pc2"]],
                               atol=2e-4)


def assert_close(a, b, path="manifest"):
    """Equal JSON trees, floats within a relative 1e-6 (the manifest rounds to 4-7 digits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), f"{path}: keys differ: {set(a) ^ set(b)}"
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-9), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_tampered_file_is_refused(synth_fit, tmp_path):
    src, _ = synth_fit
    for name in ("model.skops", "serving.npz", "pca_sample.csv", "summary.json", "manifest.json"):
        copy = tmp_path / name.replace(".", "_")
        shutil.copytree(src, copy)
        target = copy / name
        data = bytearray(target.read_bytes())
        if name == "manifest.json":
            m = json.loads(data)
            m["files"]["model.skops"] = "0" * 64
            target.write_text(json.dumps(m))
        else:
            data[len(data) // 2] ^= 0xFF
            target.write_bytes(bytes(data))
        with pytest.raises(BundleError, match="does not match the manifest"):
            read_bundle(copy)


def test_other_sklearn_version_refuses_the_pipeline_not_the_serving_arrays(synth_fit, tmp_path):
    """Serving reads only arrays: another scikit-learn cannot change its answers. Loading the
    pipeline itself (model.skops) is refused with a hint."""
    copy = tmp_path / "old"
    shutil.copytree(synth_fit[0], copy)
    m = json.loads((copy / "manifest.json").read_text())
    m["library_versions"]["scikit-learn"] = "1.5.2"
    (copy / "manifest.json").write_text(json.dumps(m))
    assert Predictor.from_dir(copy).k == m["k"]
    with pytest.raises(BundleError, match=r"retrain the bundle, or pin scikit-learn==1\.5\.2"):
        load_pipeline(copy)


@pytest.mark.parametrize("name, loader, message", [
    ("serving.npz", "read_bundle", "serving.npz is missing"),
    ("summary.json", "read_bundle", "summary.json is missing"),
    ("model.skops", "load_pipeline", "model.skops is missing"),
])
def test_missing_file_is_refused(synth_fit, tmp_path, name, loader, message):
    copy = tmp_path / "partial"
    shutil.copytree(synth_fit[0], copy)
    (copy / name).unlink()
    with pytest.raises(BundleError, match=message):
        {"read_bundle": read_bundle, "load_pipeline": load_pipeline}[loader](copy)


def test_bundle_without_model_files_still_serves(synth_fit, tmp_path):
    """What the app downloads from the Hub: no model.skops, no joblib — it serves from arrays."""
    copy = tmp_path / "served"
    shutil.copytree(synth_fit[0], copy)
    for name in ("model.skops", "sklearn_model.joblib", "config.json"):
        (copy / name).unlink()
    shutil.rmtree(copy / "plots")
    p = Predictor.from_dir(copy)
    assert p.predict_one(p.schema.example())["segment_id"] in range(p.k)


def test_mall_customers_give_the_five_archetypes(shared_data, tmp_path):
    m = fit(FitOptions(data=shared_data / "Mall_Customers.csv", out=tmp_path / "mall", compare=False, bootstrap=0,
                       features=["Annual Income (k$)", "Spending Score (1-100)"], seed=1)).manifest.as_dict()
    assert m["k"] == 5
    assert sorted(s["archetype"] for s in m["segments"]) == sorted(
        ["premium", "potential", "deal_seekers", "low_value", "average"])
    by = {s["archetype"]: s for s in m["segments"]}
    inc = lambda a: by[a]["profile"]["numeric"]["Annual Income (k$)"]["mean"]  # noqa: E731
    spend = lambda a: by[a]["profile"]["numeric"]["Spending Score (1-100)"]["mean"]  # noqa: E731
    assert inc("premium") > 70 and spend("premium") > 70
    assert inc("potential") > 70 and spend("potential") < 30
    assert inc("deal_seekers") < 40 and spend("deal_seekers") > 70
    assert inc("low_value") < 40 and spend("low_value") < 30
    assert by["premium"]["name"].startswith("Premium")
    assert [f["name"] for f in m["schema"]["features"]] == ["Annual Income (k$)", "Spending Score (1-100)"]


def test_shared_customer_data_fits_unchanged(shared_data, tmp_path):
    m = fit(FitOptions(data=shared_data / "customer_segmentation_data.csv", out=tmp_path / "seg", seed=1,
                       compare=False, bootstrap=0)).manifest.as_dict()
    assert m["training"]["id_column"] == "id"
    assert len(m["schema"]["features"]) == 8
    assert m["clusterability"]["verdict"] in ("none", "weak")
    p = Predictor.from_dir(tmp_path / "seg")
    rec = p.schema.example()
    assert 0 <= p.predict_one(rec)["segment_id"] < m["k"]


def test_editing_the_offer_catalogue_changes_offers(synth_csv, tmp_path):
    import yaml
    from training.description.offers import DEFAULT_CATALOGUE
    cat = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    cat["default"][0]["title"] = "Edited newsletter"
    cat["rules"] = []
    path = tmp_path / "offers.yaml"
    path.write_text(yaml.safe_dump(cat))
    m = fit(FitOptions(data=synth_csv[0], out=tmp_path / "b", seed=3, offers=path, compare=False,
                       bootstrap=0)).manifest.as_dict()
    assert all(s["offers"][0]["title"] == "Edited newsletter" for s in m["segments"])


def test_bad_offer_catalogue_is_explained(tmp_path):
    from training.description.offers import load_catalogue
    path = tmp_path / "offers.yaml"
    path.write_text("default:\n  - title: only a title\n")
    with pytest.raises(ValueError, match="needs a title and a rationale"):
        load_catalogue(path)


def test_model_card_loads_back_with_huggingface_hub(synth_fit):
    from huggingface_hub import ModelCard
    out, m = synth_fit
    card = ModelCard.load(out / "README.md")
    assert card.data.library_name == "sklearn"
    assert {"clustering", "kmeans", "customer-segmentation"} <= set(card.data.tags)
    metrics = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert metrics["silhouette"] == m["metrics"]["silhouette"]
    text = card.text
    from model.contract.markdown import md_literal  # text from the data is literal Markdown in the card
    for s in m["segments"]:
        assert md_literal(s["name"]) in text and md_literal(s["offers"][0]["title"]) in text
    assert f"Verdict: {md_literal(m['clusterability']['verdict'])}" in text
    assert "## Choosing k" in text and "sio.load(\"model.skops\", trusted=" in text and "## Clustering algorithms compared" in text and "plots/elbow.png" in text
    config = json.loads((out / "config.json").read_text())
    assert config["sklearn"]["columns"] == [f["name"] for f in m["schema"]["features"]]


@pytest.mark.parametrize("lo, hi, hard", [(18, 74, (0, 250)), (15_000, 198_111, (0, 600_000)),
                                         (-3, 5, (-20, 25)), (0, 1, (0, 3))])
def test_hard_limits_are_the_widened_range_rounded_for_people(lo, hi, hard):
    """Values outside the hard limits are refused; the message quotes them, so they are round
    ("between 0 and 250", not "between 0 and 222") and never narrower than twice the span."""
    from training.reading.schema import HARD_MARGIN, build_schema
    frame = pd.DataFrame({"x": np.linspace(lo, hi, 11)})
    f = build_schema(frame, ["x"], [], None).numeric[0]
    assert (f.hard_min, f.hard_max) == hard
    span = max(hi - lo, abs(hi), 1.0)
    assert f.hard_max >= hi + HARD_MARGIN * span and (lo >= 0 or f.hard_min <= lo - HARD_MARGIN * span)
