"""The launched app: gradio_client named endpoints and plain JSON over HTTP, full payloads."""
from __future__ import annotations

import csv
import json

import httpx
import pytest
from gradio_client import handle_file

from model.contract.schema import param_name


def kwargs_for(record):
    return {param_name(k): v for k, v in record.items()}


def test_gradio_predict_returns_the_full_payload(gradio, predictor):
    rec = predictor.schema.example()
    got = gradio.predict(**kwargs_for(rec), api_name="/predict")
    assert got == json.loads(json.dumps(predictor.predict_one(rec)))


def test_gradio_predict_normalises_spelling(gradio, predictor):
    cat = predictor.schema.categorical[0]
    rec = {**predictor.schema.example(), cat.name: f"  {cat.levels[0].upper()} "}
    got = gradio.predict(**kwargs_for(rec), api_name="/predict")
    assert got["input"][cat.name] == cat.levels[0]


@pytest.mark.parametrize("field_kind, bad, shown", [
    ("numeric", -5, "-5"), ("numeric", 1e308, "1e+308"), ("numeric", "12", "'12'"),
    ("categorical", "fashion", "'fashion'"),
])
def test_gradio_predict_invalid_names_the_field(gradio, predictor, field_kind, bad, shown):
    f = (predictor.schema.numeric if field_kind == "numeric" else predictor.schema.categorical)[0]
    rec = {**predictor.schema.example(), f.name: bad}
    with pytest.raises(Exception) as info:
        gradio.predict(**kwargs_for(rec), api_name="/predict")
    assert type(info.value).__name__ == "AppError"
    assert str(info.value) == f"{f.name} must be {f.constraint}; got {shown}"


def test_gradio_segments(gradio, predictor):
    assert gradio.predict(api_name="/segments") == predictor.segments_payload()


def test_gradio_batch_file_to_file(gradio, predictor, tmp_path):
    names = predictor.schema.names
    ex = predictor.schema.example()
    cat = predictor.schema.categorical[0].name
    rows = [ex, {**ex, cat: "Martian"}, {**ex, names[0]: ""}]
    src = tmp_path / "in.csv"
    with open(src, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        w.writerows(rows)
    out_path, summary = gradio.predict(handle_file(str(src)), api_name="/predict_batch")
    scored = list(csv.DictReader(open(out_path, newline="")))
    assert len(scored) == 3
    assert scored[0]["segment_name"] == predictor.predict_one(ex)["segment_name"] and scored[0]["error"] == ""
    assert "must be one of" in scored[1]["error"] and scored[1]["segment_id"] == ""
    assert "missing: filled" in scored[2]["notes"] and scored[2]["segment_id"] != ""
    assert "**2** rows scored, **1** rejected" in summary and "line 3" in summary


def test_gradio_batch_unusable_file_is_a_clear_error(gradio, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b;c\n1;2;3\n")
    with pytest.raises(Exception) as info:
        gradio.predict(handle_file(str(bad)), api_name="/predict_batch")
    assert type(info.value).__name__ == "AppError" and "delimiter" in str(info.value).lower()


def test_http_predict_matches_the_original_contract(app_url, predictor):
    rec = predictor.schema.example()
    r = httpx.post(app_url + "/predict", json=rec)
    assert r.status_code == 200
    body = r.json()
    assert body == json.loads(json.dumps(predictor.predict_one(rec)))
    assert isinstance(body["cluster"], int) and body["cluster"] == body["segment_id"]


@pytest.mark.parametrize("mutate, field, status", [
    (lambda r, n, c: {**r, n: False}, "num", 422),
    (lambda r, n, c: {**r, c: "fashion"}, "cat", 422),
    (lambda r, n, c: {k: v for k, v in r.items() if k != n}, "num", 422),
    (lambda r, n, c: {**r, "extra_field": 1}, "extra_field", 422),
])
def test_http_predict_invalid_is_4xx_with_field_errors(app_url, predictor, mutate, field, status):
    n, c = predictor.schema.numeric[0].name, predictor.schema.categorical[0].name
    r = httpx.post(app_url + "/predict", json=mutate(predictor.schema.example(), n, c))
    assert r.status_code == status
    fields = [d["field"] for d in r.json()["detail"]]
    assert {"num": n, "cat": c}.get(field, field) in fields


def test_http_nan_and_garbage_bodies(app_url, predictor):
    n = predictor.schema.numeric[0].name
    body = json.dumps(predictor.schema.example()).replace(f'"{n}": ', f'"{n}": NaN, "_x": ', 1)
    r = httpx.post(app_url + "/predict", content=body, headers={"content-type": "application/json"})
    messages = {d["field"]: d["message"] for d in r.json()["detail"]}
    assert r.status_code == 422 and messages[n] == f"{n} must be {predictor.schema.feature(n).constraint}; got nan"
    r = httpx.post(app_url + "/predict", content=b"\xff\xfe garbage", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]


def test_http_segments_health_openapi(app_url, predictor):
    seg = httpx.get(app_url + "/segments").json()
    assert seg == {"k": predictor.k, "segments": predictor.segments_payload()}
    health = httpx.get(app_url + "/health").json()
    assert health["status"] == "ok" and health["bundle"]["kind"] == "local"
    assert health["bundle"]["fallback_reason"] is None and health["features"] == predictor.schema.names
    spec = httpx.get(app_url + "/openapi.json").json()
    body_schema = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["required"] == predictor.schema.names
    assert body_schema["additionalProperties"] is False


def test_example_csv_scores_cleanly(app_url, predictor):
    text = httpx.get(app_url + "/example.csv").text
    from model.tables.batch import score_table
    _, summary = score_table(predictor, text.encode(), max_bytes=10**6, max_rows=100)
    assert summary["rejected"] == 0 and summary["scored"] >= 5


def test_api_page_lists_named_endpoints(gradio, predictor):
    info = gradio.view_api(print_info=False, return_format="dict")
    named = info["named_endpoints"]
    assert {"/predict", "/segments", "/predict_batch"} <= set(named)
    params = [p["parameter_name"] for p in named["/predict"]["parameters"]]
    assert params == [param_name(n) for n in predictor.schema.names]


def test_the_tab_bar_holds_only_tabs():
    """A component made directly in gr.Tabs (outside any gr.Tab) counts as a tab in the browser: the
    tab bar then shows shifted labels (after opening Segments, "Data" read "Segments" and could not
    be clicked; tests/test_browser.py)."""
    import gradio as gr

    from space.loader import load_live
    from space.settings import load_settings
    from space.ui import TABS, build_demo
    settings = load_settings({"MCP_SERVER": "0"})
    demo = build_demo(load_live(settings), settings)
    (tabs,) = [b for b in demo.blocks.values() if isinstance(b, gr.Tabs)]
    assert [type(child).__name__ for child in tabs.children] == ["Tab"] * len(TABS)
