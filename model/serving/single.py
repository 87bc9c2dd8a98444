"""One customer, fast: the whole answer from small tables compiled once per bundle.

A request checks a handful of values, runs one small matrix product (numpy: the k centres and the
map's two axes at once) and a few dozen float operations in plain Python (numpy's ~1 µs per call
on a 1-row array would outweigh them), looks text up and copies a few small dicts: no walk over the
schema's objects, no Decimal. Everything that does not depend on the customer — the segments'
averages as text, the offers and what contradicts them, the pull of each level of each category
between two segments — is written once (per pair of segments, on its first use).

Many customers (`Predictor.predict_many`) run the arithmetic in numpy over all of them and then
`reasons`, `offers` per customer: the same operations, so the same answers.

`Schema.check` (`model.contract.schema`) stays the one judge and the one writer of errors:
`quick_check` only recognises the common, plainly valid record (the trained spelling of each
level, JSON numbers inside the limits, null) and hands anything else to it. The arithmetic is that
of `model.serving.compiled.Compiled.run` and the "why" that of `model.serving.explain` (tests hold
all of them equal).
"""
from __future__ import annotations

import math
from itertools import repeat
from operator import add, getitem, is_, mul, sub, truediv
from typing import Any, Sequence

import numpy as np

from model.contract.constraints import number_text
from model.contract.manifest import Segment
from model.contract.schema import Checked, NumericFeature, Schema
from model.serving.compiled import Compiled

TOP = 3  # reasons given for one customer
_LEVEL, _HIGH, _LOW = 0, 1, 2  # what an offer's basis says of a customer: a level, above / below the median
_FLOAT_OR_INT = (float, int)
_NUMBER_OR_NULL = frozenset((float, int, type(None)))


def short_name(name: str) -> str:
    """A segment's name up to its first " · " ("Premium · older" → "Premium"): enough to tell two apart."""
    return name.split(" · ")[0]


def average_text(x: float | None) -> str:
    """A segment's mean as text: 1 decimal below 100, none above."""
    return "n/a" if x is None else number_text(round(x, 1) if abs(x) < 100 else round(x))


class OneCustomer:
    """The tables of one bundle for one customer at a time. Immutable once built except for its
    caches of per-pair text, which only ever gain entries; safe to share between threads."""

    def __init__(self, schema: Schema, segments: Sequence[Segment], compiled: Compiled):
        self.schema, self.segments, c = schema, list(segments), compiled
        numeric, categorical = schema.numeric, schema.categorical
        p, k = len(numeric), len(c.centres)  # centres: one per segment, or several (people merged segments)
        self.p, self.k = p, k
        # the segment of each centre (None: centre j is segment j)
        self._owner = None if c.centre_segment is None else tuple(c.centre_segment.tolist())
        pos = {f.name: i for i, f in enumerate(numeric)} | {f.name: i for i, f in enumerate(categorical)}
        # validation, in schema order: (name, numeric?, position, low, high, seen low, seen high, level → code)
        self._spec = tuple(
            (f.name, True, pos[f.name], f.hard_min, f.hard_max, f.min, f.max, None)
            if isinstance(f, NumericFeature) else
            (f.name, False, pos[f.name], 0.0, 0.0, 0.0, 0.0, {lv: i for i, lv in enumerate(f.levels)})
            for f in schema.features)
        self._quick = all(math.isfinite(s[3]) and math.isfinite(s[4]) for s in self._spec if s[1])
        self._keys = frozenset(schema.names)
        self._keys_id = frozenset(schema.names) | {schema.id_column} if schema.id_column else self._keys
        self.codes = [{lv: i for i, lv in enumerate(f.levels)} for f in categorical]
        # scoring: z = (x' − mean) / scale; d²(z, c_j) = |z|² − 2 z·c_j + |c_j|², where the one-hot
        # part of z·c_j and of the map point is one lookup per group of categories (Compiled's groups)
        self._fill = tuple(c.num_fill.tolist())
        self._mean, self._scale = tuple(c.num_mean.tolist()), tuple(c.num_scale.tolist())
        self._logs = tuple(int(i) for i in c.derived["log_rows"])
        self._cat_fill = tuple(c.cat_fill.tolist())
        sizes = c.cat_sizes.tolist()
        starts = [p + sum(sizes[:f]) for f in range(len(sizes))]
        centres = c.centres.tolist()
        self._cnum = tuple(tuple(row[:p]) for row in centres)
        # the k numeric parts of −2 z·c_j and the map's two axes in one product (one numpy call
        # beats k + 2 Python sums from k ≈ 3 on)
        self._w = np.ascontiguousarray(np.vstack([-2.0 * c.centres[:, :p], c.pca_components[:, :p]]))
        self._ccat = tuple(tuple(tuple(row[a:a + n]) for a, n in zip(starts, sizes)) for row in centres)
        self._csq = tuple(sum(v * v for v in row) + len(sizes) for row in centres)  # + |onehot|² = 1 per feature
        self._shift = tuple((-(c.pca_mean @ c.pca_components.T)).tolist())
        self._groups = tuple(
            (members[0], members[-1] + 1, tuple(int(math.prod(sizes_[i + 1:])) for i in range(len(sizes_))),
             tuple(map(tuple, (-2.0 * dots).T.tolist())), tuple(map(tuple, pts.T.tolist())))
            for members, sizes_, dots, pts in c.derived["groups"])
        self._block_sq = tuple(tuple((c.centres[j, a:a + n] ** 2).sum().item() for a, n in zip(starts, sizes))
                               for j in range(k))  # summed as `Explainer.block_sq` is
        self._features = range(p + len(categorical))  # numeric features first, as in z
        self._numeric, self._categorical = numeric, categorical
        self._pairs: dict[tuple[int, int], tuple[Any, ...]] = {}
        self._offers = [self._compile_offers(s) for s in self.segments]

    # -- validation -----------------------------------------------------------------------------
    def quick_check(self, record: Any) -> tuple[dict[str, Any], list[Any], list[Any], list[str], list[str]] | None:
        """(values, numbers, level codes, imputed, outside the training range) of a plainly valid
        record; None for anything else — `Schema.check` then judges it (and names what is wrong)."""
        if type(record) is not dict or not self._quick:
            return None
        keys = record.keys()
        if keys != self._keys and keys != self._keys_id:
            return None
        values: dict[str, Any] = {}
        num: list[Any] = [None] * self.p
        codes: list[Any] = [None] * len(self.codes)
        imputed: list[str] = []
        outside: list[str] = []
        for name, numeric, i, low, high, seen_low, seen_high, levels in self._spec:
            v = record[name]
            if v is None:
                imputed.append(name)
            elif numeric:
                if type(v) not in _FLOAT_OR_INT or not low <= v <= high:  # NaN fails the comparison
                    return None
                v = num[i] = float(v)
                if not seen_low <= v <= seen_high:
                    outside.append(name)
            else:
                code = levels.get(v) if type(v) is str else None
                if code is None:  # another spelling, or no level: Schema.check normalises or refuses
                    return None
                codes[i] = code
            values[name] = v
        return values, num, codes, imputed, outside

    def check_many(self, records: Sequence[Any]) -> tuple[list[int], np.ndarray, np.ndarray, list[tuple[Any, ...]]]:
        """`quick_check` of many records at once, column by column: (the positions of the records it
        recognises, their numbers (n, p) with NaN where missing, their level codes (n, c) with −1
        where missing, and for each its (values, None, None, imputed, outside) as `quick_check`
        gives them). The other records are left out, for `quick_check` / `Schema.check` one by one."""
        p, c = self.p, len(self.codes)
        keys, keys_id = self._keys, self._keys_id
        at = [i for i, r in enumerate(records) if type(r) is dict and (r.keys() == keys or r.keys() == keys_id)]
        if not self._quick or not at:
            return [], np.empty((0, p)), np.empty((0, c), dtype=np.int64), []
        rows = [records[i] for i in at]
        n, features = len(rows), len(self._spec)
        good = np.ones(n, dtype=bool)
        num, codes = np.empty((n, p)), np.empty((n, c), dtype=np.int64)
        missing, outside = np.zeros((n, features), dtype=bool), np.zeros((n, features), dtype=bool)
        columns = []  # each feature's values as the answer states them ("input"), in schema order
        for f, (name, numeric, i, low, high, seen_low, seen_high, levels) in enumerate(self._spec):
            col = [r[name] for r in rows]
            none = np.array([v is None for v in col], dtype=bool) if any(map(is_, col, repeat(None))) else None
            if numeric:
                if not set(map(type, col)) <= _NUMBER_OR_NULL:  # bool, text, numpy scalars: one by one
                    col = _only(col, [type(v) in _NUMBER_OR_NULL for v in col], good)
                try:
                    x = np.array(col, dtype=float)  # None → NaN
                except OverflowError:  # an integer beyond any float is outside the limits
                    x = np.array(_only(col, [type(v) is not int or -high - 1 < v < high + 1 for v in col], good),
                                 dtype=float)
                with np.errstate(invalid="ignore"):
                    good &= ~((x < low) | (x > high))
                    outside[:, f] = (x < seen_low) | (x > seen_high)
                nan = np.isnan(x)
                if nan.any():
                    good &= nan == none if none is not None else ~nan  # NaN sent as a number: not plainly valid
                num[:, i] = x
                values = x.tolist()
                columns.append(values if none is None else [None if m else v for v, m in zip(values, none.tolist())])
            else:
                found = [levels.get(v, -2) if type(v) is str else -1 if v is None else -2 for v in col]
                code = np.array(found, dtype=np.int64)
                good &= code != -2  # another spelling, or no level: Schema.check normalises or refuses
                codes[:, i] = code
                columns.append(col)
            if none is not None:
                missing[:, f] = none
        names = [s[0] for s in self._spec]
        anything = (missing | outside).any(axis=1).tolist()
        missing_at, outside_at = missing.tolist(), outside.tolist()
        parts = []
        for r, values in enumerate(zip(*columns)):
            if anything[r]:
                imputed = [nm for nm, m in zip(names, missing_at[r]) if m]
                far = [nm for nm, o in zip(names, outside_at[r]) if o]
            else:
                imputed, far = [], []
            parts.append((dict(zip(names, values)), None, None, imputed, far))
        keep = good.tolist()
        if all(keep):
            return at, num, codes, parts
        return ([i for i, k in zip(at, keep) if k], num[good], codes[good],
                [part for part, k in zip(parts, keep) if k])

    def from_checked(self, checked: Checked) -> tuple[dict[str, Any], list[Any], list[Any], list[str], list[str]]:
        """The same tuple as `quick_check`, from `Schema.check`'s answer."""
        vals = checked.values
        num = [vals[f.name] for f in self._numeric]
        codes = [None if vals[f.name] is None else m[vals[f.name]] for f, m in zip(self._categorical, self.codes)]
        return dict(vals), num, codes, list(checked.imputed), list(checked.out_of_range)

    # -- arithmetic -----------------------------------------------------------------------------
    def score(self, num: Sequence[float | None], codes: Sequence[int | None], *, centres: bool = False
              ) -> tuple[Any, ...]:
        """(segment, runner-up, distance to each, pca x, pca y, z's numeric part, level codes with
        the fills) of one customer; num/codes hold None for a missing value. With `centres`, also
        the two segments' nearest centres — what `why` compares when people merged segments and a
        segment has several (otherwise centre j is segment j)."""
        xs = [f if v is None else v for v, f in zip(num, self._fill)] if None in num else list(num)
        for i in self._logs:
            xs[i] = math.log1p(xs[i])
        z = list(map(truediv, map(sub, xs, self._mean), self._scale))  # divided, as numpy does for a frame
        cs = [f if c is None else c for c, f in zip(codes, self._cat_fill)] if None in codes else codes
        base, (x, y) = self._csq, self._shift
        for lo, hi, strides, dots, pts in self._groups:
            joint = sum(map(mul, cs[lo:hi], strides))  # the index of this combination of levels
            base = list(map(add, base, dots[joint]))
            x, y = x + pts[joint][0], y + pts[joint][1]
        *d2, px, py = self._w.dot(z).tolist() if z else [0.0] * (self.k + 2)
        d2 = list(map(add, base, d2))  # d² − |z|²
        best = min(d2)
        label = d2.index(best)  # the first on ties, like argmin
        owner = self._owner
        if len(d2) > 1:
            own = label if owner is None else owner[label]
            if owner is None:
                d2[label] = math.inf
            else:  # the runner-up is the nearest centre of another segment
                d2 = [math.inf if owner[j] == own else v for j, v in enumerate(d2)]
            second = min(d2)
            runner = d2.index(second)
        else:
            second, runner = best, label
        zsq = sum(map(mul, z, z))
        seg, other = (label, runner) if owner is None else (owner[label], owner[runner])
        out = (seg, other, math.sqrt(max(best + zsq, 0.0)), math.sqrt(max(second + zsq, 0.0)), x + px, y + py, z, cs)
        return (*out, label, runner) if centres else out

    def pulls(self, z: Sequence[float], cs: Sequence[int], a: int, b: int) -> list[float]:
        """Each feature's share of d²(z, c_b) − d²(z, c_a), numeric features first (see
        `model.serving.explain`); cs are level codes with the fills applied."""
        diff, ca, cb, cat, _ = self._pair(a, b)
        return [d * (v + v - x - y) for d, v, x, y in zip(diff, z, ca, cb)] + list(map(getitem, cat, cs))

    # -- the answer's parts ---------------------------------------------------------------------
    def why(self, values: dict[str, Any], z: Sequence[float], cs: Sequence[int], a: int, b: int
            ) -> list[dict[str, Any]]:
        """The (at most `TOP`) features that most pull the customer toward centre `a` rather than
        `b` (the nearest centres of their segment and of the runner-up: `score`)."""
        if a == b:
            return []
        return self.reasons(values, self.pulls(z, cs, a, b), cs, a, b)

    def reasons(self, values: dict[str, Any], pulls: Sequence[float], cs: Sequence[int], a: int, b: int
                ) -> list[dict[str, Any]]:
        """`why` from the pulls (`pulls`: one per feature, numeric features first)."""
        top = sorted(self._features, key=pulls.__getitem__, reverse=True)[:TOP]  # stable: first on ties
        return self.top_reasons(values, top, [pulls[j] for j in top], cs, a, b)

    def top_reasons(self, values: dict[str, Any], top: Sequence[int], pulls: Sequence[float], cs: Sequence[int],
                    a: int, b: int) -> list[dict[str, Any]]:
        """`why` from the `TOP` largest pulls (`top`: their features, largest first, the first on ties;
        `pulls`: their values) — for many customers, chosen in numpy (`Predictor.predict_many`)."""
        reasons = self._pair(a, b)[4]
        out = []
        for j, pull in zip(top, pulls):
            if pull <= 1e-12:
                break
            name, label, head, tail, unknown = reasons[j]
            value = values[name]
            if value is None:
                text = unknown
            elif tail is None:  # a category: its level's text
                text = head[cs[j - self.p]]
            else:
                # round(x * 100) / 100 is np.round's rule, 5x faster than round(x, 2) (a dtoa round trip)
                text = head + number_text(value if value.is_integer() else round(value * 100.0) / 100.0) + tail
            out.append({"feature": name, "label": label, "value": value, "pull": round(pull * 10000.0) / 10000.0,
                        "text": text})
        return out

    def offers(self, label: int, values: dict[str, Any]) -> list[dict[str, Any]]:
        """The segment's offers, each saying whether it fits *this* customer (fitting ones first,
        each group in the catalogue's order). An offer earned by a trait the customer's own value
        contradicts (spending above average, prefers Sports) is kept but marked, with the reason;
        an unknown value contradicts nothing."""
        fit, unfit = [], []
        for base, checks in self._offers[label]:
            note = ""
            for name, kind, ref, head, tail in checks:
                value = values[name]
                if value is None or (value == ref if kind == _LEVEL else value >= ref if kind == _HIGH
                                     else value <= ref):
                    continue
                said = head + (value if kind == _LEVEL else number_text(value)) + tail
                note = f"{note}; {said}" if note else said
            offer = base.copy()  # base says it fits, with no note
            if note:
                offer["fits"], offer["note"] = False, note
                unfit.append(offer)
            else:
                fit.append(offer)
        return fit + unfit if unfit else fit

    # -- compiled once ------------------------------------------------------------------------
    def _pair(self, a: int, b: int) -> tuple[Any, ...]:
        """Per pair of segments: what the numeric pulls are made of, the pull of every level of
        every category, and the text of each reason but the customer's own value."""
        found = self._pairs.get((a, b))
        if found is None:
            found = self._pairs[(a, b)] = self._build_pair(a, b)
        return found

    def _build_pair(self, a: int, b: int) -> tuple[Any, ...]:
        ca, cb = self._cnum[a], self._cnum[b]
        diff = tuple(x - y for x, y in zip(ca, cb))  # (z−cb)² − (z−ca)² = (ca−cb)(2z − ca − cb)
        cat = tuple(tuple(self._block_sq[b][f] - self._block_sq[a][f] - 2.0 * (lb - la)
                          for la, lb in zip(self._ccat[a][f], self._ccat[b][f]))
                    for f in range(len(self.codes)))
        owner = self._owner
        sa, sb = (self.segments[a], self.segments[b]) if owner is None else (self.segments[owner[a]],
                                                                            self.segments[owner[b]])
        na, nb = short_name(sa.name), short_name(sb.name)
        reasons: list[tuple[Any, ...]] = []  # per feature: name, label, text around the value, text when unknown
        for f in self._numeric:
            tail = (f" (“{na}” average {average_text(sa.profile.numeric[f.name].mean)}, “{nb}” average "
                    f"{average_text(sb.profile.numeric[f.name].mean)})")
            reasons.append((f.name, f.label, f"{f.label} ", tail, f"{f.label} not given (filled with the median){tail}"))
        for f in self._categorical:
            def text(level: str, note: str = "") -> str:
                share_a = sa.profile.categorical.get(f.name, {}).get(level, 0.0)  # noqa: B023
                share_b = sb.profile.categorical.get(f.name, {}).get(level, 0.0)  # noqa: B023
                return f"{f.label} {level}{note} ({share_a:.0%} of “{na}”, {share_b:.0%} of “{nb}”)"  # noqa: B023
            reasons.append((f.name, f.label, tuple(text(lv) for lv in f.levels), None,
                            text(f.mode, " (not given: the most frequent level)")))
        return diff, ca, cb, cat, tuple(reasons)

    def _compile_offers(self, seg: Segment) -> list[tuple[dict[str, str], tuple[tuple[Any, ...], ...]]]:
        features = {f.name: f for f in self.schema.features}
        out = []
        for offer in seg.offers:
            checks = []
            for basis in offer.basis:
                f = features.get(basis.feature)
                if f is None:
                    continue
                label = f.label.lower()
                if basis.level is not None:
                    checks.append((f.name, _LEVEL, basis.level, f"offered for {basis.level}; this customer's {label} is ", ""))
                elif basis.direction in ("high", "low"):
                    median = f.median  # type: ignore[union-attr]
                    word = "below" if basis.direction == "high" else "above"
                    checks.append((f.name, _HIGH if basis.direction == "high" else _LOW, median,
                                   f"offered for {basis.direction} {label}; this customer's ",
                                   f" is {word} the median {number_text(median)}"))
            out.append(({"title": offer.title, "rationale": offer.rationale, "source": offer.source, "fits": True,
                         "note": ""}, tuple(checks)))
        return out


def _only(col: list[Any], ok: list[bool], good: np.ndarray) -> list[Any]:
    """`col` with None where not `ok`, those records marked not good (they go one by one)."""
    good &= np.array(ok, dtype=bool)
    return [v if k else None for v, k in zip(col, ok)]
