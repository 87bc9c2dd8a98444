"""How many segments? A per-k evidence table, a pure rule over it, and a clusterability verdict.

`score_k` fits KMeans for every candidate k on one fixed-seed *working sample* and records inertia,
silhouette, Calinski-Harabasz and Davies-Bouldin, plus two comparisons:

* **structure-free reference** - the working sample with each variable permuted independently
  (one-hot blocks move as a whole), so every variable keeps its marginal distribution but says
  nothing about the others. ``silhouette_excess`` = silhouette - reference silhouette, and the
  ``gap`` statistic = mean log(reference inertia) - log(inertia).
* **split-half stability** - the sample is cut in two halves, KMeans is fitted on each, both label
  the same evaluation rows; ``stability`` is the mean adjusted Rand index over repeats.

Why not "highest silhouette": one-hot columns make k = 2 (or k = number of levels) look well
separated when customers form no groups - the reference has the same marginals, so it cancels
that - and silhouette prefers merging nearby groups, while the gap keeps rising until they are
separated.

The rule over the table (`choose_k`), the verdict (`clusterability`) and the honest words
about a smaller k live in `training.selection.verdict`.

Cost is set by the sample sizes, not the row count: at most 10,000 rows are fitted (single-threaded,
see ``ONE_THREAD``) and silhouettes use one 2,500-row distance matrix per reference, reused for all
k. Known blind spot of the shuffled reference: structure that lives in one column alone (a bimodal
income with nothing else going on, or 1-D data) survives the shuffle, so the verdict under-rates it;
and in 2-3 dimensions a far-away group makes the shuffled data lumpy too, so the rule may stop at
the coarse level (the far group vs the rest) when finer groups exist.
"""
from __future__ import annotations

import logging
import time
import warnings
from typing import Any, Iterable, Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score
from sklearn.metrics.pairwise import euclidean_distances
from threadpoolctl import threadpool_limits

from training.selection.verdict import RULE, _sig, choose_k, clusterability, decide  # noqa: F401 (choose_k: the rule, re-exported)

log = logging.getLogger(__name__)

DEFAULT_KS = range(2, 11)
SAMPLE_ROWS = 10_000      # working sample: every KMeans fit of the selection
SILHOUETTE_ROWS = 2_500   # silhouette is O(n^2): one distance matrix of this size, reused per k
N_REFERENCES = 3          # structure-free references
N_SPLITS = 2              # split-half stability repeats (two fits each)
# KMeans restarts for the data's own fit: small clusters between big ones need several k-means++
# starts to be found; references (no structure) and split-half fits use one start each.
N_INIT_SMALL, N_INIT_LARGE, SMALL_ROWS = 10, 3, 3_000
# Structure-free data makes Lloyd creep for 100+ iterations; the table needs inertia to ~0.1 %.
FIT_OPTS = {"tol": 1e-3, "max_iter": 100}
# ONE_THREAD: select_k runs ~100 small fits; on a shared 2-core machine OpenMP/BLAS threads
# spin-waiting for a descheduled sibling made them 10-15x slower than one thread (measured).
ROW_ITER_BUDGET = 20_000_000  # make_kmeans: rows x restarts x Lloyd iterations for the served fit
def _seeds(key: Sequence[int], n: int) -> list[int]:
    """n independent child seeds derived from a key such as (seed, k); order-stable."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(list(key)).spawn(n)]


def column_blocks(X: np.ndarray, n_numeric: int | None = None) -> list[list[int]]:
    """Groups of columns the reference permutes together.

    Numeric columns are one group each. Binary 0/1 columns (those after `n_numeric`, or detected)
    form maximal runs of adjacent columns whose row sums never exceed 1 - the one-hot blocks - so
    a shuffled row still holds exactly one level of each categorical variable.
    """
    d = X.shape[1]
    if n_numeric is None:
        binary = [bool(np.isin(X[:, j], (0.0, 1.0)).all()) for j in range(d)]
    else:
        binary = [j >= n_numeric for j in range(d)]
    blocks: list[list[int]] = []
    run: list[int] = []
    run_sum = np.zeros(X.shape[0])
    for j in range(d):
        if run and (not binary[j] or (run_sum + X[:, j]).max() > 1):
            blocks.append(run)
            run, run_sum = [], np.zeros(X.shape[0])
        if binary[j]:
            run.append(j)
            run_sum = run_sum + X[:, j]
        else:
            blocks.append([j])
    return blocks + ([run] if run else [])


def structure_free(X: np.ndarray, blocks: Sequence[Sequence[int]], rng: np.random.Generator
                   ) -> np.ndarray:
    """X with each block of columns permuted independently: same marginals, no joint structure."""
    out = np.empty_like(X)
    for cols in blocks:
        out[:, cols] = X[rng.permutation(len(X))][:, cols]
    return out


def _silhouette(D: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean silhouette from a precomputed distance matrix (one matrix serves every k)."""
    n = len(labels)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels] = 1.0
    counts = onehot.sum(axis=0)
    sums = D @ onehot
    a = sums[np.arange(n), labels] / np.maximum(counts[labels] - 1, 1)
    mean_other = sums / np.maximum(counts, 1)
    mean_other[np.arange(n), labels] = np.inf
    mean_other[:, counts == 0] = np.inf
    b = mean_other.min(axis=1)
    denom = np.maximum(a, b)
    ok = (counts[labels] > 1) & np.isfinite(b) & (denom > 0)
    return float(np.where(ok, (b - a) / np.where(ok, denom, 1.0), 0.0).mean())


def score_k(X: np.ndarray, ks: Iterable[int] = DEFAULT_KS, *, seed: int,
            sample_size: int = SAMPLE_ROWS, silhouette_size: int = SILHOUETTE_ROWS,
            n_numeric: int | None = None, n_references: int = N_REFERENCES,
            n_splits: int = N_SPLITS) -> list[dict[str, Any]]:
    """One row of evidence per k (module docstring); the sample sizes used are in every row."""
    X = np.asarray(X, dtype=float)
    ks = sorted({int(k) for k in ks})
    if X.ndim != 2 or X.shape[0] < 4:
        raise ValueError(f"X must be a 2-D matrix with at least 4 rows, got shape {X.shape}")
    n = X.shape[0]
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values; impute before selecting k")
    if np.ptp(X, axis=0).max() == 0:
        raise ValueError("all rows of X are identical: there is nothing to segment")
    if not ks or ks[0] < 2 or ks[-1] > n // 2:
        raise ValueError(f"ks must lie between 2 and {n // 2} (half the rows), got {ks}")
    rng = np.random.default_rng(seed)
    work = X if n <= sample_size else X[np.sort(rng.choice(n, sample_size, replace=False))]
    m = len(work)
    ev = np.arange(m) if m <= silhouette_size else np.sort(rng.choice(m, silhouette_size,
                                                                      replace=False))
    blocks = column_blocks(work, n_numeric)
    refs = [structure_free(work, blocks, rng) for _ in range(n_references)]
    dists = [euclidean_distances(w[ev]) for w in [work, *refs]]
    splits = [rng.permutation(m) for _ in range(n_splits)]
    n_init = N_INIT_SMALL if m <= SMALL_ROWS else N_INIT_LARGE
    rows = []
    for k in ks:
        fit_seeds = _seeds((seed, k), 1 + n_references + 2 * n_splits)
        km = KMeans(n_clusters=k, n_init=n_init, random_state=fit_seeds[0], **FIT_OPTS).fit(work)
        sil = _silhouette(dists[0], km.labels_[ev], k)
        ref_inertia, ref_sil = [], []
        for r, D_r, s in zip(refs, dists[1:], fit_seeds[1:]):
            kr = KMeans(n_clusters=k, n_init=1, random_state=s, **FIT_OPTS).fit(r)
            ref_inertia.append(kr.inertia_)
            ref_sil.append(_silhouette(D_r, kr.labels_[ev], k))
        aris = []
        for i, perm in enumerate(splits):
            s_a, s_b = fit_seeds[1 + n_references + 2 * i:3 + n_references + 2 * i]
            halves = perm[:m // 2], perm[m // 2:]
            la, lb = (KMeans(n_clusters=k, n_init=1, random_state=s, **FIT_OPTS)
                      .fit(work[h]).predict(work[ev]) for h, s in zip(halves, (s_a, s_b)))
            aris.append(adjusted_rand_score(la, lb))
        log_ref, log_w = np.log(np.maximum(ref_inertia, 1e-12)), np.log(max(km.inertia_, 1e-12))
        sizes = np.bincount(km.labels_, minlength=k)
        rows.append({
            "k": k,
            "inertia": _sig(km.inertia_),
            "silhouette": _sig(sil, 5),
            "calinski_harabasz": _sig(calinski_harabasz_score(work, km.labels_), 6),
            "davies_bouldin": _sig(davies_bouldin_score(work, km.labels_), 5),
            "ref_inertia": _sig(np.mean(ref_inertia)),
            "ref_silhouette": _sig(np.mean(ref_sil), 5),
            "ref_silhouette_sd": _sig(np.std(ref_sil), 3),
            "silhouette_excess": _sig(sil - np.mean(ref_sil), 5),
            "gap": _sig(log_ref.mean() - log_w, 5),
            "gap_sd": _sig(log_ref.std() * np.sqrt(1 + 1 / n_references), 3),
            "stability": _sig(np.mean(aris), 4),
            "smallest_share": _sig(sizes.min() / m, 4),
            "n_rows": n, "n_fit": m, "n_silhouette": int(len(ev)), "n_variables": len(blocks),
            "n_references": n_references, "n_splits": n_splits,
        })
    return rows


def select_k(X: np.ndarray, *, seed: int, k: int | str = "auto", ks: Iterable[int] = DEFAULT_KS,
             n_numeric: int | None = None, sample_size: int = SAMPLE_ROWS) -> dict[str, Any]:
    """Evidence table, chosen (or forced) k, reason and verdict; JSON-serialisable plain types."""
    if k != "auto" and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2):
        raise ValueError(f"k must be 'auto' or an integer of at least 2, got {k!r}")
    start = time.perf_counter()
    rows = len(X)
    usable = sorted({int(x) for x in ks if int(x) <= rows // 2})
    if len(usable) < len(set(ks)):
        log.warning("%d rows: only ks up to %d are scored", rows, rows // 2)
    ks = sorted(set(usable) | ({int(k)} if k != "auto" else set()))
    with threadpool_limits(limits=1), warnings.catch_warnings():  # see ONE_THREAD
        # fewer distinct rows than k: KMeans warns; the table shows it as smallest_share 0
        warnings.simplefilter("ignore", ConvergenceWarning)
        table = score_k(X, ks, seed=seed, n_numeric=n_numeric, sample_size=sample_size)
    forced = k != "auto"
    chosen, reason = decide(table, k)
    sizes = {"rows": "n_rows", "fit": "n_fit", "silhouette": "n_silhouette",
             "references": "n_references", "stability_splits": "n_splits"}
    out = {"table": table, "k": chosen, "reason": reason, "forced": forced,
           "clusterability": clusterability(table, chosen),
           "sample_sizes": {name: table[0][key] for name, key in sizes.items()},
           "rule": RULE, "seconds": round(time.perf_counter() - start, 3)}
    log.info("k=%d (%s), verdict %s, %.1f s", chosen, "forced" if forced else "auto",
             out["clusterability"]["verdict"], out["seconds"])
    return out


def make_kmeans(k: int, n_rows: int, *, seed: int) -> KMeans:
    """The served clusterer: KMeans, restarts and iterations bounded by the row count.

    <= 20,000 rows: the classic 10 restarts; <= 100,000: 3; beyond: 1 k-means++ start. Iterations
    are capped so rows x restarts x iterations <= ``ROW_ITER_BUDGET`` (at least 20): ~20 at 1 M
    rows, ~1-3 s even on structure-less data where Lloyd creeps for 100+ iterations. Not
    MiniBatchKMeans: in scikit-learn 1.9 every mini-batch draws rows with probabilities over all
    n rows (O(n) per step); at 1 M rows it took 10-28 s here.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an integer of at least 2, got {k!r}")
    if n_rows <= k:
        raise ValueError(f"n_rows must be larger than k={k}, got {n_rows}")
    n_init = 10 if n_rows <= 20_000 else 3 if n_rows <= 100_000 else 1
    max_iter = int(min(300, max(20, ROW_ITER_BUDGET // (n_rows * n_init))))
    return KMeans(n_clusters=int(k), n_init=n_init, max_iter=max_iter, random_state=seed)
