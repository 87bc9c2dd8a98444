"""Is each segment real? Per-segment bootstrap stability and prediction strength.

**Per-segment stability** (Hennig 2007, "Cluster-wise assessment of cluster stability", the method
of R `fpc::clusterboot`): draw B bootstrap resamples (n of n rows, with replacement) of a fixed-seed
*working sample* of the preprocessed matrix z, refit the clusterer on each, and for every original
segment take its best Jaccard similarity with a bootstrap cluster, computed on the resampled rows
(a row drawn twice counts twice, as in fpc). A segment's stability is the mean over the B
resamples. Hennig's reading (`stability_reading`): >= 0.85 highly stable, >= 0.75 stable,
0.6-0.75 a pattern with doubtful membership, < 0.6 dissolved.

**Prediction strength** (Tibshirani & Walther 2005, "Cluster validation by prediction strength"):
split the sample in two halves, cluster both into k groups, assign the test half to the training
half's centres; for every test cluster, the share of its pairs of rows that the training centres
also put together; the minimum over test clusters; the mean over a few random splits. The authors
suggest taking the largest k whose prediction strength is above 0.8-0.9.

Cost is bounded by the sample caps, not the row count: stability fits B models on at most
`STABILITY_ROWS` rows, prediction strength 2 x splits models per k on at most `STRENGTH_ROWS` rows;
all fits run with single-threaded BLAS/OpenMP (see `training.selection.select_k`, ONE_THREAD).
"""
from __future__ import annotations

import logging
import warnings
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from training.selection.select_k import make_kmeans

log = logging.getLogger(__name__)

STABILITY_ROWS = 5_000
STRENGTH_ROWS = 4_000
B_DEFAULT = 50
STRENGTH_SPLITS = 3
READINGS = ((0.85, "highly stable"), (0.75, "stable"),
            (0.6, "a pattern, but membership is doubtful"), (-np.inf, "dissolved"))
READING_RULE = ("bootstrap mean Jaccard (Hennig): >= 0.85 highly stable, >= 0.75 stable, "
                "0.6-0.75 a pattern with doubtful membership, < 0.6 dissolved")

Fit = Callable[[int, int, int], Any]  # (k, n_rows, seed) -> an unfitted clusterer with fit_predict


def _default_fit(k: int, n_rows: int, seed: int) -> Any:
    return make_kmeans(k, n_rows, seed=seed)


def _seeds(seed: int, tag: int, n: int) -> list[int]:
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence([seed, tag]).spawn(n)]


def _matrix(Z: Any, what: str = "Z") -> np.ndarray:
    Z = np.asarray(Z, dtype=float)
    if Z.ndim != 2 or len(Z) < 4:
        raise ValueError(f"{what} must be a 2-D matrix with at least 4 rows, got shape {Z.shape}")
    if not np.isfinite(Z).all():
        raise ValueError(f"{what} contains NaN or infinite values; pass the preprocessed (imputed) matrix")
    return Z


def _working_sample(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= cap else np.sort(rng.choice(n, cap, replace=False))


def best_jaccard(original: np.ndarray, other: np.ndarray, k: int, k_other: int) -> np.ndarray:
    """For each original cluster 0..k-1, the largest Jaccard similarity |A∩B| / |A∪B| with a
    cluster of `other` (labels of the same rows); NaN for a cluster with no row here."""
    both = np.bincount(original * k_other + other, minlength=k * k_other).reshape(k, k_other)
    a, b = both.sum(axis=1), both.sum(axis=0)
    union = a[:, None] + b[None, :] - both
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(union > 0, both / np.maximum(union, 1), 0.0)
    out = jac.max(axis=1)
    out[a == 0] = np.nan
    return out


def segment_stability(Z: Any, labels: Any, *, k: int, seed: int, B: int = B_DEFAULT,
                      fit: Fit = _default_fit, sample_size: int = STABILITY_ROWS) -> list[float]:
    """Bootstrap stability of each segment 0..k-1 (module docstring), rounded to 4 digits.

    `Z` is the preprocessed matrix the model was fitted on (rows x z columns) and `labels` the
    served model's segment of each row. `fit(k, n_rows, seed)` returns the clusterer to refit
    (default: `training.selection.select_k.make_kmeans`, the served model's settings for a working sample
    of this size). Deterministic for a given seed. A segment with no row in the working sample
    gets NaN (it cannot be assessed)."""
    Z = _matrix(Z)
    labels = np.asarray(labels)
    if labels.shape != (len(Z),):
        raise ValueError(f"labels must hold one segment per row of Z ({len(Z)}), got shape {labels.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an integer of at least 2, got {k!r}")
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"labels must lie in 0..{k - 1}, got {labels.min()}..{labels.max()}")
    if isinstance(B, bool) or not isinstance(B, (int, np.integer)) or B < 1:
        raise ValueError(f"B must be a positive integer, got {B!r}")
    rng = np.random.default_rng(seed)
    work = _working_sample(len(Z), sample_size, rng)
    X, lab = Z[work], labels[work].astype(np.int64)
    m = len(X)
    totals, counts = np.zeros(k), np.zeros(k)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # duplicated rows: fewer distinct points
        for s in _seeds(seed, 1, B):
            draw = np.random.default_rng(s).integers(0, m, m)
            boot = np.asarray(fit(k, m, s).fit_predict(X[draw]), dtype=np.int64)
            jac = best_jaccard(lab[draw], boot, k, int(boot.max()) + 1)
            seen = ~np.isnan(jac)
            totals[seen] += jac[seen]
            counts[seen] += 1
    with np.errstate(invalid="ignore"):
        mean = totals / counts
    log.info("segment stability (B=%d, %d rows): %s", B, m, np.round(mean, 3).tolist())
    return [round(float(v), 4) if np.isfinite(v) else float("nan") for v in mean]


def stability_reading(value: float) -> str:
    """Hennig's reading of a bootstrap mean Jaccard: "highly stable", "stable", "a pattern, but
    membership is doubtful" or "dissolved" (`READING_RULE`)."""
    if value is None or not np.isfinite(value):
        raise ValueError(f"stability must be a finite number between 0 and 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"stability must be between 0 and 1, got {value!r}")
    return next(text for floor, text in READINGS if value >= floor)


def _co_assigned_share(test: np.ndarray, predicted: np.ndarray, k: int) -> float:
    """min over test clusters with >= 2 rows of the share of their pairs that `predicted` keeps
    together (Tibshirani & Walther's ps for one split); NaN when no cluster has 2 rows."""
    kp = int(predicted.max()) + 1
    both = np.bincount(test * kp + predicted, minlength=k * kp).reshape(k, kp).astype(float)
    size = both.sum(axis=1)
    ok = size >= 2
    if not ok.any():
        return float("nan")
    together = (both * (both - 1)).sum(axis=1)[ok]
    return float((together / (size[ok] * (size[ok] - 1))).min())


def prediction_strength(Z: Any, ks: Iterable[int], *, seed: int, splits: int = STRENGTH_SPLITS,
                        fit: Fit = _default_fit, sample_size: int = STRENGTH_ROWS) -> dict[int, float]:
    """Prediction strength per k (module docstring), rounded to 4 digits. Each half holds at most
    `sample_size // 2` rows; ks above half a half's rows are left out (logged)."""
    Z = _matrix(Z)
    ks_sorted: Sequence[int] = sorted({int(k) for k in ks})
    if not ks_sorted or ks_sorted[0] < 2:
        raise ValueError(f"ks must be integers of at least 2, got {list(ks_sorted)}")
    rng = np.random.default_rng(seed)
    X = Z[_working_sample(len(Z), sample_size, rng)]
    half = len(X) // 2
    usable = [k for k in ks_sorted if k <= half // 2]
    if len(usable) < len(ks_sorted):
        log.warning("prediction strength: %d rows per half, ks above %d left out", half, half // 2)
    perms = [rng.permutation(len(X)) for _ in range(splits)]
    out: dict[int, float] = {}
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in usable:
            seeds = _seeds(seed, 1000 + k, 2 * splits)
            values = []
            for i, perm in enumerate(perms):
                train, test = X[perm[:half]], X[perm[half:2 * half]]
                trained = fit(k, half, seeds[2 * i]).fit(train)
                test_labels = np.asarray(fit(k, half, seeds[2 * i + 1]).fit_predict(test), dtype=np.int64)
                predicted = np.asarray(trained.predict(test), dtype=np.int64)
                values.append(_co_assigned_share(test_labels, predicted, k))
            out[k] = round(float(np.nanmean(values)), 4) if not np.isnan(values).all() else float("nan")
    return out
