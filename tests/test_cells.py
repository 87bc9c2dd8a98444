"""The one home of three cell rules (model/tables/cells.py): text → number, header matching and
category codes — and every surface that used to carry its own copy now gives the same answer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.tables.cells import (MISSING, UNKNOWN, category_codes, category_key, find_column, header_key,
                                to_numbers)

CELLS = [" 12.5", "", "  ", None, "abc", "inf", "-Infinity", "1e309", "NaN", "True", "-5", "1e3"]
VALUES = [12.5, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, -5.0, 1000.0]
BAD = [False, False, False, False, True, True, True, True, True, True, False, False]


def test_text_to_number_one_rule_for_text_cells():
    values, bad = to_numbers(pd.Series(CELLS, dtype=object))
    np.testing.assert_array_equal(values, VALUES)
    assert bad.tolist() == BAD


@pytest.mark.parametrize("form", ["string", "str", "object_array"])
def test_every_input_form_gives_the_same_answer(form):
    data = {"string": pd.Series(CELLS, dtype="string"), "str": pd.Series(CELLS, dtype="str"),
            "object_array": np.array(CELLS, dtype=object)}[form]
    values, bad = to_numbers(data)
    np.testing.assert_array_equal(values, VALUES)
    assert bad.tolist() == BAD


def test_numeric_columns_pass_through_and_infinities_are_bad_there_too():
    values, bad = to_numbers(pd.Series([1.5, np.inf, -np.inf, np.nan, 3]))
    np.testing.assert_array_equal(values, [1.5, np.nan, np.nan, np.nan, 3.0])
    assert bad.tolist() == [False, True, True, False, False]
    values, bad = to_numbers(np.array([1, 2], dtype=np.int64))
    assert values.tolist() == [1.0, 2.0] and not bad.any()


def test_booleans_are_never_numbers():
    for column in (pd.Series([True, False]), pd.Series([True, False], dtype=object), np.array([True, False])):
        values, bad = to_numbers(column)
        assert np.isnan(values).all() and bad.all(), column


def test_the_validator_and_the_drift_report_read_numbers_alike(predictor):
    """Schema.check_frame (serving) and the drift report's numbers use the same rule: an
    infinite or boolean cell is a bad cell on both, an empty one missing on both."""
    from model.drift.report import _numeric_entry
    f = predictor.schema.numeric[0]
    cells = pd.Series(["inf", "True", "", str(f.median)], dtype=object)
    frame = pd.DataFrame({c.name: [c.median if hasattr(c, "median") else c.mode] * 4
                          for c in predictor.schema.features})
    frame[f.name] = cells
    check = predictor.schema.check_frame(frame)
    assert check.valid.tolist() == [False, False, True, True]
    ref = {"edges": [f.median], "shares": [0.5, 0.5], "missing": 0.0, "median": f.median}
    bins = {b["bin"]: b["now"] for b in _numeric_entry(f.name, ref, cells, 100)["bins"]}
    assert bins["not a number"] == pytest.approx(0.5) and bins["empty"] == pytest.approx(0.25)


@pytest.mark.parametrize("a, b", [("Spending Score", "spending_score"), (" Annual  Income (k$) ", "annual income (K$)"),
                                  ("CUSTOMER_ID", "customer id")])
def test_header_spellings_of_one_column_share_a_key(a, b):
    assert header_key(a) == header_key(b)


def test_find_column_by_name_then_by_alias():
    header = ["Id", "Spending score", "Days since last order"]
    assert find_column(header, "spending_score") == "Spending score"
    assert find_column(header, "recency_days", ["Days since last order"]) == "Days since last order"
    assert find_column(header, "recency_days") is None


def test_category_codes_one_rule_for_text_numbers_and_blanks():
    keys = {category_key(v): i for i, v in enumerate(["Home & Garden", "Sports", "5"])}
    column = pd.Series(["home and garden", " SPORTS ", "", None, np.nan, "Toys", 5, True], dtype=object)
    assert category_codes(column, keys).tolist() == [0, 1, MISSING, MISSING, MISSING, UNKNOWN, UNKNOWN, UNKNOWN]
    text = pd.Series(["Sports", None, "sports", "x"], dtype="string")
    assert category_codes(text, keys).tolist() == [1, MISSING, 1, UNKNOWN]
