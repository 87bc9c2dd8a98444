"""The bundle: the one contract between training and serving — the reading side.

`model.contract.writing.write_bundle` and `read_bundle` mirror each other. The manifest
(`model.contract.manifest.Manifest`) records the format version, the library versions and the
sha256 of every other file.

Serving reads only data files: manifest.json and summary.json (typed records), serving.npz (the
compiled model: `numpy.load(..., allow_pickle=False)`), pca_sample.csv and the card — for a bundle
of an earlier format, what its reader reads as data instead (`model.contract.formats`). Each is
size-capped before it is parsed and checked against its sha256. This module imports neither
scikit-learn nor skops: `model.skops` (the scikit-learn pipeline, for Hub users) is verified when
present and loaded only by the build side (`model.contract.writing.load_pipeline`);
`sklearn_model.joblib` is written for the Hub's sklearn conventions and never loaded.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.contract import formats
from model.contract.errors import BundleError
from model.contract.files import CAPS, MANIFEST, SAMPLE, SUMMARY
from model.contract.manifest import Manifest, Summary
from model.serving.compiled import Compiled

log = logging.getLogger(__name__)

# the embedded default bundle: the fallback every Space relies on (rebuilt only by `make bundle`)
DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parents[1] / "artifacts" / "default"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dumps_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, fixed indent, no NaN (refused rather than written)."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


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


def _raw_manifest(path: Path) -> dict[str, Any]:
    if not (path / MANIFEST).is_file():
        raise BundleError(f"{path} is not a bundle: {MANIFEST} is missing")
    return _json(_read_capped(path, MANIFEST), f"{path / MANIFEST}")


def read_manifest(path: Path | str) -> Manifest:
    """The manifest of the bundle folder `path`, of any format this app reads."""
    path = Path(path)
    return Manifest.read(_raw_manifest(path), f"{path / MANIFEST}")


def served_files(path: Path | str) -> tuple[str, ...]:
    """The files serving reads from the bundle folder `path` (they depend on its format)."""
    path = Path(path)
    raw = _raw_manifest(path)
    return formats.reader(raw, f"{path / MANIFEST}").served(Manifest.read(raw, f"{path / MANIFEST}"))


def verify_files(path: Path, manifest: Manifest, served: tuple[str, ...]) -> None:
    """Every `served` file (`served_files`) is listed and present; every listed file that is present
    has its sha256."""
    unlisted = [n for n in served if n != MANIFEST and n not in manifest.files]
    if unlisted:
        raise BundleError(f"{path}: the manifest does not list {', '.join(unlisted)}")
    for name, expected in manifest.files.items():
        fpath = Path(path) / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise BundleError(f"{path}: the manifest lists a file outside the bundle: {name[:80]!r}")
        if not fpath.is_file():
            if name in served:
                raise BundleError(f"{path}: {name} is listed in the manifest but missing")
            continue  # model.skops, the joblib file, plots: for Hub users, not downloaded by the app
        actual = sha256_file(fpath)
        if actual != expected:
            raise BundleError(f"{path}: {name} does not match the manifest (sha256 {actual[:12]}… "
                              f"≠ {expected[:12]}…): the file was modified; refusing to load it")


def read_bundle(path: Path | str) -> Bundle:
    """Verify and load a bundle folder, of any format this app reads, for serving. Raises
    BundleError (or its ManifestError) with a hint on any problem."""
    path = Path(path)
    raw = _raw_manifest(path)
    reader = formats.reader(raw, f"{path / MANIFEST}")
    manifest = Manifest.read(raw, f"{path / MANIFEST}")
    served = reader.served(manifest)
    for name in served:  # size caps before hashing or parsing anything
        _check_size(path, name)
    verify_files(path, manifest, served)
    compiled = reader.compiled(path, manifest)
    summary = Summary.read(_json(_read_capped(path, SUMMARY), f"{path / SUMMARY}"))
    sample = _read_sample(_read_capped(path, SAMPLE), manifest.k, path)
    log.info("loaded bundle %s (format %s, k=%s, built %s)", path, reader.FORMAT, manifest.k, manifest.created_at)
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
