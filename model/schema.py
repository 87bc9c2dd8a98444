"""Feature schema: what a customer record looks like, and validation with per-field errors.

The schema is written by training into the manifest and read back here; the form, the JSON API and
batch scoring all validate through this module, so every surface accepts and rejects the same things.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from model.errors import FieldError, SchemaError, echo

_SPACES = re.compile(r"\s+")


def category_key(value: str) -> str:
    """Spelling-insensitive key for a category: case, surrounding/inner whitespace, '&' vs 'and'."""
    text = _SPACES.sub(" ", str(value).strip()).casefold()
    return text.replace(" and ", " & ")


@dataclass(frozen=True)
class NumericFeature:
    name: str
    label: str
    min: float  # smallest value seen in training
    max: float  # largest value seen in training
    median: float
    hard_min: float  # no customer can be below this: rejected
    hard_max: float  # no customer can be above this: rejected
    integer: bool = False
    kind: str = field(default="numeric", init=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "label": self.label, "kind": self.kind, "min": self.min,
            "max": self.max, "median": self.median, "hard_min": self.hard_min,
            "hard_max": self.hard_max, "integer": self.integer,
        }

    def limits_text(self) -> str:
        return f"between {_fmt(self.hard_min)} and {_fmt(self.hard_max)}"


@dataclass(frozen=True)
class CategoricalFeature:
    name: str
    label: str
    levels: tuple[str, ...]
    mode: str
    kind: str = field(default="categorical", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lookup", {category_key(v): v for v in self.levels})

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind,
                "levels": list(self.levels), "mode": self.mode}

    def normalise(self, value: str) -> str | None:
        """The trained spelling of `value`, or None when it is not a trained level."""
        return self._lookup.get(category_key(value))  # type: ignore[attr-defined]

    def allowed_text(self) -> str:
        return ", ".join(self.levels)


Feature = NumericFeature | CategoricalFeature


def _fmt(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e7 else f"{x:.0f}"


@dataclass(frozen=True)
class Checked:
    """A validated record in canonical form, with what was noticed on the way."""
    values: dict[str, Any]  # numeric → float or None (missing), categorical → trained level or None
    imputed: tuple[str, ...] = ()  # fields sent as null: the pipeline fills them (median / most frequent)
    out_of_range: tuple[str, ...] = ()  # inside the hard limits but outside what training saw


@dataclass(frozen=True)
class Schema:
    features: tuple[Feature, ...]
    id_column: str | None = None

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Schema":
        feats: list[Feature] = []
        for f in data["features"]:
            if f["kind"] == "numeric":
                feats.append(NumericFeature(
                    name=f["name"], label=f["label"], min=float(f["min"]), max=float(f["max"]),
                    median=float(f["median"]), hard_min=float(f["hard_min"]),
                    hard_max=float(f["hard_max"]), integer=bool(f.get("integer", False))))
            elif f["kind"] == "categorical":
                feats.append(CategoricalFeature(
                    name=f["name"], label=f["label"], levels=tuple(f["levels"]), mode=f["mode"]))
            else:
                raise ValueError(f"feature {f.get('name')!r}: unknown kind {f['kind']!r}")
        return cls(features=tuple(feats), id_column=data.get("id_column"))

    def as_dict(self) -> dict[str, Any]:
        return {"features": [f.as_dict() for f in self.features], "id_column": self.id_column}

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def numeric(self) -> list[NumericFeature]:
        return [f for f in self.features if isinstance(f, NumericFeature)]

    @property
    def categorical(self) -> list[CategoricalFeature]:
        return [f for f in self.features if isinstance(f, CategoricalFeature)]

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def example(self) -> dict[str, Any]:
        """A typical customer: training medians and most frequent levels."""
        return {f.name: (f.median if isinstance(f, NumericFeature) else f.mode) for f in self.features}

    # -- validation ---------------------------------------------------------------------------
    def check(self, record: Any) -> Checked:
        """Validate one record (a mapping of field name → value). Raises SchemaError listing every
        bad field. A field sent as null is accepted and imputed (reported in `imputed`); an absent
        field, an unknown field, a wrong type or an impossible value is an error."""
        if not isinstance(record, Mapping):
            raise SchemaError([FieldError("body", f"expected an object with fields "
                                          f"{', '.join(self.names)}; got {type(record).__name__}")])
        errors: list[FieldError] = []
        allowed = set(self.names) | ({self.id_column} if self.id_column else set())
        for key in record:
            if key not in allowed:
                errors.append(FieldError(str(key)[:60], f"unknown field {echo(key)}; expected only: "
                                         f"{', '.join(self.names)}"))
        values: dict[str, Any] = {}
        imputed: list[str] = []
        outside: list[str] = []
        for f in self.features:
            if f.name not in record:
                errors.append(FieldError(f.name, f"{f.name} is required ({self.expect(f)})"))
                continue
            raw = record[f.name]
            if raw is None:
                values[f.name] = None
                imputed.append(f.name)
                continue
            if isinstance(f, NumericFeature):
                value, err = check_number(f, raw)
                if err:
                    errors.append(FieldError(f.name, err))
                    continue
                if value < f.min or value > f.max:
                    outside.append(f.name)
                values[f.name] = value
            else:
                if not isinstance(raw, str):
                    errors.append(FieldError(f.name, f"{f.name} must be one of {f.allowed_text()}; "
                                             f"got {echo(raw)}"))
                    continue
                level = f.normalise(raw)
                if level is None:
                    errors.append(FieldError(f.name, f"{f.name} must be one of {f.allowed_text()}; "
                                             f"got {echo(raw)}"))
                    continue
                values[f.name] = level
        if errors:
            raise SchemaError(errors)
        return Checked(values=values, imputed=tuple(imputed), out_of_range=tuple(outside))

    @staticmethod
    def expect(f: Feature) -> str:
        """What a field accepts, in words: "a number between 0 and 222" or "one of A, B, C"."""
        if isinstance(f, NumericFeature):
            return f"a number {f.limits_text()}"
        return f"one of {f.allowed_text()}"


def check_number(f: NumericFeature, raw: Any) -> tuple[float, str | None]:
    """(value, None) when `raw` is an acceptable number for `f`, else (nan, message)."""
    # bool is an int subclass in Python; a checkbox value is not an income.
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return math.nan, f"{f.name} must be a number {f.limits_text()}; got {echo(raw)}"
    try:
        value = float(raw)
    except OverflowError:
        return math.nan, f"{f.name} must be a finite number {f.limits_text()}; got {echo(raw)}"
    if not math.isfinite(value):
        return math.nan, f"{f.name} must be a finite number {f.limits_text()}; got {echo(raw)}"
    if value < f.hard_min or value > f.hard_max:
        return math.nan, f"{f.name} must be {f.limits_text()}; got {echo(raw)}"
    return value, None

