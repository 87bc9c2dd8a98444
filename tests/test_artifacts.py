"""Model files: nothing outside tests/ unpickles, a skops file that needs an untrusted type is
refused, and the committed default bundle needs nothing beyond the trust list held in code."""
from __future__ import annotations

import ast
import hashlib
import json
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from model.contract.bundle import read_bundle
from model.contract.files import MODEL_JOBLIB, MODEL_SKOPS
from model.contract.writing import TRUSTED_TYPES, load_pipeline, load_skops
from model.contract.errors import BundleError

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", ".venv-space", "tests", ".git", "node_modules", "__pycache__", "test-artifacts"}
UNPICKLERS = {"pickle", "cPickle", "_pickle", "cloudpickle", "dill", "joblib", "marshal", "shelve"}


def _python_files() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if not SKIP_DIRS & set(p.relative_to(ROOT).parts)]


def _unpickling(tree: ast.AST) -> list[str]:
    """Calls and imports that deserialise with pickle semantics (code runs on load)."""
    found = []
    alias = {a.asname: a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for a in node.names if a.asname}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in {"cloudpickle", "dill", "shelve"}]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module.split(".")[0]
            if base in UNPICKLERS and any(a.name in {"load", "loads", "Unpickler"} for a in node.names):
                found.append(f"from {node.module} import load")
            elif base in {"cloudpickle", "dill"}:
                found.append(f"from {node.module}")
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            owner = fn.value.id if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) else ""
            owner = alias.get(owner, owner)
            if owner in UNPICKLERS and name in {"load", "loads", "Unpickler", "open"}:
                found.append(f"{owner}.{name}")
            elif name == "read_pickle":
                found.append("read_pickle")
            elif name == "load" and any(k.arg == "allow_pickle" and not (isinstance(k.value, ast.Constant)
                                                                          and k.value.value is False)
                                        for k in node.keywords):
                found.append(f"{owner}.load(allow_pickle=...)")
    return found


def test_nothing_outside_tests_unpickles():
    files = _python_files()
    assert len(files) > 20 and ROOT / "model" / "contract" / "bundle.py" in files
    offenders = {}
    for path in files:
        hits = _unpickling(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        if hits:
            offenders[str(path.relative_to(ROOT))] = hits
    assert offenders == {}


def test_no_unpickling_text_outside_tests():
    """The plain grep, for what the AST walk could miss (code in strings, exec)."""
    pattern = re.compile(r"\b(joblib\.load|pickle\.loads?|cloudpickle\.\w|dill\.\w|import (cloudpickle|dill))\b")
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in _python_files()
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line.split("#")[0])]
    assert hits == []


def test_the_unpickling_detector_finds_what_it_should():
    bad = ("import joblib\nimport dill\njoblib.load('m')\npickle.loads(b'')\nfrom cloudpickle import loads\n"
           "import pandas as pd\npd.read_pickle('x')\nnp.load('a.npy', allow_pickle=True)\n"
           "import pickle as pk\npk.load(fh)\n")
    assert len(_unpickling(ast.parse(bad))) == 7
    assert _unpickling(ast.parse("import joblib\njoblib.dump(m, 'f')\nnp.load('a', allow_pickle=False)\n")) == []


def _triple(x):
    """A user-defined function: skops must be told to trust it, and the app never does."""
    return x * 3


def _crafted(path: Path) -> Path:
    pipe = Pipeline([("custom", FunctionTransformer(_triple)), ("scale", StandardScaler())])
    pipe.fit(np.arange(12.0).reshape(6, 2))
    sio.dump(pipe, path)
    return path


def test_skops_file_needing_an_untrusted_type_is_refused(tmp_path):
    path = _crafted(tmp_path / "model.skops")
    assert f"{__name__}._triple" in sio.get_untrusted_types(file=path)
    with pytest.raises(BundleError, match=r"model\.skops needs types this app does not trust: .*_triple"):
        load_skops(path)


def _rehash(bundle: Path, name: str) -> None:
    manifest_path = bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def test_bundle_with_an_untrusted_model_is_refused_even_when_its_hashes_match(default_bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(default_bundle, copy)
    _crafted(copy / MODEL_SKOPS)
    _rehash(copy, MODEL_SKOPS)  # a consistent, re-signed manifest: integrity alone would pass
    with pytest.raises(BundleError, match="does not trust") as info:
        load_pipeline(copy)
    assert "_triple" in str(info.value)
    assert read_bundle(copy).manifest.k >= 2  # serving never loads model.skops at all


class _Marker:
    """Unpickling this writes a file: proof that a pickle was executed."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "executed"))


def test_the_joblib_file_is_never_loaded(default_bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(default_bundle, copy)
    marker = tmp_path / "marker"
    (copy / MODEL_JOBLIB).write_bytes(pickle.dumps(_Marker(str(marker))))
    _rehash(copy, MODEL_JOBLIB)
    bundle = read_bundle(copy)
    pipeline = load_pipeline(copy)
    assert not marker.exists() and bundle.compiled.k == len(pipeline.named_steps["cluster"].cluster_centers_)


def test_default_bundle_needs_only_trusted_types_and_round_trips(default_bundle, predictor, tmp_path):
    path = default_bundle / MODEL_SKOPS
    untrusted = set(sio.get_untrusted_types(file=path))
    assert untrusted <= set(TRUSTED_TYPES), untrusted - set(TRUSTED_TYPES)
    obj = load_skops(path)
    again = tmp_path / MODEL_SKOPS
    sio.dump(obj, again)
    assert set(sio.get_untrusted_types(file=again)) <= set(TRUSTED_TYPES)
    reloaded = load_skops(again)
    ex = predictor.schema.example()
    frame = pd.DataFrame([ex, {**ex, "gender": "Male"}, {**ex, predictor.schema.names[0]: np.nan}])
    np.testing.assert_array_equal(obj.predict(frame), reloaded.predict(frame))
    served = [predictor.predict_one({k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()})
              ["segment_id"] for r in frame.to_dict("records")]
    np.testing.assert_array_equal(obj.predict(frame), served)


def test_a_log_branch_needs_only_trusted_types(tmp_path):
    """numpy.log1p (the skewed-feature branch) is on the trust list, and nothing else is needed."""
    from tests.test_serving import _fit_small
    pipe, _, _ = _fit_small(("spend",))
    path = tmp_path / MODEL_SKOPS
    sio.dump(pipe, path)
    assert set(sio.get_untrusted_types(file=path)) <= set(TRUSTED_TYPES)
    assert load_skops(path).named_steps["prep"].named_transformers_["log"].named_steps["log"].func is np.log1p
