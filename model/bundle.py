"""The bundle: the one contract between training and serving.

`write_bundle` and `read_bundle` mirror each other. The manifest records the format version, the
library versions and the sha256 of every other file; `read_bundle` refuses a bundle whose bytes or
versions do not match, and loads the model from `model.skops` with a trust list held in code —
`sklearn_model.joblib` is written for Hub users but never loaded here.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import pickle
import platform
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.errors import BundleError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_SKOPS = "model.skops"
MODEL_JOBLIB = "sklearn_model.joblib"
PCA_SKOPS = "pca.skops"
SAMPLE = "pca_sample.csv"
SUMMARY = "summary.json"
CARD = "README.md"
CONFIG = "config.json"
# Types outside skops' defaults that our pipelines need, listed by hand — never taken from the file.
# numpy.dtype: SimpleImputer records the dtype of the categorical columns it was fitted on (object);
# a dtype is a data descriptor, it runs no code. Anything else a file asks for is refused.
TRUSTED_TYPES: tuple[str, ...] = ("numpy.dtype",)
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Written for Hub users but never loaded here (joblib runs code on load), so never downloaded by
# the app: verified when present, not required.
NOT_LOADED = frozenset({MODEL_JOBLIB})
# Files parsed into memory (JSON, CSV) are refused above this size before they are hashed or read:
# the default bundle's largest is ~50 kB, and a 171 MB summary.json took 9 s and +470 MB to load.
MAX_DATA_FILE_BYTES = 8 * 2**20


def library_versions() -> dict[str, str]:
    import scipy
    import skops
    import sklearn
    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
            "skops": skops.__version__}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dumps_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, fixed indent, no NaN (refused rather than written)."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


_SKOPS_ID = re.compile(r'("__id__": )(\d+)|"(\d+)(\.npy)"')


def _skops_bytes(obj: Any) -> bytes:
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


def write_bundle(out_dir: Path, *, pipeline: Any, pca: Any, manifest: dict[str, Any],
                 sample: pd.DataFrame, summary: dict[str, Any], card: str,
                 extra_files: dict[str, bytes] | None = None) -> dict[str, Any]:
    """Write every bundle file to `out_dir` and return the final manifest (with versions and hashes).

    `manifest` holds the training results; this function adds `format_version`,
    `library_versions` and `files` (sha256 of every other file)."""
    out_dir = Path(out_dir)
    _clear_previous(out_dir)
    model_bytes = _skops_bytes(pipeline)
    files: dict[str, bytes] = {
        MODEL_SKOPS: model_bytes,
        PCA_SKOPS: _skops_bytes(pca),
        SAMPLE: sample.to_csv(index=False, float_format="%.5g", lineterminator="\n").encode(),
        SUMMARY: dumps_json(summary).encode(),
        CARD: card.encode(),
        **(extra_files or {}),
    }
    # Pickle the pipeline as loaded back from model.skops, so both files hold the very same model,
    # with the memo off: pickle memoises by object identity, and which equal strings a process
    # happens to share depends on what it ran before (joblib.load reads a plain pickle).
    import skops.io as sio
    joblib_buf = io.BytesIO()
    pickler = pickle.Pickler(joblib_buf, protocol=4)
    pickler.fast = True
    pickler.dump(sio.loads(model_bytes, trusted=list(TRUSTED_TYPES)))
    files[MODEL_JOBLIB] = joblib_buf.getvalue()
    for name, data in files.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    final = dict(manifest)
    final["format_version"] = FORMAT_VERSION
    final["library_versions"] = library_versions()
    final["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    (out_dir / MANIFEST).write_text(dumps_json(final), encoding="utf-8")
    return final


def _clear_previous(out_dir: Path) -> None:
    """Remove the files of an earlier bundle in `out_dir`; refuse a folder that holds other things."""
    out_dir.mkdir(parents=True, exist_ok=True)
    old = out_dir / MANIFEST
    if old.is_file():
        listed = json.loads(old.read_text(encoding="utf-8")).get("files", {})
        for name in [*listed, MANIFEST]:
            target = out_dir / name
            if ".." not in Path(name).parts and target.is_file():
                target.unlink()
    elif any(out_dir.iterdir()):
        raise BundleError(f"{out_dir} is not empty and holds no bundle; choose an empty folder")


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict[str, Any]
    pipeline: Any
    pca: Any
    sample: pd.DataFrame
    summary: dict[str, Any]


def check_size(fpath: Path, limit: int = MAX_DATA_FILE_BYTES) -> None:
    """Refuse a JSON or CSV file of a bundle that is too big to be one this app wrote."""
    size = Path(fpath).stat().st_size
    if size > limit:
        raise BundleError(f"{Path(fpath).name} is {size:,} bytes ({size / 2**20:.1f} MB); a bundle's data "
                          f"files are at most {limit / 2**20:g} MB: refusing to load it")


def read_manifest(path: Path) -> dict[str, Any]:
    mpath = Path(path) / MANIFEST
    if not mpath.is_file():
        raise BundleError(f"{path} is not a bundle: {MANIFEST} is missing")
    check_size(mpath)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{mpath} is not valid JSON: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format {manifest.get('format_version')!r} is not supported "
                          f"(this app reads format {FORMAT_VERSION}); retrain with this version")
    return manifest


def verify_files(path: Path, manifest: dict[str, Any]) -> None:
    """Every file listed in the manifest exists and has the recorded sha256."""
    files = manifest.get("files")
    if not isinstance(files, dict) or MODEL_SKOPS not in files:
        raise BundleError(f"{path}: the manifest lists no files to verify")
    for name in files:  # refuse an oversized data file before hashing anything
        fpath = Path(path) / name
        if fpath.suffix in (".json", ".csv") and ".." not in Path(name).parts and fpath.is_file():
            check_size(fpath)
    for name, expected in files.items():
        fpath = Path(path) / name
        if name in NOT_LOADED and not fpath.exists():
            continue
        if ".." in Path(name).parts or not fpath.is_file():
            raise BundleError(f"{path}: {name} is listed in the manifest but missing")
        actual = sha256_file(fpath)
        if actual != expected:
            raise BundleError(f"{path}: {name} does not match the manifest (sha256 {actual[:12]}… "
                              f"≠ {expected[:12]}…): the file was modified; refusing to load it")


def check_versions(manifest: dict[str, Any]) -> None:
    """Refuse a bundle built with another scikit-learn minor version: pickled estimators can
    silently compute different answers across versions."""
    built = manifest.get("library_versions", {}).get("scikit-learn", "")
    here = library_versions()["scikit-learn"]
    if built.split(".")[:2] != here.split(".")[:2]:
        raise BundleError(f"bundle was built with scikit-learn {built or '(unknown)'} but this app runs "
                          f"{here}: retrain the bundle, or pin scikit-learn=={built}")


def load_skops(path: Path) -> Any:
    import skops.io as sio
    try:
        untrusted = sio.get_untrusted_types(file=path)
        unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if unknown:
            raise BundleError(f"{path.name} needs types this app does not trust: {', '.join(unknown)}")
        return sio.load(path, trusted=list(TRUSTED_TYPES) or None)
    except BundleError:
        raise
    except Exception as exc:  # a corrupt zip, a schema skops cannot read …
        raise BundleError(f"{path.name} cannot be loaded: {type(exc).__name__}: {exc}") from exc


def read_bundle(path: Path | str) -> Bundle:
    """Verify and load a bundle folder. Raises BundleError with a hint on any problem."""
    path = Path(path)
    manifest = read_manifest(path)
    verify_files(path, manifest)
    check_versions(manifest)
    pipeline = load_skops(path / MODEL_SKOPS)
    pca = load_skops(path / PCA_SKOPS)
    check_size(path / SAMPLE)
    sample = pd.read_csv(path / SAMPLE)
    check_size(path / SUMMARY)
    summary = json.loads((path / SUMMARY).read_text(encoding="utf-8"))
    log.info("loaded bundle %s (k=%s, built %s)", path, manifest.get("k"), manifest.get("created_at"))
    return Bundle(path=path, manifest=manifest, pipeline=pipeline, pca=pca, sample=sample,
                  summary=summary)
