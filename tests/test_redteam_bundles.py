"""The second attack on the public Space (issue 19), through bundles: declared array sizes are
checked before serving.npz is decompressed, and any failure while serving a bundle — loading it or
building the UI from it — falls back to the default bundle with the reason, never exit 1."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.server import ROOT, running_app


def rehash(bundle: Path, name: str) -> None:
    """Record `name`'s new sha256 in the manifest: files that verify, contents that lie."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def bomb_npz(path: Path, arrays: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> None:
    """serving.npz with `name` declared as a float64 array of `shape`, all zeros: a few MB on disk
    that decompress to the full size. Streamed, so the test itself never holds it."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            if key == name:
                continue
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr)
            zf.writestr(f"{key}.npy", buf.getvalue())
        with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": shape})
            chunk = bytes(8 * 2**20)
            total = 8 * int(np.prod(shape))
            while total > 0:
                fh.write(chunk[:total])
                total -= len(chunk)


@pytest.fixture
def bomb_bundle(default_bundle, predictor, tmp_path) -> Path:
    bundle = tmp_path / "bomb"
    shutil.copytree(default_bundle, bundle)
    d = predictor.compiled.pca_components.shape[1]
    bomb_npz(bundle / "serving.npz", predictor.compiled.as_arrays(), "pca_components", (2, 25_000_000 // d * d))
    rehash(bundle, "serving.npz")
    return bundle


def test_declared_array_sizes_are_checked_before_decompressing(bomb_bundle):
    """A 2 MB serving.npz took 2.36 GB and 18 s (out of memory at the 64 MB cap): its arrays'
    shapes were checked only once decompressed. Here one declares 400 MB."""
    assert (bomb_bundle / "serving.npz").stat().st_size < 4 * 2**20
    code = ("import resource, sys; from model.contract.bundle import read_bundle\n"
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n    read_bundle(sys.argv[1])\nexcept ValueError as exc:\n    print('refused:', exc)\n"
            "print('grew_mb', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(bomb_bundle)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300).stdout
    assert "refused:" in out and "pca_components" in out and "shape" in out, out[-500:]
    grew = float(out.rsplit("grew_mb", 1)[1])
    assert grew < 100, f"peak memory grew {grew:.0f} MB reading the bundle"


def test_a_bundle_that_cannot_be_served_falls_back_to_the_default(default_bundle, tmp_path, artifacts_dir):
    """Files that verify, a summary that does not match the schema: building the UI raised a
    KeyError and the app exited with 1. It serves the default bundle and says why."""
    bundle = tmp_path / "inconsistent"
    shutil.copytree(default_bundle, bundle)
    summary = json.loads((bundle / "summary.json").read_text())
    dropped = sorted(summary["features"])[0]
    del summary["features"][dropped]
    (bundle / "summary.json").write_text(json.dumps(summary))
    rehash(bundle, "summary.json")
    with running_app({"MODEL_DIR": str(bundle)}, log_path=artifacts_dir / "app-inconsistent.log") as url:
        source = httpx.get(url + "/health").json()["bundle"]
        assert source["path"] == "model/artifacts/default" and "inconsistent" in source["fallback_reason"]
        assert str(tmp_path) not in source["fallback_reason"]
        assert "inconsistent" in httpx.get(url + "/config").text  # the banner
