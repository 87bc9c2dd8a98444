"""Old bundles keep loading: one reader per past format (model.contract.formats), each tested on a
committed bundle written by the code of its time (tests/fixtures/bundles/PROVENANCE.md), locally and
through the Hub loader; a format this app does not know is refused with what to do."""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from model.contract import formats
from model.contract.bundle import read_bundle, served_files
from model.contract.errors import REBUILD, BundleError, ManifestError
from model.contract.manifest import FORMAT_VERSION
from model.serving.compiled import ARRAYS
from model.serving.predictor import Predictor
from tests.hub_server import HubServer, allow_loopback_calls
from tests.test_predictor import random_records

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bundles"
FORMAT_1, FORMAT_2_FIRST = FIXTURES / "format-1", FIXTURES / "format-2-first"
REPO, TOKEN = "acme/old-segments", "hf_loopbackTokenForTests0123456789abcdef"


def test_every_format_up_to_the_current_one_has_a_reader():
    assert sorted(formats.READERS) == list(range(1, FORMAT_VERSION + 1))
    assert all(formats.READERS[v].FORMAT == v for v in formats.READERS)
    assert f"formats 1 and {FORMAT_VERSION}" in REBUILD


@pytest.mark.parametrize("folder, version", [(FORMAT_1, 1), (FORMAT_2_FIRST, 2)], ids=["format-1", "format-2-first"])
def test_a_committed_bundle_of_each_format_is_what_its_name_says(folder, version):
    """The fixtures are the real thing: the format they claim, every file checked by its sha256."""
    raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert raw["format_version"] == version
    assert formats.reader(raw).FORMAT == version
    assert set(served_files(folder)) == {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("folder", [FORMAT_1, FORMAT_2_FIRST], ids=["format-1", "format-2-first"])
def test_a_bundle_of_each_format_serves_every_surface_of_the_predictor(folder):
    predictor = Predictor.from_dir(folder)
    one = predictor.predict_one(predictor.schema.example())
    assert 0 <= one["segment_id"] < predictor.manifest.k and one["segment_name"] and one["offers"]
    assert one["why"] and 0 <= one["margin"] <= 1
    scored = predictor.predict_frame(random_records(predictor.schema, 200, seed=4))
    assert (scored["error"] == "").all() and scored["segment_id"].between(0, predictor.manifest.k - 1).all()


def test_format_1_and_format_2_of_the_same_fit_give_the_same_answers():
    """The two fixtures hold one model (same data, seed and fit): the format-1 reader, which
    assembles the serving arrays from skops files read as data, gives what serving.npz holds."""
    old, new = Predictor.from_dir(FORMAT_1), Predictor.from_dir(FORMAT_2_FIRST)
    for name in ARRAYS:
        np.testing.assert_allclose(getattr(old.compiled, name), getattr(new.compiled, name), rtol=0, atol=1e-12,
                                   err_msg=name)
    frame = random_records(old.schema, 500, seed=8, missing=0.1)
    a, b = old.predict_frame(frame), new.predict_frame(frame)
    assert (a["segment_id"] == b["segment_id"]).all() and np.allclose(a["margin"], b["margin"])
    assert old.manifest.license == "mit"  # format 1's card said mit when the manifest named no licence


def test_the_format_1_reader_equals_skops_and_training_s_compiler():
    """Reading model.skops and pca.skops as data gives exactly the arrays that loading them with
    skops (trust list in code) and compiling them as training does give."""
    from model.contract.writing import load_skops
    from training.compile import compile_pipeline
    ours = read_bundle(FORMAT_1)
    theirs = compile_pipeline(load_skops(FORMAT_1 / "model.skops"), load_skops(FORMAT_1 / "pca.skops"),
                              ours.manifest.schema)
    for name in ARRAYS:
        assert np.array_equal(getattr(ours.compiled, name), getattr(theirs, name)), name


def _rewrite(folder: Path, name: str, data: bytes) -> None:
    """Replace a file and its sha256 in the manifest: a well-formed bundle with other content."""
    import hashlib
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_format_1_model_of_another_shape_is_refused_by_name(tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(FORMAT_1, copy)
    src = zipfile.ZipFile(copy / "pca.skops")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "schema.json":
                data = data.replace(b'"__class__": "PCA"', b'"__class__": "TruncatedSVD"', 1)
            dst.writestr(info, data)
    _rewrite(copy, "pca.skops", out.getvalue())
    with pytest.raises(BundleError, match="pca.skops must be a fitted PCA, found sklearn.decomposition._pca.TruncatedSVD"):
        read_bundle(copy)
    _rewrite(copy, "pca.skops", b"not a zip")
    with pytest.raises(BundleError, match="pca.skops cannot be read"):
        read_bundle(copy)


def test_a_tampered_format_1_model_file_is_refused(tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(FORMAT_1, copy)
    data = bytearray((copy / "model.skops").read_bytes())
    data[-100] ^= 1
    (copy / "model.skops").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.skops does not match the manifest"):
        read_bundle(copy)


@pytest.mark.parametrize("version, message", [
    (3, "bundle format 3 is newer than this app, which reads formats 1 to 2: update the app"),
    (99, "pin MODEL_REVISION to one"),
    (0, "bundle format 0 never existed"),
    ("2", "format_version must be a whole number, got '2'"),
    (None, "format_version must be a whole number, got None"),
])
def test_an_unknown_format_is_refused_with_what_to_do(tmp_path, version, message):
    copy = tmp_path / "b"
    shutil.copytree(FORMAT_2_FIRST, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = version
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ManifestError, match=message.replace("(", r"\(")):
        read_bundle(copy)


def test_a_format_1_bundle_pinned_on_the_hub_is_fetched_with_its_skops_files_and_served(monkeypatch, tmp_path):
    """The Hub loader fetches what the format's reader needs — the two skops files as well, never
    the pickle — and the bundle serves."""
    from space.hub import fetch_bundle
    from training.publishing.push import push_bundle
    allow_loopback_calls(monkeypatch)
    repo = tmp_path / "repo"
    shutil.copytree(FORMAT_1, repo)
    (repo / "sklearn_model.joblib").write_bytes(b"\x80\x04never downloaded")
    hub = HubServer(token=TOKEN).start()
    try:
        sha = push_bundle(repo, REPO, endpoint=hub.url, token=TOKEN).commit_sha
        got = fetch_bundle(REPO, sha, endpoint=hub.url, cache_dir=tmp_path / "cache", timeout_s=10)
        assert sorted(p.name for p in got.iterdir()) == sorted(served_files(FORMAT_1))
        again = fetch_bundle(REPO, sha, endpoint=hub.url, cache_dir=tmp_path / "cache", timeout_s=10)
        assert again == got  # the cached snapshot is complete: served from the cache
    finally:
        hub.stop()
    predictor = Predictor.from_dir(got)
    assert predictor.predict_one(predictor.schema.example())["segment_name"]
