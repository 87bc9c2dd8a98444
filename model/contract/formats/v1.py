"""Format 1 (written until 2026-11-30): the model only as scikit-learn objects in skops files.

A format-1 bundle holds manifest.json (the fields of format 2's manifest but `license`: the model
card of format 1 said "mit" unless the manifest named another), model.skops (the pipeline),
pca.skops (the map's PCA), pca_sample.csv, summary.json and README.md — and no serving.npz. Its
serving arrays are assembled here from the two skops files read as data
(`model.contract.formats.skops_data`: JSON and ``.npy`` arrays, nothing imported or run), by the
rule training compiles a fitted pipeline with (`model.serving.assemble`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from model.contract.errors import BundleError
from model.contract.files import CARD, MANIFEST, MODEL_SKOPS, PCA_SKOPS, SAMPLE, SUMMARY
from model.contract.formats.skops_data import read_skops
from model.contract.manifest import FORMAT_VERSION, Manifest
from model.serving.assemble import Branch, assemble
from model.serving.compiled import Compiled

FORMAT = 1
MODEL_FILES = (MODEL_SKOPS, PCA_SKOPS)  # read as data; the Hub loader fetches them for this format only
_SKLEARN = "sklearn."


def manifest_data(data: dict[str, Any]) -> dict[str, Any]:
    """The manifest in the current format."""
    return {**data, "format_version": FORMAT_VERSION, "license": data.get("license", "mit")}


def served(manifest: Manifest) -> tuple[str, ...]:
    """The files serving reads from a bundle of this format."""
    return (MANIFEST, *MODEL_FILES, SAMPLE, SUMMARY, CARD)


def compiled(path: Path, manifest: Manifest) -> Compiled:
    """The serving arrays of the pipeline in model.skops and the PCA in pca.skops."""
    try:
        branches, km = _branches(read_skops(path / MODEL_SKOPS))
        pca = _object(read_skops(path / PCA_SKOPS), "decomposition._pca.PCA", PCA_SKOPS)
        return assemble(branches, km["cluster_centers_"], pca["components_"], pca["mean_"], manifest.schema)
    except BundleError:
        raise
    except (ValueError, KeyError, TypeError) as exc:  # a missing attribute, a branch of another shape …
        raise BundleError(f"{path}: the format-1 model does not match its manifest: "
                          f"{type(exc).__name__}: {str(exc)[:200]}") from None


def _branches(tree: Any) -> tuple[list[Branch], dict[str, Any]]:
    """The ColumnTransformer's branches as numbers, and the KMeans step."""
    pipeline = _object(tree, "pipeline.Pipeline", MODEL_SKOPS)
    steps = dict(_pairs(pipeline.get("steps"), f"{MODEL_SKOPS}: steps"))
    prep = _object(steps.get("prep"), "compose._column_transformer.ColumnTransformer", f"{MODEL_SKOPS}: step 'prep'")
    km = _object(steps.get("cluster"), "cluster._kmeans.KMeans", f"{MODEL_SKOPS}: step 'cluster'")
    branches = []
    for name, branch, columns in prep["transformers_"]:
        if name == "remainder":
            continue
        if name not in ("num", "cat"):  # format 1 had no log branch
            raise BundleError(f"{MODEL_SKOPS}: unexpected branch {name!r} for a format-1 bundle")
        where = f"{MODEL_SKOPS}: branch {name!r}"
        parts = dict(_pairs(_object(branch, "pipeline.Pipeline", where).get("steps"), where))
        imputer = _object(parts.get("impute"), "impute._base.SimpleImputer", f"{where}: impute")
        if name == "cat":
            encoder = _object(parts.get("onehot"), "preprocessing._encoders.OneHotEncoder", f"{where}: onehot")
            branches.append(Branch(name, list(columns), list(imputer["statistics_"]),
                                   levels=[list(c) for c in encoder["categories_"]]))
        else:
            scaler = _object(parts.get("scale"), "preprocessing._data.StandardScaler", f"{where}: scale")
            branches.append(Branch(name, list(columns), list(imputer["statistics_"]),
                                   means=list(scaler["mean_"]), scales=list(scaler["scale_"])))
    return branches, km


def _object(node: Any, cls: str, where: str) -> dict[str, Any]:
    if not isinstance(node, dict) or node.get("__class__") != _SKLEARN + cls:
        found = node.get("__class__") if isinstance(node, dict) else type(node).__name__
        raise BundleError(f"{where} must be a fitted {cls.rsplit('.', 1)[-1]}, found {found}")
    return node


def _pairs(steps: Any, where: str) -> list[tuple[str, Any]]:
    if not isinstance(steps, list) or not all(isinstance(s, tuple) and len(s) == 2 for s in steps):
        raise BundleError(f"{where} must be a list of (name, step) pairs")
    return steps
