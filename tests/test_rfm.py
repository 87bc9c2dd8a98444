"""RFM quintile scores, the named segments of the R `rfm` table, stored edges that score new
customers exactly as training did, the per-segment mix and names."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from model.serving.rfm import (LABEL_GRID, LABELS, OTHERS, RFM_RULES, rfm_edges, rfm_label,
                          rfm_mix, rfm_scores, score_with_edges)

NAMED = [r[0] for r in RFM_RULES]


def table(f: list[int], m: list[int]) -> pd.DataFrame:
    """Five customers whose R scores are 5, 4, 3, 2, 1 and whose F and M scores are `f` and `m`
    (five distinct values per column give each score once: 1 + floor(5 × rank / 5))."""
    return pd.DataFrame({"recency_days": [3, 10, 40, 90, 200],
                         "frequency": [[1, 2, 3, 5, 9][s - 1] for s in f],
                         "monetary": [[20.0, 55.5, 120.0, 400.0, 2500.0][s - 1] for s in m]})


# (F scores, M scores, expected labels for R = 5, 4, 3, 2, 1), checked by hand against the table
CASES = [
    ([5, 1, 4, 3, 2], [5, 1, 4, 3, 2],
     ["Champions", "New Customers", "Loyal Customers", "Need Attention", "Hibernating"]),
    ([2, 4, 1, 3, 5], [2, 4, 1, 3, 5],
     ["Potential Loyalist", "Champions", "Promising", "Need Attention", "Can't Lose Them"]),
    ([5, 3, 2, 4, 1], [2, 5, 3, 4, 1],
     [OTHERS, "Loyal Customers", "Need Attention", "At Risk", "Lost"]),
    ([3, 2, 4, 1, 5], [3, 2, 4, 1, 5],
     ["Potential Loyalist", "Potential Loyalist", "Loyal Customers", "About To Sleep", "Can't Lose Them"]),
]


@pytest.mark.parametrize("f, m, labels", CASES)
def test_small_tables_score_and_label_by_hand(f, m, labels):
    got = rfm_scores(table(f, m))
    assert got["r_score"].tolist() == [5, 4, 3, 2, 1]
    assert got["f_score"].tolist() == f and got["m_score"].tolist() == m
    assert got["rfm_label"].tolist() == labels


def test_every_named_segment_is_reachable():
    assert {lab for _, _, labels in CASES for lab in labels} == set(NAMED) | {OTHERS}
    assert {LABELS[i] for i in LABEL_GRID.ravel()} == set(LABELS)


@pytest.mark.parametrize("r, f, m, label", [
    (5, 5, 5, "Champions"), (2, 5, 5, "At Risk"), (3, 5, 5, "Loyal Customers"), (5, 3, 3, "Potential Loyalist"),
    (5, 1, 1, "New Customers"), (4, 1, 1, "New Customers"), (3, 1, 1, "Promising"), (3, 2, 2, "Need Attention"),
    (2, 1, 1, "About To Sleep"), (2, 2, 5, "At Risk"), (1, 4, 5, "Can't Lose Them"), (1, 2, 1, "Hibernating"),
    (1, 1, 2, "Hibernating"), (1, 1, 1, "Lost"), (5, 1, 5, OTHERS), (1, 1, 5, OTHERS)])
def test_rule_table_most_specific_row_wins(r, f, m, label):
    assert rfm_label(r, f, m) == label


def test_ties_share_a_score_and_heavy_ties_do_not_break_quintiles():
    freq = [1, 1, 1, 1, 1, 1, 2, 2, 3, 10]  # 60 % bought once
    frame = pd.DataFrame({"recency_days": [5, 5, 9, 9, 9, 20, 30, 30, 30, 30], "frequency": freq,
                          "monetary": [10.0] * 10})
    got = rfm_scores(frame)
    assert got["f_score"].tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]  # 1 + floor(5 × below / 10)
    assert got["r_score"].tolist() == [5, 5, 3, 3, 3, 3, 1, 1, 1, 1]  # lower recency scores higher
    assert got["m_score"].tolist() == [1] * 10
    shuffled = frame.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(rfm_scores(shuffled).sort_index(), got)


def test_scores_are_even_quintiles_without_ties():
    frame = pd.DataFrame({"recency_days": np.arange(1000), "frequency": np.arange(1000) % 997,
                          "monetary": np.linspace(1, 2, 1000)})
    got = rfm_scores(frame)
    for col in ("r_score", "m_score"):
        assert got[col].value_counts().tolist() == [200] * 5


@pytest.fixture(scope="module")
def invoice_features(shared_data):
    from model.orders.customers import customer_features
    return customer_features(shared_data / "online_retail_invoices.csv").frame


def test_edges_round_trip_on_the_shared_invoices(invoice_features):
    fitted = rfm_scores(invoice_features)
    edges = json.loads(json.dumps(rfm_edges(invoice_features)))  # plain data, as stored in a bundle
    r, f, m, label = score_with_edges(invoice_features["recency_days"].to_numpy(),
                                      invoice_features["frequency"].to_numpy(),
                                      invoice_features["monetary"].to_numpy(), edges)
    assert (r == fitted["r_score"]).all() and (f == fitted["f_score"]).all() and (m == fitted["m_score"]).all()
    assert (label == fitted["rfm_label"]).all()
    assert set(fitted["rfm_label"]) == set(NAMED) | {OTHERS}
    one = invoice_features.iloc[17]
    assert score_with_edges(int(one["recency_days"]), int(one["frequency"]), float(one["monetary"]), edges) == (
        int(fitted["r_score"].iloc[17]), int(fitted["f_score"].iloc[17]), int(fitted["m_score"].iloc[17]),
        fitted["rfm_label"].iloc[17])


def test_edges_round_trip_with_heavy_ties_and_unreached_scores():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"recency_days": rng.integers(1, 30, 500), "frequency": rng.choice([1, 1, 1, 2, 7], 500),
                          "monetary": rng.choice([5.0, 5.0, 5.0, 80.0], 500)})
    fitted = rfm_scores(frame)
    edges = rfm_edges(frame)
    assert None in edges["monetary"]["edges"]  # 75 % at one value: some scores are never reached
    got = score_with_edges(frame["recency_days"], frame["frequency"], frame["monetary"], edges)
    for g, col in zip(got, ("r_score", "f_score", "m_score", "rfm_label")):
        assert (np.asarray(g) == fitted[col].to_numpy()).all(), col


def test_new_customers_between_and_beyond_training_values():
    frame = pd.DataFrame({"recency_days": [1, 10, 20, 30, 40], "frequency": [1, 2, 3, 4, 5],
                          "monetary": [10.0, 20.0, 30.0, 40.0, 50.0]})
    edges = rfm_edges(frame)
    assert edges["recency"]["edges"] == [30.0, 20.0, 10.0, 1.0] and edges["recency"]["better"] == "lower"
    assert edges["frequency"]["edges"] == [2.0, 3.0, 4.0, 5.0]
    assert score_with_edges(0, 99, 1e6, edges) == (5, 5, 5, "Champions")  # beyond the best
    assert score_with_edges(500, 0, 0.0, edges) == (1, 1, 1, "Lost")  # beyond the worst
    assert score_with_edges(15, 2.5, 25.0, edges)[:3] == (3, 2, 2)  # between values: the lower score
    with pytest.raises(ValueError, match="monetary must be a finite number, got nan"):
        score_with_edges(1, 1, float("nan"), edges)


def test_bad_frames_name_the_column():
    with pytest.raises(ValueError, match="RFM needs a column 'monetary'"):
        rfm_scores(pd.DataFrame({"recency_days": [1], "frequency": [1]}))
    with pytest.raises(ValueError, match="column 'frequency' must hold finite numbers; row 1 holds 'nan'"):
        rfm_scores(pd.DataFrame({"recency_days": [1, 2], "frequency": [1, np.nan], "monetary": [1, 2]}))


def test_rfm_mix_shares_per_segment():
    mix = rfm_mix(np.array([0, 0, 0, 1, 1, 0]),
                  ["Champions", "At Risk", "Champions", "Lost", "Lost", "Champions"])
    assert mix == {0: {"Champions": 0.75, "At Risk": 0.25}, 1: {"Lost": 1.0}}
    assert list(mix[0]) == ["Champions", "At Risk"]
    with pytest.raises(ValueError, match="differ in length"):
        rfm_mix([0, 1], ["Lost"])
