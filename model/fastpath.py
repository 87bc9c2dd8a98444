"""The fitted scikit-learn pipeline, compiled to a few numpy arrays (many rows) and Python tuples
(one row).

A one-row DataFrame through ColumnTransformer → KMeans costs milliseconds; the same arithmetic on
precomputed arrays costs microseconds. Nothing here is learned: every number is read from the fitted
pipeline, and tests compare both paths on many random records.

    z = [ (x_num - mean) / scale , onehot(codes) ]
    d²(z, c_j) = |z|² - 2 z·c_j + |c_j|²            (one-hot part of z·c_j is a table lookup)
    pca(z)    = (z - m) Wᵀ                           (one-hot part is a table lookup as well)

For one record, numpy's per-call overhead (~1 µs per ufunc on a 1-row array) outweighs the
arithmetic (a few dozen multiply-adds), so `run_one` does the same sums in plain Python.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from operator import getitem, mul
from typing import Any, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

BLOCK = 16_384  # rows per block in `run`
MAX_COMBINATIONS = 4_096  # level combinations in one lookup table of `run`
_THREADS: list[ThreadpoolController] = []  # created on first use: a scan of loaded libraries


def _one_blas_thread() -> Any:
    """Context: BLAS single-threaded. A cached controller: `threadpool_limits()` rescans every
    loaded library on each call (~3 ms here), the cached one only sets the thread count (~20 µs)."""
    if not _THREADS:
        _THREADS.append(ThreadpoolController())
    return _THREADS[0].limit(limits=1, user_api="blas")


@dataclass(frozen=True)
class Compiled:
    num_fill: np.ndarray  # (p,) imputation values (medians) for numeric features
    num_mean: np.ndarray  # (p,)
    num_scale: np.ndarray  # (p,)
    cat_fill: np.ndarray  # (c,) int code used for a missing category (most frequent)
    cat_offsets: np.ndarray  # (c,) start column of each categorical block in z
    centres: np.ndarray  # (k, d)
    centres_sq: np.ndarray  # (k,)
    centres_num_t: np.ndarray  # (p, k) numeric part of the centres, transposed
    pca_mean: np.ndarray  # (d,)
    pca_num_t: np.ndarray  # (p, 2)
    pca_cat: np.ndarray  # (d, 2) PCA weights by z column (only the one-hot rows are gathered)
    pca_shift: np.ndarray  # (2,) = -pca_mean @ W.T
    n_num: int

    def __post_init__(self) -> None:
        """Derived layouts, read-only like the rest: per categorical feature a (k, levels) table
        of its one-hot part of z·c (`cat_dots`) and a (2, levels) table of its PCA part
        (`cat_pts`); feature-major copies for `run`; plain-Python tuples for `run_one`."""
        k = self.centres.shape[0]
        ends = [*self.cat_offsets[1:].tolist(), self.centres.shape[1]]
        dots = tuple(np.ascontiguousarray(self.centres[:, a:b])
                     for a, b in zip(self.cat_offsets.tolist(), ends))
        pts = tuple(np.ascontiguousarray(self.pca_cat[a:b].T) for a, b in zip(self.cat_offsets.tolist(), ends))
        object.__setattr__(self, "cat_dots", dots)
        for name, value in (("centres_num", self.centres_num_t.T), ("_pca_num", self.pca_num_t.T),
                            ("_fill_col", self.num_fill[:, None]), ("_mean_col", self.num_mean[:, None]),
                            ("_scale_col", self.num_scale[:, None]), ("_shift_col", self.pca_shift[:, None]),
                            ("_csq_col", self.centres_sq[:, None])):
            object.__setattr__(self, name, np.ascontiguousarray(value))
        object.__setattr__(self, "cat_pts", pts)
        # consecutive categorical features share one table over every combination of their
        # levels (z·c and PCA parts summed in feature order, as `run_one` sums them): one lookup
        # per record and group instead of one per feature
        groups: list[tuple[list[int], np.ndarray, np.ndarray]] = []
        for j, (t, q) in enumerate(zip(dots, pts)):
            if groups and groups[-1][1].shape[1] * t.shape[1] <= MAX_COMBINATIONS:
                members, jd, jp = groups.pop()
                jd = (jd[:, :, None] + t[:, None, :]).reshape(k, -1)
                jp = (jp[:, :, None] + q[:, None, :]).reshape(2, -1)
                groups.append((members + [j], jd, jp))
            else:
                groups.append(([j], t, q))
        object.__setattr__(self, "_cat_groups", tuple(
            (tuple(m), tuple(dots[j].shape[1] for j in m), np.ascontiguousarray(jd),
             np.ascontiguousarray(jp)) for m, jd, jp in groups))
        one = (
            tuple(self.num_fill.tolist()), tuple(self.num_mean.tolist()), tuple(self.num_scale.tolist()),
            tuple(self.cat_fill.tolist()),
            tuple(tuple(row) for row in self.centres_num_t.T.tolist()),  # k rows of p
            tuple(tuple(tuple(t[j].tolist()) for t in dots) for j in range(k)),  # k × c × levels
            tuple(self.centres_sq.tolist()),
            tuple(tuple(self.pca_num_t[:, a].tolist()) for a in range(2)),
            tuple(tuple(tuple(t[a].tolist()) for t in pts) for a in range(2)),
            tuple(self.pca_shift.tolist()),
        )
        object.__setattr__(self, "_one", one)

    @classmethod
    def from_pipeline(cls, pipeline: Any, pca: Any, *, numeric: list[str], categorical: list[str],
                      levels: list[list[str]]) -> "Compiled":
        """Read the arrays out of Pipeline([("prep", ColumnTransformer), ("cluster", KMeans)])."""
        prep = pipeline.named_steps["prep"]
        p = len(numeric)
        if p:
            num = prep.named_transformers_["num"]
            num_fill = num.named_steps["impute"].statistics_.astype(float)
            num_mean = num.named_steps["scale"].mean_.astype(float)
            num_scale = num.named_steps["scale"].scale_.astype(float)
        else:
            num_fill = num_mean = num_scale = np.zeros(0)
        offsets, fills = [], []
        start = p
        if categorical:
            cat = prep.named_transformers_["cat"]
            fitted = cat.named_steps["onehot"].categories_
            modes = cat.named_steps["impute"].statistics_
            for j, cats in enumerate(fitted):
                cats = [str(c) for c in cats]
                if cats != list(levels[j]):
                    raise ValueError(f"{categorical[j]}: encoder levels {cats} differ from the "
                                     f"manifest's {levels[j]}")
                offsets.append(start)
                fills.append(cats.index(str(modes[j])))
                start += len(cats)
        centres = pipeline.named_steps["cluster"].cluster_centers_.astype(float)
        if centres.shape[1] != start:
            raise ValueError(f"centres have {centres.shape[1]} columns, the schema makes {start}")
        comps = pca.components_.astype(float)  # (2, d)
        pca_mean = pca.mean_.astype(float)
        return cls(
            num_fill=num_fill, num_mean=num_mean, num_scale=num_scale,
            cat_fill=np.asarray(fills, dtype=np.int64),
            cat_offsets=np.asarray(offsets, dtype=np.int64),
            centres=centres, centres_sq=(centres ** 2).sum(axis=1),
            centres_num_t=np.ascontiguousarray(centres[:, :p].T),
            pca_mean=pca_mean, pca_num_t=np.ascontiguousarray(comps[:, :p].T),
            pca_cat=np.ascontiguousarray(comps.T), pca_shift=-(pca_mean @ comps.T),
            n_num=p,
        )

    def run(self, num: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """num: (n, p) float with NaN for missing; codes: (n, c) int with -1 for missing.
        Returns (labels (n,), sorted two nearest distances (n, 2), pca points (n, 2)).

        Fastest with column-major inputs (``np.empty((p, n)).T``, as `Predictor` builds them):
        every step is then a long contiguous pass per feature. Rows go through in blocks of
        `BLOCK`, so temporaries stay in cache instead of faulting in fresh pages for every
        full-length intermediate, and BLAS runs single-threaded (its threads only spin-wait on
        products this thin). Both measured 3-5x at 1 M rows on this machine."""
        n = num.shape[0]
        num_t, codes_t = num.T, codes.T  # (p, n), (c, n): views
        labels = np.empty(n, dtype=np.int64)
        two_t = np.empty((2, n))
        pts_t = np.empty((2, n))
        b = min(n, BLOCK)
        scratch = (np.empty((len(self.num_mean), b)), np.empty((len(self.centres), b)),
                   np.empty(b, dtype=bool))  # reused by every block: no fresh pages per block
        with _one_blas_thread() if n > BLOCK else contextlib.nullcontext():
            for start in range(0, n, BLOCK):
                part = slice(start, min(n, start + BLOCK))
                self._run_block(num_t[:, part], codes_t[:, part], labels[part], two_t[:, part],
                                pts_t[:, part], scratch)
        return labels, two_t.T, pts_t.T

    def _run_block(self, num: np.ndarray, codes: np.ndarray, labels: np.ndarray, two: np.ndarray,
                   pts: np.ndarray, scratch: tuple[np.ndarray, ...]) -> None:
        """One block, feature-major: num (p, b), codes (c, b); writes labels, two (2, b), pts (2, b)."""
        b = num.shape[1]
        zn, d2, closer = scratch[0][:, :b], scratch[1][:, :b], scratch[2][:b]
        if np.isnan(num).any():
            num = np.where(np.isnan(num), self._fill_col, num)
        np.subtract(num, self._mean_col, out=zn)
        zn /= self._scale_col  # (p, b)
        np.matmul(self.centres_num, zn, out=d2)  # (k, b): numeric part of z·c
        np.matmul(self._pca_num, zn, out=pts)
        for members, sizes, joint_dots, joint_pts in self._cat_groups:
            joint = None  # index into the group's table of level combinations
            for j, size in zip(members, sizes):
                col = codes[j]
                if (col < 0).any():
                    col = np.where(col < 0, self.cat_fill[j], col)
                joint = col if joint is None else joint * size + col
            d2 += np.take(joint_dots, joint, axis=1)  # the one-hot part of z·c
            pts += np.take(joint_pts, joint, axis=1)
        pts += self._shift_col
        zsq = np.einsum("ij,ij->j", zn, zn)  # |z|²: numeric part + 1 per categorical feature
        zsq += len(self.cat_dots)
        d2 *= -2.0
        d2 += zsq
        d2 += self._csq_col
        # nearest and second nearest over the k rows; ties go to the lower index, like argmin
        best, second = two[0], two[1]
        np.copyto(best, d2[0])
        second.fill(np.inf)
        labels.fill(0)
        for j in range(1, len(d2)):
            d = d2[j]
            np.less(d, best, out=closer)
            np.minimum(second, np.maximum(d, best), out=second)  # the old best, or d
            np.minimum(best, d, out=best)
            labels += closer * (j - labels)  # no masked writes: measured 2x faster
        if len(d2) == 1:
            np.copyto(second, best)
        np.maximum(two, 0.0, out=two)
        np.sqrt(two, out=two)

    def run_one(self, num: Sequence[float | None], codes: Sequence[int | None]
                ) -> tuple[int, float, float, float, float]:
        """One record in plain Python: num has None for missing, codes None for missing.
        Returns (label, nearest distance, second distance, pca x, pca y)."""
        fill, mean, scale, cfill, cnum, ccat, csq, pnum, pcat, shift = self._one
        z = [((f if v is None else v) - m) / s for v, f, m, s in zip(num, fill, mean, scale)]
        cs = [(f if c is None else c) for c, f in zip(codes, cfill)]
        zsq = sum(map(mul, z, z)) + len(cs)
        best, second, label = math.inf, math.inf, 0
        for j, (row, cat) in enumerate(zip(cnum, ccat)):
            dot = sum(map(mul, z, row)) + sum(map(getitem, cat, cs))
            d2 = zsq - 2.0 * dot + csq[j]
            if d2 < best:
                best, second, label = d2, best, j
            elif d2 < second:
                second = d2
        if second == math.inf:
            second = best
        x = sum(map(mul, z, pnum[0])) + sum(map(getitem, pcat[0], cs)) + shift[0]
        y = sum(map(mul, z, pnum[1])) + sum(map(getitem, pcat[1], cs)) + shift[1]
        return label, math.sqrt(max(best, 0.0)), math.sqrt(max(second, 0.0)), x, y

    def transform(self, num: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The dense preprocessed matrix z (for tests and training diagnostics)."""
        num = np.where(np.isnan(num), self.num_fill, num)
        codes = np.where(codes < 0, self.cat_fill, codes)
        d = self.centres.shape[1]
        z = np.zeros((num.shape[0], d))
        z[:, : self.n_num] = (num - self.num_mean) / self.num_scale
        if codes.shape[1]:
            rows = np.arange(num.shape[0])[:, None]
            z[rows, codes + self.cat_offsets] = 1.0
        return z


def confidence(two_nearest: np.ndarray) -> np.ndarray:
    """1 - d₁/d₂: 0 on the boundary between two segments, 1 at a segment's centre."""
    d1, d2 = two_nearest[:, 0], two_nearest[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(d2 > 0, 1.0 - d1 / d2, 0.0)
    return np.clip(c, 0.0, 1.0)


def confidence_one(d1: float, d2: float) -> float:
    """`confidence` for one record."""
    return min(max(1.0 - d1 / d2, 0.0), 1.0) if d2 > 0 else 0.0


def factorize(values: Any, *, max_objects: int = 4_096, by_value: bool = True
              ) -> tuple[np.ndarray | None, Any]:
    """(code per row, the distinct values): `pd.factorize` (missing cells get code -1), but an
    object column is first split by object *identity*. pandas' CSV reader hands out one str object
    per distinct value (per chunk), so identity finds the few distinct cells 10x faster than
    hashing and comparing every string (5 ms against 60 ms at 1 M rows, measured). The same value
    may then appear as several distinct objects, missing cells among them (no code -1): callers
    treat each one on its own. CPython objects never move, and `values` holds them meanwhile.

    More than `max_objects` distinct objects (a column built cell by cell, an id column): with
    `by_value` compare values after all, else return (None, None)."""
    if getattr(values, "dtype", None) != object or not len(values):
        return pd.factorize(values)
    values = np.ascontiguousarray(values)
    address = np.frombuffer(memoryview(values).cast("B"), dtype=np.intp)
    rows, distinct = pd.factorize(address)
    if len(distinct) <= max_objects:
        # codes are numbered in order of first appearance: where the running maximum reaches u
        first = np.searchsorted(np.maximum.accumulate(rows), np.arange(len(distinct)))
        return rows, values[first]
    if not by_value:
        return None, None
    try:
        return pd.factorize(values)
    except TypeError:  # unhashable cells (lists, dicts): their text is what gets looked up
        return pd.factorize(pd.Series(values).astype("string").to_numpy(dtype=object))
