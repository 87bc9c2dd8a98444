"""training.selection.select_k: known k recovered, structure-free data called so, pure rule, bounded cost."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from training.selection.select_k import (_silhouette, choose_k, clusterability, column_blocks, make_kmeans,
                               select_k, structure_free)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _blobs(k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.linspace(1, 3, k)  # unequal: the largest segment is 3x the smallest
    sizes = (sizes / sizes.sum() * 1500).astype(int)
    X, y = make_blobs(n_samples=list(sizes), n_features=5, cluster_std=1.0, random_state=seed)
    return StandardScaler().fit_transform(X), y


def planted_mixed(seed: int, *, k: int = 4, n: int = 1500, shuffle: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Numeric Gaussian blobs + two categoricals that follow the segment (70 %) + a gender that
    does not; numeric standardised, categoricals one-hot. Returns (X, truth, n_numeric)."""
    rng = np.random.default_rng(seed)
    shares = np.linspace(1, 2.5, k)
    y = rng.choice(k, n, p=shares / shares.sum())
    d = max(4, k)
    num = 3.0 * np.eye(d)[y] + rng.normal(size=(n, d))
    levels, small = np.array(list("ABCDE")), np.array(["x", "y", "z"])
    frame = pd.DataFrame({f"n{i}": num[:, i] for i in range(d)})
    frame["plan"] = np.where(rng.random(n) < 0.7, levels[y], rng.choice(levels, n))
    frame["channel"] = np.where(rng.random(n) < 0.7, small[y % 3], rng.choice(small, n))
    frame["gender"] = rng.choice(["F", "M", "O"], n, p=[0.48, 0.48, 0.04])
    if shuffle:  # each column on its own: same marginals, no joint structure
        for col in frame.columns:
            frame[col] = rng.permutation(frame[col].to_numpy())
    numeric = [f"n{i}" for i in range(d)]
    X = np.hstack([StandardScaler().fit_transform(frame[numeric]),
                   OneHotEncoder(sparse_output=False).fit_transform(
                       frame[["plan", "channel", "gender"]])])
    return X, y, len(numeric)


def _plain(value: Any) -> bool:
    """Only JSON's own Python types, all the way down (no numpy scalars)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (bool, int, float, str)


@pytest.mark.parametrize("k,seed", [(3, 1), (4, 2), (6, 3)])
def test_blobs_with_known_k(k: int, seed: int) -> None:
    X, y = _blobs(k, seed)
    result = select_k(X, seed=0)
    assert result["k"] == k, result["reason"]
    assert result["clusterability"]["verdict"] == "strong"
    labels = make_kmeans(result["k"], len(X), seed=0).fit_predict(X)
    assert adjusted_rand_score(y, labels) >= 0.95


def test_mixed_numeric_and_one_hot_planted_structure() -> None:
    X, y, n_numeric = planted_mixed(0)
    result = select_k(X, seed=0, n_numeric=n_numeric)
    assert result["k"] == 4, result["reason"]
    assert result["clusterability"]["verdict"] in ("strong", "moderate")
    labels = make_kmeans(result["k"], len(X), seed=0).fit_predict(X)
    assert adjusted_rand_score(y, labels) >= 0.9


def test_same_columns_shuffled_have_no_structure() -> None:
    X, _, n_numeric = planted_mixed(0, shuffle=True)
    result = select_k(X, seed=0, n_numeric=n_numeric)
    assert result["clusterability"]["verdict"] in ("none", "weak")
    assert "no natural clusters" in result["reason"]


def test_mall_customers_income_and_spending() -> None:
    path = DATA / "Mall_Customers.csv"
    assert path.is_file(), f"the reference data is expected at {path}"
    frame = pd.read_csv(path)
    X = StandardScaler().fit_transform(frame[["Annual Income (k$)", "Spending Score (1-100)"]])
    result = select_k(X, seed=0)
    assert result["k"] == 5, result["reason"]
    assert result["clusterability"]["verdict"] in ("strong", "moderate")


def test_simulated_customer_table_has_no_structure() -> None:
    path = DATA / "customer_segmentation_data.csv"
    assert path.is_file(), f"the reference data is expected at {path}"
    frame = pd.read_csv(path).drop(columns="id")
    numeric = ["age", "income", "spending_score", "membership_years", "purchase_frequency",
               "last_purchase_amount"]
    X = np.hstack([StandardScaler().fit_transform(frame[numeric]),
                   OneHotEncoder(sparse_output=False).fit_transform(
                       frame[["gender", "preferred_category"]])])
    result = select_k(X, seed=0, n_numeric=len(numeric))
    verdict = result["clusterability"]
    assert verdict["verdict"] == "none", verdict
    assert "no natural clusters" in result["reason"] and "elbow of the inertia curve" in result["reason"]
    assert result["sample_sizes"] == {"rows": 1000, "fit": 1000, "silhouette": 1000,
                                      "references": 3, "stability_splits": 2}


def test_same_seed_same_table_and_json_plain() -> None:
    X, _ = _blobs(4, 7)
    first, second = select_k(X, seed=11), select_k(X, seed=11)
    assert first["table"] == second["table"]
    assert (first["k"], first["reason"]) == (second["k"], second["reason"])
    assert _plain(first)
    json.dumps(first, allow_nan=False)
    assert set(first["table"][0]) >= {"k", "inertia", "silhouette", "calinski_harabasz",
                                      "davies_bouldin", "gap", "stability", "silhouette_excess"}


def test_forced_k_keeps_the_evidence() -> None:
    X, _ = _blobs(3, 1)
    result = select_k(X, seed=0, k=12, ks=range(2, 6))
    assert result["k"] == 12 and result["forced"] is True
    assert [r["k"] for r in result["table"]] == [2, 3, 4, 5, 12]
    assert "would choose k=3" in result["reason"]
    assert result["clusterability"]["evidence"]["k"] == 12
    with pytest.raises(ValueError, match="k must be 'auto'"):
        select_k(X, seed=0, k=1)


def test_large_input_is_sampled() -> None:
    X, _ = make_blobs(n_samples=30_000, n_features=6, centers=3, random_state=0)
    result = select_k(X, seed=0, ks=range(2, 5))
    assert result["k"] == 3
    assert result["sample_sizes"]["rows"] == 30_000
    assert result["sample_sizes"]["fit"] == 10_000
    assert result["sample_sizes"]["silhouette"] == 2_500


def _row(k: int, sil: float, ref: float, gap: float, stab: float, inertia: float) -> dict:
    return {"k": k, "silhouette": sil, "ref_silhouette": ref, "silhouette_excess": sil - ref,
            "ref_silhouette_sd": 0.003, "gap": gap, "stability": stab, "inertia": inertia,
            "smallest_share": 0.1}


# One-hot artefact: raw silhouette is highest at k=2, but the shuffled reference is just as high
# there; the gap keeps rising until 4 and is flat after. k=5 is unstable.
ONE_HOT_TABLE = [_row(2, 0.40, 0.38, 0.10, 0.95, 1000), _row(3, 0.33, 0.20, 0.30, 0.90, 800),
                 _row(4, 0.35, 0.18, 0.50, 0.92, 600), _row(5, 0.31, 0.17, 0.52, 0.40, 560),
                 _row(6, 0.30, 0.17, 0.53, 0.85, 540)]
NO_STRUCTURE_TABLE = [_row(k, 0.10, 0.099, 0.002, s, i) for k, s, i in
                      [(2, 0.3, 1000), (3, 0.2, 600), (4, 0.4, 450), (5, 0.3, 400), (6, 0.3, 370)]]


def test_choose_k_rule_on_hand_built_tables() -> None:
    assert max(ONE_HOT_TABLE, key=lambda r: r["silhouette"])["k"] == 2  # what plain argmax says
    k, reason = choose_k(ONE_HOT_TABLE)
    assert k == 4 and "levels off" in reason
    k, reason = choose_k(NO_STRUCTURE_TABLE)
    assert k == 3 and "no natural clusters" in reason  # the elbow of inertia
    assert clusterability(NO_STRUCTURE_TABLE)["verdict"] == "none"
    assert clusterability(ONE_HOT_TABLE)["verdict"] == "strong"
    weak = [dict(r, stability=0.5) for r in ONE_HOT_TABLE]
    assert clusterability(weak)["verdict"] == "weak"
    # the gap levels off at 3, but 3 segments do not reproduce across halves: not eligible
    unstable3 = [dict(r, gap=g, stability=s) for r, g, s in
                 zip(ONE_HOT_TABLE, (0.1, 0.5, 0.52, 0.53, 0.54), (0.9, 0.3, 0.9, 0.9, 0.9))]
    assert choose_k(unstable3)[0] == 4
    rising = [dict(r, gap=0.1 * r["k"]) for r in ONE_HOT_TABLE]
    k, reason = choose_k(rising)
    assert k == 6 and "end of the range" in reason


def _nested(ps6: float = 0.97, stab6: float = 0.88, gap6: float = 1.20) -> list[dict]:
    """Groups within groups: the gap pauses at 3, rises again and levels off at 6 (planted order logs)."""
    gaps = {2: 0.54, 3: 0.91, 4: 0.90, 5: 1.03, 6: gap6, 7: 1.30, 8: 1.29}
    ps = {2: 1.0, 3: 0.99, 4: 0.97, 5: 0.83, 6: ps6, 7: 0.60, 8: 0.65}
    stab = {2: 1.0, 3: 0.99, 4: 0.91, 5: 0.84, 6: stab6, 7: 0.86, 8: 0.76}
    return [dict(_row(k, 0.4, 0.2, gaps[k], stab[k], 1000 / k), prediction_strength=ps[k]) for k in gaps]


def test_a_second_level_off_is_taken_when_its_segments_reproduce() -> None:
    k, reason = choose_k(_nested())
    assert k == 6 and "levels off at 3 segments, then rises again and levels off at 6 (k=7 adds 0.100)" in reason
    assert "0.290 higher than at 3 (at least 0.195 counts)" in reason
    assert choose_k(_nested(ps6=0.70))[0] == 3  # not reproducible: the coarse level stands
    assert choose_k(_nested(stab6=0.70))[0] == 3
    assert choose_k(_nested(gap6=1.09))[0] == 3  # 0.18 higher is under 15 % of the largest gap (0.195)
    no_ps = [{key: v for key, v in r.items() if key != "prediction_strength"} for r in _nested()]
    assert choose_k(no_ps)[0] == 3  # without prediction strength, the first level-off stands


def test_choose_k_is_pure() -> None:
    table = list(reversed(copy.deepcopy(ONE_HOT_TABLE)))  # order must not matter
    before = copy.deepcopy(table)
    assert choose_k(table) == choose_k(table) == choose_k(ONE_HOT_TABLE)
    assert table == before
    with pytest.raises(ValueError, match="empty"):
        choose_k([])


def test_make_kmeans_is_bounded() -> None:
    small = make_kmeans(4, 1_000, seed=3)
    assert isinstance(small, KMeans)
    assert (small.n_clusters, small.n_init, small.max_iter, small.random_state) == (4, 10, 300, 3)
    big = make_kmeans(4, 1_000_000, seed=3)
    assert big.n_init == 1 and big.max_iter == 20
    medium = make_kmeans(4, 50_000, seed=3)
    assert medium.n_init == 3 and 20 <= medium.max_iter <= 300
    with pytest.raises(ValueError, match="k must be an integer"):
        make_kmeans(1, 100, seed=0)


def test_reference_keeps_one_hot_blocks_and_marginals() -> None:
    X, _, n_numeric = planted_mixed(1, n=300)
    blocks = column_blocks(X, n_numeric)
    assert blocks == [[0], [1], [2], [3], [4, 5, 6, 7, 8], [9, 10, 11], [12, 13, 14]]
    assert column_blocks(X) == blocks  # binary columns detected without n_numeric
    ref = structure_free(X, blocks, np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(ref, axis=0), np.sort(X, axis=0))
    for cols in blocks[4:]:
        assert (ref[:, cols].sum(axis=1) == 1).all()
    assert not np.array_equal(ref, X)


def test_silhouette_from_distance_matrix_matches_sklearn() -> None:
    X, _ = _blobs(3, 5)
    X = X[:400]
    labels = KMeans(n_clusters=4, n_init=2, random_state=0).fit_predict(X)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    assert _silhouette(D, labels, 4) == pytest.approx(silhouette_score(X, labels), abs=1e-9)
