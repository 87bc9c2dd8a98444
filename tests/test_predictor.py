"""The compiled fast path agrees with the scikit-learn pipeline; single and batch agree."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.contract.errors import SchemaError


def random_records(schema, n: int, seed: int, *, missing: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for f in schema.numeric:
        lo, hi = f.min - 0.2 * (f.max - f.min), f.max + 0.2 * (f.max - f.min)
        v = rng.uniform(max(lo, f.hard_min), min(hi, f.hard_max), n)
        cols[f.name] = np.round(v) if f.integer else v
    for f in schema.categorical:
        cols[f.name] = rng.choice(np.array(f.levels, dtype=object), n)
    frame = pd.DataFrame(cols)[schema.names]
    if missing:
        for c in frame.columns:
            frame.loc[rng.random(n) < missing, c] = None
    return frame


def test_missing_values_are_imputed_like_the_pipeline(predictor, default_bundle):
    from model.contract.writing import load_pipeline
    frame = random_records(predictor.schema, 5_000, seed=2, missing=0.1)
    ours = predictor.predict_frame(frame)
    pipe_in = frame.astype({f.name: object for f in predictor.schema.categorical})
    pipe_in = pipe_in.where(pipe_in.notna(), np.nan)
    assert (ours["segment_id"].to_numpy(dtype=int) == load_pipeline(default_bundle).predict(pipe_in)).all()
    assert ours["notes"].str.contains("missing: filled").sum() > 1000


def test_single_equals_batch(predictor):
    frame = random_records(predictor.schema, 300, seed=3)
    batch = predictor.predict_frame(frame)
    for i, rec in enumerate(frame.to_dict("records")):
        one = predictor.predict_one(rec)
        assert one["segment_id"] == batch["segment_id"].iat[i]
        assert one["margin"] == pytest.approx(batch["margin"].iat[i], abs=1e-4)
        assert one["runner_up"]["segment_id"] == batch["runner_up"].iat[i]
        assert one["pca"]["x"] == pytest.approx(batch["pca_x"].iat[i], abs=1e-4)


def test_prediction_payload(predictor):
    rec = predictor.schema.example()
    r = predictor.predict_one(rec)
    seg = predictor.segments[r["segment_id"]]
    assert r["cluster"] == r["segment_id"] and r["segment_name"] == seg.name
    got = [{k: o[k] for k in ("title", "rationale", "source")} for o in r["offers"]]
    assert sorted(got, key=str) == sorted(({"title": o.title, "rationale": o.rationale, "source": o.source}
                                           for o in seg.offers), key=str)
    fits = [o["fits"] for o in r["offers"]]
    assert fits == sorted(fits, reverse=True)  # offers that fit this customer first
    assert all(bool(o["note"]) != o["fits"] for o in r["offers"])  # a note exactly where one does not fit
    assert 0.0 <= r["margin"] <= 1.0 and np.isfinite([r["pca"]["x"], r["pca"]["y"]]).all()
    assert r["runner_up"]["segment_id"] != r["segment_id"]
    assert r["unlike_training"] is False and r["imputed"] == []
    assert predictor.predict_one(rec) == r


def test_far_away_customer_is_flagged(predictor):
    f = predictor.schema.numeric[0]
    r = predictor.predict_one({**predictor.schema.example(), f.name: f.max + 0.9 * (f.hard_max - f.max)})
    assert r["unlike_training"] and any(f.name in x for x in r["unlike_reasons"])


def test_batch_rows_fail_individually(predictor):
    frame = random_records(predictor.schema, 4, seed=4).astype(object)
    num, cat = predictor.schema.numeric[0], predictor.schema.categorical[0]
    frame.loc[1, num.name] = "abc"
    frame.loc[2, cat.name] = "Martian"
    frame.loc[3, num.name] = float("inf")
    out = predictor.predict_frame(frame)
    assert out["error"].iat[0] == "" and out["segment_id"].iat[0] is not pd.NA
    assert out["error"].iat[1] == f"{num.name} must be {num.constraint}; got 'abc'"
    assert out["error"].iat[3] == f"{num.name} must be {num.constraint}; got inf"
    assert f"{cat.name} must be one of" in out["error"].iat[2] and "'Martian'" in out["error"].iat[2]
    assert out["segment_id"].iloc[1:].isna().all() and (out["segment_name"].iloc[1:] == "").all()


def test_single_prediction_rejects_unknown_category(predictor):
    cat = predictor.schema.categorical[0]
    with pytest.raises(SchemaError, match=f"{cat.name} must be one of"):
        predictor.predict_one({**predictor.schema.example(), cat.name: "fashion"})


def test_offers_are_read_against_the_customer(predictor):
    """An offer earned by a trait the customer's own values contradict is kept, marked and explained."""
    seg = next(s for s in predictor.segments if any(o.basis and o.basis[0].level for o in s.offers))
    offer = next(o for o in seg.offers if o.basis and o.basis[0].level)
    cat = predictor.schema.feature(offer.basis[0].feature)
    typical = {f.name: (seg.profile.numeric[f.name].median if f.kind == "numeric" else f.mode)
               for f in predictor.schema.features}
    same = predictor.predict_one({**typical, cat.name: offer.basis[0].level})
    other_level = next(lv for lv in cat.levels if lv != offer.basis[0].level)
    other = predictor.predict_one({**typical, cat.name: other_level})
    assert next(o for o in same["offers"] if o["title"] == offer.title)["fits"] is True
    marked = next(o for o in other["offers"] if o["title"] == offer.title)
    assert marked["fits"] is False and other_level in marked["note"] and offer.basis[0].level in marked["note"]


def test_margin_is_zero_on_the_border_and_grows_towards_the_centre(predictor):
    """The margin is geometric, not a probability: walking from one segment's typical customer to
    another's, it falls to ~0 where the segment changes and is larger on both sides."""
    from space.render.cards import example_rows
    rows = [dict(zip(predictor.schema.names, r)) for r in example_rows(predictor.segments, predictor.schema)]
    start, end = rows[0], rows[1]
    numeric = [f.name for f in predictor.schema.numeric]

    def at(t: float) -> dict:
        out = dict(start)  # categories stay those of the start: only numbers move
        out.update({c: start[c] + t * (end[c] - start[c]) for c in numeric})
        return predictor.predict_one(out)

    first = at(0.0)["segment_id"]
    assert at(1.0)["segment_id"] != first, "the walk must cross a border for this test to mean anything"
    lo, hi = 0.0, 1.0
    for _ in range(40):  # bisect to the first border crossed
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if at(mid)["segment_id"] == first else (lo, mid)
    near, inside, other = at(lo), at(0.0), at(hi)
    assert near["margin"] < 1e-3 and other["margin"] < 1e-3
    assert near["runner_up"]["segment_id"] == other["segment_id"]
    assert inside["margin"] > 0.2 and inside["margin"] > 100 * near["margin"]


def test_many_customers_at_once_answer_as_one_at_a_time(predictor):
    """predict_many (numpy over all rows) gives each customer predict_one's answer, and each bad
    record its own error envelope, in order."""
    frame = random_records(predictor.schema, 500, seed=13, missing=0.05)
    rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in frame.to_dict("records")]
    num, cat = predictor.schema.numeric[0].name, predictor.schema.categorical[0].name
    rows[7] = {**rows[7], num: -5}
    rows[8] = {**rows[8], cat: "  " + predictor.schema.categorical[0].levels[0].upper()}  # another spelling
    rows[9] = "not a customer"
    many = predictor.predict_many(rows)
    assert len(many) == len(rows)
    for record, got in zip(rows, many):
        try:
            expected = predictor.predict_one(record)
        except SchemaError as exc:
            expected = exc.envelope()
        assert got == expected
    assert "error" in many[7] and "error" in many[9] and many[8]["input"][cat] == predictor.schema.categorical[0].levels[0]
    assert predictor.predict_many([]) == []
