"""The one scikit-learn pipeline: ColumnTransformer (numeric: impute → scale; categorical: impute →
one-hot) → clusterer. Column lists come from the cleaned data, never from hand-written lists."""
from __future__ import annotations

from typing import Any, Sequence

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def make_preprocessor(numeric: Sequence[str], categorical: Sequence[str],
                      levels: Sequence[Sequence[str]]) -> ColumnTransformer:
    """Named steps; the one-hot levels are fixed to the training levels (sorted) so the encoder,
    the manifest and the form agree on order."""
    parts: list[tuple[str, Any, list[str]]] = []
    if numeric:
        parts.append(("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                                       ("scale", StandardScaler())]), list(numeric)))
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
