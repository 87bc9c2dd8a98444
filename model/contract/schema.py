"""Feature schema and the one validation core every surface goes through.

Training writes the schema into the manifest; here it is read back. Each feature carries a
constraint (`model.contract.constraints`: `Interval` for numbers, `Options` for categories) that checks one
value or a whole column and writes the sentence of the error. From them come:

* `Schema.check` — one record (form, gradio_client, raw Gradio calls, JSON, MCP);
* `Schema.check_frame` — a whole table (batch upload, CLI): a bad cell is an error *of its row*;
* `Schema.json_schema` — the request schema in /openapi.json and the API docs;
* `param_name` — the keyword a column becomes in Python clients ('Annual Income (k$)' → annual_income_k);
* `model.contract.errors.SchemaError.envelope` — the one error body: ``{"error": ..., "detail": [{field, message}]}``.

Row errors vs file errors: a file is refused as a whole only when it is structurally unusable —
encoding, delimiter, ragged rows, duplicate or missing columns, size caps (`model.tables.reading`, `CSVError`).
Everything a cell holds is judged here, per row; every good row of a file is kept.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from model.contract.constraints import (MISSING, UNKNOWN, Interval, Options, category_key, cell_echo, required, text_numbers,
                               violation)
from model.contract.errors import FieldError, SchemaError, echo
from model.tables.codes import factorize

__all__ = ["CategoricalFeature", "Checked", "FrameCheck", "NumericFeature", "Schema", "category_key",
           "param_name"]


def param_name(column: str) -> str:
    """A Python identifier for a column name ('Annual Income (k$)' → 'annual_income_k')."""
    name = re.sub(r"\W+", "_", str(column)).strip("_").lower() or "field"
    return f"f_{name}" if name[0].isdigit() else name


@dataclass(frozen=True)
class NumericFeature:
    name: str
    label: str
    min: float  # smallest value seen in training
    max: float  # largest value seen in training
    median: float  # the fill for a missing value
    hard_min: float  # no customer can be below this: rejected
    hard_max: float  # no customer can be above this: rejected
    integer: bool = False
    role: str | None = None  # what the column means (training.reading.roles), None when unknown
    transform: str | None = None  # "log1p" before scaling (skewed money/counts), else None
    kind = "numeric"

    def __post_init__(self) -> None:
        for name in ("min", "max", "median", "hard_min", "hard_max"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def constraint(self) -> Interval:
        return Interval(self.hard_min, self.hard_max)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind, "min": self.min, "max": self.max,
                "median": self.median, "hard_min": self.hard_min, "hard_max": self.hard_max,
                "integer": self.integer, "role": self.role, "transform": self.transform}


@dataclass(frozen=True)
class CategoricalFeature:
    name: str
    label: str
    levels: tuple[str, ...]
    mode: str  # the fill for a missing value
    role: str | None = None
    kind = "categorical"

    @property
    def constraint(self) -> Options:
        return _options(self.levels)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind, "levels": list(self.levels),
                "mode": self.mode, "role": self.role}


_OPTIONS: dict[tuple[str, ...], Options] = {}


def _options(levels: tuple[str, ...]) -> Options:
    """Options are immutable: one lookup table per level list, built once."""
    found = _OPTIONS.get(levels)
    if found is None:
        found = _OPTIONS[levels] = Options(levels)
    return found


Feature = NumericFeature | CategoricalFeature
_NUMERIC_FIELDS = {"name": str, "label": str, "min": float, "max": float, "median": float, "hard_min": float,
                   "hard_max": float, "integer": bool}


@dataclass(frozen=True)
class Checked:
    """A validated record in canonical form, with what was noticed on the way."""
    values: dict[str, Any]  # numeric → float or None (missing), categorical → trained level or None
    imputed: tuple[str, ...] = ()  # fields sent as null: filled like training (median / most frequent)
    out_of_range: tuple[str, ...] = ()  # inside the hard limits but outside what training saw


@dataclass(frozen=True)
class FrameCheck:
    """A validated table. num and codes are column-major, as `model.serving.compiled.Compiled.run` likes."""
    num: np.ndarray  # (n, p) float, NaN where missing or invalid
    codes: np.ndarray  # (n, c) level index, MISSING where missing or invalid
    errors: np.ndarray  # (n,) object: "" or the row's messages joined by "; "
    valid: np.ndarray  # (n,) bool
    missing: np.ndarray  # (n, features) bool, schema order
    outside: np.ndarray  # (n,) bool: inside the hard limits but outside the training range


@dataclass(frozen=True)
class Schema:
    features: tuple[Feature, ...]
    id_column: str | None = None

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Schema":
        """Read the manifest's schema; ValueError naming the field on anything malformed."""
        feats: list[Feature] = []
        if not isinstance(data, Mapping) or not isinstance(data.get("features"), list) or not data["features"]:
            raise ValueError("schema.features: expected a non-empty list of features")
        for i, f in enumerate(data["features"]):
            where = f"schema.features[{i}]"
            if not isinstance(f, Mapping):
                raise ValueError(f"{where}: expected an object, got {type(f).__name__}")
            kind = f.get("kind")
            if kind == "numeric":
                vals = {k: _typed(f, k, t, where) for k, t in _NUMERIC_FIELDS.items()}
                feats.append(NumericFeature(**vals, role=_opt_str(f, "role", where),
                                            transform=_opt_str(f, "transform", where)))
                if feats[-1].transform not in (None, "log1p"):
                    raise ValueError(f"{where}.transform: expected null or 'log1p', got {echo(feats[-1].transform)}")
            elif kind == "categorical":
                levels = f.get("levels")
                if not isinstance(levels, list) or not levels or not all(isinstance(x, str) for x in levels):
                    raise ValueError(f"{where}.levels: expected a non-empty list of strings")
                feats.append(CategoricalFeature(name=_typed(f, "name", str, where), label=_typed(f, "label", str, where),
                                                levels=tuple(levels), mode=_typed(f, "mode", str, where),
                                                role=_opt_str(f, "role", where)))
            else:
                raise ValueError(f"{where}.kind: expected 'numeric' or 'categorical', got {echo(kind)}")
        names = [f.name for f in feats]
        if len(set(map(param_name, names))) != len(names):
            raise ValueError(f"schema.features: two columns give the same parameter name: {names}")
        return cls(features=tuple(feats), id_column=_opt_str(data, "id_column", "schema"))

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

    def feature(self, name: Any) -> Feature:
        """The feature called `name`; SchemaError (naming the allowed columns) for anything else."""
        for f in self.features:
            if f.name == name:
                return f
        raise SchemaError([FieldError("feature", violation("feature", Options(tuple(self.names)), name))])

    def example(self) -> dict[str, Any]:
        """A typical customer: training medians and most frequent levels."""
        return {f.name: (f.mode if isinstance(f, CategoricalFeature) else
                         int(f.median) if f.integer and f.median.is_integer() else f.median)
                for f in self.features}

    @staticmethod
    def expect(f: Feature) -> str:
        """What a field accepts, in words: "a number between 0 and 250" or "one of A, B, C"."""
        return str(f.constraint)

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of one customer, exactly as `check` enforces it."""
        props: dict[str, Any] = {}
        for f in self.features:
            if isinstance(f, NumericFeature):
                desc = (f"{f.label}: {f.constraint}; training range {f.min:g}–{f.max:g}; "
                        f"null = fill with the training median {f.median:g}")
            else:
                desc = f"{f.label}: {f.constraint} (case and spacing are normalised); null = fill with {f.mode}"
            props[f.name] = {**f.constraint.json_schema(), "description": desc, "example": self.example()[f.name]}
        if self.id_column:
            props[self.id_column] = {"description": "customer id (echoed in batch output, not a feature)"}
        return {"type": "object", "properties": props, "required": self.names, "additionalProperties": False}

    # -- one record ---------------------------------------------------------------------------
    def check(self, record: Any) -> Checked:
        """Validate one record (field name → value). Raises SchemaError listing every bad field.
        A field sent as null is imputed (reported in `imputed`); an absent field, an unknown
        field, a wrong type or an impossible value is an error."""
        if not isinstance(record, Mapping):
            raise SchemaError([FieldError("body", f"expected an object with fields {', '.join(self.names)}; "
                                                  f"got {type(record).__name__}")])
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
                errors.append(FieldError(f.name, required(f.name, f.constraint)))
                continue
            raw = record[f.name]
            if raw is None:
                values[f.name] = None
                imputed.append(f.name)
                continue
            value = f.constraint.parse(raw)
            if value is None:
                errors.append(FieldError(f.name, violation(f.name, f.constraint, raw)))
                continue
            if isinstance(f, NumericFeature) and not f.min <= value <= f.max:
                outside.append(f.name)
            values[f.name] = value
        if errors:
            raise SchemaError(errors)
        return Checked(values=values, imputed=tuple(imputed), out_of_range=tuple(outside))

    # -- a table ------------------------------------------------------------------------------
    def check_frame(self, frame: pd.DataFrame) -> FrameCheck:
        """Validate every cell of `frame` (text or numeric columns named as the features).
        A bad cell marks its row invalid with the same message `check` would give; missing
        cells are imputed later. Each distinct category spelling is looked up once."""
        absent = [c for c in self.names if c not in frame.columns]
        if absent:  # the CSV reader refuses such a file first; a frame from code gets this
            raise SchemaError([FieldError(c, required(c, self.feature(c).constraint)) for c in absent])
        n = len(frame)
        num_feats, cat_feats = self.numeric, self.categorical
        row_errors: dict[int, list[str]] = {}
        missing = np.zeros((len(self.features), n), dtype=bool).T
        num = np.empty((len(num_feats), n)).T  # column-major
        outside = np.zeros(n, dtype=bool)
        for j, f in enumerate(num_feats):
            column = frame[f.name]
            values, not_number = text_numbers(column)
            bad = not_number | f.constraint.bad_cells(values)
            missing[:, j] = np.isnan(values) & ~not_number
            with np.errstate(invalid="ignore"):
                outside |= ~bad & ((values < f.min) | (values > f.max))
            if bad.any():
                for i in np.flatnonzero(bad).tolist():
                    row_errors.setdefault(i, []).append(violation(f.name, f.constraint, cell_echo(column.iat[i])))
                values = np.where(bad, np.nan, values)
            num[:, j] = values
        codes = np.empty((len(cat_feats), n), dtype=np.int64).T
        for j, f in enumerate(cat_feats):
            column = frame[f.name]
            mapped = _category_codes(column, f.constraint)
            missing[:, len(num_feats) + j] = mapped == MISSING
            unknown = mapped == UNKNOWN
            if unknown.any():
                for i in np.flatnonzero(unknown).tolist():
                    row_errors.setdefault(i, []).append(violation(f.name, f.constraint, column.iat[i]))
                mapped[unknown] = MISSING
            codes[:, j] = mapped
        errors = np.full(n, "", dtype=object)
        valid = np.ones(n, dtype=bool)
        for i, parts in row_errors.items():
            errors[i] = "; ".join(parts)
            valid[i] = False
        return FrameCheck(num=num, codes=codes, errors=errors, valid=valid, missing=missing, outside=outside)


def _category_codes(column: pd.Series, options: Options) -> np.ndarray:
    """Level index per row; MISSING for empty cells, UNKNOWN for values that are no level."""
    # pandas' str dtype (the CSV reader's) is factorized in its own storage, missing → code -1: Arrow with
    # pyarrow (make test), Python strings in the Space (no pyarrow); 1 M cells: 17 ms / 57 ms here
    if isinstance(column.dtype, pd.StringDtype):
        rows, uniques = pd.factorize(column)
    else:
        rows, uniques = factorize(column.to_numpy(dtype=object) if not isinstance(column.dtype, np.dtype)
                                  else column.to_numpy())  # NaN / None / pd.NA → code -1 or a unique NA
    lut = np.empty(len(uniques) + 1, dtype=np.int64)
    lut[-1] = MISSING
    for u, value in enumerate(uniques.tolist()):
        if isinstance(value, str):
            code = options.code_of(value) if value.strip() else MISSING
        else:  # a number or a boolean in a category column is no level; NaN is an empty cell
            code = MISSING if value is None or (isinstance(value, float) and value != value) else UNKNOWN
        lut[u] = UNKNOWN if code is None else code
    return lut[rows]  # row code -1 picks lut[-1]


def _typed(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ValueError(f"{where}.{key}: expected {kind.__name__}, got {echo(value)}")
    return value


def _opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}.{key}: expected a string or null, got {echo(value)}")
    return value
