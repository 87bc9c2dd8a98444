"""From a fitted pipeline's numbers to the serving arrays: one rule for the layout of z.

The pipeline is ``Pipeline([("prep", ColumnTransformer), ("cluster", KMeans)])`` plus the 2-D PCA
of the map. Its ColumnTransformer has up to three branches: ``num`` (impute → scale), ``log``
(impute → log1p → scale, for skewed money and counts) and ``cat`` (impute → one-hot of the trained
levels). The serving arrays put z's columns in schema order (numeric features, then each
categorical feature's levels), whatever the order of the branches; centres and PCA weights are
permuted to match.

Two readers hand the numbers over as plain `Branch` records: `training.compile` from the fitted
scikit-learn objects (fit time), and `model.contract.formats.v1` from a format-1 bundle's skops
files read as data (serving, without scikit-learn).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from model.contract.schema import Schema
from model.serving.compiled import Compiled

BRANCHES = ("num", "log", "cat")


@dataclass(frozen=True)
class Branch:
    """One branch of the ColumnTransformer, as numbers: `fills` are the imputer's statistics (a
    median per numeric column, the most frequent level per categorical one); `means`/`scales`
    the scaler's (numeric branches); `levels` the encoder's categories (the ``cat`` branch)."""
    name: str
    columns: list[str]
    fills: list[Any]
    means: list[float] | None = None
    scales: list[float] | None = None
    levels: list[list[str]] | None = None


def assemble(branches: Sequence[Branch], centres: Any, pca_components: Any, pca_mean: Any,
             schema: Schema) -> Compiled:
    """The serving arrays of a fitted pipeline and PCA, in the layout `schema` describes; a
    ValueError names what does not fit."""
    numeric = [f.name for f in schema.numeric]
    fill, mean, scale, logged = {}, {}, {}, {}
    cat_fill: dict[str, int] = {}
    z_cols: dict[tuple[str, int], int] = {}  # (column, level index or -1) → column of the pipeline's z
    width = 0
    for b in branches:
        if b.name not in BRANCHES:
            raise ValueError(f"unexpected branch {b.name!r} in the ColumnTransformer")
        if b.name in ("num", "log"):
            if b.means is None or b.scales is None or not len(b.fills) == len(b.means) == len(b.scales) \
                    == len(b.columns):
                raise ValueError(f"branch {b.name!r}: one fill, mean and scale per column")
            for j, col in enumerate(b.columns):
                fill[col], mean[col], scale[col] = float(b.fills[j]), float(b.means[j]), float(b.scales[j])
                logged[col] = b.name == "log"
                z_cols[(col, -1)] = width + j
            width += len(b.columns)
        else:
            if b.levels is None or not len(b.levels) == len(b.fills) == len(b.columns):
                raise ValueError("branch 'cat': one fill and one list of levels per column")
            for col, cats, filled in zip(b.columns, b.levels, b.fills):
                levels = [str(c) for c in cats]
                feature = schema.feature(col)
                if levels != list(feature.levels):
                    raise ValueError(f"{col}: encoder levels {levels} differ from the schema's {list(feature.levels)}")
                cat_fill[col] = levels.index(str(filled))
                for i in range(len(levels)):
                    z_cols[(col, i)] = width + i
                width += len(levels)
    if set(fill) != set(numeric) or set(cat_fill) != {f.name for f in schema.categorical}:
        raise ValueError("the pipeline's columns differ from the schema's features")
    order = [z_cols[(c, -1)] for c in numeric]
    order += [z_cols[(f.name, i)] for f in schema.categorical for i in range(len(f.levels))]
    centres = np.asarray(centres, dtype=float)
    components = np.asarray(pca_components, dtype=float)
    if centres.ndim != 2 or centres.shape[1] != width or components.shape != (2, width) \
            or np.shape(pca_mean) != (width,):
        raise ValueError(f"centres/PCA have {centres.shape[-1]}/{components.shape[-1]} columns; "
                         f"the preprocessing makes {width}")
    return Compiled(
        num_fill=_floats([fill[c] for c in numeric]), num_mean=_floats([mean[c] for c in numeric]),
        num_scale=_floats([scale[c] for c in numeric]), num_log1p=np.array([logged[c] for c in numeric], dtype=bool),
        cat_fill=np.array([cat_fill[f.name] for f in schema.categorical], dtype=np.int64),
        cat_sizes=np.array([len(f.levels) for f in schema.categorical], dtype=np.int64),
        centres=np.ascontiguousarray(centres[:, order]),
        pca_components=np.ascontiguousarray(components[:, order]),
        pca_mean=np.ascontiguousarray(np.asarray(pca_mean, dtype=float)[order]))


def _floats(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)
