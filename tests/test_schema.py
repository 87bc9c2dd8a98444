"""One validation layer: every message names the field, the allowed values and what was received."""
from __future__ import annotations

import math

import pytest

from model.contract.errors import SchemaError
from model.contract.schema import CategoricalFeature, NumericFeature, Schema
from model.tables.cells import category_key

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
    (float("nan"), "got nan"), (float("inf"), "got inf"), (-float("inf"), "got -inf"),
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


def test_constraints_describe_themselves():
    from model.contract.constraints import Interval, Options
    assert str(Interval(0, 222)) == "a number between 0 and 222"
    assert str(Interval(0, 1_500_000.5)) == "a number between 0 and 1,500,000.5"
    assert str(Options(("A", "B & C"))) == "one of A, B & C"
    assert Options(("Home & Garden",)).parse(" home and GARDEN ") == "Home & Garden"
    assert Interval(0, 10).parse(10) == 10.0 and Interval(0, 10).parse(10.5) is None
    assert Interval(0, 10).parse(True) is None and Interval(0, 10).parse("5") is None


def test_one_message_for_json_and_csv():
    """The same bad value gets the same sentence from a JSON body and from a CSV cell."""
    import pandas as pd
    frame = pd.DataFrame({"age": ["-5", "abc", " 30 ", "1e400"], "income": ["50000"] * 4,
                          "gender": ["Female", "Female", "Martian", "Female"],
                          "preferred_category": ["Sports"] * 4})
    check = SCHEMA.check_frame(frame)
    assert check.valid.tolist() == [False, False, False, False]
    assert check.errors[0] == errors_of({**GOOD, "age": -5})["age"] == "age must be a number between 0 and 204; got -5"
    assert check.errors[1] == errors_of({**GOOD, "age": "abc"})["age"]
    assert check.errors[2] == errors_of({**GOOD, "gender": "Martian"})["gender"]
    assert check.errors[3] == errors_of({**GOOD, "age": float("inf")})["age"]


def test_check_frame_flags_missing_and_outside():
    import pandas as pd
    frame = pd.DataFrame({"age": [None, 95.0], "income": [50000.0, 60000.0], "gender": ["", " male "],
                          "preferred_category": ["Sports", "home and garden"]})
    check = SCHEMA.check_frame(frame)
    assert check.valid.all() and check.outside.tolist() == [False, True]
    assert check.missing[0].tolist() == [True, False, True, False] and not check.missing[1].any()
    assert check.codes[1].tolist() == [1, 1]


def test_json_schema_matches_the_validator():
    js = SCHEMA.json_schema()
    assert js["required"] == SCHEMA.names and js["additionalProperties"] is False
    assert js["properties"]["age"]["minimum"] == 0 and js["properties"]["age"]["maximum"] == 204
    assert js["properties"]["gender"]["enum"] == ["Female", "Male", "Other", None]
    assert "a number between 0 and 204" in js["properties"]["age"]["description"]


def test_param_names():
    from model.contract.schema import param_name
    assert param_name("Annual Income (k$)") == "annual_income_k"
    assert param_name("2nd phone") == "f_2nd_phone"


@pytest.mark.parametrize("bad, where", [
    ({"features": []}, "non-empty"),
    ({"features": [{"kind": "numeric", "name": "a", "label": "A", "min": "0", "max": 1, "median": 0,
                    "hard_min": 0, "hard_max": 2}]}, "schema.features[0].min"),
    ({"features": [{"kind": "text", "name": "a"}]}, "kind"),
    ({"features": [{"kind": "categorical", "name": "a", "label": "A", "levels": [1], "mode": "x"}]}, "levels"),
])
def test_malformed_schema_is_refused_with_its_path(bad, where):
    with pytest.raises(ValueError, match=where.replace("[", r"\[").replace("]", r"\]")):
        Schema.from_dict(bad)
