"""Format 2 (written since 2026-11-30, the current one): the model as plain arrays in serving.npz.

Files served: manifest.json, serving.npz, pca_sample.csv, summary.json, README.md, and
segment_rules.sql when the manifest has rules (bundles written before rules existed have none).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from model.contract.files import CARD, MANIFEST, RULES_SQL, SAMPLE, SERVING, SUMMARY
from model.contract.manifest import Manifest
from model.serving.arrays import expected_shapes, load_arrays
from model.serving.compiled import Compiled

FORMAT = 2


def manifest_data(data: dict[str, Any]) -> dict[str, Any]:
    """The manifest in the current format: this one."""
    return data


def served(manifest: Manifest) -> tuple[str, ...]:
    """The files serving reads from a bundle of this format."""
    return (MANIFEST, SERVING, SAMPLE, SUMMARY, CARD) + ((RULES_SQL,) if manifest.rules is not None else ())


def compiled(path: Path, manifest: Manifest) -> Compiled:
    """The serving arrays, their declared shapes checked against the manifest's schema and k before
    anything is decompressed."""
    schema = manifest.schema
    shape = {"n_numeric": len(schema.numeric), "levels": [len(f.levels) for f in schema.categorical], "k": manifest.k}
    edit = manifest.edit  # segments people merged have several centres each (model.editing)
    centres = sum(map(len, edit.groups)) if edit is not None and any(len(g) > 1 for g in edit.groups) else None
    return Compiled.from_arrays(load_arrays(path / SERVING, expected_shapes(**shape, centres=centres)), **shape)
