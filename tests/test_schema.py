"""One validation layer: every message names the field, the allowed values and what was received."""
from __future__ import annotations

import math

import pytest

from model.errors import SchemaError
from model.schema import CategoricalFeature, NumericFeature, Schema, category_key

SCHEMA = Schema(features=(
    NumericFeature(name="age", label="Age", min=18, max=80, median=40, hard_min=0, hard_max=204, integer=True),
    NumericFeature(name="income", label="Income", min=15000, max=200000, median=60000, hard_min=0,
                   hard_max=570000),
    CategoricalFeature(name="gender", label="Gender", levels=("Female", "Male", "Other"), mode="Female"),
    CategoricalFeature(name="preferred_category", label="Preferred category",
                       levels=("Clothing", "Home & Garden", "Sports"), mode="Sports"),
), id_column="id")
GOOD = {"age": 30, "income": 50000.0, "gender": "Female", "preferred_category": "Sports"}


def errors_of(record) -> dict[str, str]:
    with pytest.raises(SchemaError) as info:
        SCHEMA.check(record)
    return {e.field: e.message for e in info.value.errors}


def test_valid_record_is_canonical():
    c = SCHEMA.check({**GOOD, "gender": " female ", "preferred_category": "home and garden", "id": 7})
    assert c.values == {"age": 30.0, "income": 50000.0, "gender": "Female", "preferred_category": "Home & Garden"}
    assert c.imputed == () and c.out_of_range == ()


@pytest.mark.parametrize("spelling", [" female ", "FEMALE", "Female", "female", "  FeMaLe"])
def test_category_spelling_is_normalised(spelling):
    assert SCHEMA.check({**GOOD, "gender": spelling}).values["gender"] == "Female"


@pytest.mark.parametrize("value, expect", [
    (float("nan"), "finite"), (float("inf"), "finite"), (-float("inf"), "finite"),
    (1e308, "between 0 and 204"), (-5, "between 0 and 204"), (True, "got True"), (False, "got False"),
    ("42", "got '42'"), ([30], "got [30]"), ({"v": 1}, "must be a number"),
])
def test_bad_numbers_name_field_range_and_value(value, expect):
    msg = errors_of({**GOOD, "age": value})["age"]
    assert msg.startswith("age must be") and expect in msg
    assert "between 0 and 204" in msg


def test_unknown_category_lists_allowed_levels():
    msg = errors_of({**GOOD, "preferred_category": "Fashion"})["preferred_category"]
    assert msg == "preferred_category must be one of Clothing, Home & Garden, Sports; got 'Fashion'"


def test_missing_and_extra_fields_are_errors():
    rec = {k: v for k, v in GOOD.items() if k != "income"}
    rec["loyalty"] = 3
    errs = errors_of(rec)
    assert "income is required" in errs["income"]
    assert "unknown field 'loyalty'" in errs["loyalty"]


def test_every_bad_field_is_reported_at_once():
    errs = errors_of({"age": -1, "income": "x", "gender": "?", "preferred_category": 3})
    assert set(errs) == {"age", "income", "gender", "preferred_category"}


def test_echo_is_truncated():
    msg = errors_of({**GOOD, "gender": "x" * 10_000})["gender"]
    assert len(msg) < 250 and msg.endswith("...")


def test_null_is_imputed_and_reported():
    c = SCHEMA.check({**GOOD, "income": None, "gender": None})
    assert c.values["income"] is None and set(c.imputed) == {"income", "gender"}


def test_outside_training_range_is_flagged_not_rejected():
    c = SCHEMA.check({**GOOD, "age": 95})
    assert c.out_of_range == ("age",) and c.values["age"] == 95.0


def test_not_an_object():
    with pytest.raises(SchemaError, match="expected an object"):
        SCHEMA.check([1, 2, 3])


def test_round_trip_through_dict():
    again = Schema.from_dict(SCHEMA.as_dict())
    assert again == SCHEMA
    assert math.isclose(again.feature("age").hard_max, 204)


def test_category_key_ignores_case_space_and_ampersand():
    assert category_key("  Home   and Garden ") == category_key("HOME & GARDEN")
