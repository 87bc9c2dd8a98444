"""The second attack on the public Space (issue 19), on the API surfaces: the API docs and the API
tab, omitted fields, the batch summary programs get, routes the app does not use, and what /health
and the banner say when the configured bundle is not served."""
from __future__ import annotations

import csv
import io
import json
import logging

import httpx
import pytest
from gradio_client import handle_file

from model.contract.schema import param_name
from tests.surfaces import gradio_call


def kwargs_for(record: dict) -> dict:
    return {param_name(k): v for k, v in record.items()}


# -- omitted fields: one rule ----------------------------------------------------------------------
def test_an_omitted_field_is_refused_naming_it_on_every_surface(app_url, gradio, predictor):
    """gradio_client used to fill an omitted field with None (scored as "unknown") while POST
    /predict answered 422: now every surface refuses it and names it; null means unknown."""
    f = predictor.schema.numeric[1]
    record = {k: v for k, v in predictor.schema.example().items() if k != f.name}
    r = httpx.post(app_url + "/predict", json=record)
    assert r.status_code == 422 and r.json()["detail"] == [{"field": f.name, "message": r.json()["error"]}]
    sentence = r.json()["error"]
    assert sentence.startswith(f"{f.name} is required")
    with pytest.raises(Exception) as info:
        gradio.predict(**kwargs_for(record), api_name="/predict")
    assert param_name(f.name) in str(info.value)
    r = httpx.post(app_url + "/gradio_api/call/v2/predict", json=kwargs_for(record))
    assert r.status_code == 422 and param_name(f.name) in r.json()["error"]
    kind, out = gradio_call(app_url, "predict", [record.get(n) for n in predictor.schema.names if n != f.name])
    assert kind == "http 422" and param_name(f.name) in out
    # null is "unknown", the same everywhere
    nulled = {**predictor.schema.example(), f.name: None}
    via_client = gradio.predict(**kwargs_for(nulled), api_name="/predict")
    assert via_client == httpx.post(app_url + "/predict", json=nulled).json() and f.name in via_client["imputed"]


def test_the_api_docs_state_the_rule(app_url, predictor):
    from model.contract.schema import OMITTED_RULE
    info = httpx.get(app_url + "/gradio_api/info").json()["named_endpoints"]["/predict"]
    assert all(not p["parameter_has_default"] for p in info["parameters"])
    assert "=None" not in info["code_snippets"]["python"]  # the snippet sends a customer, not nulls
    config = httpx.get(app_url + "/config").text
    assert OMITTED_RULE.split(":")[0] in config  # the API tab
    assert OMITTED_RULE in json.dumps(httpx.get(app_url + "/openapi.json").json())


def test_programs_get_the_batch_summary_as_data_not_escaped_markdown(gradio, predictor, tmp_path):
    cat = predictor.schema.categorical[0]
    ex = predictor.schema.example()
    src = tmp_path / "in.csv"
    with open(src, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ex))
        w.writeheader()
        w.writerows([ex, {**ex, cat.name: "Mars_(planet)*"}])
    _, summary = gradio.predict(handle_file(str(src)), api_name="/predict_batch")
    assert isinstance(summary, dict), summary
    assert summary["rows"] == 2 and summary["scored"] == 1 and summary["rejected"] == 1
    assert summary["errors"] == [{"line": 3, "error": f"{cat.name} must be {cat.constraint}; got 'Mars_(planet)*'"}]
    assert "\\" not in json.dumps(summary, ensure_ascii=False)


# -- the API tab -------------------------------------------------------------------------------------
def test_the_mcp_url_on_the_api_tab_is_copyable(app_url):
    """It was shown with Markdown escapes (`http\\:\\/\\/127\\.0\\.0\\.1…`): copied, it failed."""
    from markdown_it import MarkdownIt

    from space.render.pages import api_help
    from model.serving.predictor import Predictor
    from tests.conftest import DEFAULT_BUNDLE
    schema = Predictor.from_dir(DEFAULT_BUNDLE).schema
    for base in ("http://127.0.0.1:7860/", "https://you-app.hf.space/", "http://h/`x` *y*/"):
        html = MarkdownIt("commonmark").render(api_help(schema, base))
        mcp = base.rstrip("/") + "/gradio_api/mcp/"
        shown = html.split("MCP server (streamable HTTP) at ", 1)[1]
        assert shown.startswith("<code>"), shown[:100]
        code = shown[len("<code>"):shown.index("</code>")]
        assert code.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").strip() == mcp
    page = json.dumps(httpx.get(app_url + "/config").json())
    assert "http\\\\:" not in page and "gradio_api/mcp/" in page


# -- routes the app does not use ------------------------------------------------------------------
def test_process_recording_is_closed(app_url):
    """Screen-recording post-processing (runs ffmpeg when installed); the app records nothing."""
    for files in ({"video": ("x.webm", b"\x1aE\xdf\xa3" + b"0" * 100, "video/webm")}, None):
        r = httpx.post(app_url + "/gradio_api/process_recording", files=files, data={"remove_segment_start": "0"})
        assert r.status_code == 404 and "recording" in r.json()["error"], r.text[:300]


# -- /health and the banner when the configured bundle is not served -------------------------------
def test_the_fallback_reason_names_no_repo_and_no_endpoint(caplog):
    """The repo id and HF_ENDPOINT were public on /health and in the banner, even for a private
    repo: the public gets a plain reason, the log the details."""
    from space.loader import load_live
    from space.render.cards import fallback_banner
    from space.settings import load_settings
    repo, endpoint = "acme/private-customer-model", "http://127.0.0.1:9"
    with caplog.at_level(logging.WARNING):
        live = load_live(load_settings({"MODEL_REPO": repo, "MODEL_REVISION": "a" * 40, "HF_ENDPOINT": endpoint,
                                        "HUB_TIMEOUT_S": "2"}))
    public = json.dumps(live.source.as_dict()) + fallback_banner(live.source)
    assert live.source.fallback_reason and "Hub" in live.source.fallback_reason
    for secret in (repo, "private-customer-model", "127.0.0.1:9", "a" * 12):
        assert secret not in public, (secret, public[:400])
    assert repo in caplog.text and "127.0.0.1:9" in caplog.text
