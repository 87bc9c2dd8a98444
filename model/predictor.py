"""validate → transform → segment, confidence, PCA point, offers. One record or a whole frame.

Both paths run the compiled arrays of `model.fastpath` (read from the fitted pipeline), so a single
prediction costs microseconds and batch scoring runs at memory speed; tests hold them equal to the
scikit-learn pipeline.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from model.bundle import Bundle, read_bundle
from model.errors import echo
from model.fastpath import Compiled, confidence
from model.schema import Schema, category_key

RESULT_COLUMNS = ["segment_id", "segment_name", "confidence", "pca_x", "pca_y", "unlike_training",
                  "notes", "error"]


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
        self._names = np.array([s["name"] for s in self.segments], dtype=object)
        self._num_feats = self.schema.numeric

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
        num = np.array([[math.nan if vals[c] is None else vals[c] for c in self.numeric]], dtype=float)
        codes = np.array([[-1 if vals[c] is None else self._codes[j][vals[c]]
                           for j, c in enumerate(self.categorical)]], dtype=np.int64)
        labels, two, pts = self.compiled.run(num, codes)
        seg = self.segments[int(labels[0])]
        conf = float(confidence(two)[0])
        far = bool(two[0, 0] > self._p99[int(labels[0])])
        reasons = [f"{c} is outside the training range" for c in checked.out_of_range]
        if far:
            reasons.append("far from every segment centre compared with training customers")
        return {
            "cluster": seg["id"], "segment_id": seg["id"], "segment_name": seg["name"],
            "share": seg["share"], "confidence": round(conf, 4),
            "pca": {"x": round(float(pts[0, 0]), 5), "y": round(float(pts[0, 1]), 5)},
            "offers": [{"title": o["title"], "rationale": o["rationale"]} for o in seg["offers"]],
            "description": seg.get("description", ""),
            "unlike_training": bool(reasons), "unlike_reasons": reasons,
            "imputed": list(checked.imputed),
            "input": {c: vals[c] for c in self.schema.names},
        }

    # -- many records -------------------------------------------------------------------------
    def encode_frame(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[list[str]],
                                                          list[list[str]], np.ndarray]:
        """Vectorised validation. Returns (num, codes, errors per row, notes per row, out-of-range)."""
        n = len(frame)
        errors: list[list[str]] = [[] for _ in range(n)]
        notes: list[list[str]] = [[] for _ in range(n)]
        num = np.empty((n, len(self.numeric)), dtype=float)
        outside = np.zeros(n, dtype=bool)
        for j, f in enumerate(self._num_feats):
            col = frame[f.name]
            if pd.api.types.is_bool_dtype(col):
                vals = np.full(n, np.nan)
                bad = np.ones(n, dtype=bool)
            elif pd.api.types.is_numeric_dtype(col):
                vals = col.to_numpy(dtype=float, na_value=np.nan)
                bad = np.zeros(n, dtype=bool)
            else:
                text = col.astype("string").str.strip()
                blank = text.isna() | (text == "")
                vals = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                bad = (~blank).to_numpy() & np.isnan(vals)
            missing = np.isnan(vals) & ~bad
            with np.errstate(invalid="ignore"):
                bad |= np.isinf(vals) | (vals < f.hard_min) | (vals > f.hard_max)
                outside |= ~bad & ((vals < f.min) | (vals > f.max))
            for i in np.flatnonzero(bad):
                errors[i].append(f"{f.name} must be a number {f.limits_text()}; got {echo(col.iat[i])}")
            for i in np.flatnonzero(missing):
                notes[i].append(f"{f.name} missing: filled with the training median {f.median:g}")
            num[:, j] = np.where(bad, np.nan, vals)
        codes = np.empty((n, len(self.categorical)), dtype=np.int64)
        for j, f in enumerate(self.schema.categorical):
            col = frame[f.name]
            text = col.astype("string")
            uniq = pd.unique(text.dropna())
            lut = {u: self._key_codes[j].get(category_key(u), -2) for u in uniq}
            mapped = text.map(lut).astype("Int64").fillna(-1).to_numpy(dtype=np.int64)
            blank = text.isna().to_numpy() | (text.str.strip() == "").fillna(False).to_numpy()
            mapped[blank] = -1
            for i in np.flatnonzero(mapped == -2):
                errors[i].append(f"{f.name} must be one of {f.allowed_text()}; got {echo(col.iat[i])}")
            for i in np.flatnonzero(blank):
                notes[i].append(f"{f.name} missing: filled with the most frequent level {f.mode}")
            codes[:, j] = np.where(mapped == -2, -1, mapped)
        return num, codes, errors, notes, outside

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score every row. Rows with invalid cells get an `error` and no segment; the rest get a
        segment, confidence, PCA point and notes (imputed cells, unlike the training data)."""
        missing = [c for c in self.schema.names if c not in frame.columns]
        if missing:
            raise KeyError(f"missing required column(s): {', '.join(missing)}; "
                           f"found: {', '.join(map(str, frame.columns))[:200]}")
        num, codes, errors, notes, outside = self.encode_frame(frame)
        ok = np.array([not e for e in errors], dtype=bool)
        n = len(frame)
        seg = np.full(n, -1, dtype=np.int64)
        conf = np.full(n, np.nan)
        pts = np.full((n, 2), np.nan)
        far = np.zeros(n, dtype=bool)
        if ok.any():
            lab, two, p = self.compiled.run(num[ok], codes[ok])
            seg[ok], conf[ok], pts[ok] = lab, np.round(confidence(two), 4), np.round(p, 5)
            far[ok] = two[:, 0] > self._p99[lab]
        unlike = ok & (outside | far)
        for i in np.flatnonzero(unlike):
            notes[i].append("unlike the training data")
        out = pd.DataFrame({
            "segment_id": pd.array(np.where(ok, seg, 0), dtype="Int64"),
            "segment_name": np.where(ok, self._names[np.where(ok, seg, 0)], ""),
            "confidence": conf, "pca_x": pts[:, 0], "pca_y": pts[:, 1], "unlike_training": unlike,
            "notes": ["; ".join(x) for x in notes], "error": ["; ".join(x) for x in errors],
        }, index=frame.index)
        out.loc[~ok, "segment_id"] = pd.NA
        return out

    def segments_payload(self) -> list[dict[str, Any]]:
        """All segments with offers, for the /segments endpoints."""
        return [{"id": s["id"], "name": s["name"], "size": s["size"], "share": s["share"],
                 "archetype": s.get("archetype"), "description": s.get("description", ""),
                 "traits": [t["text"] for t in s["traits"]],
                 "offers": [{"title": o["title"], "rationale": o["rationale"]} for o in s["offers"]]}
                for s in self.segments]
