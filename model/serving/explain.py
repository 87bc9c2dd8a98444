"""Why this customer is in their segment rather than the runner-up.

The model puts a customer in the segment whose centre is nearest in the scaled space z. The gap to
the runner-up, d²(z, c_b) − d²(z, c_a) ≥ 0, is a sum over features, so it splits exactly into what
each original column contributes (its "pull"):

    numeric feature j:      (z_j − c_b,j)² − (z_j − c_a,j)²
    categorical feature f:  Σ_i over its one-hot block (e_i − c_b,i)² − (e_i − c_a,i)²
                          = Σ_i (c_b,i² − c_a,i²) − 2 (c_b,l − c_a,l)     for the customer's level l

A positive pull draws the customer toward their segment. The features with the largest pulls are
told in original units: 'Income 148,000 (“Premium” average 149,000, “Potential” average 118,000)'
for one customer (`model.serving.single`), by their labels for each row of a frame (here).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from model.contract.manifest import Segment
from model.contract.schema import Schema
from model.serving.compiled import Compiled

TOP_FRAME = 2  # feature names listed per row of a batch
BLOCK = 32_768  # rows per block in `why_frame`


class Explainer:
    def __init__(self, schema: Schema, segments: Sequence[Segment], compiled: Compiled):
        self.schema, self.segments, self.c = schema, list(segments), compiled
        p = len(schema.numeric)
        self.p = p
        sizes = compiled.cat_sizes.tolist()
        starts = np.concatenate(([p], p + np.cumsum(sizes)))
        self.blocks = [compiled.centres[:, a:b] for a, b in zip(starts[:-1], starts[1:])]  # (k, L) each
        self.block_sq = np.stack([(b ** 2).sum(axis=1) for b in self.blocks], axis=1) if self.blocks \
            else np.zeros((len(compiled.centres), 0))  # (centres, c)
        self.labels = [f.label for f in schema.numeric] + [f.label for f in schema.categorical]

    # -- a frame ------------------------------------------------------------------------------
    def why_frame(self, num: np.ndarray, codes: np.ndarray, a: np.ndarray, b: np.ndarray,
                  centres: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Per row, the labels of the `TOP_FRAME` features with the largest positive pull
        ("Income; Spending score"): one string per distinct combination, not one per row.
        Rows go through in blocks, feature-major (as `model.serving.compiled.Compiled.run`).
        `a`, `b` are segments; when a segment has several centres, `centres` are the two
        segments' nearest ones (`Compiled.run(centres=True)`), which the pulls compare."""
        n = len(a)
        if n == 0 or self.c.k < 2:
            return np.full(n, "", dtype=object)
        width = self.p + len(self.blocks)
        ca, cb = centres or (a, b)
        key = np.empty(n, dtype=np.int64)
        for start in range(0, n, BLOCK):
            part = slice(start, min(n, start + BLOCK))
            key[part] = self._keys(num[part].T, codes[part].T, ca[part], cb[part], width)
        key = np.where(a == b, -1, key)
        rows, distinct = np.unique(key, return_inverse=True)
        texts = np.array([self._combo_text(int(k), width) for k in rows], dtype=object)
        return texts[distinct]

    def _keys(self, num: np.ndarray, codes: np.ndarray, a: np.ndarray, b: np.ndarray, width: int) -> np.ndarray:
        """One block: num (p, m), codes (c, m) → the top features of each row as one integer
        (base width+1 digits; width = "no further feature")."""
        m = len(a)
        pulls = self.pulls(num, codes, a, b)
        key = np.zeros(m, dtype=np.int64)
        cols = np.arange(m)
        for _ in range(min(TOP_FRAME, width)):  # the largest pulls in turn; the first index on ties
            j = pulls.argmax(axis=0)
            key = key * (width + 1) + np.where(pulls[j, cols] > 1e-12, j, width)
            pulls[j, cols] = -np.inf
        return key

    def pulls(self, num: np.ndarray, codes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """num (p, m) with NaN for missing, codes (c, m) with -1 for missing → each feature's pull
        (features, m), numeric features first; the same arithmetic, operation for operation, as
        `model.serving.single.OneCustomer.pulls` (one customer)."""
        m = len(a)
        pulls = np.empty((self.p + len(self.blocks), m))
        if self.p:
            zn = np.where(np.isnan(num), self.c.num_fill[:, None], num)
            log = self.c.num_log1p[:, None]
            if self.c.num_log1p.any():
                zn = np.where(log, np.log1p(np.where(log, zn, 0.0)), zn)
            zn = (zn - self.c.num_mean[:, None]) / self.c.num_scale[:, None]
            cn = self.c.centres[:, :self.p].T  # (p, k)
            ca, cb = cn[:, a], cn[:, b]
            pulls[:self.p] = (ca - cb) * (2.0 * zn - ca - cb)  # (z−cb)² − (z−ca)², factored
        for f, block in enumerate(self.blocks):
            level = np.where(codes[f] < 0, self.c.cat_fill[f], codes[f])
            pulls[self.p + f] = (self.block_sq[b, f] - self.block_sq[a, f]
                                 - 2.0 * (block[b, level] - block[a, level]))
        return pulls

    def _combo_text(self, key: int, width: int) -> str:
        if key < 0:
            return ""
        parts = []
        for _ in range(TOP_FRAME):
            key, j = divmod(key, width + 1)
            if j < width:
                parts.append(self.labels[j])
        return "; ".join(reversed(parts))
