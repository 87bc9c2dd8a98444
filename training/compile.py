"""Compile a fitted pipeline into the serving arrays of `model.serving.compiled` (stored as serving.npz).

The pipeline is ``Pipeline([("prep", ColumnTransformer), ("cluster", KMeans)])`` from
`training.selection.preprocess`, plus the 2-D PCA of the map; how its numbers become the serving
arrays is `model.serving.assemble`'s rule. Every number is read from the fitted objects, with their
types checked, so a pipeline of another shape fails here, at fit time, with a clear message.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from model.contract.schema import Schema
from model.serving.assemble import Branch, assemble
from model.serving.compiled import Compiled


def compile_pipeline(pipeline: Any, pca: Any, schema: Schema) -> Compiled:
    """The serving arrays of a fitted pipeline and PCA, in the layout `schema` describes."""
    _expect(pipeline, Pipeline, "the pipeline")
    prep, km = pipeline.named_steps.get("prep"), pipeline.named_steps.get("cluster")
    _expect(prep, ColumnTransformer, "step 'prep'")
    _expect(km, KMeans, "step 'cluster'")
    _expect(pca, PCA, "the map's PCA")
    branches = []
    for name, branch, cols in prep.transformers_:
        if name == "remainder":
            continue
        _expect(branch, Pipeline, f"branch {name!r}")
        steps = branch.named_steps
        imputer = _expect(steps.get("impute"), SimpleImputer, f"{name}.impute")
        if name in ("num", "log"):
            scaler = _expect(steps.get("scale"), StandardScaler, f"{name}.scale")
            if name == "log":
                _expect(steps.get("log"), FunctionTransformer, "log.log")
                if steps["log"].func is not np.log1p:
                    raise ValueError("branch 'log' must apply numpy.log1p")
            branches.append(Branch(name, list(cols), list(imputer.statistics_), means=list(scaler.mean_),
                                   scales=list(scaler.scale_)))
        elif name == "cat":
            encoder = _expect(steps.get("onehot"), OneHotEncoder, "cat.onehot")
            branches.append(Branch(name, list(cols), list(imputer.statistics_),
                                   levels=[list(c) for c in encoder.categories_]))
        else:
            raise ValueError(f"unexpected branch {name!r} in the ColumnTransformer")
    return assemble(branches, km.cluster_centers_, pca.components_, pca.mean_, schema)


def _expect(obj: Any, kind: type, what: str) -> Any:
    if not isinstance(obj, kind):
        raise ValueError(f"{what} must be a fitted {kind.__name__}, got {type(obj).__name__}")
    return obj
