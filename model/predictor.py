"""validate → transform → segment, confidence, PCA point, offers. One record or a whole frame.

Both paths run the compiled form of the fitted pipeline (`model.fastpath`): one record in plain
Python (microseconds), a frame in numpy at memory speed; tests hold them equal to the scikit-learn
pipeline. Frame validation works per *distinct* value wherever it can (category spellings, which
features are missing on a row), so its cost hardly grows with the row count beyond a few passes.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from model.bundle import Bundle, read_bundle
from model.errors import echo
from model.fastpath import Compiled, confidence, confidence_one, factorize
from model.schema import Schema, category_key

RESULT_COLUMNS = ["segment_id", "segment_name", "confidence", "pca_x", "pca_y", "unlike_training",
                  "notes", "error"]
_MISSING, _UNKNOWN = -1, -2  # category codes before imputation


class Predictor:
    """Serves one bundle. Immutable after construction; safe to share between threads."""

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.manifest = bundle.manifest
        self.schema = Schema.from_dict(self.manifest["schema"])
        self.numeric = [f.name for f in self.schema.numeric]
        self.categorical = [f.name for f in self.schema.categorical]
        self.compiled = Compiled.from_pipeline(
            bundle.pipeline, bundle.pca, numeric=self.numeric, categorical=self.categorical,
            levels=[list(f.levels) for f in self.schema.categorical])
        self.segments = sorted(self.manifest["segments"], key=lambda s: s["id"])
        self._codes = [{lv: i for i, lv in enumerate(f.levels)} for f in self.schema.categorical]
        self._key_codes = [{category_key(lv): i for i, lv in enumerate(f.levels)}
                           for f in self.schema.categorical]
        self._p99 = np.array([s.get("distance_p99") or np.inf for s in self.segments])
        self._names = np.array([s["name"] for s in self.segments] + [""], dtype=object)
        self._num_feats = self.schema.numeric
        # what predict_one copies into every answer, read once
        self._p99_one = self._p99.tolist()
        self._seg_one = [(s["id"], s["name"], s["share"], s.get("description", ""),
                          tuple((o["title"], o["rationale"]) for o in s["offers"])) for s in self.segments]
        self._coders = list(zip(self.categorical, self._codes))
        # one note per feature left empty, in column order; the last bit is "unlike the training data"
        self._notes = [f"{f.name} missing: filled with the training median {f.median:g}" for f in self._num_feats]
        self._notes += [f"{f.name} missing: filled with the most frequent level {f.mode}"
                        for f in self.schema.categorical]
        self._notes.append("unlike the training data")

    @classmethod
    def from_dir(cls, path: Path | str) -> "Predictor":
        return cls(read_bundle(path))

    @property
    def k(self) -> int:
        return len(self.segments)

    # -- one record ---------------------------------------------------------------------------
    def predict_one(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and score one customer. Raises SchemaError naming every bad field."""
        checked = self.schema.check(record)
        vals = checked.values
        label, d1, d2, x, y = self.compiled.run_one(
            [vals[c] for c in self.numeric],
            [None if vals[c] is None else m[vals[c]] for c, m in self._coders])
        seg_id, name, share, description, offers = self._seg_one[label]
        reasons = [f"{c} is outside the training range" for c in checked.out_of_range]
        if d1 > self._p99_one[label]:
            reasons.append("far from every segment centre compared with training customers")
        return {
            "cluster": seg_id, "segment_id": seg_id, "segment_name": name,
            "share": share, "confidence": round(confidence_one(d1, d2), 4),
            "pca": {"x": round(x, 5), "y": round(y, 5)},
            "offers": [{"title": t, "rationale": r} for t, r in offers],
            "description": description,
            "unlike_training": bool(reasons), "unlike_reasons": reasons,
            "imputed": list(checked.imputed),
            "input": dict(vals),
        }

    # -- many records -------------------------------------------------------------------------
    def encode_frame(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                          np.ndarray, np.ndarray, np.ndarray]:
        """Vectorised validation. Returns (num (n, p), codes (n, c), error text per row ("" when
        valid), valid-row flags, missing-cell flags (n, features) in schema order,
        out-of-training-range flags). num and codes are column-major, as `Compiled.run` likes."""
        n = len(frame)
        errors: dict[int, list[str]] = {}  # only rows with a bad cell
        missing = np.zeros((len(self._num_feats) + len(self.categorical), n), dtype=bool).T
        num = np.empty((len(self.numeric), n)).T  # column-major: what Compiled.run streams fastest
        outside = np.zeros(n, dtype=bool)
        for j, f in enumerate(self._num_feats):
            col = frame[f.name]
            vals, not_number = _numbers(col)
            nan = np.isnan(vals)
            with np.errstate(invalid="ignore"):
                inside = (vals >= f.hard_min) & (vals <= f.hard_max)  # False for NaN
                if not (math.isfinite(f.hard_min) and math.isfinite(f.hard_max)):
                    inside &= np.isfinite(vals)
                far = vals < f.min
                far |= vals > f.max
            far &= inside
            outside |= far
            if not_number is not None:
                nan &= ~not_number
            missing[:, j] = nan
            bad = ~(inside | nan)  # not a number, infinite, or beyond the hard limits
            if bad.any():
                for i in np.flatnonzero(bad).tolist():
                    errors.setdefault(i, []).append(
                        f"{f.name} must be a number {f.limits_text()}; got {echo(col.iat[i])}")
                vals = np.where(bad, np.nan, vals)
            num[:, j] = vals
        codes = np.empty((len(self.categorical), n), dtype=np.int64).T
        for j, f in enumerate(self.schema.categorical):
            col = frame[f.name]
            mapped = self._category_codes(col, j)
            missing[:, len(self._num_feats) + j] = mapped == _MISSING
            unknown = mapped == _UNKNOWN
            if unknown.any():
                for i in np.flatnonzero(unknown).tolist():
                    errors.setdefault(i, []).append(
                        f"{f.name} must be one of {f.allowed_text()}; got {echo(col.iat[i])}")
                mapped[unknown] = _MISSING
            codes[:, j] = mapped
        error = np.full(n, "", dtype=object)
        valid = np.ones(n, dtype=bool)
        for i, parts in errors.items():
            error[i] = "; ".join(parts)
            valid[i] = False
        return num, codes, error, valid, missing, outside

    def _category_codes(self, col: pd.Series, j: int) -> np.ndarray:
        """Level index per row; _MISSING for empty cells, _UNKNOWN for values that are no level.
        Each distinct value is looked up once, not once per row."""
        values = col.to_numpy(dtype=object) if not isinstance(col.dtype, np.dtype) else col.to_numpy()
        rows, uniques = factorize(values)  # NaN / None / pd.NA → row code -1 or a unique NA
        lut = np.empty(len(uniques) + 1, dtype=np.int64)
        lut[-1] = _MISSING
        for u, value in enumerate(uniques.tolist()):
            text = value if isinstance(value, str) else "" if pd.isna(value) else str(value)
            lut[u] = (_MISSING if not text.strip()
                      else self._key_codes[j].get(category_key(text), _UNKNOWN))
        return lut[rows]  # row code -1 picks lut[-1]

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score every row. Rows with invalid cells get an `error` and no segment; the rest get a
        segment, confidence, PCA point and notes (imputed cells, unlike the training data)."""
        missing_cols = [c for c in self.schema.names if c not in frame.columns]
        if missing_cols:
            raise KeyError(f"missing required column(s): {', '.join(missing_cols)}; "
                           f"found: {', '.join(map(str, frame.columns))[:200]}")
        num, codes, error, ok, missing, outside = self.encode_frame(frame)
        n = len(frame)
        all_ok = bool(ok.all())
        seg = np.full(n, self.k, dtype=np.int64)  # k = "no segment" (name "")
        conf = np.full(n, np.nan)
        pts = np.full((n, 2), np.nan)
        far = np.zeros(n, dtype=bool)
        if ok.any():
            if not all_ok:  # keep the column-major layout
                num, codes = num.T[:, ok].T, codes.T[:, ok].T
            lab, two, p = self.compiled.run(num, codes)
            c = np.round(confidence(two), 4)
            if all_ok:
                seg, conf, pts = lab, c, np.round(p, 5)
            else:
                seg[ok], conf[ok], pts[ok] = lab, c, np.round(p, 5)
            far[ok] = two[:, 0] > self._p99[lab]
        unlike = ok & (outside | far)
        out = pd.DataFrame(index=frame.index)  # column by column: no copying into blocks
        out["segment_id"] = pd.arrays.IntegerArray(np.where(ok, seg, 0), ~ok)
        out["segment_name"] = _text(self._names[seg], frame.index)
        out["confidence"] = conf
        out["pca_x"] = pts[:, 0]
        out["pca_y"] = pts[:, 1]
        out["unlike_training"] = unlike
        out["notes"] = _text(self._note_texts(missing, unlike), frame.index)
        out["error"] = _text(error, frame.index)
        return out

    def _note_texts(self, missing: np.ndarray, unlike: np.ndarray) -> np.ndarray:
        """'; '-joined notes per row (missing cells in schema order, then "unlike the training
        data"): one string per distinct combination of flags, not one per row."""
        n = len(unlike)
        flags = [*missing.T, unlike]
        if not any(f.any() for f in flags):
            return np.full(n, "", dtype=object)
        bits = np.zeros(n, dtype=np.int64)
        for b, f in enumerate(flags):
            if f.any():
                bits += f * np.int64(1 << b)
        if len(flags) <= 16:  # a table over every combination: no hashing of 1 M row keys
            present = np.flatnonzero(np.bincount(bits, minlength=1 << len(flags)))
            table = np.empty(1 << len(flags), dtype=object)
            table[present] = [self._note_text(int(m)) for m in present]
            return table[bits]
        rows, combos = pd.factorize(bits)
        return np.array([self._note_text(int(m)) for m in combos], dtype=object)[rows]

    def _note_text(self, mask: int) -> str:
        return "; ".join(t for b, t in enumerate(self._notes) if mask >> b & 1)

    def segments_payload(self) -> list[dict[str, Any]]:
        """All segments with offers, for the /segments endpoints."""
        return [{"id": s["id"], "name": s["name"], "size": s["size"], "share": s["share"],
                 "archetype": s.get("archetype"), "description": s.get("description", ""),
                 "traits": [t["text"] for t in s["traits"]],
                 "offers": [{"title": o["title"], "rationale": o["rationale"]} for o in s["offers"]]}
                for s in self.segments]


def _numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """(float values with NaN for empty cells, cells that are not numbers at all — None when the
    column's dtype is numeric and so every cell is a number or empty)."""
    n = len(col)
    if pd.api.types.is_bool_dtype(col):
        return np.full(n, np.nan), np.ones(n, dtype=bool)
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float, na_value=np.nan), None
    text = col.astype("string").str.strip()
    blank = text.isna() | (text == "")
    vals = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return vals, (~blank).to_numpy() & np.isnan(vals)


def _text(values: np.ndarray, index: pd.Index) -> pd.Series:
    """An object array of str as a column, without pandas re-checking every cell to infer `str`."""
    return pd.Series(values, index=index, dtype=object, copy=False)
