"""The one scikit-learn pipeline: ColumnTransformer (numeric: impute → scale; skewed money and
counts: impute → log1p → scale; categorical: impute → one-hot) → clusterer. Column lists come from
the cleaned data, never from hand-written lists."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler


def make_preprocessor(numeric: Sequence[str], categorical: Sequence[str],
                      levels: Sequence[Sequence[str]], *, log: Sequence[str] = ()) -> ColumnTransformer:
    """Named steps; the one-hot levels are fixed to the training levels (sorted) so the encoder,
    the manifest and the form agree on order. Columns in `log` (skewed money and counts) go
    through log1p between imputation and scaling, in a branch of their own."""
    plain = [c for c in numeric if c not in set(log)]
    logged = [c for c in numeric if c in set(log)]
    parts: list[tuple[str, Any, list[str]]] = []
    if plain:
        parts.append(("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                                       ("scale", StandardScaler())]), plain))
    if logged:
        parts.append(("log", Pipeline([("impute", SimpleImputer(strategy="median")),
                                       ("log", FunctionTransformer(np.log1p, feature_names_out="one-to-one")),
                                       ("scale", StandardScaler())]), logged))
    if categorical:
        parts.append(("cat", Pipeline([
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(categories=[list(lv) for lv in levels],
                                     handle_unknown="ignore", sparse_output=False)),
        ]), list(categorical)))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0,
                             verbose_feature_names_out=False)


def make_pipeline(preprocessor: ColumnTransformer, clusterer: Any) -> Pipeline:
    return Pipeline([("prep", preprocessor), ("cluster", clusterer)])
