"""The Space as an MCP server, driven by the official `mcp` client over streamable HTTP on loopback:
tools described from the bundle, the same answers as POST /predict, errors naming the field, and
the same limits as every other surface."""
from __future__ import annotations

import asyncio
import csv
import io
import json

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from model.contract.schema import param_name


def _session(app_url: str, fn):
    async def run():
        async with streamable_http_client(app_url + "/gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await fn(session)
    return asyncio.run(run())


def _flatten(exc: BaseException) -> str:
    """The text of an exception and of everything inside it (exception groups, causes)."""
    parts = [f"{type(exc).__name__}: {exc}"]
    for inner in [*getattr(exc, "exceptions", ()), exc.__cause__, exc.__context__]:
        if inner is not None and inner is not exc:
            parts.append(_flatten(inner))
    return " | ".join(parts)


def test_tools_are_described_from_the_bundle(app_url, predictor):
    tools = {t.name: t for t in _session(app_url, lambda s: s.list_tools()).tools}
    assert {"segment_customer", "list_segments", "score_csv"} <= set(tools)
    assert "ping" not in tools and "predict_form" not in tools
    schema = tools["segment_customer"].inputSchema["properties"]
    assert list(schema) == [param_name(f.name) for f in predictor.schema.features]
    for f in predictor.schema.features:
        prop = schema[param_name(f.name)]
        assert str(f.constraint) in prop["description"], prop
        if f.kind == "categorical":  # the levels in words: the validation core names a wrong one
            assert ", ".join(f.levels) in prop["description"]
    assert "not a probability" in tools["segment_customer"].description


def test_segment_tool_answers_like_the_json_route(app_url, predictor):
    record = {**predictor.schema.example(), predictor.schema.categorical[0].name: predictor.schema.categorical[0].levels[-1]}
    args = {param_name(k): v for k, v in record.items()}
    result = _session(app_url, lambda s: s.call_tool("segment_customer", args))
    assert not result.isError
    via_mcp = json.loads(result.content[0].text)
    via_json = httpx.post(app_url + "/predict", json=record).json()
    assert via_mcp == via_json and via_mcp["bundle"] == predictor.bundle_id


def test_a_bad_value_is_a_tool_error_naming_the_field(app_url, predictor):
    f = predictor.schema.numeric[0]
    args = {param_name(k): v for k, v in predictor.schema.example().items()} | {param_name(f.name): -5}
    result = _session(app_url, lambda s: s.call_tool("segment_customer", args))
    assert result.isError
    assert result.content[0].text == f"{f.name} must be {f.constraint}; got -5"
    cat = predictor.schema.categorical[0]
    args[param_name(f.name)] = f.median
    args[param_name(cat.name)] = "Martian"
    result = _session(app_url, lambda s: s.call_tool("segment_customer", args))
    assert result.isError and cat.name in result.content[0].text and ", ".join(cat.levels) in result.content[0].text


def test_list_and_score_tools(app_url, predictor):
    listed = _session(app_url, lambda s: s.call_tool("list_segments", {}))
    assert json.loads(listed.content[0].text) == httpx.get(app_url + "/segments").json()["segments"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=predictor.schema.names)
    w.writeheader()
    ex = predictor.schema.example()
    w.writerows([ex, {**ex, predictor.schema.categorical[0].name: "Martian"}])
    scored = _session(app_url, lambda s: s.call_tool("score_csv", {"csv_text": buf.getvalue()}))
    body = json.loads(scored.content[0].text)
    assert body["summary"]["scored"] == 1 and body["summary"]["rejected"] == 1
    assert body["summary"]["errors"][0]["line"] == 3 and body["summary"]["bundle"] == predictor.bundle_id
    row = dict(zip(body["columns"], body["rows"][0]))
    assert row["segment_name"] == predictor.predict_one(ex)["segment_name"]


def test_the_gate_covers_the_mcp_routes(app_url):
    """The same body limits as the rest of the API: too big → 413, not plain UTF-8 JSON → 400."""
    url = app_url + "/gradio_api/mcp/"
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"x": "y" * 200_000}})
    assert httpx.post(url, content=big, headers=headers).status_code == 413
    utf16 = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode("utf-16")
    assert httpx.post(url, content=utf16, headers=headers).status_code == 400


@pytest.mark.parametrize("size", [70_000])
def test_a_csv_over_the_body_cap_is_refused_by_the_tool(app_url, predictor, size):
    text = ",".join(predictor.schema.names) + "\n" + "x\n" * (size // 2)
    with pytest.raises(Exception) as info:  # noqa: B017 - the client wraps the refusal; its text is checked
        _session(app_url, lambda s: s.call_tool("score_csv", {"csv_text": text}))
    assert "413" in _flatten(info.value), _flatten(info.value)
