"""The server surface: file routes, monitoring, queue bypass, error bodies, CORS, concurrency and
size limits. Most checks use the session app; limits that need other settings share one capped app."""
from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.server import running_app
from tests.surfaces import ROOT, assert_no_leak, gradio_call, raw_get

ALLOWED = "https://app.example.com"
CAPPED_ENV = {"CORS_ORIGINS": ALLOWED, "JSON_CONCURRENCY": "1", "QUEUE_SIZE": "1", "GRADIO_CONCURRENCY": "1",
              "MAX_UPLOAD_BYTES": "300000", "MAX_BATCH_ROWS": "2000", "MAX_BODY_BYTES": "8192",
              "MAX_BATCH_INSTANCES": "3", "MAX_BATCH_BODY_BYTES": "20000"}
FILE_PATHS = [
    "/gradio_api/file=/etc/passwd", "/gradio_api/file=../../../../etc/passwd",
    "/gradio_api/file=..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/gradio_api/file=/tmp/gradio/../../etc/passwd", "/gradio_api/file=/tmp/gradio/..%2F..%2Fetc%2Fpasswd",
    "/gradio_api/file=//etc/passwd", "/gradio_api/file=/etc/./passwd", "/gradio_api/file=%2Fetc%2Fpasswd",
    "/gradio_api/file=/etc/passwd%00.csv", "/gradio_api/file=/proc/self/environ",
    f"/gradio_api/file={ROOT}/app.py", "/gradio_api/file=app.py", "/gradio_api/file=./model/settings.py",
    "/gradio_api/file=model/artifacts/default/manifest.json",
    "/gradio_api/file=model/artifacts/default/sklearn_model.joblib", "/gradio_api/file=.git/config",
    "/gradio_api/file/etc/passwd", "/file=/etc/passwd", "/file=app.py", "/static/../../../../etc/passwd",
    "/static/..%2F..%2F..%2Fapp.py", "/assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/svelte/..%2F..%2Fapp.py",
    "/gradio_api/file=http://127.0.0.1/health",
]
CONTENT_MARKERS = (b"root:x:0", b"def create_app", b"import ", b'"sha256', b"PATH=", b"[core]", b"\x80\x04")


@pytest.fixture(scope="module")
def capped_url(artifacts_dir):
    with running_app(CAPPED_ENV, log_path=artifacts_dir / "app-capped.log") as url:
        yield url


# -- files, monitoring, queue bypass -------------------------------------------------------------
@pytest.mark.parametrize("path", FILE_PATHS)
def test_file_routes_never_serve_files_that_were_not_uploaded(path, app_url):
    status, body = raw_get(app_url, path)
    assert status in (400, 403, 404), (status, body[:200])
    assert not any(m in body for m in CONTENT_MARKERS), body[:200]


def test_uploaded_files_are_still_served(app_url):
    r = httpx.post(app_url + "/gradio_api/upload", files={"files": ("a.csv", b"age\n1\n", "text/csv")})
    path = r.json()[0]
    assert httpx.get(f"{app_url}/gradio_api/file={path}").content == b"age\n1\n"


@pytest.mark.parametrize("path", ["/monitoring", "/monitoring/summary", "/monitoring/0123456789abcdef",
                                  "/gradio_api/monitoring/summary"])
def test_monitoring_is_not_public(path, app_url):
    r = httpx.get(app_url + path, follow_redirects=False)
    assert r.status_code in (403, 404) and "queue" not in r.text.lower()


@pytest.mark.parametrize("route", ["run/predict", "api/predict", "run/predict_form", "run/segments"])
def test_direct_run_routes_do_not_bypass_the_queue(route, app_url, predictor):
    r = httpx.post(f"{app_url}/gradio_api/{route}", json={"data": list(predictor.schema.example().values())})
    assert r.status_code == 404 and "segment" not in r.text.lower()


# -- error bodies --------------------------------------------------------------------------------
def test_error_bodies_leak_nothing(app_url, predictor):
    """Every kind of error the server can give, including an unexpected one inside Gradio."""
    texts = []
    for method, path, body in [("POST", "/predict", "{"), ("POST", "/predict", "[1]"), ("GET", "/predict", None),
                               ("GET", "/nope", None), ("POST", "/gradio_api/call/nope", "{}"),
                               ("POST", "/gradio_api/queue/join", '{"fn_index": 77, "session_hash": "s", "data": []}'),
                               ("POST", "/gradio_api/queue/join", '{"fn_index": "x"}')]:
        r = httpx.request(method, app_url + path, content=body, headers={"content-type": "application/json"})
        assert r.status_code < 500, (path, r.status_code)
        texts.append(r.text)
    upload = httpx.post(app_url + "/gradio_api/upload", files={"files": ("b.csv", b"age\n1\n", "text/csv")})
    folder = upload.json()[0].rsplit("/", 2)[0]  # the upload folder: passes the gate, refused inside
    kind, message = gradio_call(app_url, "predict_batch", [{"path": f"{folder}/gone/x.csv",
                                                            "meta": {"_type": "gradio.FileData"}}])
    assert kind == "error" and message.startswith("the file was not uploaded to this app")
    for text in texts + [message]:
        assert_no_leak(text)


def test_unexpected_exceptions_are_logged_not_sent(monkeypatch, caplog):
    """In process: make the predictor fail the way a bug would, on the JSON route and in Gradio."""
    from fastapi.testclient import TestClient

    from tests.inprocess import default_app
    app = default_app()
    secret = f"boom in {ROOT}/model/secret.py, Traceback, HF_TOKEN=hf_x"

    def broken(record):
        raise RuntimeError(secret)
    monkeypatch.setattr(app.state.live.predictor, "predict_one", broken)
    ex = app.state.live.predictor.schema.example()
    with TestClient(app) as client:
        r = client.post("/predict", json=ex)
        assert r.status_code == 500 and "logged" in r.json()["error"]
        assert_no_leak(r.text)
        event = client.post("/gradio_api/call/predict", json={"data": list(ex.values())}).json()["event_id"]
        stream = client.get(f"/gradio_api/call/predict/{event}").text
        assert "event: error" in stream and "Something went wrong" in stream
        assert_no_leak(stream)
    assert secret in caplog.text  # the details stay in the server log


# -- CORS ----------------------------------------------------------------------------------------
def _cors(r: httpx.Response) -> tuple[str | None, str | None]:
    return r.headers.get("access-control-allow-origin"), r.headers.get("access-control-allow-credentials")


@pytest.mark.parametrize("host", [None, "someone.hf.space"])
def test_cors_allows_the_configured_origin_without_credentials(host, capped_url, predictor):
    headers = {"Origin": ALLOWED, **({"Host": host} if host else {})}
    for r in [httpx.get(capped_url + "/health", headers=headers),
              httpx.get(capped_url + "/config", headers=headers),
              httpx.post(capped_url + "/predict", json=predictor.schema.example(), headers=headers),
              httpx.post(capped_url + "/gradio_api/call/nope", json={"data": []}, headers=headers),
              httpx.options(capped_url + "/predict", headers={**headers, "Access-Control-Request-Method": "POST",
                                                             "Access-Control-Request-Headers": "content-type"})]:
        assert _cors(r) == (ALLOWED, None), (r.request.url, r.headers)


@pytest.mark.parametrize("origin", ["https://evil.example.com", "null", "https://app.example.com.evil.io"])
@pytest.mark.parametrize("which", ["capped", "default"])
def test_cors_ignores_other_origins(origin, which, capped_url, app_url):
    base = capped_url if which == "capped" else app_url
    for host in (None, "someone.hf.space"):  # Gradio's own CORS reflects origins on non-local hosts
        headers = {"Origin": origin, **({"Host": host} if host else {})}
        for r in [httpx.get(base + "/health", headers=headers), httpx.get(base + "/config", headers=headers),
                  httpx.options(base + "/gradio_api/call/predict",
                                headers={**headers, "Access-Control-Request-Method": "POST"})]:
            allow, credentials = _cors(r)
            assert allow is None and credentials != "true", (r.request.url, host, r.headers)


# -- limits --------------------------------------------------------------------------------------
def test_a_slow_body_does_not_hold_a_json_slot(capped_url, predictor):
    """JSON_CONCURRENCY=1: a request whose body trickles in takes its slot only once the body has
    arrived, so the requests sent meanwhile are served (they were 503 while it trickled)."""
    body = json.dumps(predictor.schema.example()).encode()

    async def trickle():
        for i in range(0, len(body), 16):
            yield body[i:i + 16]
            await asyncio.sleep(0.08)

    async def scenario():
        async with httpx.AsyncClient(timeout=30) as c:
            slow = asyncio.create_task(c.post(capped_url + "/predict", content=trickle(),
                                              headers={"content-type": "application/json"}))
            await asyncio.sleep(0.3)
            meanwhile = await asyncio.gather(*[c.post(capped_url + "/predict", json=predictor.schema.example())
                                               for _ in range(5)])
            return await slow, meanwhile
    slow, meanwhile = asyncio.run(scenario())
    assert slow.status_code == 200
    assert [r.status_code for r in meanwhile] == [200] * 5


@pytest.mark.parametrize("route", ["/predict", "/gradio_api/call/predict", "/gradio_api/queue/join"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_bodies_over_max_body_bytes_get_413(route, chunked, capped_url):
    payload = b'{"data": ["' + b"x" * 9000 + b'"]}'  # MAX_BODY_BYTES=8192

    def gen():
        for i in range(0, len(payload), 1000):
            yield payload[i:i + 1000]
    r = httpx.post(capped_url + route, content=gen() if chunked else payload,
                   headers={"content-type": "application/json"})
    assert r.status_code == 413 and "8,192" in r.json()["error"]


def test_a_batch_may_use_the_larger_cap_and_no_more(capped_url, predictor):
    """MAX_BODY_BYTES=8192 for one customer; a batch may send up to MAX_BATCH_BODY_BYTES=20000 and
    MAX_BATCH_INSTANCES=3 customers (each row here is refused alone: "note" is no field)."""
    rows = [{**predictor.schema.example(), "note": "x" * 3_000}] * 3
    r = httpx.post(capped_url + "/predict", json={"instances": rows})
    assert r.status_code == 200 and [p["detail"][0]["field"] for p in r.json()["predictions"]] == ["note"] * 3
    r = httpx.post(capped_url + "/predict", json={"instances": [predictor.schema.example()] * 4})
    assert r.status_code == 413 and "at most 3" in r.json()["error"]
    r = httpx.post(capped_url + "/predict", json={"instances": [{"note": "x" * 25_000}]})
    assert r.status_code == 413 and "20,000" in r.json()["error"]
    r = httpx.post(capped_url + "/predict", content=json.dumps({"instances": rows}), headers={"content-type": "text/plain"})
    assert r.status_code == 415


def test_gradio_queue_is_bounded_with_a_clear_busy_answer(capped_url, predictor):
    """QUEUE_SIZE=1, one worker: a burst gets 503 "Queue is full", never a 500; then it recovers."""
    data = {"data": list(predictor.schema.example().values())}

    async def burst():
        async with httpx.AsyncClient(timeout=30) as c:
            return await asyncio.gather(*[c.post(capped_url + "/gradio_api/call/predict", json=data)
                                          for _ in range(30)])
    statuses: Counter[int] = Counter()
    for _ in range(3):  # bounded: the first burst is nearly always enough
        responses = asyncio.run(burst())
        statuses.update(r.status_code for r in responses)
        full = [r for r in responses if r.status_code == 503]
        if full:
            assert "Queue is full" in full[0].json()["detail"]
            break
    assert set(statuses) <= {200, 503} and statuses[503] > 0, statuses
    for _ in range(50):  # the queue drains and answers again
        kind, out = gradio_call(capped_url, "predict", data["data"])
        if kind == "complete":
            break
        assert kind == "http 503"
    assert kind == "complete" and out[0]["segment_name"]


def test_uploads_over_the_cap_are_refused_clearly(capped_url, tmp_path):
    big = b"age\n" + b"30\n" * 120_000  # 360 kB > MAX_UPLOAD_BYTES=300000
    r = httpx.post(capped_url + "/gradio_api/upload", files={"files": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and "300000" in r.text
    path = tmp_path / "big.csv"
    path.write_bytes(big)
    with pytest.raises(Exception, match="maximum file size"):
        Client(capped_url + "/", verbose=False).predict(handle_file(str(path)), api_name="/predict_batch")


def test_rows_over_the_cap_are_refused_clearly(capped_url, predictor, tmp_path):
    names = predictor.schema.names
    row = ",".join(str(v) for v in predictor.schema.example().values())
    path = tmp_path / "many.csv"
    path.write_text(",".join(names) + "\n" + (row + "\n") * 2500)
    assert path.stat().st_size < 300_000
    with pytest.raises(Exception) as info:
        Client(capped_url + "/", verbose=False).predict(handle_file(str(path)), api_name="/predict_batch")
    assert type(info.value).__name__ == "AppError" and "2,500 rows; the limit is 2,000" in str(info.value)
