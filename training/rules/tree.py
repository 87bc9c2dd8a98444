"""Segments as rules people can use elsewhere: a shallow surrogate tree in original units.

`fit_rules` fits a depth-limited `DecisionTreeClassifier` that predicts the model's segment from the
*original* columns, prepared as the model prepares them: empty numeric cells filled with the median,
empty categories with the most frequent level, categories matched by `model.contract.schema.category_key`
(trimmed, case-insensitive, '&' = 'and') and one-hot encoded over the trained levels.

Every leaf becomes one rule (an AND of conditions; conditions on the same column are merged into
one interval or one set of levels); leaves are disjoint and cover every valid customer. Sibling
leaves that name the same segment are merged first, which changes no prediction.

Thresholds are rounded for reading: a tree split ``x <= t`` lies between two adjacent training
values a <= t < b; it becomes ``x < r`` for the roundest r with a < r <= b (nearest to t among
equally round numbers). Every training row therefore falls on the same side as before; `fit_rules`
checks it row by row against the tree. **fidelity** = share of training customers the rules put in
the model's segment.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from model.contract.constraints import UNKNOWN
from training.rules.featureview import FeatureView
from training.description.readable import number_text, roundest_between

log = logging.getLogger(__name__)

DEPTHS = (3, 4)  # max_depth="auto" tries these in order
TARGET_FIDELITY = 0.9
MIN_LEAF_SHARE = 0.01  # a leaf holds at least 1 % of the fitted rows: no rules for a handful
FIT_ROWS = 200_000  # the tree is fitted on at most this many rows (fixed seed); fidelity on all
METHOD = "decision tree on the original columns (scikit-learn DecisionTreeClassifier)"


@dataclass(frozen=True)
class Condition:
    """``lower <= x < upper`` for a numeric column (either end may be None), or ``x in levels``."""
    feature: str
    lower: float | None = None
    upper: float | None = None
    levels: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.levels is not None:
            return {"feature": self.feature, "levels": list(self.levels)}
        return {"feature": self.feature, "lower": self.lower, "upper": self.upper}


@dataclass(frozen=True)
class Rule:
    segment: int
    conditions: tuple[Condition, ...]
    rows: int = 0  # training rows the rule selects
    agree: int = 0  # of those, rows the model puts in `segment`


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    k: int
    fidelity: float
    max_depth: int
    depth: int
    rows: int
    fit_rows: int
    view: FeatureView = field(repr=False)

    # -- applying ------------------------------------------------------------------------------
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Segment per row of a *validated* table (the training frame, or rows the model accepts);
        -1 where a cell is no number or no trained level (the model rejects such rows)."""
        num, codes, bad = self.view.encode(frame)
        num, codes = self.view.filled(num, codes)
        out = self.predict_arrays(num, codes)
        out[bad.any(axis=1) | (codes == UNKNOWN).any(axis=1)] = -1
        return out

    def predict_arrays(self, num: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Segment per row of filled arrays (`FeatureView.filled`); -1 where no rule applies."""
        out = np.full(len(num), -1, dtype=np.int64)
        for rule in self.rules:
            out[_mask(rule, self.view, num, codes)] = rule.segment
        return out

    # -- reading ---------------------------------------------------------------------------------
    def text(self, rule: Rule) -> str:
        """'income ≥ 96,000 and spending score ≥ 61' (labels from the schema)."""
        labels = {f.name: _label(f.label) for f in (*self.view.numeric, *self.view.categorical)}
        levels = {f.name: f.levels for f in self.view.categorical}
        parts = [_condition_text(c, labels[c.feature], levels.get(c.feature, ())) for c in rule.conditions]
        return " and ".join(parts) if parts else "every customer"

    def for_segment(self, segment: int) -> list[str]:
        """The rules that put a customer in `segment`, as text (any one of them suffices)."""
        return [self.text(r) for r in self.rules if r.segment == segment]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the manifest: ``fidelity``, per-segment rule texts and the exact
        conditions (what `rules_sql` and `from_dict` need)."""
        fills: dict[str, Any] = {f.name: f.fill for f in self.view.numeric}
        fills.update({f.name: f.fill for f in self.view.categorical})
        segments = []
        for s in range(self.k):
            mine = [r for r in self.rules if r.segment == s]
            segments.append({"id": s, "rules": [self.text(r) for r in mine],
                             "rows_selected": sum(r.rows for r in mine),
                             "rows_agreeing": sum(r.agree for r in mine)})
        return {"method": METHOD, "fidelity": self.fidelity, "max_depth": self.max_depth,
                "depth": self.depth, "rows": self.rows, "fit_rows": self.fit_rows, "k": self.k,
                "fills": fills, "segments": segments,
                "rules": [{"segment": r.segment, "text": self.text(r), "rows": r.rows, "agree": r.agree,
                           "conditions": [c.as_dict() for c in r.conditions]} for r in self.rules]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], schema_like: Any) -> "Rules":
        """The inverse of `as_dict` (labels and levels come from the schema)."""
        view = FeatureView.of(schema_like, fills=data.get("fills"))
        rules = tuple(Rule(int(r["segment"]), tuple(
            Condition(c["feature"], levels=tuple(c["levels"])) if "levels" in c else
            Condition(c["feature"], c.get("lower"), c.get("upper")) for c in r["conditions"]),
            int(r.get("rows", 0)), int(r.get("agree", 0))) for r in data["rules"])
        return cls(rules, int(data["k"]), float(data["fidelity"]), int(data["max_depth"]),
                   int(data["depth"]), int(data["rows"]), int(data["fit_rows"]), view)


def fit_rules(frame: pd.DataFrame, labels: Any, schema_like: Any, *, max_depth: int | str = "auto",
              seed: int, fills: Mapping[str, Any] | None = None, k: int | None = None,
              fit_rows: int = FIT_ROWS) -> Rules:
    """Fit the surrogate rules (module docstring) to the model's `labels` of the training `frame`.

    `frame` holds the schema's columns (extra columns are ignored), `labels` the model's segment
    0..k-1 per row. `fills` overrides the schema's medians / modes with the model's exact fills.
    ``max_depth="auto"``: the first depth of `DEPTHS` whose rules reach `TARGET_FIDELITY` and name
    every segment, else the most faithful one (the shallower on a tie)."""
    if max_depth == "auto":
        best: Rules | None = None
        for depth in DEPTHS:
            rules = fit_rules(frame, labels, schema_like, max_depth=depth, seed=seed, fills=fills,
                              k=k, fit_rows=fit_rows)
            if rules.fidelity >= TARGET_FIDELITY and all(rules.for_segment(s) for s in range(rules.k)):
                return rules
            if best is None or rules.fidelity > best.fidelity:
                best = rules
        assert best is not None
        return best
    view = FeatureView.of(schema_like, fills=fills)
    if isinstance(max_depth, bool) or not isinstance(max_depth, (int, np.integer)) or not 1 <= max_depth <= 8:
        raise ValueError(f"max_depth must be an integer between 1 and 8, got {max_depth!r}")
    y = np.asarray(labels)
    if y.shape != (len(frame),) or len(y) < 2:
        raise ValueError(f"labels must hold one segment per row of the frame ({len(frame)}), got shape {y.shape}")
    y = y.astype(np.int64)
    k = int(y.max()) + 1 if k is None else int(k)
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"labels must lie in 0..{k - 1}, got {y.min()}..{y.max()}")
    num, codes, bad = view.encode(frame)
    _check_valid(view, frame, bad, codes)
    num, codes = view.filled(num, codes)
    X, columns = _design(view, num, codes)
    rng = np.random.default_rng(seed)
    rows = np.arange(len(X)) if len(X) <= fit_rows else np.sort(rng.choice(len(X), fit_rows, replace=False))
    tree = DecisionTreeClassifier(max_depth=int(max_depth), random_state=seed,
                                  min_samples_leaf=max(1, math.ceil(MIN_LEAF_SHARE * len(rows))))
    tree.fit(X[rows], y[rows])
    node = _collapse(_read_tree(tree, X, columns))
    rules = [Rule(int(seg), tuple(_merge(path, view))) for seg, path in _leaves(node, [])]
    draft = Rules(tuple(rules), k, 0.0, int(max_depth), 0, len(X), len(rows), view)
    pred = draft.predict_arrays(num, codes)
    if not np.array_equal(pred, tree.predict(X).astype(np.int64)):  # rounding must not move a row
        raise RuntimeError("internal error: rounded rules disagree with the tree on training rows")
    counted = tuple(Rule(r.segment, r.conditions, int(m.sum()), int((y[m] == r.segment).sum()))
                    for r in rules for m in [_mask(r, view, num, codes)])
    fidelity = round(float((pred == y).mean()), 6)
    log.info("rules: %d leaves, depth %d, fidelity %.4f", len(rules), tree.get_depth(), fidelity)
    return Rules(counted, k, fidelity, int(max_depth), int(tree.get_depth()), len(X), len(rows), view)


def _mask(rule: Rule, view: FeatureView, num: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Rows of filled arrays that satisfy every condition of `rule`."""
    col = {f.name: j for j, f in enumerate(view.numeric)}
    cat = {f.name: (j, f.levels) for j, f in enumerate(view.categorical)}
    mask = np.ones(len(num), dtype=bool)
    for c in rule.conditions:
        if c.levels is not None:
            j, levels = cat[c.feature]
            mask &= np.isin(codes[:, j], [levels.index(v) for v in c.levels])
        else:
            x = num[:, col[c.feature]]
            if c.lower is not None:
                mask &= x >= c.lower
            if c.upper is not None:
                mask &= x < c.upper
    return mask


def _check_valid(view: FeatureView, frame: pd.DataFrame, bad: np.ndarray, codes: np.ndarray) -> None:
    problems = []
    for j, f in enumerate(view.numeric):
        if bad[:, j].any():
            i = int(np.argmax(bad[:, j]))
            problems.append(f"{f.name}: {int(bad[:, j].sum())} cells are not numbers "
                            f"(first {frame[f.name].iloc[i]!r:.60})")
    for j, f in enumerate(view.categorical):
        unknown = codes[:, j] == UNKNOWN
        if unknown.any():
            i = int(np.argmax(unknown))
            problems.append(f"{f.name}: {int(unknown.sum())} cells are not one of "
                            f"{', '.join(f.levels)} (first {frame[f.name].iloc[i]!r:.60})")
    if problems:
        raise ValueError("rules are fitted on the training rows, which the model accepts; "
                         + "; ".join(problems))


def _design(view: FeatureView, num: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, list[tuple[str, str | None]]]:
    """Original numbers, then a 0/1 column per trained level; (feature, level or None) per column."""
    parts, columns = [num], [(f.name, None) for f in view.numeric]
    for j, f in enumerate(view.categorical):
        parts.append((codes[:, j][:, None] == np.arange(len(f.levels))[None, :]).astype(float))
        columns += [(f.name, lv) for lv in f.levels]
    return np.hstack(parts), columns


# A node is ("leaf", segment) or ("split", feature, level, r, left, right): numeric x < r goes
# left; for a level column (level not None) "is not level" goes left.
def _read_tree(tree: DecisionTreeClassifier, X: np.ndarray, columns: Sequence[tuple[str, str | None]]) -> tuple:
    t = tree.tree_
    classes = tree.classes_
    uniques: dict[int, np.ndarray] = {}

    def build(i: int) -> tuple:
        if t.children_left[i] < 0:
            return ("leaf", int(classes[int(np.argmax(t.value[i][0]))]))
        j, thr = int(t.feature[i]), float(t.threshold[i])
        feature, level = columns[j]
        r = None
        if level is None:
            u = uniques.setdefault(j, np.unique(X[:, j]))
            below, above = u[u <= thr], u[u > thr]
            r = roundest_between(float(below[-1]), float(above[0]), thr)
        return ("split", feature, level, r, build(int(t.children_left[i])), build(int(t.children_right[i])))
    return build(0)


def _collapse(node: tuple) -> tuple:
    if node[0] == "leaf":
        return node
    left, right = _collapse(node[4]), _collapse(node[5])
    if left[0] == right[0] == "leaf" and left[1] == right[1]:
        return left
    return (*node[:4], left, right)


def _leaves(node: tuple, path: list) -> list[tuple[int, list]]:
    if node[0] == "leaf":
        return [(node[1], path)]
    _, feature, level, r, left, right = node
    return (_leaves(left, path + [(feature, level, r, False)])
            + _leaves(right, path + [(feature, level, r, True)]))


def _merge(path: list, view: FeatureView) -> list[Condition]:
    """One condition per column, in the order columns first appear on the path."""
    levels = {f.name: f.levels for f in view.categorical}
    bounds: dict[str, list] = {}
    for feature, level, r, right in path:
        if level is None:
            lo, hi = bounds.setdefault(feature, [None, None])
            if right:
                lo = r if lo is None else max(lo, r)
            else:
                hi = r if hi is None else min(hi, r)
            bounds[feature] = [lo, hi]
        else:
            allowed = bounds.setdefault(feature, list(levels[feature]))
            bounds[feature] = [v for v in allowed if (v == level) == right]
    return [Condition(f, levels=tuple(b)) if f in levels else Condition(f, b[0], b[1])
            for f, b in bounds.items()]


def _label(label: str) -> str:
    """'Spending score' → 'spending score' mid-sentence; 'Annual Income (k$)' is left as is."""
    return label[:1].lower() + label[1:] if label[1:] == label[1:].lower() else label


def _condition_text(c: Condition, label: str, all_levels: Sequence[str]) -> str:
    if c.levels is not None:
        if len(c.levels) == 1:
            return f"{label} is {c.levels[0]}"
        others = [v for v in all_levels if v not in c.levels]
        if len(others) < len(c.levels) and others:
            return f"{label} is not {' or '.join(others)}"
        return f"{label} is {' or '.join(c.levels)}"
    if c.lower is not None and c.upper is not None:
        return f"{number_text(c.lower)} ≤ {label} < {number_text(c.upper)}"
    if c.lower is not None:
        return f"{label} ≥ {number_text(c.lower)}"
    return f"{label} < {number_text(c.upper)}"
