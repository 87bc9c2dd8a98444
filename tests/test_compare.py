"""training.selection.compare (KMeans vs density methods and a mixture) and training.publishing.plots (card figures)."""
from __future__ import annotations

from dataclasses import replace

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import DBSCAN, KMeans
from sklearn.datasets import make_blobs, make_moons
from sklearn.preprocessing import StandardScaler

from training.selection.compare import compare_algorithms, dbscan_min_samples, k_distance_eps
from model.contract.manifest import Comparison, Selection
from training.publishing.plots import render_selection_plots
from training.selection.select_k import select_k

ALGORITHMS = {"kmeans", "gaussian_mixture", "dbscan", "hdbscan"}


def _moons(seed: int = 0, n: int = 1000) -> np.ndarray:
    X, _ = make_moons(n_samples=n, noise=0.06, random_state=seed)
    return StandardScaler().fit_transform(X)


def _kmeans(X: np.ndarray, k: int) -> np.ndarray:
    return KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(X)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dbscan_eps_from_k_distance_finds_the_moons(seed: int) -> None:
    X = _moons(seed)
    result = compare_algorithms(X, kmeans_labels=_kmeans(X, 2), seed=0)
    db = result["algorithms"]["dbscan"]
    assert db["n_clusters"] == 2
    assert db["noise_share"] <= 0.05
    curve = result["k_distance"]
    assert curve["min_samples"] == dbscan_min_samples(2) == db["params"]["min_samples"]
    assert curve["eps"] == db["params"]["eps"]
    assert len(curve["distance"]) <= 500 and len(curve["x"]) == len(curve["distance"])
    assert curve["distance"] == sorted(curve["distance"])
    assert curve["distance"][0] <= curve["eps"] <= curve["distance"][-1]


def test_k_distance_knee_sits_where_the_curve_turns_up() -> None:
    # 950 points in a tight blob + 50 scattered: the knee is near the 95 % mark
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.1, (950, 2)), rng.uniform(-5, 5, (50, 2))])
    curve = k_distance_eps(X, 15)
    assert 0.85 <= curve["knee_x"] <= 0.97
    labels = DBSCAN(eps=curve["eps"], min_samples=15).fit_predict(X)
    assert 0.02 <= np.mean(labels < 0) <= 0.1


def test_payload_on_separated_blobs() -> None:
    X, _ = make_blobs(n_samples=[300, 500, 700], n_features=4, cluster_std=0.8, random_state=4)
    result = compare_algorithms(X, kmeans_labels=_kmeans(X, 3), seed=1)
    json.dumps(result, allow_nan=False)
    assert result["served"] == "kmeans" and "KMeans stays the served model" in result["why"]
    algos = result["algorithms"]
    assert set(algos) == ALGORITHMS
    assert {a: v["assigns_new_points"] for a, v in algos.items()} == {
        "kmeans": True, "gaussian_mixture": True, "dbscan": False, "hdbscan": False}
    assert algos["gaussian_mixture"]["params"]["n_components"] == 3
    for name, v in algos.items():
        assert v["n_clusters"] == 3, name
        assert v["stability"] >= 0.95, name
        assert v["silhouette"] is not None and v["silhouette"] > 0.5, name
        assert v["noise_share"] <= 0.05, name
    assert algos["kmeans"]["noise_share"] == 0.0


def test_bounded_sample_and_determinism() -> None:
    X, _ = make_blobs(n_samples=12_000, n_features=5, centers=4, random_state=2)
    labels = _kmeans(X, 4)
    first = compare_algorithms(X, kmeans_labels=labels, seed=3, sample_size=2_000)
    second = compare_algorithms(X, kmeans_labels=labels, seed=3, sample_size=2_000)
    assert first["sample_size"] == 2_000 and first["n_rows"] == 12_000
    for payload in (first, second):
        payload.pop("seconds")
        for v in payload["algorithms"].values():
            v.pop("seconds")
    assert first == second


def test_structure_free_data_is_reported_honestly() -> None:
    rng = np.random.default_rng(5)
    X = rng.uniform(-1.7, 1.7, size=(1500, 6))
    result = compare_algorithms(X, kmeans_labels=_kmeans(X, 4), seed=0)
    hd = result["algorithms"]["hdbscan"]
    assert hd["n_clusters"] <= 1 or hd["noise_share"] >= 0.3
    assert result["algorithms"]["kmeans"]["stability"] < 0.6  # an arbitrary split of a uniform cube
    assert "shift when the data is resampled" in result["why"]


def test_bad_labels_are_rejected() -> None:
    X = _moons()
    with pytest.raises(ValueError, match="one label per row"):
        compare_algorithms(X, kmeans_labels=np.zeros(10, dtype=int), seed=0)
    with pytest.raises(ValueError, match="at least 2 segments"):
        compare_algorithms(X, kmeans_labels=np.zeros(len(X), dtype=int), seed=0)


# --- plots -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def evidence() -> tuple[Selection, Comparison]:
    X, _ = make_blobs(n_samples=[200, 300, 400], n_features=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    selection = select_k(X, seed=0, ks=range(2, 7))
    comparison = compare_algorithms(X, kmeans_labels=_kmeans(X, selection["k"]), seed=0)
    return Selection.from_dict(selection), Comparison.from_dict(comparison)


def test_plots_are_written_and_byte_deterministic(evidence: tuple[dict, dict],
                                                  tmp_path: Path) -> None:
    selection, comparison = evidence
    first = render_selection_plots(selection, comparison, tmp_path / "a")
    second = render_selection_plots(selection, comparison, tmp_path / "b")
    assert first == second == ["plots/elbow.png", "plots/criteria.png", "plots/k_distance.png"]
    for rel in first:
        a, b = (tmp_path / "a" / rel).read_bytes(), (tmp_path / "b" / rel).read_bytes()
        assert a[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"Software" not in a
        assert a == b, rel


def test_plots_change_with_the_input_and_work_without_comparison(
        evidence: tuple[dict, dict], tmp_path: Path) -> None:
    selection, _ = evidence
    written = render_selection_plots(selection, None, tmp_path / "a")
    assert written == ["plots/elbow.png", "plots/criteria.png"]
    other = replace(selection, k=selection.k + 1)
    render_selection_plots(other, None, tmp_path / "b")
    assert (tmp_path / "a" / written[0]).read_bytes() != (tmp_path / "b" / written[0]).read_bytes()
    with pytest.raises(ValueError, match="non-empty evidence table"):
        render_selection_plots(replace(selection, table=[]), None, tmp_path / "c")
