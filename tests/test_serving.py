"""The serving arrays (serving.npz) agree with the scikit-learn pipeline they were compiled from,
and the file format refuses anything but the arrays it expects."""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from model.contract.bundle import read_bundle
from model.contract.files import SERVING
from model.contract.writing import load_pipeline
from model.contract.errors import BundleError
from model.contract.schema import CategoricalFeature, NumericFeature, Schema
from model.serving.arrays import ARRAYS, load_arrays, save_arrays
from model.serving.compiled import Compiled
from model.serving.single import OneCustomer
from tests.test_predictor import random_records
from training.compile import compile_pipeline
from training.selection.preprocess import make_pipeline, make_preprocessor


def _codes(schema: Schema, frame: pd.DataFrame) -> np.ndarray:
    if not schema.categorical:
        return np.zeros((len(frame), 0), dtype=np.int64)
    return np.column_stack([frame[f.name].map({lv: i for i, lv in enumerate(f.levels)}).fillna(-1)
                            .to_numpy(dtype=np.int64) for f in schema.categorical])


def _pipeline_input(schema: Schema, frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype({f.name: object for f in schema.categorical})
    return out.where(out.notna(), np.nan)


def test_default_bundle_arrays_equal_the_skops_pipeline_on_100k_records(default_bundle, predictor):
    pipe = load_pipeline(default_bundle)
    schema = predictor.schema
    frame = random_records(schema, 100_000, seed=1, missing=0.03)
    num = frame[[f.name for f in schema.numeric]].to_numpy(float)
    labels, runner, two, _ = predictor.compiled.run(num, _codes(schema, frame))
    assert (labels == pipe.predict(_pipeline_input(schema, frame))).all()
    z = pipe.named_steps["prep"].transform(_pipeline_input(schema, frame))
    np.testing.assert_allclose(predictor.compiled.transform(num, _codes(schema, frame)), z, atol=1e-9)
    d = pipe.named_steps["cluster"].transform(z)  # distances to every centre
    order = np.argsort(d, axis=1, kind="stable")
    np.testing.assert_allclose(two, np.take_along_axis(d, order[:, :2], axis=1), rtol=1e-7, atol=1e-7)
    clear = (d[np.arange(len(d)), order[:, 2]] - d[np.arange(len(d)), order[:, 1]] > 1e-9) if d.shape[1] > 2 \
        else np.ones(len(d), bool)
    assert (runner[clear] == order[clear, 1]).all()


def _fit_small(log: tuple[str, ...], seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 3_000
    frame = pd.DataFrame({
        "spend": rng.lognormal(5, 1.2, n), "orders": rng.poisson(3, n).astype(float) + 1,
        "age": rng.normal(40, 12, n).round(),
        "channel": rng.choice(np.array(["web", "shop", "app"], dtype=object), n),
    })
    schema = Schema(features=(
        *(NumericFeature(name=c, label=c, min=float(frame[c].min()), max=float(frame[c].max()),
                         median=float(frame[c].median()), hard_min=0.0, hard_max=float(frame[c].max()) * 3,
                         transform="log1p" if c in log else None) for c in ("spend", "orders", "age")),
        CategoricalFeature(name="channel", label="Channel", levels=("app", "shop", "web"), mode="web"),
    ))
    prep = make_preprocessor(["spend", "orders", "age"], ["channel"], [["app", "shop", "web"]], log=log)
    z = prep.fit_transform(frame)
    km = KMeans(4, n_init=3, random_state=seed).fit(z)
    pca = PCA(2, random_state=seed).fit(z)
    return make_pipeline(prep, km), pca, schema


@pytest.mark.parametrize("log", [(), ("spend", "orders"), ("orders",)])
def test_compiled_equals_pipeline_with_log_branches(log):
    """The log1p branch puts columns in another order inside the pipeline; the arrays are in
    schema order and still agree, missing values included."""
    pipe, pca, schema = _fit_small(log)
    compiled = compile_pipeline(pipe, pca, schema)
    assert compiled.num_log1p.tolist() == [c in log for c in ("spend", "orders", "age")]
    frame = random_records(schema, 100_000, seed=5, missing=0.05)
    num = frame[["spend", "orders", "age"]].to_numpy(float)
    labels, _, _, pts = compiled.run(num, _codes(schema, frame))
    assert (labels == pipe.predict(_pipeline_input(schema, frame))).all()
    expected = pca.transform(pipe.named_steps["prep"].transform(_pipeline_input(schema, frame)))
    np.testing.assert_allclose(pts, expected, atol=1e-9)
    for i in range(0, 2_000, 97):  # one record in plain Python = the block path
        rec_num = [None if np.isnan(v) else float(v) for v in num[i]]
        code = _codes(schema, frame.iloc[[i]])[0, 0]
        one = OneCustomer(schema, [], compiled).score(rec_num, [None if code < 0 else int(code)])
        assert one[0] == labels[i]
        assert one[4:6] == pytest.approx(tuple(pts[i]), abs=1e-9)


def test_why_pulls_sum_to_the_distance_gap(default_bundle, predictor):
    pipe = load_pipeline(default_bundle)
    schema = predictor.schema
    frame = random_records(schema, 300, seed=9)
    d = pipe.named_steps["cluster"].transform(pipe.named_steps["prep"].transform(_pipeline_input(schema, frame)))
    for i, rec in enumerate(frame.to_dict("records")):
        checked = schema.check(rec).values
        num = [checked[f.name] for f in schema.numeric]
        codes = [f.levels.index(checked[f.name]) for f in schema.categorical]
        a, b, *_, z, cs = predictor.one.score(num, codes)
        pulls = predictor.one.pulls(z, cs, a, b)
        assert sum(pulls) == pytest.approx(d[i, b] ** 2 - d[i, a] ** 2, abs=1e-8)
        why = predictor.predict_one(rec)["why"]
        assert why and all(w["pull"] > 0 for w in why)
        assert [w["pull"] for w in why] == sorted((w["pull"] for w in why), reverse=True)


def test_why_in_original_units(predictor):
    r = predictor.predict_one(predictor.schema.example())
    seg, other = predictor.segments[r["segment_id"]], predictor.segments[r["runner_up"]["segment_id"]]
    top = r["why"][0]
    assert top["text"].startswith(top["label"])
    assert seg.name.split(" · ")[0] in top["text"] and other.name.split(" · ")[0] in top["text"]


def test_batch_why_lists_the_strongest_features(predictor):
    frame = random_records(predictor.schema, 2_000, seed=12)
    out = predictor.predict_frame(frame)
    labels = {f.label for f in predictor.schema.features}
    for i in range(0, 2_000, 37):
        one = predictor.predict_one(frame.iloc[i].to_dict())
        assert out["why"].iat[i] == "; ".join(w["label"] for w in one["why"][:2])
        assert set(out["why"].iat[i].split("; ")) <= labels


def test_serving_file_is_deterministic_and_only_arrays(predictor, tmp_path):
    data = save_arrays(predictor.compiled.as_arrays())
    assert data == save_arrays(predictor.compiled.as_arrays())
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == sorted(f"{n}.npy" for n in ARRAYS)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    path = tmp_path / "s.npz"
    path.write_bytes(data)
    again = load_arrays(path)
    for name in ARRAYS:
        np.testing.assert_array_equal(again[name], predictor.compiled.as_arrays()[name])


@pytest.mark.parametrize("mutate, message", [
    (lambda a: a.__setitem__("centres", a["centres"][:, :-1]), "shape"),
    (lambda a: a.__setitem__("num_scale", np.where(np.arange(len(a["num_scale"])) == 0, np.nan, a["num_scale"])),
     "NaN"),
    (lambda a: a.__setitem__("cat_fill", a["cat_fill"].astype(float)), "dtype"),
    (lambda a: a.pop("pca_mean"), "must hold exactly"),
])
def test_bad_serving_arrays_are_refused(predictor, tmp_path, mutate, message):
    arrays = dict(predictor.compiled.as_arrays())
    mutate(arrays)
    path = tmp_path / "s.npz"
    with zipfile.ZipFile(path, "w") as zf:  # written by hand: save_arrays refuses these itself
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr)
            zf.writestr(f"{name}.npy", buf.getvalue())
    schema = predictor.schema
    with pytest.raises(BundleError, match=message):
        Compiled.from_arrays(load_arrays(path), n_numeric=len(schema.numeric),
                             levels=[len(f.levels) for f in schema.categorical], k=predictor.k)


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "s.npz"
    np.savez(path, **{name: np.array([{"x": 1}], dtype=object) for name in ARRAYS})
    with pytest.raises(BundleError, match="dtype object"):
        load_arrays(path)


def test_tampered_serving_file_is_refused(default_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(default_bundle, copy)
    data = bytearray((copy / SERVING).read_bytes())
    data[-30] ^= 1
    (copy / SERVING).write_bytes(bytes(data))
    with pytest.raises(BundleError, match="does not match the manifest"):
        read_bundle(copy)


def test_serving_imports_neither_sklearn_nor_skops(app_url, predictor):
    """The running app, after answering a customer, has mapped no compiled code of scikit-learn or
    scipy (/proc/<pid>/maps lists every shared object a process loaded), though this venv has them.
    Not matplotlib: Gradio imports it around every event when it is installed (utils.
    MatplotlibBackendMananger), which the Space's install is not. The pure-Python skops and joblib
    leave no trace here: the app serves from a venv without any of them (tests/test_space_install.py),
    and no module of app.py, space/ or model/ but the bundle writer imports them (tests/test_layout.py)."""
    import httpx

    from tests.server import PIDS
    record = predictor.schema.example()
    assert httpx.post(app_url + "/predict", json=record).status_code == 200
    shared = {line.split()[-1] for line in Path(f"/proc/{PIDS[app_url]}/maps").read_text().splitlines()
              if ".so" in line.rsplit("/", 1)[-1]}
    top = {Path(p).parts[Path(p).parts.index("site-packages") + 1] for p in shared if "site-packages" in p}
    assert "numpy" in top and "pandas" in top  # the check sees the compiled libraries that are there
    assert not top & {"sklearn", "scikit_learn.libs", "scipy", "scipy.libs"}, sorted(top)


def test_explainer_handles_a_single_segment_pair(predictor):
    z = [0.0] * len(predictor.schema.numeric)
    assert predictor.one.why({}, z, [0] * len(predictor.schema.categorical), 1, 1) == []
