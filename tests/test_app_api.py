"""The launched app: gradio_client named endpoints and plain JSON over HTTP, full payloads."""
from __future__ import annotations

import csv
import hashlib
import io
import json

import httpx
import pytest
from gradio_client import handle_file

from model.contract.schema import param_name


def kwargs_for(record):
    return {param_name(k): v for k, v in record.items()}


def manifest_id(bundle_dir) -> str:
    """What names a local bundle: the sha256 of its manifest.json (which lists every other file's)."""
    return "sha256:" + hashlib.sha256((bundle_dir / "manifest.json").read_bytes()).hexdigest()


def test_gradio_predict_returns_the_full_payload(gradio, predictor, default_bundle):
    rec = predictor.schema.example()
    got = gradio.predict(**kwargs_for(rec), api_name="/predict")
    assert got == json.loads(json.dumps(predictor.predict_one(rec)))
    assert got["bundle"] == manifest_id(default_bundle)


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
    assert (summary["scored"], summary["rejected"], summary["errors"][0]["line"]) == (2, 1, 3)
    bundle = manifest_id(predictor.bundle.path)
    assert [r["bundle"] for r in scored] == [bundle] * 3  # every row names the model that scored it
    assert summary["bundle"] == bundle  # the summary too


def test_the_scored_csv_reads_back_as_a_table(gradio, app_url, predictor, tmp_path):
    """The `bundle` column keeps the scored file a plain table: our own reader scores it again
    (its scored columns are not taken for input) and Excel's dialect reads one header row."""
    from model.tables.batch import score_table
    src = tmp_path / "in.csv"
    src.write_text(httpx.get(app_url + "/example.csv").text)
    out_path, _ = gradio.predict(handle_file(str(src)), api_name="/predict_batch")
    data = open(out_path, "rb").read()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), dialect="excel"))
    assert rows[0][-1] == "bundle" and len({len(r) for r in rows}) == 1
    again, summary = score_table(predictor, data, max_bytes=10**6, max_rows=100, keep_columns="all")
    header = next(csv.reader(io.StringIO(again.decode("utf-8"))))
    assert header.count("bundle") == 1 and header.count("segment_id") == 1
    assert summary["rejected"] == 0 and summary["bundle"] == predictor.bundle_id


def test_gradio_batch_unusable_file_is_a_clear_error(gradio, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b;c\n1;2;3\n")
    with pytest.raises(Exception) as info:
        gradio.predict(handle_file(str(bad)), api_name="/predict_batch")
    assert type(info.value).__name__ == "AppError" and "missing required column(s): 'age'" in str(info.value)


def test_http_predict_matches_the_original_contract(app_url, predictor, default_bundle):
    rec = predictor.schema.example()
    r = httpx.post(app_url + "/predict", json=rec)
    assert r.status_code == 200
    body = r.json()
    assert body == json.loads(json.dumps(predictor.predict_one(rec)))
    assert isinstance(body["cluster"], int) and body["cluster"] == body["segment_id"]
    assert body["bundle"] == manifest_id(default_bundle) == httpx.get(app_url + "/health").json()["bundle"]["id"]


def test_http_batch_answers_each_instance_in_order(app_url, predictor):
    """KServe / TF Serving v1: {"instances": [...]} → {"predictions": [...]}, in order, each
    customer its own answer or its own error envelope; one bad row never fails the rest."""
    from tests.test_predictor import random_records
    good = random_records(predictor.schema, 3, seed=8).to_dict("records")
    n = predictor.schema.numeric[0].name
    bad = [{**good[0], n: -5}, "not a customer", {**good[1], "extra": 1}]
    instances = [good[0], bad[0], good[1], bad[1], bad[2], good[2]]
    r = httpx.post(app_url + "/predict", json={"instances": instances})
    assert r.status_code == 200
    body = r.json()
    assert body["bundle"] == predictor.bundle_id and len(body["predictions"]) == len(instances)
    got = body["predictions"]
    for i in (0, 2, 5):
        assert got[i] == json.loads(json.dumps(predictor.predict_one(instances[i])))
    assert got[1] == {"error": f"{n} must be {predictor.schema.feature(n).constraint}; got -5",
                      "detail": [{"field": n, "message": f"{n} must be {predictor.schema.feature(n).constraint}; got -5"}]}
    assert got[3]["detail"][0]["field"] == "body" and "expected an object" in got[3]["error"]
    assert got[4]["detail"][0]["field"] == "extra"
    empty = httpx.post(app_url + "/predict", json={"instances": []}).json()
    assert empty == {"predictions": [], "bundle": predictor.bundle_id}


@pytest.mark.parametrize("body, field, status", [
    ({"instances": "x"}, "instances", 422),
    ({"instances": [], "signature_name": "serving_default"}, "signature_name", 422),
    ({"instances": [{}] * 10_001}, "instances", 413),
])
def test_http_batch_refused_as_a_whole_names_why(app_url, body, field, status):
    r = httpx.post(app_url + "/predict", json=body)
    assert r.status_code == status and r.json()["detail"][0]["field"] == field
    assert ("10,000" in r.json()["error"]) == (status == 413)


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
    assert seg == {"k": predictor.k, "segments": predictor.segments_payload(), "value": None}  # no money column
    assert all(s["value"] is None for s in seg["segments"])
    health = httpx.get(app_url + "/health").json()
    assert health["status"] == "ok" and health["bundle"]["kind"] == "local"
    assert health["bundle"]["fallback_reason"] is None and health["features"] == predictor.schema.names
    spec = httpx.get(app_url + "/openapi.json").json()
    post = spec["paths"]["/predict"]["post"]
    one, batch = post["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert one["required"] == predictor.schema.names and one["additionalProperties"] is False
    assert batch["properties"]["instances"]["items"] == one and batch["properties"]["instances"]["maxItems"] == 10_000
    assert "10,000 customers" in post["description"] and "413" in post["responses"]


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


def test_the_tab_bar_holds_only_tabs(app_url):
    """gr.Tabs may hold only gr.Tab: any other child (a gr.State, a gr.Api) shifts the browser's tab
    labels ('Segments' shown twice, 'Data' gone) once a tab is clicked."""
    config = httpx.get(app_url + "/config", timeout=30).json()
    types = {c["id"]: c["type"] for c in config["components"]}

    def tab_bars(node):
        if types.get(node["id"]) == "tabs":
            yield node
        for child in node.get("children", []):
            yield from tab_bars(child)
    bars = list(tab_bars(config["layout"]))
    assert len(bars) == 1
    children = [types[c["id"]] for c in bars[0].get("children", [])]
    assert len(children) >= 7 and set(children) == {"tabitem"}, children
