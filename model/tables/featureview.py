"""A read-only view of the feature schema for the rules (`training.rules`), stability and the drift reference.

Those modules take a *schema-like* object so that they do not depend on how the manifest is typed:
`model.contract.schema.Schema`, anything with a `.features` sequence, a mapping ``{"features": [...]}`` (a
manifest's ``schema``), or a whole manifest mapping with a ``"schema"`` key. Each feature gives
``name``, ``kind`` ("numeric" / "categorical"), ``label``, and ``median`` / ``hard_min`` /
``hard_max`` / ``integer`` (numeric) or ``levels`` / ``mode`` (categorical), as attributes or keys.

The column layout of z is the preprocessor's (`training.selection.preprocess.make_preprocessor`): the numeric
features in schema order, then one one-hot block per categorical feature, levels in schema order.

Fills: the schema's ``median`` is rounded for whole-number columns (61.5 is stored as 62), while
the pipeline's imputer fills with the exact median. Pass ``fills={name: value}`` (the imputer's
statistics, or the serving arrays) to use the model's exact fills.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from model.tables.cells import MISSING, UNKNOWN, category_codes, category_key, to_numbers  # noqa: F401  (MISSING, UNKNOWN re-exported)



@dataclass(frozen=True)
class NumericSpec:
    name: str
    label: str
    fill: float
    hard_min: float | None = None
    hard_max: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class CategoricalSpec:
    name: str
    label: str
    levels: tuple[str, ...]
    fill: str

    @property
    def keys(self) -> dict[str, int]:
        """`category_key` of every level → its index."""
        return {category_key(lv): i for i, lv in enumerate(self.levels)}


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


@dataclass(frozen=True)
class FeatureView:
    numeric: tuple[NumericSpec, ...]
    categorical: tuple[CategoricalSpec, ...]
    id_column: str | None = None

    @classmethod
    def of(cls, schema_like: Any, *, fills: Mapping[str, Any] | None = None) -> "FeatureView":
        """The view of a schema-like object (module docstring); `fills` overrides median / mode."""
        if isinstance(schema_like, FeatureView):
            return schema_like if not fills else cls._with_fills(schema_like, fills)
        if isinstance(schema_like, Mapping) and "features" not in schema_like and "schema" in schema_like:
            schema_like = schema_like["schema"]
        features = _get(schema_like, "features")
        if features is None:
            raise TypeError(f"expected a schema (an object or mapping with 'features'), "
                            f"got {type(schema_like).__name__}")
        fills = dict(fills or {})
        num, cat = [], []
        for f in features:
            name, kind = str(_get(f, "name")), _get(f, "kind")
            label = str(_get(f, "label") or name)
            if kind == "numeric":
                lo, hi = _get(f, "hard_min"), _get(f, "hard_max")
                num.append(NumericSpec(name, label, float(fills.get(name, _get(f, "median"))),
                                       None if lo is None else float(lo),
                                       None if hi is None else float(hi),
                                       bool(_get(f, "integer", False))))
            elif kind == "categorical":
                levels = tuple(str(v) for v in _get(f, "levels"))
                fill = str(fills.get(name, _get(f, "mode")))
                if fill not in levels:
                    raise ValueError(f"{name}: the fill {fill!r} is not one of the levels {list(levels)}")
                cat.append(CategoricalSpec(name, label, levels, fill))
            else:
                raise ValueError(f"feature {name!r}: kind must be 'numeric' or 'categorical', got {kind!r}")
        return cls(tuple(num), tuple(cat), _get(schema_like, "id_column"))

    @classmethod
    def _with_fills(cls, view: "FeatureView", fills: Mapping[str, Any]) -> "FeatureView":
        num = tuple(NumericSpec(f.name, f.label, float(fills.get(f.name, f.fill)), f.hard_min,
                                f.hard_max, f.integer) for f in view.numeric)
        cat = tuple(CategoricalSpec(f.name, f.label, f.levels, str(fills.get(f.name, f.fill)))
                    for f in view.categorical)
        return cls(num, cat, view.id_column)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.numeric] + [f.name for f in self.categorical]

    def require(self, frame: pd.DataFrame, what: str = "the data") -> None:
        """Raise a ValueError naming every schema column absent from `frame`."""
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            found = ", ".join(map(str, frame.columns))
            raise ValueError(f"{what} has no column {', '.join(map(repr, missing))}; the model needs "
                             f"{', '.join(self.names)}; found: {found[:200]}")

    def encode(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(numbers (n, p) with NaN for empty cells, level codes (n, c) with `MISSING` / `UNKNOWN`,
        True where a numeric cell is text that is no finite number). Text is trimmed and
        categories matched by `model.tables.cells.category_key`, as the model does."""
        self.require(frame)
        n = len(frame)
        num = np.empty((n, len(self.numeric)))
        bad = np.zeros((n, len(self.numeric)), dtype=bool)
        for j, f in enumerate(self.numeric):
            num[:, j], bad[:, j] = to_numbers(frame[f.name])
        codes = np.empty((n, len(self.categorical)), dtype=np.int64)
        for j, f in enumerate(self.categorical):
            codes[:, j] = category_codes(frame[f.name], f.keys)
        return num, codes, bad

    def filled(self, num: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`encode`'s arrays with empty cells replaced by the fills (unknown codes stay)."""
        fill_num = np.array([f.fill for f in self.numeric], dtype=float)
        num = np.where(np.isnan(num), fill_num, num)
        fill_codes = np.array([f.levels.index(f.fill) for f in self.categorical], dtype=np.int64)
        codes = np.where(codes == MISSING, fill_codes, codes)
        return num, codes

