"""validate → serve: segment, margin, runner-up, why, PCA point, offers. One record or a frame.

Validation is `model.contract.schema` (the one core); the arithmetic is `model.serving.compiled.Compiled` (the
bundle's arrays). One record runs in plain Python (microseconds), a frame in numpy blocks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence, TypedDict

import numpy as np
import pandas as pd

from model.contract.bundle import Bundle, read_bundle
from model.contract.constraints import number_text
from model.contract.errors import SchemaError
from model.serving.explain import Explainer
from model.contract.manifest import Manifest, Segment
from model.serving.rfm import score_with_edges
from model.serving.single import TOP, OneCustomer
from model.contract.schema import Schema
from model.serving.compiled import margin


class RunnerUp(TypedDict):
    segment_id: int
    segment_name: str


class Reason(TypedDict):
    feature: str
    label: str
    value: Any
    pull: float
    text: str


class OfferForCustomer(TypedDict):
    title: str
    rationale: str
    source: str
    fits: bool
    note: str


class Prediction(TypedDict, total=False):
    """One customer's answer (`Predictor.predict_one`): the documented shape of /predict."""
    cluster: int
    segment_id: int
    segment_name: str
    share: float
    margin: float
    runner_up: RunnerUp
    why: list[Reason]
    pca: dict[str, float]
    offers: list[OfferForCustomer]
    description: str
    unlike_training: bool
    unlike_reasons: list[str]
    imputed: list[str]
    input: dict[str, Any]
    bundle: str
    rfm: dict[str, Any]


class SegmentValueInfo(TypedDict):
    """What a segment is worth (training.description.value): its customers against its revenue."""
    customer_share: float
    revenue: float
    revenue_share: float
    revenue_per_customer: float
    orders_per_customer: float | None


class SegmentInfo(TypedDict):
    id: int
    name: str
    size: int
    share: float
    archetype: str | None
    description: str
    traits: list[str]
    offers: list[dict[str, str]]
    value: SegmentValueInfo | None


class Predictor:
    """Serves one bundle. Immutable after construction; safe to share between threads."""

    def __init__(self, bundle: Bundle, *, bundle_id: str | None = None):
        """`bundle_id` names the bundle in every answer (`OWNER/REPO@<commit>` for one fetched
        from the Hub); by default the sha256 of its manifest, which holds the sha256 of every
        other file."""
        self.bundle = bundle
        self.manifest: Manifest = bundle.manifest
        self.schema: Schema = self.manifest.schema
        self.compiled = bundle.compiled
        self.segments: list[Segment] = list(self.manifest.segments)
        self.explainer = Explainer(self.schema, self.segments, self.compiled)
        self.one = OneCustomer(self.schema, self.segments, self.compiled)
        self.bundle_id = bundle_id or f"sha256:{bundle.manifest_sha256}"
        self._p99 = np.array([s.distance_p99 if s.distance_p99 is not None else np.inf for s in self.segments])
        self._p99_list = self._p99.tolist()
        self._seg = [(s.id, s.name, s.share, s.description) for s in self.segments]
        self._names = np.array([s.name for s in self.segments] + [""], dtype=object)
        self._num_names = [f.name for f in self.schema.numeric]
        # one note per feature left empty, in schema order; the last bit is "unlike the training data"
        self._notes = [f"{f.name} missing: filled with the training median {number_text(f.median)}"
                       for f in self.schema.numeric]
        self._notes += [f"{f.name} missing: filled with the most frequent level {f.mode}"
                        for f in self.schema.categorical]
        self._notes.append("unlike the training data")
        # RFM: a bundle whose features are recency / frequency / monetary scores every customer
        self.rfm = None if self.manifest.rfm is None else self.manifest.rfm.as_dict()
        by_role = {f.role: f for f in self.schema.numeric}
        self._rfm_feats = [by_role[r] for r in ("recency", "frequency", "monetary")] if self.rfm else []

    @classmethod
    def from_dir(cls, path: Path | str, *, bundle_id: str | None = None) -> "Predictor":
        return cls(read_bundle(path), bundle_id=bundle_id)

    @property
    def k(self) -> int:
        return len(self.segments)

    # -- one record ---------------------------------------------------------------------------
    def predict_one(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and score one customer. Raises SchemaError naming every bad field."""
        one = self.one
        parts = one.quick_check(record) or one.from_checked(self.schema.check(record))  # check() names errors
        label, runner, d1, d2, x, y, z, cs, ca, cb = one.score(parts[1], parts[2], centres=True)
        return self._answer(parts, label, runner, margin(d1, d2), x, y, d1 > self._p99_list[label],
                            one.why(parts[0], z, cs, ca, cb))

    def predict_many(self, records: Sequence[Any]) -> list[dict[str, Any]]:
        """Each record's answer (`predict_one`'s) or, for a record that cannot be scored, its own
        error envelope (``{"error": …, "detail": [{"field", "message"}]}``), in order: one bad
        record never fails the others. The arithmetic runs once for all of them, in numpy (the
        frame's path: the same numbers as one at a time, but for the last bit of a rounded float)."""
        one, out = self.one, [None] * len(records)
        at, num, codes, parts = one.check_many(records)  # the plainly valid ones, column by column
        if len(at) < len(records):
            fast, more = set(at), []
            for i, record in enumerate(records):
                if i in fast:
                    continue
                try:
                    more.append((i, one.quick_check(record) or one.from_checked(self.schema.check(record))))
                except SchemaError as exc:
                    out[i] = exc.envelope()
            if more:
                n, p, c = len(more), len(self._num_names), len(self.schema.categorical)
                num = np.vstack([num, np.array([m[1][1] for m in more], dtype=float).reshape(n, p)])  # None → NaN
                codes = np.vstack([codes, np.array([[-1 if v is None else v for v in m[1][2]] for m in more],
                                                   dtype=np.int64).reshape(n, c)])
                at, parts = at + [i for i, _ in more], parts + [m[1] for m in more]
        if not at:
            return out  # type: ignore[return-value]
        labels, runners, two, pts, near_a, near_b = self.compiled.run(num, codes, centres=True)
        pulls = self.explainer.pulls(num.T, codes.T, near_a, near_b).T  # between centres
        top = np.argsort(-pulls, axis=1, kind="stable")[:, :TOP]  # as sorted(reverse=True): first on ties
        top_pulls = np.take_along_axis(pulls, top, axis=1).tolist()
        top = top.tolist()
        filled = np.where(codes < 0, self.compiled.cat_fill, codes).tolist()
        margins, far = margin(two[:, 0], two[:, 1]).tolist(), (two[:, 0] > self._p99[labels]).tolist()
        labels, runners, pts = labels.tolist(), runners.tolist(), pts.tolist()
        near_a, near_b = near_a.tolist(), near_b.tolist()
        for r, (i, part) in enumerate(zip(at, parts)):
            a, b = labels[r], runners[r]
            why = one.top_reasons(part[0], top[r], top_pulls[r], filled[r], near_a[r], near_b[r]) if a != b else []
            out[i] = self._answer(part, a, b, margins[r], pts[r][0], pts[r][1], far[r], why)
        return out  # type: ignore[return-value]

    def _answer(self, parts: tuple[Any, ...], label: int, runner: int, m: float, x: float, y: float, far: bool,
                why: list[dict[str, Any]]) -> dict[str, Any]:
        """One customer's answer (the shape of `Prediction`) from its checked values and numbers."""
        vals, _, _, imputed, outside = parts
        seg_id, name, share, description = self._seg[label]
        reasons = [f"{c} is outside the training range" for c in outside] if outside else []
        if far:
            reasons.append("far from every segment centre compared with training customers")
        answer = {
            "cluster": seg_id, "segment_id": seg_id, "segment_name": name, "share": share,
            "margin": round(m * 10000.0) / 10000.0,  # np.round's rule (the frame's), 2x faster than round(m, 4)
            "runner_up": {"segment_id": self._seg[runner][0], "segment_name": self._seg[runner][1]},
            "why": why,
            "pca": {"x": round(x * 100000.0) / 100000.0, "y": round(y * 100000.0) / 100000.0},
            "offers": self.one.offers(label, vals),
            "description": description,
            "unlike_training": bool(reasons), "unlike_reasons": reasons,
            "imputed": imputed,
            "input": vals,
            "bundle": self.bundle_id,
        }
        if self.rfm:
            answer["rfm"] = self._rfm_one(vals)
        return answer

    def _rfm_one(self, vals: Mapping[str, Any]) -> dict[str, Any]:
        r, f, m, label = score_with_edges(*(f.median if vals[f.name] is None else vals[f.name]
                                            for f in self._rfm_feats), self.rfm)
        return {"r": r, "f": f, "m": m, "label": label}

    # -- many records -------------------------------------------------------------------------
    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score every row. A row with an invalid cell gets an `error` and no segment; the rest get
        a segment, margin, runner-up, why, PCA point and notes (imputed cells, unlike the
        training data). Row order and index are kept."""
        check = self.schema.check_frame(frame)
        ok, n = check.valid, len(frame)
        all_ok = bool(ok.all())
        seg = np.full(n, self.k, dtype=np.int64)  # k = "no segment" (name "")
        run = np.full(n, self.k, dtype=np.int64)
        marg = np.full(n, np.nan)
        pts = np.full((n, 2), np.nan)
        far = np.zeros(n, dtype=bool)
        why = np.full(n, "", dtype=object)
        if ok.any():
            num, codes = (check.num, check.codes) if all_ok else (check.num.T[:, ok].T, check.codes.T[:, ok].T)
            lab, second, two, p, *near = self.compiled.run(num, codes, centres=self.compiled.grouped)
            if all_ok:
                seg, run, marg, pts = lab, second, np.round(margin(two[:, 0], two[:, 1]), 4), np.round(p, 5)
            else:
                seg[ok], run[ok] = lab, second
                marg[ok], pts[ok] = np.round(margin(two[:, 0], two[:, 1]), 4), np.round(p, 5)
            far[ok] = two[:, 0] > self._p99[lab]
            why[ok] = self.explainer.why_frame(num, codes, lab, second, tuple(near) or None)
        unlike = ok & (check.outside | far)
        out = pd.DataFrame(index=frame.index)  # column by column: no copying into blocks
        out["segment_id"] = pd.arrays.IntegerArray(np.where(ok, seg, 0), ~ok)
        out["segment_name"] = _text(self._names[seg], frame.index)
        out["margin"] = marg
        out["runner_up"] = pd.arrays.IntegerArray(np.where(ok, run, 0), ~ok)
        out["why"] = _text(why, frame.index)
        out["pca_x"] = pts[:, 0]
        out["pca_y"] = pts[:, 1]
        out["unlike_training"] = unlike
        out["notes"] = _text(self._note_texts(check.missing, unlike), frame.index)
        out["error"] = _text(check.errors, frame.index)
        if self.rfm:
            label = np.full(n, "", dtype=object)
            if ok.any():
                cols = [np.where(np.isnan(v := check.num[ok, self._num_names.index(f.name)]), f.median, v)
                        for f in self._rfm_feats]
                label[ok] = score_with_edges(*cols, self.rfm)[3]
            out["rfm_label"] = _text(label, frame.index)
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
        return [{"id": s.id, "name": s.name, "size": s.size, "share": s.share, "archetype": s.archetype,
                 "description": s.description, "traits": [t.text for t in s.traits],
                 "offers": [{"title": o.title, "rationale": o.rationale} for o in s.offers],
                 "value": None if s.value is None else {
                     "customer_share": s.value.customer_share, "revenue": s.value.revenue,
                     "revenue_share": s.value.revenue_share, "revenue_per_customer": s.value.revenue_per_customer,
                     "orders_per_customer": s.value.orders_per_customer}}
                for s in self.segments]


def _text(values: np.ndarray, index: pd.Index) -> pd.Series:
    """An object array of str as a column, without pandas re-checking every cell to infer `str`."""
    return pd.Series(values, index=index, dtype=object, copy=False)
