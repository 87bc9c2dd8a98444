"""The bundle: the one contract between training and serving.

`write_bundle` and `read_bundle` mirror each other. The manifest (`model.contract.manifest.Manifest`)
records the format version, the library versions and the sha256 of every other file.

Serving reads only data files: manifest.json and summary.json (typed records), serving.npz (the
compiled model: `numpy.load(..., allow_pickle=False)`), pca_sample.csv and the card. Each is
size-capped before it is parsed and checked against its sha256. `model.skops` (the scikit-learn
pipeline, for Hub users) is verified when present and loaded only by `load_pipeline`, with a
trust list held in code and the scikit-learn version checked; `sklearn_model.joblib` is written
for the Hub's sklearn conventions and never loaded.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import platform
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.contract.errors import BundleError
from model.contract.manifest import FORMAT_VERSION, Manifest, Summary
from model.serving.arrays import expected_shapes, load_arrays, save_arrays
from model.serving.compiled import Compiled

log = logging.getLogger(__name__)

# the embedded default bundle: the fallback every Space relies on (rebuilt only by `make bundle`)
DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parents[1] / "artifacts" / "default"
MANIFEST = "manifest.json"
SERVING = "serving.npz"
MODEL_SKOPS = "model.skops"
MODEL_JOBLIB = "sklearn_model.joblib"
SAMPLE = "pca_sample.csv"
SUMMARY = "summary.json"
CARD = "README.md"
CONFIG = "config.json"
RULES_SQL = "segment_rules.sql"
SERVED = (MANIFEST, SERVING, SAMPLE, SUMMARY, CARD, RULES_SQL)  # what the app needs, nothing more
# Files are refused above these sizes before they are hashed or parsed: the default bundle's largest
# data file is ~60 kB, and a 171 MB summary.json took 9 s and +470 MB to load.
MAX_DATA_FILE_BYTES = 8 * 2**20
CAPS = {MANIFEST: MAX_DATA_FILE_BYTES, SUMMARY: MAX_DATA_FILE_BYTES, SAMPLE: MAX_DATA_FILE_BYTES,
        CARD: MAX_DATA_FILE_BYTES, RULES_SQL: MAX_DATA_FILE_BYTES, SERVING: 64 * 2**20}
# Types outside skops' defaults that our pipelines need, listed by hand — never taken from the file.
# numpy.dtype: SimpleImputer records the dtype it was fitted on; numpy.log1p: the "log" branch's
# FunctionTransformer. Neither runs code of the file's choosing. Anything else is refused.
TRUSTED_TYPES: tuple[str, ...] = ("numpy.dtype", "numpy.log1p")
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


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: Manifest
    compiled: Compiled
    sample: pd.DataFrame  # pc1, pc2, segment
    summary: Summary
    manifest_sha256: str  # names the whole bundle: the manifest holds the sha256 of every other file


def _check_size(path: Path, name: str) -> Path:
    """A served file's path, refused before anything reads it when it is missing or over its cap."""
    fpath = path / name
    if not fpath.is_file():
        raise BundleError(f"{path}: {name} is missing")
    size, cap = fpath.stat().st_size, CAPS[name]
    if size > cap:
        raise BundleError(f"{name} is {size:,} bytes ({size / 2**20:.1f} MB); a bundle's {name} is at most "
                          f"{cap / 2**20:g} MB: refusing to load it")
    return fpath


def _read_capped(path: Path, name: str) -> bytes:
    return _check_size(path, name).read_bytes()


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(f"{what} is not valid JSON: {str(exc)[:200]}") from None


def read_manifest(path: Path | str) -> Manifest:
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise BundleError(f"{path} is not a bundle: {MANIFEST} is missing")
    return Manifest.read(_json(_read_capped(path, MANIFEST), f"{path / MANIFEST}"))


def verify_files(path: Path, manifest: Manifest) -> None:
    """Every served file is listed and present; every listed file that is present has its sha256."""
    unlisted = [n for n in SERVED if n != MANIFEST and n not in manifest.files]
    if unlisted:
        raise BundleError(f"{path}: the manifest does not list {', '.join(unlisted)}")
    for name, expected in manifest.files.items():
        fpath = Path(path) / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise BundleError(f"{path}: the manifest lists a file outside the bundle: {name[:80]!r}")
        if not fpath.is_file():
            if name in SERVED:
                raise BundleError(f"{path}: {name} is listed in the manifest but missing")
            continue  # model.skops, the joblib file, plots: for Hub users, not downloaded by the app
        actual = sha256_file(fpath)
        if actual != expected:
            raise BundleError(f"{path}: {name} does not match the manifest (sha256 {actual[:12]}… "
                              f"≠ {expected[:12]}…): the file was modified; refusing to load it")


def read_bundle(path: Path | str) -> Bundle:
    """Verify and load a bundle folder for serving. Raises BundleError with a hint on any problem."""
    path = Path(path)
    manifest = read_manifest(path)
    for name in SERVED:  # size caps before hashing or parsing anything
        _check_size(path, name)
    verify_files(path, manifest)
    schema = manifest.schema
    shape = {"n_numeric": len(schema.numeric), "levels": [len(f.levels) for f in schema.categorical], "k": manifest.k}
    edit = manifest.edit  # segments people merged have several centres each (model.editing)
    centres = sum(map(len, edit.groups)) if edit is not None and any(len(g) > 1 for g in edit.groups) else None
    compiled = Compiled.from_arrays(load_arrays(path / SERVING, expected_shapes(**shape, centres=centres)), **shape)
    summary = Summary.read(_json(_read_capped(path, SUMMARY), f"{path / SUMMARY}"))
    sample = _read_sample(_read_capped(path, SAMPLE), manifest.k, path)
    log.info("loaded bundle %s (k=%s, built %s)", path, manifest.k, manifest.created_at)
    return Bundle(path=path, manifest=manifest, compiled=compiled, sample=sample, summary=summary,
                  manifest_sha256=sha256_file(path / MANIFEST))


def _read_sample(data: bytes, k: int, path: Path) -> pd.DataFrame:
    try:
        sample = pd.read_csv(io.BytesIO(data), dtype={"pc1": "float64", "pc2": "float64", "segment": "int64"})
    except (ValueError, pd.errors.ParserError) as exc:
        raise BundleError(f"{path}: {SAMPLE} cannot be read: {str(exc)[:200]}") from None
    if list(sample.columns) != ["pc1", "pc2", "segment"] or not np.isfinite(sample[["pc1", "pc2"]]).all().all() \
            or not sample["segment"].between(0, k - 1).all():
        raise BundleError(f"{path}: {SAMPLE} must hold finite pc1, pc2 and a segment 0..{k - 1} per row")
    return sample


def load_pipeline(path: Path | str) -> Any:
    """The scikit-learn pipeline of a bundle (model.skops), verified and loaded with the trust
    list in code. For tests and Hub users; serving never calls it."""
    path = Path(path)
    manifest = read_manifest(path)
    verify_files(path, manifest)
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
