"""Writing a bundle, and loading its scikit-learn pipeline: the build side of `model.contract.bundle`.

Imported by training, the tests and the benchmarks only — never by the serving process, which
reads bundles with `model.contract.bundle.read_bundle` and imports neither scikit-learn nor skops
(tests/test_serving.py, tests/test_layout.py). `write_bundle` is pure and deterministic: the same
model gives the same bytes on one machine (skops ids renumbered, zip timestamps fixed, pickle memo
off).
"""
from __future__ import annotations

import hashlib
import io
import json
import platform
import re
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from model.contract.bundle import dumps_json, read_manifest, served_files, verify_files
from model.contract.files import CARD, MANIFEST, MODEL_JOBLIB, MODEL_SKOPS, SAMPLE, SERVING, SUMMARY
from model.contract.errors import BundleError
from model.contract.manifest import FORMAT_VERSION, Manifest, Summary
from model.serving.arrays import save_arrays
from model.serving.compiled import Compiled
from model.contract.files import TRUSTED_TYPES  # noqa: F401  (the writer's readers import it from here too)

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "skops")


def library_versions() -> dict[str, str]:
    """Installed versions (from package metadata: nothing is imported)."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


_SKOPS_ID = re.compile(r'("__id__": )(\d+)|"(\d+)(\.npy)"')


def skops_bytes(obj: Any) -> bytes:
    """skops.io.dumps made deterministic: skops names arrays and memo entries after Python object
    ids (memory addresses) and stamps zip entries with the time; renumber the ids in order of
    first appearance and fix the timestamps, so the same model gives the same bytes."""
    import skops.io as sio
    raw = sio.dumps(obj)
    with zipfile.ZipFile(io.BytesIO(raw)) as src:
        schema = src.read("schema.json").decode("utf-8")
        ids: dict[str, str] = {}

        def renumber(m: re.Match[str]) -> str:
            old = m.group(2) or m.group(3)
            new = ids.setdefault(old, str(len(ids) + 1))
            return f"{m.group(1)}{new}" if m.group(1) else f'"{new}{m.group(4)}"'
        schema = _SKOPS_ID.sub(renumber, schema)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                name = info.filename
                if name == "schema.json":
                    data = schema.encode("utf-8")
                else:
                    stem, dot, ext = name.partition(".")
                    if stem not in ids:
                        raise BundleError(f"skops wrote {name}, which its schema does not reference")
                    name, data = ids[stem] + dot + ext, src.read(info.filename)
                fixed = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
                fixed.compress_type = info.compress_type
                fixed.external_attr = info.external_attr
                dst.writestr(fixed, data)
    return out.getvalue()


def write_bundle(out_dir: Path, *, manifest: Manifest, compiled: Compiled, pipeline: Any,
                 sample: pd.DataFrame, summary: Summary, card: str,
                 extra_files: dict[str, bytes] | None = None) -> Manifest:
    """Write every bundle file to `out_dir` and return the final manifest (library versions and
    the sha256 of every file filled in)."""
    import pickle

    import skops.io as sio
    out_dir = Path(out_dir)
    _clear_previous(out_dir)
    model_bytes = skops_bytes(pipeline)
    files: dict[str, bytes] = {
        SERVING: save_arrays(compiled.as_arrays()),
        MODEL_SKOPS: model_bytes,
        SAMPLE: sample.to_csv(index=False, float_format="%.5g", lineterminator="\n").encode(),
        SUMMARY: dumps_json(summary.as_dict()).encode(),
        CARD: card.encode(),
        **(extra_files or {}),
    }
    # Pickle the pipeline as loaded back from model.skops, so both files hold the very same model,
    # with the memo off: pickle memoises by object identity, and which equal strings a process
    # happens to share depends on what it ran before (joblib.load reads a plain pickle).
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=4)
    pickler.fast = True
    pickler.dump(sio.loads(model_bytes, trusted=list(TRUSTED_TYPES)))
    files[MODEL_JOBLIB] = buf.getvalue()
    for name, data in files.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    final = Manifest.read({**manifest.as_dict(), "format_version": FORMAT_VERSION,
                           "library_versions": library_versions(),
                           "files": {n: hashlib.sha256(d).hexdigest() for n, d in sorted(files.items())}})
    (out_dir / MANIFEST).write_text(dumps_json(final.as_dict()), encoding="utf-8")
    return final


def _clear_previous(out_dir: Path) -> None:
    """Remove the files of an earlier bundle in `out_dir`; refuse a folder that holds other things."""
    out_dir.mkdir(parents=True, exist_ok=True)
    old = out_dir / MANIFEST
    if old.is_file():
        try:
            listed = json.loads(old.read_text(encoding="utf-8")).get("files", {})
        except (ValueError, AttributeError):
            listed = {}
        for name in [*listed, MANIFEST, "pca.skops"]:  # pca.skops: format 1 wrote it
            target = out_dir / name
            if ".." not in Path(name).parts and target.is_file():
                target.unlink()
    elif any(out_dir.iterdir()):
        raise BundleError(f"{out_dir} is not empty and holds no bundle; choose an empty folder")


def load_pipeline(path: Path | str) -> Any:
    """The scikit-learn pipeline of a bundle (model.skops), verified and loaded with the trust
    list in code. For tests and Hub users; serving never calls it."""
    path = Path(path)
    manifest = read_manifest(path)
    verify_files(path, manifest, served_files(path))
    if not (path / MODEL_SKOPS).is_file():
        raise BundleError(f"{path}: {MODEL_SKOPS} is missing")
    built = manifest.library_versions.get("scikit-learn", "")
    here = library_versions()["scikit-learn"]
    if built.split(".")[:2] != here.split(".")[:2]:
        raise BundleError(f"bundle was built with scikit-learn {built or '(unknown)'} but this process runs "
                          f"{here}: retrain the bundle, or pin scikit-learn=={built}")
    return load_skops(path / MODEL_SKOPS)


def load_skops(path: Path) -> Any:
    import skops.io as sio
    try:
        unknown = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if unknown:
            raise BundleError(f"{path.name} needs types this app does not trust: {', '.join(unknown)}")
        return sio.load(path, trusted=list(TRUSTED_TYPES))
    except BundleError:
        raise
    except Exception as exc:  # a corrupt zip, a schema skops cannot read …
        raise BundleError(f"{path.name} cannot be loaded: {type(exc).__name__}: {exc}") from exc
