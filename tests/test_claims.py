"""Every word is a claim: the rules of training.description.claims on small, hand-made numbers, the
check that refuses a contradicted bundle, role weights, honest k and the value per segment."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from model.contract.errors import ClaimError
from model.contract.manifest import Manifest, Segment
from training.description.check import verify
from training.description.claims import (Base, FeatureBase, base_of, claims_of, quiet_text, trait_direction,
                                         vocabulary)
from training.selection.distinct import alike, alike_pairs
from training.description.names import assign_names, compose_name
from training.description.offers import CatalogueError, DEFAULT_CATALOGUE, load_catalogue
from training.description.value import segment_values
from training.selection.verdict import alternative_text, clusterability, smaller_k
from training.selection.weights import SECONDARY, apply_weights, role_weights

LOG_ROLES = {"recency_days": "recency", "frequency": "frequency", "monetary": "monetary",
             "tenure_days": "tenure", "avg_order_value": "avg_order_value"}


def fb(median, q20, q80, q25=None, q75=None):
    return FeatureBase(median=median, q20=q20, q80=q80, q25=q25 if q25 is not None else q20,
                       q75=q75 if q75 is not None else q80)


def test_a_trait_needs_the_top_or_bottom_fifth_and_a_material_difference():
    money = fb(43.3, 15.4, 133.8)
    assert trait_direction(305.2, money)[0] == "high"
    assert "top fifth" in trait_direction(305.2, money)[1] and "7.05x their median 43.3" in trait_direction(305.2, money)[1]
    assert trait_direction(83.4, money) is None  # 1.9x the median, but not in the top fifth
    assert trait_direction(15.0, money)[0] == "low"
    # CDNOW's tenure: everyone joined in one quarter. 482 days is in the bottom fifth of 479..546,
    # but 4 % under the median: no "newer customers", whatever its z-score
    tenure = fb(503.0, 479.0, 527.0)
    assert trait_direction(482.0, tenure) is None and trait_direction(470.0, tenure) is None
    # a median of 0: the difference is measured against the interquartile range
    calls = fb(0.0, 0.0, 2.0, q25=0.0, q75=2.0)
    assert trait_direction(3.0, calls)[0] == "high" and trait_direction(0.0, calls) is None
    assert trait_direction(None, money) is None and trait_direction(float("nan"), money) is None


def _log_base(cycle=82.5):
    feats = {"recency_days": fb(472, 142, 513), "frequency": fb(1, 1, 4), "monetary": fb(43.3, 15.4, 133.8),
             "tenure_days": fb(503, 479, 527), "avg_order_value": fb(25.4, 14.4, 44.9)}
    return Base(features=feats, roles=dict(LOG_ROLES), labels={c: c for c in feats}, order_log=True, cycle=cycle)


def _seg(seg_id=0, size=100, mix=None, **medians):
    numeric = {c: {"median": v, "mean": v, "z": 0.0} for c, v in medians.items()}
    return {"id": seg_id, "size": size, "share": 0.5, "profile": {"numeric": numeric, "categorical": {}},
            "traits": [], "rfm_mix": mix}


def test_order_log_states_are_measured_against_the_buying_cycle():
    base = _log_base()
    gone = {c["id"]: c for c in claims_of(_seg(recency_days=494, frequency=1, monetary=27.1, tenure_days=503,
                                                 avg_order_value=21.0), base)}
    assert {"lapsed", "one_off"} <= set(gone) and not {"active", "new", "monetary_low", "tenure_low"} & set(gone)
    assert gone["lapsed"]["text"] == "gone quiet 16 months"
    assert gone["lapsed"]["value"] == 494 and gone["lapsed"]["reference"] == 165
    assert "2 x 82.5 days" in gone["lapsed"]["rule"]
    best = {c["id"]: c for c in claims_of(_seg(recency_days=63, frequency=8, monetary=305.2, tenure_days=507,
                                                 avg_order_value=41.5), base)}
    assert {"active", "repeat", "frequency_high", "monetary_high", "high_value", "recency_low", "recent"} <= set(best)
    assert best["recent"]["text"] == "active in the last 9 weeks"  # 63 days: 9 weeks, rounded up
    assert "lapsed" not in best
    assert quiet_text(59) == "gone quiet 8 weeks" and quiet_text(10) == "gone quiet"


def test_without_a_buying_cycle_lapsed_is_the_relative_recency_trait():
    base = Base(features={"days": fb(30, 5, 90)}, roles={"days": "recency"}, labels={"days": "Days since last purchase"})
    gone = {c["id"]: c for c in claims_of(_seg(days=200), base)}
    assert {"recency_high", "lapsed"} <= set(gone) and gone["lapsed"]["text"] == "gone quiet"  # no unit: no duration
    assert "active" in {c["id"] for c in claims_of(_seg(days=25), base)}
    assert not {"one_off", "repeat"} & {c["id"] for c in claims_of(_seg(days=25), base)}  # no order counts here


def test_the_buying_cycle_is_the_median_gap_between_orders_of_repeat_customers():
    frame = pd.DataFrame({"recency_days": [10, 20, 100, 5], "frequency": [3, 2, 1, 5],
                          "monetary": [1.0, 2.0, 3.0, 4.0], "tenure_days": [110, 80, 100, 405],
                          "avg_order_value": [1.0, 1.0, 1.0, 1.0]})
    base = base_of(frame, LOG_ROLES, order_log=True)
    assert base.cycle == 60.0  # gaps 50, 60, 100
    assert base_of(frame, LOG_ROLES).cycle is None  # a customer table has no buying cycle


def test_names_are_made_of_claims_and_unique():
    base = _log_base()
    segs = [_seg(0, 600, {"About To Sleep": 0.3, "Lost": 0.3}, recency_days=494, frequency=1, monetary=27,
                 tenure_days=503, avg_order_value=21),
            _seg(1, 300, {"Champions": 0.78}, recency_days=111, frequency=4, monetary=150.4, tenure_days=502,
                 avg_order_value=31.8),
            _seg(2, 100, {"Champions": 0.99}, recency_days=63, frequency=8, monetary=305.2, tenure_days=507,
                 avg_order_value=41.5)]
    assign_names(segs, base, rfm=True)
    names = [s["name"] for s in segs]
    assert names[0] == "One-off buyers gone quiet 16 months"
    # "Champions" heads the segment where it is the largest share, never two names
    assert names[2].startswith("Champions · frequent big spenders active in the last 9 weeks")
    assert not names[1].startswith("Champions") and len(set(names)) == 3
    for s in segs:
        made = {c["id"]: c for c in s["claims"]}
        assert s["name"] == compose_name(s, [made[i] for i in s["name_claims"]])
    verify(segs, base)  # nothing contradicted


def test_two_segments_whose_claims_read_alike_are_told_apart_by_a_median():
    base = _log_base()
    segs = [_seg(0, 600, {}, recency_days=494, frequency=1, monetary=27, tenure_days=503, avg_order_value=21),
            _seg(1, 500, {}, recency_days=500, frequency=1, monetary=40, tenure_days=510, avg_order_value=35)]
    segs[1]["profile"]["numeric"]["monetary"]["z"] = 0.4
    assign_names(segs, base, rfm=True)
    assert segs[0]["name"] == "One-off buyers gone quiet 16 months"
    assert segs[1]["name"] == "One-off buyers gone quiet 16 months, median monetary 40.0"
    verify(segs, base)


@pytest.mark.parametrize("tamper, message", [
    (lambda s: s["claims"].append({"id": "monetary_high", "text": "big spenders", "rule": "", "feature": "monetary"}),
     "claim 'big spenders' (monetary_high) is not supported"),
    (lambda s: s["offers"].append({"title": "Win-back campaign", "rationale": "r", "requires": ["lapsed"]}),
     "offer 'Win-back campaign' requires lapsed"),
    (lambda s: s.update(name="Champions · new big spenders"), "is not made of its claims"),
])
def test_a_contradicted_claim_is_refused_before_the_bundle_is_written(tamper, message):
    base = _log_base()
    segs = [_seg(0, 600, {}, recency_days=111, frequency=4, monetary=90, tenure_days=502, avg_order_value=22)]
    assign_names(segs, base, rfm=True)
    segs[0]["offers"] = []
    verify(segs, base)
    tamper(segs[0])
    with pytest.raises(ClaimError, match=re.escape(message)):
        verify(segs, base)


def test_segments_alike_in_recency_frequency_and_money():
    # CDNOW at k=5: the same one-off buyers of ~$18 gone ~500 days, split by 40 days of tenure
    a = {"recency": 479.0, "frequency": 1.0, "monetary": 17.76}
    b = {"recency": 520.0, "frequency": 1.0, "monetary": 18.99}
    c = {"recency": 491.0, "frequency": 1.0, "monetary": 70.25}
    assert alike(a, b) and not alike(a, c)
    assert alike_pairs({0: a, 1: b, 2: c}) == [(0, 1)]
    assert not alike({"monetary": 1.0}, {"monetary": 1.0})  # not an RFM segmentation: the rule does not apply


def test_role_weights_favour_what_people_act_on():
    weights = role_weights(LOG_ROLES)
    assert weights == {"recency_days": 1.0, "frequency": 1.0, "monetary": 1.0, "tenure_days": SECONDARY,
                       "avg_order_value": SECONDARY}
    assert role_weights({"age": "age", "income": "income", "monetary": "monetary"}) is None
    X = pd.DataFrame({"recency_days": [1.0, 2, 3, 4], "tenure_days": [10.0, 20, 30, 40]})
    prep = ColumnTransformer([("num", Pipeline([("scale", StandardScaler())]), list(X.columns))]).fit(X)
    z0 = prep.transform(X)
    z = apply_weights(prep, weights).transform(X)
    np.testing.assert_allclose(z[:, 0], z0[:, 0])
    np.testing.assert_allclose(z[:, 1], SECONDARY * z0[:, 1])  # a quarter of the variance


def _row(k, ps, stab, exc=0.11):
    return {"k": k, "inertia": 100.0 / k, "silhouette": 0.3, "calinski_harabasz": 1.0, "davies_bouldin": 1.0,
            "ref_inertia": 1.0, "ref_silhouette": 0.2, "ref_silhouette_sd": 0.001, "silhouette_excess": exc,
            "gap": 0.1 * k, "gap_sd": 0.01, "stability": stab, "smallest_share": 0.1, "prediction_strength": ps,
            "n_variables": 5}


def test_when_the_chosen_k_is_not_reproducible_the_words_say_which_smaller_k_is():
    # the CDNOW table of the issue: k=5 "moderate, mostly reproducible" at prediction strength 0.69
    table = [_row(2, 0.96, 0.97, 0.23), _row(3, 0.81, 0.39), _row(4, 0.75, 0.59), _row(5, 0.69, 0.88)]
    alt = smaller_k(table, 5)
    assert alt == {"k": 2, "prediction_strength": 0.96, "stability": 0.97}
    verdict = clusterability(table, 5)
    assert verdict["verdict"] == "moderate" and "mostly reproducible" not in verdict["summary"]
    assert "only partly reproducible: prediction strength 0.69" in verdict["summary"]
    text = alternative_text(5, {**alt, "segments": ["Frequent big spenders active in the last 16 weeks",
                                                    "One-off buyers gone quiet 16 months"]})
    assert text.startswith("The customers split cleanly in 2: “Frequent big spenders active in the last 16 weeks” "
                           "and “One-off buyers gone quiet 16 months”")
    assert text.endswith("5 is a finer split whose borders overlap.")
    assert smaller_k([_row(2, 0.96, 0.97), _row(3, 0.85, 0.9)], 3) is None  # 3 is reproducible itself
    assert smaller_k([_row(2, 0.7, 0.97), _row(3, 0.5, 0.5)], 3) is None  # nothing smaller is
    strong = [_row(2, 0.5, 0.95, 0.3)]
    assert clusterability(strong, 2)["verdict"] == "moderate"  # well separated but not reproducible


def test_value_per_segment_from_means_and_sizes():
    base = _log_base()
    segs = [_seg(0, 300, {}, monetary=20.0, frequency=1.0), _seg(1, 100, {}, monetary=300.0, frequency=8.0)]
    for s in segs:
        s["name"] = f"segment {s['id']}"
    values, summary = segment_values(segs, base)
    assert values[0]["revenue"] == 6000 and values[1]["revenue"] == 30000
    assert values[1]["revenue_share"] == pytest.approx(30000 / 36000, abs=1e-4)
    assert values[1]["customer_share"] == 0.25 and values[1]["orders_per_customer"] == 8.0
    assert summary["headline"] == "25.0 % of customers (segment 1, “segment 1”) hold 83 % of the revenue."
    no_money = Base(features={"income": fb(60, 38, 78)}, roles={"income": "income"})
    assert segment_values(segs, no_money) == ([None, None], None)


def test_every_offer_of_the_catalogue_states_its_preconditions():
    import yaml
    raw = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    offers = [o for r in raw["rules"] for o in r["offers"]] + raw["default"]
    assert all("requires" in o for o in offers), [o["title"] for o in offers if "requires" not in o]
    by_title = {}
    for o in offers:
        by_title.setdefault(o["title"], set()).update(o["requires"])
    for title, needs in by_title.items():  # the words of the title are among its preconditions
        low = title.lower()
        if "win-back" in low or "reactivation" in low or "comeback" in low or "miss you" in low:
            assert "lapsed" in needs, title
        if "onboarding" in low:
            assert needs == {"new"}, title
        if low.startswith(("vip", "anniversary")):
            assert "active" in needs and needs & {"high_value", "tenure_high"}, title
    load_catalogue()


def test_an_unknown_precondition_is_refused_with_the_known_ones(tmp_path):
    path = tmp_path / "offers.yaml"
    path.write_text("default: [{title: a, rationale: b, requires: []}, {title: c, rationale: d}]\n"
                    "rules: [{id: x, match: {claim: lapsed}, offers: [{title: t, rationale: r, requires: [gone]}]}]\n")
    with pytest.raises(CatalogueError, match="unknown claim 'gone'; claims are: lapsed, active, new"):
        load_catalogue(path)
    assert "monetary_high" in vocabulary() and "lapsed" in vocabulary()


def test_rfm_mix_largest_first_and_the_rest_summed():
    seg = Segment.from_dict({"id": 0, "name": "n", "size": 1, "share": 1.0, "description": "d",
                             "profile": {"numeric": {}, "categorical": {}}, "traits": [], "offers": [],
                             "rfm_mix": {"About To Sleep": 0.19, "At Risk": 0.02, "Hibernating": 0.25,
                                         "Lost": 0.32, "Others": 0.12, "Promising": 0.1}})
    assert seg.rfm_top() == [("Lost", 0.32), ("Hibernating", 0.25), ("About To Sleep", 0.19), ("other labels", 0.24)]


def test_a_manifest_without_claims_value_or_weights_still_loads(default_bundle):
    """Bundles written before claims, value and weights existed read as before."""
    data = json.loads((default_bundle / "manifest.json").read_text())
    data.pop("value", None)
    for key in ("weights", "weight_rule", "merged_from", "alternative"):
        data["selection"].pop(key, None)
    for s in data["segments"]:
        for key in ("claims", "name_claims", "value"):
            s.pop(key, None)
        for o in s["offers"]:
            o.pop("requires", None)
    m = Manifest.read(data)
    assert m.value is None and all(s.claims == [] and s.value is None for s in m.segments)


def test_segments_split_only_by_a_secondary_feature_are_merged():
    """Two kinds of customers in recency, frequency and money, each split in two by tenure alone:
    k from the evidence is lowered until no two segments are alike (a forced k is kept)."""
    from training.selection.distinct import distinct_fit

    rng = np.random.default_rng(0)
    n = 400
    kind = np.repeat([0, 1], n // 2)
    frame = pd.DataFrame({"recency_days": np.where(kind, 400.0, 20.0) + rng.normal(0, 5, n),
                          "frequency": np.where(kind, 1.0, 6.0), "monetary": np.where(kind, 20.0, 300.0)
                          + rng.normal(0, 3, n), "tenure_days": np.tile([100.0, 900.0], n // 2) + rng.normal(0, 5, n)})
    z = ((frame - frame.mean()) / frame.std(ddof=0)).to_numpy()  # at k=4: kind × tenure
    table = [_row(k, 0.9, 0.9) for k in (2, 3, 4)]
    roles = {c: r for c, r in LOG_ROLES.items() if c in frame}
    selection = {"k": 4, "forced": False, "table": table, "reason": "Gap."}
    km = distinct_fit(frame, z, roles, selection, seed=0)
    assert selection["k"] == km.n_clusters == 2 and selection["merged_from"] == 4
    assert "At k=4 two segments were alike in recency, frequency and money" in selection["reason"]
    assert selection["clusterability"]["evidence"]["k"] == 2
    forced = {"k": 4, "forced": True, "table": table, "reason": "Set."}
    assert distinct_fit(frame, z, roles, forced, seed=0).n_clusters == 4 and "merged_from" not in forced


def test_a_column_without_a_role_still_names_a_segment_by_its_trait():
    base = Base(features={"t_x": fb(10, 2, 30), "age": fb(40, 25, 60)}, roles={"t_x": None, "age": "age"},
                labels={"t_x": "Column t_x", "age": "Age"})
    segs = [_seg(0, 60, None, t_x=45, age=41), _seg(1, 40, None, t_x=9, age=20)]
    assign_names(segs, base, rfm=False)
    assert segs[0]["name"] == "High column t_x" and segs[1]["name"] == "Younger"
    assert [t["direction"] for t in segs[0]["traits"]] == ["high"]
    verify(segs, base)


def test_a_column_named_without_an_underscore_gets_its_trait_direction():
    """`column:<name>:<high|low>` claim ids: a name like 'Alter' has no '_' to split on."""
    base = Base(features={"Alter": fb(10, 2, 30), "age": fb(40, 25, 60)}, roles={"Alter": None, "age": "age"},
                labels={"Alter": "Alter", "age": "Age"})
    segs = [_seg(0, 60, None, Alter=45, age=41), _seg(1, 40, None, Alter=1, age=41)]
    assign_names(segs, base, rfm=False)
    assert [t["direction"] for t in segs[0]["traits"]] == ["high"]
    assert [t["direction"] for t in segs[1]["traits"]] == ["low"]
    verify(segs, base)
