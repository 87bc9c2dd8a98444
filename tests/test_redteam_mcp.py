"""The second attack on the MCP server (issue 19), driven by the official `mcp` client on loopback:
the loopback client the MCP server uses to run tools must target the server itself whatever a
caller's headers say; only tools that work are listed; numbers that are no numbers are refused as
on POST /predict; a file given as a data: URI is never written; SIGTERM stops the server after an
MCP call."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from model.contract.schema import param_name
from tests.server import ROOT, app_env, free_port, running_app


def mcp_session(url: str, fn, *, headers: dict[str, str] | None = None):
    """Run `fn(session)` in a fresh official MCP client session (with extra request headers)."""
    async def run():
        async with httpx.AsyncClient(headers=headers or {}, timeout=60) as http:
            async with streamable_http_client(url + "/gradio_api/mcp/", http_client=http) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await fn(session)
    return asyncio.run(run())


def tool_args(predictor, **changes) -> dict:
    return {param_name(k): v for k, v in predictor.schema.example().items()} | changes


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def _record(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append(f"{self.command} {self.path} {body[:2000]!r}")
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = _record

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def listener():
    """An HTTP server on 127.0.0.1 standing for an attacker's machine: records every request."""
    class Recorder(_Recorder):
        seen: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", Recorder.seen
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def mcp_url(artifacts_dir, tmp_path_factory):
    """A server of its own, its temporary files in a folder of their own."""
    temp = tmp_path_factory.mktemp("gradio-temp")
    with running_app({"GRADIO_TEMP_DIR": str(temp)}, log_path=artifacts_dir / "app-mcp-redteam.log") as url:
        yield url, temp


@pytest.fixture
def fresh_url(artifacts_dir):
    """A server nobody has called yet, behind a proxy it trusts (X-Forwarded-* believed): what
    Gradio builds once, from the first request, is built here from the forged one unless fixed."""
    with running_app({"TRUST_FORWARDED_HEADERS": "1"}, log_path=artifacts_dir / "app-mcp-fresh.log") as url:
        yield url


def rpc(url: str, method: str, params: dict, *, raw_arguments: str | None = None) -> dict:
    """One JSON-RPC request to the (stateless) MCP endpoint, written by hand: `raw_arguments` is
    put in as is, so it can hold the bare tokens NaN and Infinity that no MCP client sends."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    if raw_arguments is not None:
        body = body.replace('"@ARGS@"', raw_arguments)
    r = httpx.post(url + "/gradio_api/mcp/", content=body, timeout=60,
                   headers={"content-type": "application/json", "accept": "application/json, text/event-stream"})
    assert r.status_code == 200, r.text[:300]
    data = next(line[5:] for line in r.text.splitlines() if line.startswith("data:"))
    return json.loads(data)


# -- the loopback client and the API docs ----------------------------------------------------------
def test_forged_host_headers_of_the_first_callers_reach_no_one(fresh_url, listener, predictor):
    """The first tools/call used to decide where the loopback client sent every later call (a
    caller with `X-Forwarded-Host: <their server>` received the next visitor's arguments), and the
    first GET /gradio_api/info which server every visitor's API snippets call."""
    evil, seen = listener
    forged = {"x-forwarded-host": evil, "x-forwarded-proto": "http", "x-gradio-server": f"http://{evil}"}
    r = httpx.get(fresh_url + "/gradio_api/info", headers={**forged, "host": evil})
    assert r.status_code == 200 and evil not in r.text
    first = mcp_session(fresh_url, lambda s: s.call_tool("segment_customer", tool_args(predictor)),
                        headers={**forged, "host": evil})
    victim_age = predictor.schema.numeric[0]
    args = tool_args(predictor, **{param_name(victim_age.name): 47})
    second = mcp_session(fresh_url, lambda s: s.call_tool("segment_customer", args))
    assert not second.isError, second.content[0].text[:300]
    assert json.loads(second.content[0].text) == predictor.predict_one(
        {**predictor.schema.example(), victim_age.name: 47})
    time.sleep(0.3)
    assert seen == [], seen[:3]
    assert not first.isError, first.content[0].text[:300]
    snippets = json.dumps(httpx.get(fresh_url + "/gradio_api/info").json())
    assert evil not in snippets and fresh_url.replace("http://", "") in snippets


# -- which tools, and what they accept ----------------------------------------------------------
def _csv(predictor) -> str:
    ex = predictor.schema.example()
    return ",".join(ex) + "\n" + ",".join(str(v) for v in ex.values()) + "\n"


def test_only_tools_that_work_are_listed_and_each_works(mcp_url, predictor):
    """`predict_batch` was listed and failed for any input (403: its file is not an upload)."""
    url, _ = mcp_url
    calls = {"segment_customer": tool_args(predictor), "list_segments": {}, "score_csv": {"csv_text": _csv(predictor)}}

    async def every_tool(session):
        listed = [t.name for t in (await session.list_tools()).tools]
        return listed, {name: await session.call_tool(name, args) for name, args in calls.items() if name in listed}
    listed, results = mcp_session(url, every_tool)
    assert sorted(listed) == sorted(calls)
    for name, result in results.items():
        assert not result.isError, (name, result.content[0].text[:300])
        json.loads(result.content[0].text)
    schema = httpx.get(url + "/gradio_api/mcp/schema").json()
    assert sorted(t["name"] for t in schema) == sorted(calls)
    answer = rpc(url, "tools/call", {"name": "predict_batch", "arguments": {"file": "data:text/csv;base64,YQo="}})
    assert answer["result"]["isError"] and "Unknown tool" in answer["result"]["content"][0]["text"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_numbers_that_are_no_numbers_are_refused_as_on_the_json_route(token, mcp_url, predictor):
    """They were scored as "unknown, imputed" through MCP and refused by POST /predict (422)."""
    url, _ = mcp_url
    f = predictor.schema.numeric[0]
    args = json.dumps(tool_args(predictor, **{param_name(f.name): "@TOKEN@"})).replace('"@TOKEN@"', token)
    answer = rpc(url, "tools/call", {"name": "segment_customer", "arguments": "@ARGS@"}, raw_arguments=args)
    body = json.dumps({**predictor.schema.example(), f.name: "@TOKEN@"}).replace('"@TOKEN@"', token)
    expected = httpx.post(url + "/predict", content=body, headers={"content-type": "application/json"})
    assert expected.status_code == 422
    assert answer["result"]["isError"], answer
    assert answer["result"]["content"][0]["text"] == expected.json()["error"]


def test_a_data_uri_given_to_a_tool_writes_no_file(mcp_url, predictor):
    """Gradio saves a `data:` URI given for a file input in its temporary folder, outside every
    budget. No listed tool takes a file, and the unlisted one cannot be called."""
    url, temp = mcp_url
    before = sorted(p for p in temp.rglob("*") if p.is_file())
    payload = "data:text/csv;base64," + base64.b64encode(_csv(predictor).encode() * 100).decode()
    for name, args in [("predict_batch", {"file": payload}), ("score_csv", {"csv_text": payload}),
                       ("segment_customer", tool_args(predictor, gender=payload))]:
        rpc(url, "tools/call", {"name": name, "arguments": args})
    assert sorted(p for p in temp.rglob("*") if p.is_file()) == before


# -- stopping --------------------------------------------------------------------------------------
def test_sigterm_stops_the_server_after_an_mcp_call_with_a_client_connected(predictor, artifacts_dir, tmp_path):
    """After any MCP call the server never stopped on SIGTERM (the loopback client's heartbeat
    stream kept a connection open forever); with a gradio_client connected it took ~10 s. The
    bound here (60 s) only tells "stops" from "hangs"; the time is written to test-artifacts."""
    from gradio_client import Client
    port = free_port()
    log = open(tmp_path / "app.log", "w+b")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=app_env(port), stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        answer = mcp_session(url, lambda s: s.call_tool("segment_customer", tool_args(predictor)))
        assert not answer.isError
        client = Client(url + "/", verbose=False)
        assert client.predict(api_name="/segments")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail("the server did not stop within 60 s of SIGTERM")
        stopped = time.monotonic() - t0
        client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
    with open(artifacts_dir / "sigterm-times.txt", "a") as fh:
        fh.write(f"SIGTERM to exit after an MCP call, gradio_client connected: {stopped:.2f} s\n")
