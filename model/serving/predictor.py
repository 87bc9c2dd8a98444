"""validate → serve: segment, margin, runner-up, why, PCA point, offers. One record or a frame.

Validation is `model.contract.schema` (the one core); the arithmetic is `model.serving.compiled.Compiled` (the
bundle's arrays). One record runs in plain Python (microseconds), a frame in numpy blocks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, TypedDict

import numpy as np
import pandas as pd

from model.contract.bundle import Bundle, read_bundle
from model.contract.constraints import number_text
from model.serving.explain import Explainer
from model.contract.manifest import Manifest, Segment
from model.serving.rfm import score_with_edges
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

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.manifest: Manifest = bundle.manifest
        self.schema: Schema = self.manifest.schema
        self.compiled = bundle.compiled
        self.segments: list[Segment] = list(self.manifest.segments)
        self.explainer = Explainer(self.schema, self.segments, self.compiled)
        self._codes = [{lv: i for i, lv in enumerate(f.levels)} for f in self.schema.categorical]
        self._p99 = np.array([s.distance_p99 if s.distance_p99 is not None else np.inf for s in self.segments])
        self._names = np.array([s.name for s in self.segments] + [""], dtype=object)
        self._num_names = [f.name for f in self.schema.numeric]
        self._coders = [(f.name, m) for f, m in zip(self.schema.categorical, self._codes)]
        # what predict_one copies into every answer, read once
        self._offers = [[{"title": o.title, "rationale": o.rationale, "source": o.source} for o in s.offers]
                        for s in self.segments]
        self._basis = [[o.basis for o in s.offers] for s in self.segments]
        self._features = {f.name: f for f in self.schema.features}
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
        num = [vals[c] for c in self._num_names]
        codes = [None if vals[c] is None else m[vals[c]] for c, m in self._coders]
        label, runner, d1, d2, x, y, z, *near = self.compiled.run_one(num, codes, centres=self.compiled.grouped)
        seg, other = self.segments[label], self.segments[runner]
        reasons = [f"{c} is outside the training range" for c in checked.out_of_range]
        if d1 > self._p99[label]:
            reasons.append("far from every segment centre compared with training customers")
        m = round(margin(d1, d2), 4)
        return {
            "cluster": seg.id, "segment_id": seg.id, "segment_name": seg.name, "share": seg.share,
            "margin": m,
            "runner_up": {"segment_id": other.id, "segment_name": other.name},
            "why": self.explainer.why_one(vals, z, codes, label, runner, tuple(near) or None),
            "pca": {"x": round(x, 5), "y": round(y, 5)},
            "offers": self._fitted_offers(label, vals),
            "description": seg.description,
            "unlike_training": bool(reasons), "unlike_reasons": reasons,
            "imputed": list(checked.imputed),
            "input": dict(vals),
            **({"rfm": self._rfm_one(vals)} if self.rfm else {}),
        }

    def _fitted_offers(self, label: int, vals: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The segment's offers, each saying whether it fits *this* customer: an offer earned by a
        trait (spending above average, prefers Sports) that the customer's own value contradicts
        is kept but marked, with the reason — the segment's offers, read against the customer."""
        out = []
        for offer, basis in zip(self._offers[label], self._basis[label]):
            against = [why for b in basis if (why := self._contradiction(b, vals))]
            out.append({**offer, "fits": not against, "note": "; ".join(against)})
        return sorted(out, key=lambda o: not o["fits"])  # stable: fitting offers first, in their order

    def _contradiction(self, basis: Any, vals: Mapping[str, Any]) -> str:
        f = self._features.get(basis.feature)
        value = vals.get(basis.feature)
        if f is None or value is None:
            return ""
        if basis.level is not None:
            return "" if value == basis.level else f"offered for {basis.level}; this customer's {f.label.lower()} is {value}"
        median = f.median  # type: ignore[union-attr]
        if basis.direction == "high" and value < median:
            return (f"offered for high {f.label.lower()}; this customer's {number_text(value)} is below the "
                    f"median {number_text(median)}")
        if basis.direction == "low" and value > median:
            return (f"offered for low {f.label.lower()}; this customer's {number_text(value)} is above the "
                    f"median {number_text(median)}")
        return ""

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
