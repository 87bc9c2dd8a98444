"""Bad single records on every door of the running app: the JSON route `POST /predict`, the Gradio
API endpoint `/predict` and the form event `/predict_form`, each through gradio_client and through
raw `POST /gradio_api/call/<name>` JSON (which can carry NaN/Infinity). Every bad value → a 4xx or
an AppError naming the field and what is allowed, echoing ≤ ~100 characters, never a segment."""
from __future__ import annotations

import html
import json
import re

import httpx
import pytest

from model.contract.schema import param_name
from tests.surfaces import INF, NAN, allowed_text, assert_clear, gradio_call

# (id, kind, value, gradio_client can send it). Field i of each kind is used in turn, so every
# feature of the bundle gets some of the abuse.
VALUES = [
    ("nan", "num", NAN, False), ("+inf", "num", INF, False), ("-inf", "num", -INF, False),
    ("1e308", "num", 1e308, True), ("negative", "num", -5, True), ("above_max", "num", 10**9, True),
    ("string_number", "num", "42", True), ("empty_string", "num", "", True),
    ("false", "num", False, True), ("true", "num", True, True), ("list", "num", [30], True),
    ("dict", "num", {"value": 30}, True), ("long_digits", "num", "9" * 5000, True),
    ("unknown_category", "cat", "Martian", True), ("number_for_category", "cat", 3, True),
    ("bool_for_category", "cat", False, True), ("list_for_category", "cat", ["Female"], True),
    ("dict_for_category", "cat", {"level": "Female"}, True),
    ("unicode_junk", "cat", "\u202eʕ•ᴥ•ʔ\u0000💣\u200b<script>", True),
    ("very_long_string", "cat", "Female" + "x" * 20000, True), ("empty_category", "cat", "", True),
]
SURFACES = ["json", "call_predict", "call_form", "client_predict", "client_form"]
SPELLINGS = [" female ", "FEMALE", "\tFeMaLe  "]


def _field(schema, kind: str, case_id: str):
    feats = schema.numeric if kind == "num" else schema.categorical
    if case_id == "false":  # the example of the issue: `income: false`
        return next((f for f in feats if f.name == "income"), feats[0])
    return feats[[v[0] for v in VALUES if v[1] == kind].index(case_id) % len(feats)]


def _submit(surface: str, app_url: str, gradio, record: dict) -> tuple[bool, str, object]:
    """Send `record` through `surface`; returns (accepted, error message, result)."""
    names = list(record)
    if surface == "json":
        r = httpx.post(app_url + "/predict", content=json.dumps(record), timeout=30,
                       headers={"content-type": "application/json"})
        assert r.status_code in (200, 400, 413, 415, 422), r.status_code
        return r.status_code == 200, r.json().get("error", ""), r.json()
    if surface.startswith("call"):
        kind, out = gradio_call(app_url, "predict" if surface == "call_predict" else "predict_form",
                                [record[n] for n in names])
        assert kind in ("complete", "error"), (kind, out)
        if surface == "call_form" and kind == "complete":
            return _form_answer(out)
        return kind == "complete", out if kind == "error" else "", out
    api = "/predict" if surface == "client_predict" else "/predict_form"
    try:
        out = gradio.predict(*[record[n] for n in names], api_name=api)
    except Exception as exc:
        assert type(exc).__name__ == "AppError", f"{type(exc).__name__}: {exc}"
        return False, str(exc), None
    return _form_answer(out) if surface == "client_form" else (True, "", out)


def _form_answer(out) -> tuple[bool, str, object]:
    """The form answers a refused value with an error card (the field is marked, the result
    cleared), not with an exception: its text is the message."""
    card = out[0]
    if "result-card invalid" not in card:
        return True, "", out
    return False, html.unescape(re.sub(r"<[^>]+>", " ", card)), out


# gradio_client cannot send NaN/Infinity (httpx refuses allow_nan): those go raw only
BAD = [pytest.param(surface, case_id, kind, value, id=f"{surface}-{case_id}")
       for case_id, kind, value, client_ok in VALUES for surface in SURFACES
       if client_ok or not surface.startswith("client")]


@pytest.mark.parametrize("surface, case_id, kind, value", BAD)
def test_bad_value_is_refused_with_a_clear_message(surface, case_id, kind, value, app_url, gradio, predictor):
    schema = predictor.schema
    f = _field(schema, kind, case_id)
    record = {**schema.example(), f.name: value}
    accepted, message, out = _submit(surface, app_url, gradio, record)
    assert not accepted, f"{case_id} on {surface} was scored: {str(out)[:200]}"
    assert_clear(message, field=f.name, allowed=allowed_text(f), sent=value)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("spelling", SPELLINGS, ids=repr)
def test_category_spelling_is_normalised_everywhere(surface, spelling, app_url, gradio, predictor):
    schema = predictor.schema
    gender = schema.feature("gender")
    record = {**schema.example(), "gender": spelling}
    expected = predictor.predict_one({**record, "gender": "Female"})
    accepted, message, out = _submit(surface, app_url, gradio, record)
    assert accepted, message
    if surface in ("json", "call_predict", "client_predict"):
        result = out[0] if surface == "call_predict" else out
        assert result["input"]["gender"] == "Female"
        assert result["segment_id"] == expected["segment_id"]
    else:  # the form answers with HTML cards and a plot: the same as for the canonical spelling
        ok, _, canonical = _submit(surface, app_url, gradio, {**record, "gender": gender.levels[0]})
        assert ok and gender.levels[0] == "Female" and out[:2] == canonical[:2]


def _with_token(example: dict, field: str, token: str) -> str:
    """The example as JSON text with `field`'s value replaced by raw JSON text `token`."""
    text = json.dumps({**example, field: "__TOKEN__"})
    return text.replace('"__TOKEN__"', token)


@pytest.mark.parametrize("field, token", [("gender", '"\\ud800"'), ("age", "NaN"), ("age", "-Infinity"),
                                          ("income", "1e400"), ("age", "9" * 4000)],
                         ids=["lone_surrogate", "NaN", "-Infinity", "1e400", "4000_digits"])
def test_json_route_raw_tokens(field, token, app_url, predictor):
    r = httpx.post(app_url + "/predict", content=_with_token(predictor.schema.example(), field, token),
                   headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    assert_clear(r.json()["error"], field=field, allowed=allowed_text(predictor.schema.feature(field)), sent=token)


# -- structure of the JSON body -----------------------------------------------------------------
def _json_cases(example: dict) -> list[tuple[str, bytes | str, str, int, str]]:
    ex = json.dumps(example)
    first, rest = next(iter(example)), {k: v for k, v in list(example.items())[1:]}
    return [
        ("missing_field", json.dumps(rest), "application/json", 422, f"{first} is required"),
        ("all_missing", "{}", "application/json", 422, "preferred_category is required"),
        ("extra_field", json.dumps({**example, "loyalty": 3}), "application/json", 422, "unknown field 'loyalty'"),
        ("duplicate_key", ex[:-1] + f', "{first}": 99}}', "application/json", 400, "more than once"),
        ("list_body", json.dumps([example]), "application/json", 422, "expected an object"),
        ("string_body", '"hello"', "application/json", 422, "expected an object"),
        ("number_body", "42", "application/json", 422, "expected an object"),
        ("null_body", "null", "application/json", 422, "expected an object"),
        ("empty_body", "", "application/json", 400, "not valid JSON"),
        ("truncated_json", ex[:-5], "application/json", 400, "not valid JSON"),
        ("utf16_body", ex.encode("utf-16"), "application/json", 400, "not valid JSON"),
        ("binary_body", bytes(range(256)), "application/json", 400, "not valid JSON"),
        ("huge_integer", _with_token(example, first, "9" * 5000), "application/json", 400, "not valid JSON"),
        ("deep_nesting", "[" * 20000 + "]" * 20000, "application/json", 400, "not valid JSON"),
        ("text_plain", ex, "text/plain", 415, "application/json"),
        ("form_urlencoded", "age=30", "application/x-www-form-urlencoded", 415, "application/json"),
        ("multipart", "--x\r\n\r\n--x--", "multipart/form-data; boundary=x", 415, "application/json"),
    ]


_JSON_IDS = [c[0] for c in _json_cases({"age": 34, "x": 1})]


@pytest.mark.parametrize("case_id", _JSON_IDS)
def test_json_route_bad_bodies(case_id, app_url, predictor):
    case = {c[0]: c for c in _json_cases(predictor.schema.example())}[case_id]
    _, body, ctype, status, expect = case
    r = httpx.post(app_url + "/predict", content=body, headers={"content-type": ctype}, timeout=30)
    assert r.status_code == status, r.text[:300]
    message = r.json()["error"]
    assert expect in message
    assert_clear(message, sent=body if isinstance(body, str) else None)


@pytest.mark.parametrize("size, chunked", [(30 * 2**20, False), (200_000, True)], ids=["30MB", "chunked"])
def test_json_route_refuses_big_bodies(size, chunked, app_url):
    payload = b'{"age": "' + b"x" * size + b'"}'

    def gen():
        for i in range(0, len(payload), 65536):
            yield payload[i:i + 65536]
    r = httpx.post(app_url + "/predict", content=gen() if chunked else payload, timeout=60,
                   headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["error"]


# -- structure of Gradio calls (only raw JSON can get these wrong) ------------------------------
@pytest.mark.parametrize("api", ["predict", "predict_form"])
@pytest.mark.parametrize("n_values", [0, 5, 9])
def test_gradio_call_wrong_number_of_values(api, n_values, app_url, predictor):
    values = list(predictor.schema.example().values())
    data = values[:n_values] + [7] * max(0, n_values - len(values))
    kind, body = gradio_call(app_url, api, data)
    assert kind == "http 422", (kind, body)
    message = json.loads(body)["error"]
    assert f"takes {len(values)} values in this order" in message
    if n_values < len(values):
        missing = predictor.schema.features[n_values]
        assert_clear(message, field=param_name(missing.name))
        detail = json.loads(body)["detail"]
        assert any(allowed_text(missing)[0] in d["message"] for d in detail)


@pytest.mark.parametrize("api, body, status", [
    ("predict", "not json", "http 400"), ("predict", '{"data": {"age": 3}}', "http 422"),
    ("predict", '[1, 2]', "http 422"), ("predict", "", "http 422"),
    ("predict_form", '{"data": "x"}', "http 422"), ("nonexistent", '{"data": [1]}', "http 404"),
    ("v2", '{"data": [1]}', "http 404"), ("v2/predict_form", '{"age": 3}', "http 404"),
    ("v2/predict", '{"age": 3}', "http 422"), ("v2/predict", '{"zzz": 3}', "http 422"),
], ids=["not_json", "data_object", "list_body", "empty", "data_string", "unknown_endpoint",
        "v2_no_name", "v2_undocumented", "v2_missing_keywords", "v2_unknown_keyword"])
def test_gradio_call_malformed_bodies(api, body, status, app_url):
    kind, text = gradio_call(app_url, api, body=body)
    assert kind == status, (kind, text[:300])
    answer = json.loads(text)
    assert_clear(answer["error"] if "error" in answer else json.dumps(answer["detail"]))


def test_gradio_call_v2_keywords(app_url, predictor):
    ex = predictor.schema.example()
    good = {param_name(k): v for k, v in ex.items()}
    kind, out = gradio_call(app_url, "v2/predict", body=json.dumps(good))
    assert kind == "complete" and out[0]["segment_id"] == predictor.predict_one(ex)["segment_id"]
    kind, text = gradio_call(app_url, "v2/predict", body=json.dumps({**good, "loyalty": 1}))
    assert kind == "http 422"
    assert_clear(json.loads(text)["error"], field="loyalty", allowed=[", ".join(good)])
    last = predictor.schema.features[-1]
    kind, text = gradio_call(app_url, "v2/predict", body=json.dumps(
        {k: v for k, v in good.items() if k != param_name(last.name)}))
    assert kind == "http 422"
    assert_clear(json.loads(text)["error"], field=param_name(last.name), allowed=allowed_text(last))


@pytest.mark.parametrize("api", ["predict", "predict_form", "predict_batch"])
def test_gradio_call_refuses_big_bodies(api, app_url):
    body = '{"data": ["' + "x" * (30 * 2**20) + '"]}'
    kind, text = gradio_call(app_url, api, body=body, timeout=60)
    assert kind == "http 413" and "limit" in json.loads(text)["error"]


def test_queue_join_unknown_event_and_wrong_arity(app_url, predictor):
    url = app_url + "/gradio_api/queue/join"
    r = httpx.post(url, json={"data": [1], "fn_index": 999, "session_hash": "hardening"})
    assert r.status_code == 404 and "fn_index" in r.json()["error"]  # was a 500
    info = httpx.get(app_url + "/config").json()
    form = next(d["id"] for d in info["dependencies"] if d.get("api_name") == "predict_form")
    r = httpx.post(url, json={"data": [1, 2], "fn_index": form, "session_hash": "hardening"})
    assert r.status_code == 422
    assert_clear(r.json()["error"], field=predictor.schema.features[2].name)
