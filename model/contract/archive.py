"""A bundle folder as one zip file to download: the files `write_bundle` wrote, under one top folder
(`unzip x.zip` gives a folder that `MODEL_DIR=…` serves and `read_bundle` verifies). Entries are
written in name order with a fixed timestamp, so the same bundle gives the same bytes."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from model.contract.files import MANIFEST
from model.contract.errors import BundleError

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_bundle(folder: Path | str, target: Path | str, *, top: str = "bundle") -> Path:
    """Write the bundle in `folder` to the zip file `target`; returns `target`."""
    folder, target = Path(folder), Path(target)
    if not (folder / MANIFEST).is_file():
        raise BundleError(f"{folder.name} is not a bundle: {MANIFEST} is missing")
    top = re.sub(r"[^A-Za-z0-9._-]+", "_", top).strip("._") or "bundle"
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            info = zipfile.ZipInfo(f"{top}/{path.relative_to(folder).as_posix()}", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    return target
