"""Explain every segment and every customer: the public door of the explain building blocks.

* Is each segment real?  `segment_stability` (bootstrap, Hennig's clusterboot) with
  `stability_reading`, and `prediction_strength` per k (Tibshirani & Walther) -
  `training.selection.stability`.
* Segments as rules people can use elsewhere: `fit_rules` → `Rules` (text, fidelity, `as_dict`)
  and `rules_sql` (one portable SELECT) - `training.rules.tree`, `model.derived.sql`.
* Why this customer: `contributions` and `strongest` below (pure numpy, no fitted objects).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from model.tables.featureview import FeatureView
from training.rules.tree import Rules, fit_rules
from model.derived.sql import rules_sql
from training.selection.stability import READING_RULE, prediction_strength, segment_stability, stability_reading

__all__ = ["READING_RULE", "Rules", "contributions", "feature_blocks", "fit_rules",
           "prediction_strength", "rules_sql", "segment_stability", "stability_reading", "strongest"]


def feature_blocks(schema_like: Any) -> list[tuple[str, list[int]]]:
    """(feature name, its columns in z) for `contributions`: one column per numeric feature, the
    one-hot block of each categorical feature, in the preprocessor's order."""
    return FeatureView.of(schema_like).blocks()


def contributions(z: Any, centre_a: Any, centre_b: Any, blocks: Sequence[Sequence[int]]) -> np.ndarray:
    """How much each feature pulls a customer toward segment a rather than segment b.

    ``pull_f = sum over the z columns j of feature f of (z_j - b_j)^2 - (z_j - a_j)^2``
    ``       = sum_j (a_j - b_j) (2 z_j - a_j - b_j)``

    so the pulls add up exactly to ``d²(z, b) - d²(z, a)``: with a = the customer's segment and
    b = the runner-up, that is the squared-distance margin, and it is >= 0. A positive pull means
    the feature favours a; a negative one favours b. `blocks` are the column lists of the
    features (`feature_blocks`); they must cover every column of z exactly once. `z` is one row
    (d,) -> (features,) or many rows (n, d) -> (n, features).

    In original units, for the customer-facing `why` (the lead's serving module): a KMeans centre
    is the mean of its members in z, and z is affine in the original value, so the centre read
    back through the scaler (``mean + scale * c_j``) is the *average* of the segment's training
    customers (after filling empty cells). A numeric pull therefore reads
    "income 148,000 — premium average 149,000; potential 118,000" (the customer's value, the
    segment's average, the runner-up's average). A categorical centre block holds the share of
    each level among the segment's customers: "gender Female — premium 62 % Female; potential
    41 %". Show the few features with the largest positive pulls (`strongest`); their share of
    the total margin says how much of the decision they carry.
    """
    z = np.asarray(z, dtype=float)
    a = np.asarray(centre_a, dtype=float)
    b = np.asarray(centre_b, dtype=float)
    d = a.shape[-1]
    if a.shape != (d,) or b.shape != (d,) or z.shape[-1] != d or z.ndim not in (1, 2):
        raise ValueError(f"z must be (d,) or (n, d) and both centres (d,); got z {z.shape}, "
                         f"centre_a {a.shape}, centre_b {b.shape}")
    cols = [list(map(int, blk)) for blk in blocks]
    flat = sorted(j for blk in cols for j in blk)
    if flat != list(range(d)):
        raise ValueError(f"blocks must cover the {d} columns of z exactly once, got {cols}")
    member = np.zeros((d, len(cols)))
    for f, blk in enumerate(cols):
        member[blk, f] = 1.0
    return ((a - b) * (2.0 * z - a - b)) @ member


def strongest(pulls: Any, names: Sequence[str], *, n: int = 3) -> list[tuple[str, float]]:
    """The `n` features with the largest positive pull of one customer, largest first; ties keep
    the feature order. Features that favour the runner-up are left out."""
    pulls = np.asarray(pulls, dtype=float)
    if pulls.shape != (len(names),):
        raise ValueError(f"pulls must hold one value per feature ({len(names)}), got shape {pulls.shape}")
    order = sorted(range(len(names)), key=lambda f: (-pulls[f], f))
    return [(names[f], float(pulls[f])) for f in order[:n] if pulls[f] > 0]
