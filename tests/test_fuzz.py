"""Property tests over the one validation layer with the real default bundle, and schemathesis over
the JSON routes' OpenAPI, in process. Bounded: small example counts, no deadline."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.contract.errors import SchemaError
from model.serving.predictor import Predictor
from model.contract.schema import NumericFeature
from model.contract.bundle import DEFAULT_BUNDLE_DIR

PREDICTOR = Predictor.from_dir(DEFAULT_BUNDLE_DIR)  # hypothesis strategies need the schema up front
SCHEMA = PREDICTOR.schema
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _spellings(level: str) -> st.SearchStrategy[str]:
    return st.sampled_from([level, level.upper(), level.lower(), f"  {level} ", f"\t{level.swapcase()}\n",
                            level.replace(" & ", " and ")])


def _valid_value(f) -> st.SearchStrategy:
    if isinstance(f, NumericFeature):
        return st.one_of(st.none(), st.floats(f.hard_min, f.hard_max, allow_nan=False),
                         st.integers(int(math.ceil(f.hard_min)), int(f.hard_max)))
    return st.one_of(st.none(), st.sampled_from(f.levels).flatmap(_spellings))


VALID = st.fixed_dictionaries({f.name: _valid_value(f) for f in SCHEMA.features},
                              optional={SCHEMA.id_column: st.integers() | st.text(max_size=20)}
                              if SCHEMA.id_column else {})
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300)
    | st.sampled_from(["", " ", "NaN", "inf", "-0", "1e309", "0x10", "١٢", "Female\x00", "=1+1"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8)


def _check_result(out: dict) -> None:
    assert 0 <= out["segment_id"] < PREDICTOR.k and out["cluster"] == out["segment_id"]
    assert math.isfinite(out["margin"]) and 0 <= out["margin"] <= 1
    assert math.isfinite(out["pca"]["x"]) and math.isfinite(out["pca"]["y"])
    assert set(out["input"]) == set(SCHEMA.names)


@FUZZ
@given(VALID)
def test_valid_records_get_a_segment_deterministically(record):
    out = PREDICTOR.predict_one(record)
    _check_result(out)
    assert PREDICTOR.predict_one(record) == out
    assert out["imputed"] == [k for k in SCHEMA.names if record[k] is None]
    for f in SCHEMA.categorical:
        assert out["input"][f.name] in (*f.levels, None)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALID, st.sampled_from(SCHEMA.names), JUNK | st.sampled_from([math.nan, math.inf, 10**400, True, 0, -1]))
def test_the_quick_check_of_one_record_is_the_schema_check(record, field, junk):
    """`predict_one` takes a shortcut for plainly valid records: whatever it accepts, Schema.check
    accepts alike (same values, imputed and out-of-range fields); everything else goes to it."""
    for rec in (record, {**record, field: junk}):
        quick = PREDICTOR.one.quick_check(rec)
        try:
            checked = SCHEMA.check(rec)
        except SchemaError:
            assert quick is None
            continue
        if quick is not None:
            assert quick == PREDICTOR.one.from_checked(checked)
            assert list(quick[0]) == SCHEMA.names  # the answer's "input" in schema order


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(VALID, st.sampled_from(SCHEMA.names),
                          JUNK | st.sampled_from([math.nan, math.inf, 10**400, -10**400, True, 0, -1, np.float64(1.0)]),
                          st.booleans()), max_size=12))
def test_the_quick_check_of_many_records_is_that_of_each(cases):
    """`check_many` (column by column, for a batch) recognises exactly the records `quick_check`
    recognises one by one, with the same values, numbers, codes, imputed and out-of-range fields."""
    records = [{**record, field: junk} if spoil else record for record, field, junk, spoil in cases]
    at, num, codes, parts = PREDICTOR.one.check_many(records)
    quick = [PREDICTOR.one.quick_check(r) for r in records]
    assert at == [i for i, q in enumerate(quick) if q is not None]
    for row, (i, part) in enumerate(zip(at, parts)):
        values, numbers, levels, imputed, outside = quick[i]
        assert part[0] == values and list(part[0]) == list(values) and (part[3], part[4]) == (imputed, outside)
        assert [None if math.isnan(x) else x for x in num[row].tolist()] == numbers
        assert [None if c < 0 else c for c in codes[row].tolist()] == levels


@FUZZ
@given(VALID, st.sampled_from(SCHEMA.names), JUNK)
def test_junk_in_any_field_is_a_schema_error_or_a_valid_answer(record, field, junk):
    record = {**record, field: junk}
    try:
        out = PREDICTOR.predict_one(record)
    except SchemaError as exc:
        assert [e.field for e in exc.errors] == [field]
        assert field in str(exc) and len(str(exc)) < 400
        return
    _check_result(out)  # junk that happens to be valid (a number in range, a known level, null)
    f = SCHEMA.feature(field)
    if isinstance(f, NumericFeature):
        assert junk is None or (type(junk) in (int, float) and f.hard_min <= junk <= f.hard_max)
    else:
        assert junk is None or f.constraint.parse(junk) is not None


@FUZZ
@given(JUNK | st.dictionaries(st.text(max_size=12), JUNK, max_size=10))
def test_junk_bodies_are_schema_errors(body):
    with pytest.raises(SchemaError) as info:
        PREDICTOR.predict_one(body)
    assert str(info.value) and all(len(e.message) < 1000 for e in info.value.errors)


def _junk_cell(f) -> st.SearchStrategy:
    if isinstance(f, NumericFeature):
        return st.floats(allow_nan=True, allow_infinity=True) | st.none()
    return st.one_of(st.none(), st.text(max_size=30), st.sampled_from(f.levels).flatmap(_spellings))


FRAMES = st.integers(1, 25).flatmap(lambda n: st.fixed_dictionaries(
    {f.name: st.lists(_junk_cell(f), min_size=n, max_size=n) for f in SCHEMA.features}))


@FUZZ
@given(FRAMES)
def test_frames_with_junk_cells_get_per_row_errors_only(columns):
    frame = pd.DataFrame({name: (np.array(vals, dtype=float) if isinstance(SCHEMA.feature(name), NumericFeature)
                                 else pd.array(vals, dtype="str")) for name, vals in columns.items()})
    out = PREDICTOR.predict_frame(frame)
    assert len(out) == len(frame)
    for i in range(len(frame)):
        row = out.iloc[i]
        record = {k: (None if (v is None or (isinstance(v, float) and math.isnan(v))) else v)
                  for k, v in ((k, columns[k][i]) for k in SCHEMA.names)}
        try:
            single = PREDICTOR.predict_one(record)
        except SchemaError:
            single = None
        if row["error"]:
            assert pd.isna(row["segment_id"]) and row["segment_name"] == ""
        else:
            assert 0 <= int(row["segment_id"]) < PREDICTOR.k and math.isfinite(row["margin"])
        # the frame path and the single-record path agree on what is acceptable
        categorical_blank = any(isinstance(columns[f.name][i], str) and not columns[f.name][i].strip()
                                for f in SCHEMA.categorical)
        if not categorical_blank:  # a blank cell is "missing" in a file but "" is not a level in JSON
            assert (single is None) == bool(row["error"]), (record, row["error"])
            if single is not None:
                assert single["segment_id"] == int(row["segment_id"])


@FUZZ
@given(st.lists(st.text(max_size=40) | st.none(), min_size=1, max_size=20))
def test_object_columns_of_text_in_numeric_fields_are_row_errors(cells):
    frame = pd.DataFrame([SCHEMA.example()] * len(cells))
    frame[SCHEMA.numeric[0].name] = pd.Series(cells, dtype=object)
    out = PREDICTOR.predict_frame(frame)
    assert len(out) == len(cells)
    assert (out["error"] != "").to_numpy().sum() == (~out["segment_id"].notna()).to_numpy().sum()


# -- schemathesis over /openapi.json, in process --------------------------------------------------
@pytest.fixture(scope="module")
def api_schema():
    import schemathesis

    from tests.inprocess import default_app
    return schemathesis.openapi.from_asgi("/openapi.json", default_app())


@pytest.mark.parametrize("path, method, mode", [
    ("/predict", "POST", "positive"), ("/predict", "POST", "negative"), ("/segments", "GET", "positive"),
    ("/health", "GET", "positive"), ("/example.csv", "GET", "positive")])
def test_openapi_operations_never_error_and_match_their_schema(api_schema, path, method, mode):
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    operation = api_schema[path][method]
    examples = 60 if method == "POST" else 5

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    def run(case):
        case.call_and_validate(checks=[not_a_server_error, response_schema_conformance, status_code_conformance])
    run()
