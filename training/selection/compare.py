"""KMeans against DBSCAN, HDBSCAN and a Gaussian mixture on the same preprocessed data.

Evidence for the model card, not a model choice: the served model stays KMeans (see `why` in the
result). Everything runs on one fixed-seed sample of at most `sample_size` rows, single-threaded
(see `training.selection.select_k`), so the cost does not grow with the table.

* **DBSCAN** - ``min_samples = max(15, 2 * n_columns)``: the "2 x dimension" heuristic (Sander et
  al. 1998, Schubert et al. 2017) with a floor of 15, because with the 2-D default of 4 the
  k-distance is so noisy that the knee's eps breaks clusters into fragments (make_moons, 1,000
  rows: 5-16 pieces with 4; with 15, two moons and <= 4 % noise in 117 of 120 draws of 300-4,000
  rows). ``eps`` is the knee of the sorted k-distance curve (distance of every
  point to its ``min_samples - 1``-th nearest other point): with both axes scaled to [0, 1], the
  point farthest below the chord from the first to the last point (Kneedle, Satopaa et al. 2011).
* **HDBSCAN** - ``min_cluster_size`` = 2 % of the sample (at least 10): smaller groups are not
  segments a campaign can address; ``min_samples`` as for DBSCAN.
* **Gaussian mixture** - as many components as KMeans has segments (so the comparison is about the
  shape of the segments, not their number), full covariances, ``reg_covar=1e-3`` so one-hot columns
  that are constant inside a segment do not collapse a covariance matrix.

Per algorithm: number of clusters, noise share, silhouette / Calinski-Harabasz / Davies-Bouldin on
the non-noise points, agreement with KMeans (ARI), stability (mean ARI over the pairs of three fits
- the sample and two 80 % subsamples - on the rows they share, noise counted as its own group) and
whether it can assign a new customer.
"""
from __future__ import annotations

import logging
import time
import warnings
from typing import Any, Callable

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score,
                             silhouette_score)
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

SAMPLE_ROWS = 4_000        # density methods are O(n log n)..O(n^2): a fixed-seed sample
MAX_SAMPLE_ROWS = 20_000   # structure-less data: every point neighbours most others (memory n^2)
SILHOUETTE_ROWS = 2_500
SUBSAMPLE = 0.8            # share of the sample in each stability refit
CURVE_POINTS = 500         # the k-distance curve returned for plotting
HDBSCAN_SHARE = 0.02


def dbscan_min_samples(n_columns: int) -> int:
    """min_samples from the dimension: 2 x columns, at least 15 (module docstring)."""
    return max(15, 2 * int(n_columns))


def k_distance_eps(X: np.ndarray, min_samples: int) -> dict[str, Any]:
    """Sorted k-distance curve, its knee and the eps it gives (rule in the module docstring)."""
    nn = NearestNeighbors(n_neighbors=min(min_samples, len(X))).fit(X)
    dist = np.sort(nn.kneighbors(X)[0][:, -1])  # column 0 is the point itself
    x = np.linspace(0.0, 1.0, len(dist))
    span = dist[-1] - dist[0]
    y = (dist - dist[0]) / (span if span > 0 else 1.0)
    knee = int(np.argmax(x - y))
    eps = float(dist[knee]) if dist[knee] > 0 else float(dist[dist > 0].min(initial=1e-9))
    points = min(CURVE_POINTS, len(dist))
    pick = np.unique(np.linspace(0, len(dist) - 1, points).round().astype(int))
    return {"min_samples": int(min_samples), "neighbour": int(min_samples) - 1,
            "x": [round(float(v), 5) for v in x[pick]],
            "distance": [float(f"{v:.6g}") for v in dist[pick]],
            "knee_x": round(float(x[knee]), 5), "eps": float(f"{eps:.6g}"),
            "rule": "eps = knee of the sorted k-distance curve: the point farthest below the chord "
                    "from first to last point, both axes scaled to [0, 1]"}


def _quality(X: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, float | None]:
    """Silhouette / CH / DB on the non-noise points; None where undefined."""
    keep = labels >= 0
    Z, lab = X[keep], labels[keep]
    if len(np.unique(lab)) < 2 or len(lab) <= len(np.unique(lab)):
        return {"silhouette": None, "calinski_harabasz": None, "davies_bouldin": None}
    sil = silhouette_score(Z, lab, sample_size=min(SILHOUETTE_ROWS, len(lab)), random_state=seed)
    return {"silhouette": round(float(sil), 4),
            "calinski_harabasz": float(f"{calinski_harabasz_score(Z, lab):.6g}"),
            "davies_bouldin": round(float(davies_bouldin_score(Z, lab)), 4)}


def _stability(fit: Callable[[np.ndarray, int], np.ndarray], X: np.ndarray, full: np.ndarray,
               subsets: list[np.ndarray], seeds: list[int]) -> float:
    """Mean ARI over the pairs of (full fit, subsample fits) on the rows each pair shares."""
    fits = [(np.arange(len(X)), full)] + [(s, fit(X[s], sd)) for s, sd in zip(subsets, seeds)]
    aris = []
    for i in range(len(fits)):
        for j in range(i + 1, len(fits)):
            (ia, la), (ib, lb) = fits[i], fits[j]
            common, pa, pb = np.intersect1d(ia, ib, assume_unique=True, return_indices=True)
            aris.append(adjusted_rand_score(la[pa], lb[pb]))
    return round(float(np.mean(aris)), 4)


def compare_algorithms(X: np.ndarray, *, kmeans_labels: np.ndarray, seed: int,
                       sample_size: int = SAMPLE_ROWS) -> dict[str, Any]:
    """KMeans vs DBSCAN, HDBSCAN and a Gaussian mixture; JSON-serialisable (module docstring)."""
    if not 10 <= sample_size <= MAX_SAMPLE_ROWS:
        raise ValueError(f"sample_size must be between 10 and {MAX_SAMPLE_ROWS:,}, got "
                         f"{sample_size} (DBSCAN's neighbour lists grow as rows^2)")
    start = time.perf_counter()
    X = np.asarray(X, dtype=float)
    labels = np.asarray(kmeans_labels)
    if X.ndim != 2 or len(labels) != len(X):
        raise ValueError(f"kmeans_labels must have one label per row of X ({len(X)}), "
                         f"got {len(labels)}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values; impute before comparing")
    k = int(len(np.unique(labels)))
    if k < 2:
        raise ValueError(f"kmeans_labels must hold at least 2 segments, got {k}")
    rng = np.random.default_rng(seed)
    n = len(X)
    idx = np.arange(n) if n <= sample_size else np.sort(rng.choice(n, sample_size, replace=False))
    S, km_labels = X[idx], labels[idx]
    m = len(S)
    subsets = [np.sort(rng.choice(m, int(SUBSAMPLE * m), replace=False)) for _ in range(2)]
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=2)]
    # tiny tables: keep the density parameters feasible (they are meaningless there anyway)
    min_samples = min(dbscan_min_samples(X.shape[1]), max(2, m // 2))
    mcs = min(max(10, round(HDBSCAN_SHARE * m)), max(2, m // 2))
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # GMM / KMeans on structure-less data
        curve = k_distance_eps(S, min_samples)
        eps = curve["eps"]
        fits: dict[str, tuple[Callable[[np.ndarray, int], np.ndarray], bool, dict[str, Any]]] = {
            "kmeans": (lambda Z, s: KMeans(n_clusters=k, n_init=4, random_state=s).fit_predict(Z),
                       True, {"n_clusters": k}),
            "gaussian_mixture": (
                lambda Z, s: GaussianMixture(n_components=k, covariance_type="full",
                                             reg_covar=1e-3, n_init=2, random_state=s)
                .fit(Z).predict(Z),
                True, {"n_components": k, "k_source": "same as KMeans", "covariance_type": "full",
                       "reg_covar": 1e-3}),
            "dbscan": (lambda Z, s: DBSCAN(eps=eps, min_samples=min_samples).fit_predict(Z),
                       False, {"eps": eps, "min_samples": min_samples}),
            "hdbscan": (lambda Z, s: HDBSCAN(min_cluster_size=mcs, min_samples=min_samples,
                                             copy=True).fit_predict(Z),
                        False, {"min_cluster_size": mcs, "min_samples": min_samples}),
        }
        results: dict[str, dict[str, Any]] = {}
        for name, (fit, assigns, params) in fits.items():
            t0 = time.perf_counter()
            lab = km_labels if name == "kmeans" else fit(S, seed)
            found = int(len(np.unique(lab[lab >= 0])))
            results[name] = {
                "n_clusters": found, "noise_share": round(float(np.mean(lab < 0)), 4),
                **_quality(S, lab, seed),
                "agreement_with_kmeans": round(float(adjusted_rand_score(km_labels, lab)), 4),
                "stability": _stability(fit, S, lab, subsets, seeds),
                "assigns_new_points": assigns, "params": params,
                "seconds": round(time.perf_counter() - t0, 3)}
    out = {"served": "kmeans", "why": _why(results), "algorithms": results, "k_distance": curve,
           "sample_size": int(m), "n_rows": int(n), "seed": int(seed),
           "seconds": round(time.perf_counter() - start, 3)}
    log.info("compared algorithms on %d rows in %.1f s", m, out["seconds"])
    return out


def _why(res: dict[str, dict[str, Any]]) -> str:
    """One plain sentence: why KMeans stays the served model, with this data's numbers."""
    km, gm, db, hd = (res[a] for a in ("kmeans", "gaussian_mixture", "dbscan", "hdbscan"))
    density = (f"DBSCAN and HDBSCAN cannot place a new customer in a segment and here left "
               f"{db['noise_share']:.0%} and {hd['noise_share']:.0%} of customers unassigned "
               f"(found {db['n_clusters']} and {hd['n_clusters']} groups)")
    if gm["stability"] + 0.02 < km["stability"]:
        mix = (f"the Gaussian mixture also assigns new customers but its segments are less "
               f"reproducible (stability {gm['stability']:.2f} vs {km['stability']:.2f})")
    else:
        mix = (f"the Gaussian mixture also assigns new customers and is about as reproducible "
               f"(stability {gm['stability']:.2f} vs {km['stability']:.2f}), but its overlapping "
               f"elliptical segments are harder to explain than KMeans's segment averages")
    stab = km["stability"]
    repro = ("its segments are reproducible" if stab >= 0.8 else
             "its segments are fairly reproducible" if stab >= 0.6 else
             "its segments shift when the data is resampled, as any split of structure-less data "
             "does, but a fitted model always places the same customer in the same segment")
    return (f"KMeans stays the served model: it gives every customer, including new ones, exactly "
            f"one segment described by its average profile, and {repro} (stability {stab:.2f}); "
            f"{density}; {mix}.")
