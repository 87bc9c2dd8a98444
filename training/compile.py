"""Compile a fitted pipeline into the serving arrays of `model.serving.compiled` (stored as serving.npz).

The pipeline is ``Pipeline([("prep", ColumnTransformer), ("cluster", KMeans)])`` from
`training.selection.preprocess`, plus the 2-D PCA of the map. Its ColumnTransformer has up to three branches:
``num`` (impute → scale), ``log`` (impute → log1p → scale, for skewed money and counts) and ``cat``
(impute → one-hot of the trained levels). The arrays put z's columns in schema order (numeric
features, then each categorical feature's levels), whatever the order of the branches; centres
and PCA weights are permuted to match. Every number is read from the fitted objects, with their
types checked, so a pipeline of another shape fails here, at fit time, with a clear message.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from model.contract.schema import Schema
from model.serving.compiled import Compiled


def compile_pipeline(pipeline: Any, pca: Any, schema: Schema) -> Compiled:
    """The serving arrays of a fitted pipeline and PCA, in the layout `schema` describes."""
    _expect(pipeline, Pipeline, "the pipeline")
    prep, km = pipeline.named_steps.get("prep"), pipeline.named_steps.get("cluster")
    _expect(prep, ColumnTransformer, "step 'prep'")
    _expect(km, KMeans, "step 'cluster'")
    _expect(pca, PCA, "the map's PCA")
    numeric = [f.name for f in schema.numeric]
    fill, mean, scale, logged = {}, {}, {}, {}
    cat_fill: dict[str, int] = {}
    z_cols: dict[tuple[str, int], int] = {}  # (column, level index or -1) → column of the pipeline's z
    width = 0
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
            for j, col in enumerate(cols):
                fill[col], mean[col], scale[col] = (float(imputer.statistics_[j]), float(scaler.mean_[j]),
                                                    float(scaler.scale_[j]))
                logged[col] = name == "log"
                z_cols[(col, -1)] = width + j
            width += len(cols)
        elif name == "cat":
            encoder = _expect(steps.get("onehot"), OneHotEncoder, "cat.onehot")
            for j, (col, cats) in enumerate(zip(cols, encoder.categories_)):
                levels = [str(c) for c in cats]
                feature = schema.feature(col)
                if levels != list(feature.levels):
                    raise ValueError(f"{col}: encoder levels {levels} differ from the schema's {list(feature.levels)}")
                cat_fill[col] = levels.index(str(imputer.statistics_[j]))
                for i in range(len(levels)):
                    z_cols[(col, i)] = width + i
                width += len(levels)
        else:
            raise ValueError(f"unexpected branch {name!r} in the ColumnTransformer")
    if set(fill) != set(numeric) or set(cat_fill) != {f.name for f in schema.categorical}:
        raise ValueError("the pipeline's columns differ from the schema's features")
    order = [z_cols[(c, -1)] for c in numeric]
    order += [z_cols[(f.name, i)] for f in schema.categorical for i in range(len(f.levels))]
    centres = np.asarray(km.cluster_centers_, dtype=float)
    if centres.shape[1] != width or pca.components_.shape != (2, width):
        raise ValueError(f"centres/PCA have {centres.shape[1]}/{pca.components_.shape[1]} columns; "
                         f"the preprocessing makes {width}")
    return Compiled(
        num_fill=_arr([fill[c] for c in numeric]), num_mean=_arr([mean[c] for c in numeric]),
        num_scale=_arr([scale[c] for c in numeric]), num_log1p=np.array([logged[c] for c in numeric], dtype=bool),
        cat_fill=np.array([cat_fill[f.name] for f in schema.categorical], dtype=np.int64),
        cat_sizes=np.array([len(f.levels) for f in schema.categorical], dtype=np.int64),
        centres=np.ascontiguousarray(centres[:, order]),
        pca_components=np.ascontiguousarray(np.asarray(pca.components_, dtype=float)[:, order]),
        pca_mean=np.ascontiguousarray(np.asarray(pca.mean_, dtype=float)[order]))


def _arr(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _expect(obj: Any, kind: type, what: str) -> Any:
    if not isinstance(obj, kind):
        raise ValueError(f"{what} must be a fitted {kind.__name__}, got {type(obj).__name__}")
    return obj
