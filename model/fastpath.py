"""The fitted scikit-learn pipeline, compiled to a few numpy arrays.

A one-row DataFrame through ColumnTransformer → KMeans costs milliseconds; the same arithmetic on
precomputed arrays costs microseconds. Nothing here is learned: every number is read from the fitted
pipeline, and tests compare both paths on many random records.

    z = [ (x_num - mean) / scale , onehot(codes) ]
    d²(z, c_j) = |z|² - 2 z·c_j + |c_j|²            (one-hot part of z·c_j is a gather)
    pca(z)    = (z - m) Wᵀ                           (one-hot part is a gather as well)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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

    @classmethod
    def from_pipeline(cls, pipeline, pca, *, numeric: list[str], categorical: list[str],
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
        Returns (labels (n,), sorted two nearest distances (n, 2), pca points (n, 2))."""
        num = np.where(np.isnan(num), self.num_fill, num) if np.isnan(num).any() else num
        zn = (num - self.num_mean) / self.num_scale  # (n, p)
        codes = np.where(codes < 0, self.cat_fill, codes) if (codes < 0).any() else codes
        cols = codes + self.cat_offsets  # (n, c) one-hot column of each categorical value
        # |z|² : numeric part + 1 per categorical feature
        zsq = np.einsum("ij,ij->i", zn, zn) + cols.shape[1]
        dots = zn @ self.centres_num_t  # (n, k)
        if cols.shape[1]:
            dots += self.centres[:, cols].sum(axis=2).T  # gather (k, n, c) → (n, k)
        d2 = zsq[:, None] - 2.0 * dots + self.centres_sq[None, :]
        np.maximum(d2, 0.0, out=d2)
        if d2.shape[1] > 1:
            two = np.partition(d2, 1, axis=1)[:, :2]
        else:
            two = np.concatenate([d2, d2], axis=1)
        labels = d2.argmin(axis=1)
        pts = zn @ self.pca_num_t + self.pca_shift
        if cols.shape[1]:
            pts += self.pca_cat[cols].sum(axis=1)
        return labels, np.sqrt(two), pts

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
