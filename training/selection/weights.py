"""How much each feature weighs in the distance KMeans minimises, by its role.

Standardising gives every column the same spread, so a column whose *real* spread is tiny (order
logs where everyone joined in one quarter: tenure 456–545 days) splits customers as readily as
money does — and yields segments a marketer cannot tell apart. When the features carry the
recency, frequency and monetary roles, those three are what people act on: they weigh 1, every
other numeric feature (tenure, average order value, …) weighs `SECONDARY` (its share of the
variance a quarter). Without all three roles every feature weighs 1 (no weights). Categorical
one-hot columns are not weighted.

The weight is folded into the fitted scaler (scale ÷ weight), so the pipeline, the serving arrays
and the Spark engine all compute the weighted z without another step.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

PRIMARY = ("recency", "frequency", "monetary")
SECONDARY = 0.5
RULE = (f"recency, frequency and monetary weigh 1; every other numeric feature weighs {SECONDARY:g} (a quarter "
        f"of the variance), so that segments differ in what people act on")


def role_weights(numeric_roles: Mapping[str, str | None]) -> dict[str, float] | None:
    """Numeric feature → weight, from {feature: role} (module docstring); None when every feature
    weighs 1."""
    if not all(r in numeric_roles.values() for r in PRIMARY):
        return None
    return {c: 1.0 if r in PRIMARY else SECONDARY for c, r in numeric_roles.items()}


def apply_weights(prep: Any, weights: Mapping[str, float] | None) -> Any:
    """Fold `weights` into the fitted ColumnTransformer's scalers (in place); returns `prep`."""
    if not weights:
        return prep
    for name, branch, cols in prep.transformers_:
        if name in ("num", "log"):
            scaler = branch.named_steps["scale"]
            scaler.scale_ = scaler.scale_ / np.array([weights.get(c, 1.0) for c in cols], dtype=float)
    return prep
