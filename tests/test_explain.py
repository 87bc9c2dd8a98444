"""Is each segment real, and how to build it elsewhere: per-segment stability, prediction strength
(`training.selection.stability`), surrogate rules (`training.rules.tree`) and the SQL export
(`model.derived.sql`, run in real SQLite and DuckDB on real rows). The per-customer "why" is
served by `model.serving.explain` and tested in tests/test_serving.py."""
from __future__ import annotations

import csv
import io
import json
import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.datasets import make_blobs

from model.contract.schema import CategoricalFeature, NumericFeature, Schema
from model.tables.cells import category_key
from tests.explain_cases import case
from training.description.readable import number_text, roundest_between
from model.derived.sql import rules_sql
from training.rules.tree import Rules, fit_rules
from training.selection.stability import best_jaccard, prediction_strength, segment_stability, stability_reading

CASES = ["default", "mall", "csd"]


# -- is each segment real? -----------------------------------------------------------------------
def test_best_jaccard_on_a_hand_computed_case():
    original = np.array([0, 0, 0, 0, 1, 1])
    other = np.array([0, 0, 0, 1, 1, 1])
    # cluster 0 {0,1,2,3} vs {0,1,2}: 3/4; cluster 1 {4,5} vs {3,4,5}: 2/3
    np.testing.assert_allclose(best_jaccard(original, other, 2, 2), [0.75, 2 / 3])
    assert np.isnan(best_jaccard(np.array([0, 0]), np.array([0, 1]), 2, 2)[1])


def test_stability_separates_real_groups_from_an_arbitrary_split():
    blobs, truth = make_blobs(n_samples=1500, centers=4, cluster_std=0.6, random_state=0)
    real = segment_stability(blobs, truth, k=4, seed=1, B=20)
    assert min(real) >= 0.95
    noise = np.random.default_rng(0).uniform(size=(1500, 2))
    from training.selection.select_k import make_kmeans
    split = make_kmeans(7, len(noise), seed=0).fit_predict(noise)
    arbitrary = segment_stability(noise, split, k=7, seed=1, B=20)
    assert np.mean(arbitrary) < np.mean(real) - 0.1
    assert min(arbitrary) < 0.85
    assert segment_stability(blobs, truth, k=4, seed=1, B=20) == real  # deterministic per seed


def test_stability_caps_the_working_sample_and_checks_its_input():
    calls = []

    def fit(k, n_rows, seed):
        from training.selection.select_k import make_kmeans
        calls.append(n_rows)
        return make_kmeans(k, n_rows, seed=seed)
    blobs, truth = make_blobs(n_samples=3000, centers=3, random_state=1)
    segment_stability(blobs, truth, k=3, seed=0, B=3, fit=fit, sample_size=1000)
    assert calls == [1000, 1000, 1000]
    with pytest.raises(ValueError, match="one segment per row"):
        segment_stability(blobs, truth[:-1], k=3, seed=0)
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        segment_stability(blobs, truth, k=2, seed=0)
    with pytest.raises(ValueError, match="NaN"):
        segment_stability(np.full((10, 2), np.nan), np.zeros(10, int), k=2, seed=0)


@pytest.mark.parametrize("name", CASES)
def test_stability_of_the_real_segments(name):
    c = case(name)
    values = segment_stability(c.z, c.labels, k=c.k, seed=42)
    assert len(values) == c.k
    assert all(0 <= v <= 1 for v in values)
    if name in ("default", "mall"):  # planted groups; Mall's five classic groups
        assert min(values) >= 0.75, values
    else:  # the shared 1,000-row data has no cluster structure (README; verdict "none")
        assert min(values) < 0.75, values


@pytest.mark.parametrize("value, reading", [(1.0, "highly stable"), (0.85, "highly stable"),
                                            (0.8499, "stable"), (0.75, "stable"),
                                            (0.7499, "a pattern, but membership is doubtful"),
                                            (0.6, "a pattern, but membership is doubtful"),
                                            (0.5999, "dissolved"), (0.0, "dissolved")])
def test_stability_reading_follows_hennig(value, reading):
    assert stability_reading(value) == reading


@pytest.mark.parametrize("bad", [float("nan"), -0.1, 1.2, None])
def test_stability_reading_rejects_values_outside_0_1(bad):
    with pytest.raises(ValueError, match="stability must"):
        stability_reading(bad)


def test_prediction_strength_is_high_at_the_true_k_and_drops_beyond_it():
    blobs, _ = make_blobs(n_samples=2000, centers=3, cluster_std=0.5, random_state=3)
    ps = prediction_strength(blobs, [2, 3, 6], seed=0)
    assert set(ps) == {2, 3, 6}
    assert ps[3] >= 0.9
    assert ps[6] < ps[3] - 0.1
    with pytest.raises(ValueError, match="at least 2"):
        prediction_strength(blobs, [1, 2], seed=0)


def test_prediction_strength_on_the_default_data_supports_its_k():
    c = case("default")
    ps = prediction_strength(c.z, range(2, 9), seed=42)
    assert ps[c.k] >= 0.8
    assert min(ps.values()) < 0.8  # some k is not supported: the measure can say no


# -- rules --------------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b, near, expected", [(95_812, 96_140, 96_000, 96_000), (30, 31, 30.5, 31),
                                                  (-3, 2, -0.5, 0), (0.12, 0.13, 0.125, 0.13),
                                                  (10, 150_000, 50_000, 100_000), (40, 41, 40.5, 41)])
def test_roundest_between(a, b, near, expected):
    r = roundest_between(a, b, near)
    assert a < r <= b
    assert r == expected


def test_number_text():
    assert number_text(96000.0) == "96,000"
    assert number_text(162.6) == "162.6"
    assert number_text(0.05) == "0.05"
    assert number_text(-1234567.5) == "-1,234,567.5"
    assert number_text(1e-05) == "0.00001" and number_text(-0.0) == "0" and number_text(58730) == "58,730"


@settings(max_examples=3_000, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e16, 1e16).map(lambda v: round(v, 2))
       | st.integers(-10**15, 10**15).map(float))
def test_number_text_is_the_shortest_exact_decimal(x):
    """The served shortcut (no Decimal on the hot path) writes what the definition writes."""
    from decimal import Decimal
    expected = (f"{x:g}" if not np.isfinite(x) or abs(x) >= 1e15 else
                f"{int(d):,}" if (d := Decimal(repr(x))) == d.to_integral_value() else f"{d:,f}")
    assert number_text(x) == expected


@pytest.mark.parametrize("name", CASES)
def test_rules_fidelity_is_the_measured_agreement_on_training_rows(name):
    c = case(name)
    rules = fit_rules(c.frame, c.labels, c.schema, seed=42, fills=c.fills, k=c.k)
    pred = rules.predict(c.frame)
    assert (pred >= 0).all()  # the leaves cover every valid customer
    assert rules.fidelity == pytest.approx((pred == c.labels).mean(), abs=1e-6)
    assert sum(r.agree for r in rules.rules) == int((pred == c.labels).sum())
    assert sum(r.rows for r in rules.rules) == len(c.frame)  # leaves are disjoint
    assert rules.depth <= rules.max_depth <= 4
    texts = [t for s in range(c.k) for t in rules.for_segment(s)]
    assert len(texts) == len(rules.rules)
    if name == "mall":
        assert rules.fidelity >= 0.95
        assert all(rules.for_segment(s) for s in range(c.k))
        label = c.schema.feature("Annual Income (k$)").label.lower()  # rules speak in lower case
        assert any(f"{label} ≥ " in t or f"{label} < " in t for t in texts)
    if name == "default":
        assert rules.fidelity >= 0.9
        assert any(t.startswith("income") or " income" in t for t in texts)


def test_rounded_thresholds_are_round_and_split_training_rows_as_the_tree_does():
    c = case("default")
    rules = fit_rules(c.frame, c.labels, c.schema, max_depth=4, seed=42, fills=c.fills, k=c.k)
    from sklearn.tree import DecisionTreeClassifier
    from model.tables.featureview import FeatureView
    from training.rules.tree import _design
    view = FeatureView.of(c.schema, fills=c.fills)
    num, codes, _ = view.encode(c.frame)
    X, _ = _design(view, *view.filled(num, codes))
    tree = DecisionTreeClassifier(max_depth=4, random_state=42,
                                  min_samples_leaf=int(np.ceil(0.01 * len(X)))).fit(X, c.labels)
    np.testing.assert_array_equal(rules.predict(c.frame), tree.predict(X))  # rounding moved no row
    bounds = [b for r in rules.rules for cond in r.conditions for b in (cond.lower, cond.upper) if b is not None]
    assert bounds
    income = [b for r in rules.rules for cond in r.conditions if cond.feature == "income"
              for b in (cond.lower, cond.upper) if b is not None]
    assert income and all(b % 10 == 0 for b in income)  # e.g. 41,120 and 101,000, not 41,117.5


def test_rules_round_trip_through_plain_data():
    c = case("mall")
    rules = fit_rules(c.frame, c.labels, c.schema, seed=1, fills=c.fills, k=c.k)
    data = json.loads(json.dumps(rules.as_dict()))
    assert data["fidelity"] == rules.fidelity
    assert [s["id"] for s in data["segments"]] == list(range(c.k))
    assert data["segments"][0]["rules"] == rules.for_segment(0)
    back = Rules.from_dict(data, c.schema.as_dict())
    np.testing.assert_array_equal(back.predict(c.frame), rules.predict(c.frame))
    assert rules_sql(back, c.schema) == rules_sql(rules, c.schema)


def test_rules_refuse_training_rows_the_model_would_reject():
    c = case("default")
    bad = c.frame.copy()
    bad.loc[3, "gender"] = "Martian"
    with pytest.raises(ValueError, match="gender: 1 cells are not one of Female, Male, Other"):
        fit_rules(bad, c.labels, c.schema, seed=0)
    with pytest.raises(ValueError, match="one segment per row"):
        fit_rules(c.frame, c.labels[:-1], c.schema, seed=0)
    with pytest.raises(ValueError, match="max_depth"):
        fit_rules(c.frame, c.labels, c.schema, seed=0, max_depth=0)
    with pytest.raises(ValueError, match="no column 'income'"):
        fit_rules(c.frame.drop(columns="income"), c.labels, c.schema, seed=0)


# -- SQL export -----------------------------------------------------------------------------------
def _sqlite(csv_bytes: bytes, sql: str) -> np.ndarray:
    """Load the CSV as it comes (every cell TEXT, a line number column added), run the query;
    segment per data row, -1 for NULL."""
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8"))))
    header = ["__line", *rows[0]]
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE customers (" + ", ".join('"' + h.replace('"', '""') + '" TEXT' for h in header) + ")")
    con.executemany(f"INSERT INTO customers VALUES ({', '.join('?' * len(header))})",
                    [[str(i), *r] for i, r in enumerate(rows[1:])])
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    assert names == [*header, "segment_id"]  # every column of the CSV, then segment_id
    out = sorted(cur.fetchall(), key=lambda r: int(r[0]))
    return np.array([-1 if r[-1] is None else int(r[-1]) for r in out])


def _duckdb(csv_bytes: bytes, sql: str, tmp_path, *, all_varchar: bool) -> np.ndarray:
    text = csv_bytes.decode("utf-8")
    lines = text.splitlines()
    path = tmp_path / "customers.csv"
    path.write_text("\n".join([f"__line,{lines[0]}"] + [f"{i},{ln}" for i, ln in enumerate(lines[1:])]) + "\n")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE customers AS SELECT * FROM read_csv('{path}', header=true"
                f"{', all_varchar=true' if all_varchar else ''})")
    rows = sorted(con.execute(sql).fetchall(), key=lambda r: int(r[0]))
    return np.array([-1 if r[-1] is None else int(r[-1]) for r in rows])


@pytest.mark.parametrize("name", CASES)
def test_sql_in_sqlite_agrees_with_the_model_exactly_as_often_as_claimed(name):
    c = case(name)
    rules = fit_rules(c.frame, c.labels, c.schema, seed=42, fills=c.fills, k=c.k)
    sql = rules_sql(rules, c.schema, names=[s.name for s in c.predictor.segments])
    segment = _sqlite(c.csv, sql)
    model = c.predictor.predict_frame(c.raw)["segment_id"].to_numpy(dtype=np.int64, na_value=-1)
    keep = c.training_rows()
    assert keep.sum() == len(c.frame)
    assert (model[keep] >= 0).all()
    agree = int((segment[keep] == model[keep]).sum())
    assert agree == sum(r.agree for r in rules.rules)
    assert round(agree / keep.sum(), 6) == rules.fidelity
    np.testing.assert_array_equal(segment, rules.predict(c.raw))  # the SQL is the rules, row by row


@pytest.mark.parametrize("name", ["default", "mall"])
def test_the_same_sql_runs_unchanged_in_duckdb(name, tmp_path):
    c = case(name)
    rules = fit_rules(c.frame, c.labels, c.schema, seed=42, fills=c.fills, k=c.k)
    sql = rules_sql(rules, c.schema)
    expected = _sqlite(c.csv, sql)
    for all_varchar in (True, False):  # text columns, and numbers typed by DuckDB's reader
        np.testing.assert_array_equal(_duckdb(c.csv, sql, tmp_path, all_varchar=all_varchar), expected)


MESSY = [  # (gender, preferred_category, age, what the model does)
    (" female ", "Home and Garden", "34", "ok"), ("FEMALE", "home  &  garden", "34", "ok"),
    ("Male", " ELECTRONICS ", "61", "ok"), ("other", "Home And Garden", " 45 ", "ok"),
    ("", "Sports", "", "ok"), ("   ", "", "29", "ok"), ("Male", "Fashion", "40", "error"),
    ("Martian", "Sports", "40", "error"), ("Female", "Sports", "thirty", "error"),
    ("Female", "Sports", "-5", "error"), ("Female", "Sports", "1e9", "error"),
]


def test_sql_normalises_spellings_and_fills_missing_cells_as_the_model_does(tmp_path):
    c = case("default")
    rules = fit_rules(c.frame, c.labels, c.schema, max_depth=4, seed=42, fills=c.fills, k=c.k)
    sql = rules_sql(rules, c.schema)
    base = c.raw.iloc[:len(MESSY)].reset_index(drop=True).copy()
    for i, (g, cat, age, _) in enumerate(MESSY):
        base.loc[i, ["gender", "preferred_category", "age"]] = [g or None, cat or None, age or None]
    text = base.to_csv(index=False).encode()
    segment = _sqlite(text, sql)
    model = c.predictor.predict_frame(_read_text(text))
    rejected = (model["error"] != "").to_numpy()
    np.testing.assert_array_equal(rejected, [m == "error" for *_, m in MESSY])
    assert (segment[rejected] == -1).all()  # NULL where the model rejects the row
    clean = base.copy()  # the same rows spelled as trained, empty cells filled by hand
    for i in np.flatnonzero(~rejected):
        g, cat, age = clean.loc[i, ["gender", "preferred_category", "age"]]
        f = c.schema.feature("gender")
        clean.loc[i, "gender"] = c.fills["gender"] if _blank(g) else f.constraint.parse(g)
        f = c.schema.feature("preferred_category")
        clean.loc[i, "preferred_category"] = c.fills["preferred_category"] if _blank(cat) else f.constraint.parse(cat)
        clean.loc[i, "age"] = str(c.fills["age"]) if _blank(age) else str(age).strip()
    expected = rules.predict(clean.loc[~rejected])
    np.testing.assert_array_equal(segment[~rejected], expected)
    np.testing.assert_array_equal(_duckdb(text, sql, tmp_path, all_varchar=True), segment)


def _blank(value: object) -> bool:
    return value is None or pd.isna(value) or not str(value).strip()


def _read_text(text: bytes) -> pd.DataFrame:
    from model.tables.reading import read_csv_strict
    return read_csv_strict(text, max_bytes=10 ** 7, max_rows=10 ** 5)


def test_sql_quotes_identifiers_and_literals():
    schema = Schema(features=(
        NumericFeature(name='size "big"', label="Size", min=0, max=100, median=50, hard_min=0,
                       hard_max=1000, integer=True),
        CategoricalFeature(name="owner's name", label="Owner", levels=("O'Brien", "Smith and Sons"),
                           mode="Smith and Sons")))
    rng = np.random.default_rng(0)
    size = rng.integers(0, 100, 400)
    owner = np.where(rng.random(400) < 0.5, "O'Brien", "Smith and Sons")
    frame = pd.DataFrame({'size "big"': size.astype(float), "owner's name": owner.astype(object)})
    labels = ((size >= 50).astype(int) + 2 * (owner == "O'Brien")).astype(int)
    rules = fit_rules(frame, labels, schema, seed=0, max_depth=3)
    assert rules.fidelity == 1.0
    sql = rules_sql(rules, schema)
    assert '"size ""big"""' in sql and "'o''brien'" in sql
    raw = frame.astype(object).astype(str)
    brien, smith = int(np.argmax(owner == "O'Brien")), int(np.argmax(owner != "O'Brien"))
    raw.loc[brien, "owner's name"] = "  o'BRIEN "  # respelled, same owners
    raw.loc[smith, "owner's name"] = "SMITH & SONS"
    raw.loc[2, 'size "big"'] = ""
    text = raw.to_csv(index=False).encode()
    got = _sqlite(text, sql)
    expected = labels.copy()
    expected[2] = int(50 >= 50) + 2 * (owner[2] == "O'Brien")
    np.testing.assert_array_equal(got, expected)
    assert category_key("SMITH & SONS") == category_key("Smith and Sons")
