"""The fitted model as a few arrays (`serving.npz`), and the arithmetic that serves it.

Training compiles the fitted scikit-learn pipeline into plain arrays (`training.compile`); the app
loads them (`model.serving.arrays`: no pickles, sizes checked before reading) after checking their
sha256, and never imports scikit-learn or skops. Nothing here is learned, and tests hold it equal to the skops
pipeline on 100,000 random records.

    x'  = log1p(x) for features with transform "log1p", else x         (missing x → the median)
    z   = [ (x' - mean) / scale , onehot(codes) ]                       (missing code → the mode)
    d²(z, c_j) = |z|² - 2 z·c_j + |c_j|²        (the one-hot part of z·c_j is a table lookup)
    pca(z)     = (z - m) Wᵀ                      (the one-hot part is a table lookup as well)

A frame runs in numpy blocks (`run`); one record runs in plain Python over tables made from these
arrays (`model.serving.single`), where numpy's per-call overhead (~1 µs per ufunc on a 1-row
array) would outweigh a few dozen multiply-adds.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from model.contract.errors import BundleError
from model.serving.arrays import ARRAYS, OPTIONAL, expected_shapes

BLOCK = 16_384  # rows per block in `run`
MAX_COMBINATIONS = 4_096  # level combinations in one lookup table of `run`
_THREADS: list[Any] = []  # a threadpoolctl controller, created on first use (it scans loaded libraries)


def _one_blas_thread() -> Any:
    """Context: BLAS single-threaded. A cached controller: `threadpool_limits()` rescans every
    loaded library on each call (~3 ms here), the cached one only sets the thread count (~20 µs)."""
    if not _THREADS:
        from threadpoolctl import ThreadpoolController
        _THREADS.append(ThreadpoolController())
    return _THREADS[0].limit(limits=1, user_api="blas")


@dataclass(frozen=True)
class Compiled:
    num_fill: np.ndarray  # (p,) imputation values (medians, original units)
    num_mean: np.ndarray  # (p,) of the transformed feature
    num_scale: np.ndarray  # (p,)
    num_log1p: np.ndarray  # (p,) bool: log1p before scaling
    cat_fill: np.ndarray  # (c,) level index used for a missing category (most frequent)
    cat_sizes: np.ndarray  # (c,) number of levels of each categorical feature
    centres: np.ndarray  # (centres, d): one per segment, or several (`centre_segment`)
    pca_components: np.ndarray  # (2, d)
    pca_mean: np.ndarray  # (d,)
    centre_segment: np.ndarray | None = None  # (centres,) the segment of each centre, non-decreasing
    derived: dict[str, Any] = field(init=False, repr=False, compare=False)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], *, n_numeric: int, levels: Sequence[int],
                    k: int) -> "Compiled":
        """Check the shapes against the manifest's schema and k; BundleError on any mismatch."""
        a = {name: np.asarray(arrays[name]) for name in [*ARRAYS, *(n for n in OPTIONAL if n in arrays)]}
        owner = a.get("centre_segment")
        if owner is not None and (owner.ndim != 1 or not np.array_equal(np.unique(owner), np.arange(k))
                                  or (np.diff(owner) < 0).any()):
            raise BundleError(f"serving.npz: centre_segment must name every segment 0..{k - 1}, in order")
        shapes = expected_shapes(n_numeric=n_numeric, levels=levels, k=k, centres=None if owner is None else len(owner))
        for name, shape in shapes.items():
            if a[name].shape != shape:
                raise BundleError(f"serving.npz: {name} has shape {a[name].shape}; the manifest's schema "
                                  f"and k={k} make {shape}")
        if list(a["cat_sizes"]) != list(levels):
            raise BundleError(f"serving.npz: level counts {a['cat_sizes'].tolist()} differ from the "
                              f"manifest's {list(levels)}")
        if (a["cat_fill"] < 0).any() or (a["cat_fill"] >= a["cat_sizes"]).any() or (a["num_scale"] <= 0).any():
            raise BundleError("serving.npz: a fill level or a scale is out of range")
        return cls(**a)

    def as_arrays(self) -> dict[str, np.ndarray]:
        out = {name: getattr(self, name) for name in ARRAYS}
        return out if self.centre_segment is None else {**out, "centre_segment": self.centre_segment}

    def __post_init__(self) -> None:
        """Derived layouts: per categorical feature a (k, levels) table of its one-hot part of
        z·c and a (2, levels) table of its PCA part; feature-major copies for `run`. Consecutive
        categorical features share one table over every combination of their levels: one lookup
        per record and group instead of one per feature."""
        k, p = self.centres.shape[0], len(self.num_mean)
        offsets = np.concatenate(([p], p + np.cumsum(self.cat_sizes)))
        shift = -(self.pca_mean @ self.pca_components.T)
        dots = [np.ascontiguousarray(self.centres[:, a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
        pts = [np.ascontiguousarray(self.pca_components[:, a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
        groups: list[tuple[list[int], np.ndarray, np.ndarray]] = []
        for j, (t, q) in enumerate(zip(dots, pts)):
            if groups and groups[-1][1].shape[1] * t.shape[1] <= MAX_COMBINATIONS:
                members, jd, jp = groups.pop()
                groups.append((members + [j], (jd[:, :, None] + t[:, None, :]).reshape(k, -1),
                               (jp[:, :, None] + q[:, None, :]).reshape(2, -1)))
            else:
                groups.append(([j], t, q))
        col = {name: np.ascontiguousarray(v[:, None]) for name, v in (
            ("fill", self.num_fill), ("mean", self.num_mean), ("scale", self.num_scale), ("shift", shift),
            ("csq", (self.centres ** 2).sum(axis=1)))}
        object.__setattr__(self, "derived", {
            "col": col, "centres_num": np.ascontiguousarray(self.centres[:, :p]),
            "pca_num": np.ascontiguousarray(self.pca_components[:, :p]), "n_cat": len(dots),
            "groups": tuple((tuple(m), tuple(dots[j].shape[1] for j in m), np.ascontiguousarray(jd),
                             np.ascontiguousarray(jp)) for m, jd, jp in groups),
            "log_rows": np.flatnonzero(self.num_log1p),
            # several centres per segment: where each segment's centres start (for reduceat)
            "starts": None if not self.grouped else np.flatnonzero(np.diff(self.centre_segment, prepend=-1))})

    @property
    def grouped(self) -> bool:
        """Whether some segment has more than one centre (people merged segments)."""
        return self.centre_segment is not None and len(self.centre_segment) > int(self.centre_segment[-1]) + 1

    @property
    def k(self) -> int:
        """The number of segments."""
        return int(self.centres.shape[0]) if self.centre_segment is None else int(self.centre_segment[-1]) + 1

    def run(self, num: np.ndarray, codes: np.ndarray, *, centres: bool = False) -> tuple[np.ndarray, ...]:
        """num: (n, p) float with NaN for missing; codes: (n, c) int with -1 for missing.
        Returns (labels (n,), runner-up labels (n,), two nearest distances (n, 2), pca (n, 2)) —
        segments, and each segment's nearest centre when a segment has several; with `centres`,
        also the index of those two centres (n,) and (n,) (what `model.serving.explain` compares).

        Fastest with column-major inputs (``np.empty((p, n)).T``, as `model.contract.schema` builds them):
        every step is then a long contiguous pass per feature. Rows go through in blocks of
        `BLOCK`, so temporaries stay in cache, and BLAS runs single-threaded (its threads only
        spin-wait on products this thin). Both measured 3-5x at 1 M rows on this machine."""
        n = num.shape[0]
        num_t, codes_t = num.T, codes.T  # (p, n), (c, n): views
        labels, second_labels = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        two_t, pts_t = np.empty((2, n)), np.empty((2, n))
        b = min(n, BLOCK)
        scratch = (np.empty((len(self.num_mean), b)), np.empty((len(self.centres), b)), np.empty(b, dtype=bool))
        near = (np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)) if centres and self.grouped else None
        with _one_blas_thread() if n > BLOCK else contextlib.nullcontext():
            for start in range(0, n, BLOCK):
                part = slice(start, min(n, start + BLOCK))
                self._run_block(num_t[:, part], codes_t[:, part], labels[part], second_labels[part],
                                two_t[:, part], pts_t[:, part], scratch,
                                None if near is None else (near[0][part], near[1][part]))
        if not centres:
            return labels, second_labels, two_t.T, pts_t.T
        return (labels, second_labels, two_t.T, pts_t.T, *(near or (labels, second_labels)))

    def _run_block(self, num: np.ndarray, codes: np.ndarray, labels: np.ndarray, seconds: np.ndarray,
                   two: np.ndarray, pts: np.ndarray, scratch: tuple[np.ndarray, ...],
                   near: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """One block, feature-major: num (p, b), codes (c, b); writes labels, two (2, b), pts (2, b)
        and, for a grouped model, the two segments' nearest centres into `near`."""
        dv, b = self.derived, num.shape[1]
        col = dv["col"]
        zn, d2, closer = scratch[0][:, :b], scratch[1][:, :b], scratch[2][:b]
        filled = bool(np.isnan(num).any())
        if filled:
            num = np.where(np.isnan(num), col["fill"], num)
        if len(dv["log_rows"]):  # never in place on the caller's array
            num = num if filled else num.copy()
            num[dv["log_rows"]] = np.log1p(num[dv["log_rows"]])
        np.subtract(num, col["mean"], out=zn)
        zn /= col["scale"]  # (p, b)
        np.matmul(dv["centres_num"], zn, out=d2)  # (k, b): numeric part of z·c
        np.matmul(dv["pca_num"], zn, out=pts)
        for members, sizes, joint_dots, joint_pts in dv["groups"]:
            joint = None  # index into the group's table of level combinations
            for j, size in zip(members, sizes):
                c = codes[j]
                if (c < 0).any():
                    c = np.where(c < 0, self.cat_fill[j], c)
                joint = c if joint is None else joint * size + c
            d2 += np.take(joint_dots, joint, axis=1)  # the one-hot part of z·c
            pts += np.take(joint_pts, joint, axis=1)
        pts += col["shift"]
        zsq = np.einsum("ij,ij->j", zn, zn)  # |z|²: numeric part + 1 per categorical feature
        zsq += dv["n_cat"]
        d2 *= -2.0
        d2 += zsq
        d2 += col["csq"]
        by_centre = d2
        if dv["starts"] is not None:  # a segment is as near as its nearest centre
            d2 = np.minimum.reduceat(by_centre, dv["starts"], axis=0)
        # nearest and second nearest over the k rows; ties go to the lower index, like argmin
        best, second = two[0], two[1]
        np.copyto(best, d2[0])
        second.fill(np.inf)
        labels.fill(0)
        seconds.fill(0)
        for j in range(1, len(d2)):
            d = d2[j]
            np.less(d, best, out=closer)
            runner = d < second  # d is the new runner-up when it beats the old one but not the best
            seconds += (closer * (labels - seconds)) + (~closer & runner) * (j - seconds)
            np.minimum(second, np.maximum(d, best), out=second)  # the old best, or d
            np.minimum(best, d, out=best)
            labels += closer * (j - labels)  # no masked writes: measured 2x faster
        if len(d2) == 1:
            np.copyto(second, best)
        if near is not None:
            owner = self.centre_segment[:, None]
            near[0][:] = np.argmin(np.where(owner == labels, by_centre, np.inf), axis=0)
            near[1][:] = np.argmin(np.where(owner == seconds, by_centre, np.inf), axis=0)
        np.maximum(two, 0.0, out=two)
        np.sqrt(two, out=two)

    def transform(self, num: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The dense preprocessed matrix z (for tests and training diagnostics)."""
        num = np.where(np.isnan(num), self.num_fill, num)
        num = np.where(self.num_log1p, np.log1p(np.where(self.num_log1p, num, 0.0)), num)
        codes = np.where(codes < 0, self.cat_fill, codes)
        p = len(self.num_mean)
        z = np.zeros((num.shape[0], self.centres.shape[1]))
        z[:, :p] = (num - self.num_mean) / self.num_scale
        if codes.shape[1]:
            offsets = p + np.concatenate(([0], np.cumsum(self.cat_sizes)[:-1]))
            z[np.arange(num.shape[0])[:, None], codes + offsets] = 1.0
        return z


def margin(d1: np.ndarray | float, d2: np.ndarray | float) -> Any:
    """How much closer the customer is to their segment's centre than to the runner-up's, as a
    share of the runner-up distance: 1 − d₁/d₂. 0 on the border between two segments, 1 at the
    centre. A geometric margin, not a probability."""
    if isinstance(d1, float):
        return min(max(1.0 - d1 / d2, 0.0), 1.0) if d2 > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(d2 > 0, 1.0 - d1 / d2, 0.0)
    return np.clip(m, 0.0, 1.0)
