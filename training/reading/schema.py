"""The feature schema of a cleaned table: limits, medians, levels, readable labels and roles."""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from model.contract.schema import CategoricalFeature, NumericFeature, Schema
from training.description.readable import roundest_between
from training.reading.roles import readable_label

HARD_MARGIN = 2.0  # hard limits = training range widened by this many spans on each side, then rounded


def build_schema(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
                 id_column: str | None, *, limits: Mapping[str, tuple[float, float]] | None = None,
                 roles: Mapping[str, str | None] | None = None, log: Sequence[str] = ()) -> Schema:
    """Numeric bounds and exact medians (the imputer's fill), categorical levels (sorted) and
    modes, labels people read (`training.reading.roles.readable_label`) and each column's role."""
    roles = dict(roles or {})
    feats: list[NumericFeature | CategoricalFeature] = []
    for c in numeric:
        v = frame[c].dropna()
        lo, hi = float(v.min()), float(v.max())
        hard = hard_limits(lo, hi)
        if limits and c in limits:
            hard = limits[c]
        feats.append(NumericFeature(name=c, label=readable_label(c, roles.get(c)), min=lo, max=hi,
                                    median=round(float(v.median()), 6), hard_min=hard[0], hard_max=hard[1],
                                    integer=bool((v % 1 == 0).all()), role=roles.get(c),
                                    transform="log1p" if c in set(log) else None))
    for c in categorical:
        counts = frame[c].value_counts()
        levels = tuple(sorted(str(x) for x in counts.index))
        mode = str(sorted(counts[counts == counts.max()].index)[0])
        feats.append(CategoricalFeature(name=c, label=readable_label(c, roles.get(c)), levels=levels, mode=mode,
                                        role=roles.get(c)))
    return Schema(features=tuple(feats), id_column=id_column)


def hard_limits(lo: float, hi: float) -> tuple[float, float]:
    """The training range [lo, hi] widened by `HARD_MARGIN` spans on each side, rounded for people
    (0 stays the floor of a range that never went below it). Every engine's schema uses this."""
    span = max(hi - lo, abs(hi), 1.0)
    return (0.0 if lo >= 0 else -_round_up(HARD_MARGIN * span - lo), _round_up(hi + HARD_MARGIN * span))


def _round_up(x: float) -> float:
    """A limit people read without wondering: the roundest number in [x, 1.25 x] (222 → 250,
    594,333 → 600,000). x > 0."""
    return x if x <= 0 else roundest_between(x * (1 - 1e-12), x * 1.25, x)
