"""One reader per bundle format, as skops keeps a loader per past protocol (`skops/io/old/`).

A bundle's manifest.json names its `format_version`. Each format's module turns such a bundle into
the current in-memory contract (`Manifest`, `Compiled`): `manifest_data` (the manifest as the
current format's fields), `served` (the files serving reads, size-capped and checked against their
sha256) and `compiled` (the serving arrays). `model.contract.writing` writes the current format;
a pinned bundle of an earlier one keeps loading. A format this app does not know — a newer one —
is refused with what to do.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

from model.contract.errors import REBUILD, ManifestError
from model.contract.formats import v1, v2
from model.contract.manifest import FORMAT_VERSION

READERS: dict[int, ModuleType] = {v1.FORMAT: v1, v2.FORMAT: v2}


def reader(data: Any, where: str = "manifest.json") -> ModuleType:
    """The reader of the format `data` (a parsed manifest.json) declares; ManifestError otherwise."""
    version = data.get("format_version") if isinstance(data, dict) else None
    if isinstance(version, bool) or not isinstance(version, int):
        raise ManifestError(f"{where}: format_version must be a whole number, got {version!r}; {REBUILD}")
    if version in READERS:
        return READERS[version]
    known = f"formats {min(READERS)} to {max(READERS)}"
    if version > FORMAT_VERSION:
        raise ManifestError(f"{where}: bundle format {version} is newer than this app, which reads {known}: "
                            f"update the app to a release that reads format {version}, or serve a bundle "
                            f"of format {FORMAT_VERSION} or older (pin MODEL_REVISION to one)")
    raise ManifestError(f"{where}: bundle format {version} never existed (this app reads {known}); {REBUILD}")


def extra_model_files(data: Any) -> tuple[str, ...]:
    """Files beyond `model.contract.files.SERVED` that the reader of `data`'s format needs (the
    Hub loader fetches them on their own): a format-1 bundle's skops files, read as data."""
    return tuple(getattr(reader(data), "MODEL_FILES", ()))
