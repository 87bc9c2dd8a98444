"""A session's own bundle (space.sessions) and the events gr.render makes for it (the gate's
`resolve`): only the owning session gets it, it goes when the session ends or its time is up, and
events that exist in one session only are checked like the page's own."""
from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import httpx
import pytest

from space.http.endpoints import Endpoint, endpoint_of, rendered_endpoints
from space.http.gate import GradioGate
from space.sessions import SessionBundles


def _bundles(tmp_path, **kw):
    built = []
    reg = SessionBundles(ttl_s=kw.get("ttl_s", 3600), max_bundles=kw.get("max_bundles", 10),
                         build=lambda e: built.append(e.token) or f"view of {e.label}")
    return reg, built


def _add(reg, tmp_path, session, name):
    folder = tmp_path / name
    (folder / "bundle").mkdir(parents=True)
    return reg.add(session=session, folder=folder, bundle_dir=folder / "bundle", zip_path=None, label=name)


def test_only_the_owning_session_gets_its_bundle(tmp_path):
    reg, built = _bundles(tmp_path)
    mine = _add(reg, tmp_path, "session-a", "a")
    assert built == [mine.token] and mine.view == "view of a" and len(mine.token) >= 24
    assert reg.get(mine.token, "session-a") is mine
    assert reg.get(mine.token, "session-b") is None  # another visitor with a stolen token
    assert reg.get(str(mine.folder), "session-a") is None and reg.get(None, "session-a") is None
    with pytest.raises(ValueError, match="needs the browser session"):
        _add(reg, tmp_path, "", "x")


def test_a_closed_session_an_expired_bundle_and_the_oldest_beyond_the_cap_are_deleted(tmp_path):
    reg, _ = _bundles(tmp_path, max_bundles=2, ttl_s=3600)
    a1, a2 = _add(reg, tmp_path, "a", "a1"), _add(reg, tmp_path, "a", "a2")
    b = _add(reg, tmp_path, "b", "b1")  # a third: the oldest (a1) goes
    assert reg.get(a1.token, "a") is None and not a1.folder.exists()
    assert reg.drop_session("a") == 1 and not a2.folder.exists() and reg.get(b.token, "b") is b
    b.created = time.time() - 7200  # its time is up
    assert reg.get(b.token, "b") is None and not b.folder.exists() and reg.held() == 0
    c = _add(reg, tmp_path, "c", "c1")
    import shutil
    shutil.rmtree(c.folder)  # pruned from the disk budget meanwhile
    assert reg.get(c.token, "c") is None


def test_a_bundle_that_does_not_load_leaves_nothing(tmp_path):
    def broken(entry):
        raise ValueError("not a bundle")
    reg = SessionBundles(ttl_s=60, max_bundles=3, build=broken)
    folder = tmp_path / "x"
    (folder / "bundle").mkdir(parents=True)
    with pytest.raises(ValueError, match="not a bundle"):
        reg.add(session="s", folder=folder, bundle_dir=folder / "bundle", zip_path=None, label="x")
    assert not folder.exists() and reg.held() == 0


# -- events gr.render created in one session, at the gate --------------------------------------------
class _Block(SimpleNamespace):
    pass


def _fn(fn_id, inputs, rendered=True):
    return SimpleNamespace(_id=fn_id, api_name="", inputs=inputs, preprocess=True, connection="sse",
                           rendered_in=object() if rendered else None)


def _dropdown(label, choices):
    d = type("Dropdown", (), {})()
    d.label, d.choices, d.allow_custom_value, d.multiselect, d.type = label, [(c, c) for c in choices], False, False, "value"
    return d


def _file(label):
    f = type("File", (), {})()
    f.label = label
    return f


def _blocks(session, fns):
    state = SimpleNamespace(blocks_config=SimpleNamespace(fns={f._id: f for f in fns}))
    return SimpleNamespace(state_holder=SimpleNamespace(session_data={session: state}))


def _post(gate, body):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gate), base_url="http://t") as client:
            return await client.post("/gradio_api/queue/join", content=json.dumps(body),
                                     headers={"content-type": "application/json"})
    return asyncio.run(go())


def test_the_gate_checks_events_that_exist_in_one_session_only(tmp_path):
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})
    fns = [_fn(40, [_file("file"), _dropdown("Feature", ["age", "income"])]), _fn(41, [], rendered=False)]
    blocks = _blocks("visitor", fns)
    gate = GradioGate(app, endpoints=[Endpoint("predict", 0, ("age",))], max_body=10_000,
                      upload_dir=str(tmp_path), resolve=rendered_endpoints(blocks))
    upload = tmp_path / "up" / "x.csv"
    upload.parent.mkdir()
    upload.write_text("a\n")
    ref = {"path": str(upload), "meta": {"_type": "gradio.FileData"}}
    ok = _post(gate, {"fn_index": 40, "session_hash": "visitor", "data": [ref, "age"]})
    assert ok.status_code == 200 and reached == ["/gradio_api/queue/join"]
    cases = [
        ({"fn_index": 40, "session_hash": "other", "data": [ref, "age"]}, 404, "no event with fn_index 40"),
        ({"fn_index": 41, "session_hash": "visitor", "data": []}, 404, "no event with fn_index 41"),  # not rendered
        ({"fn_index": 40, "session_hash": "visitor", "data": [ref, "zip"]}, 422, "feature must be one of age, income"),
        ({"fn_index": 40, "session_hash": "visitor", "data": ["age", ref]}, 422, "file must be an uploaded file"),
        ({"fn_index": 40, "session_hash": "visitor", "data": [ref]}, 422, "takes 2 values"),
        ({"fn_index": 40, "session_hash": "visitor", "data": [{"path": "/etc/passwd", "meta": ref["meta"]}, "age"]},
         403, "was not uploaded to this app"),
    ]
    for body, status, message in cases:
        r = _post(gate, body)
        assert r.status_code == status and message in r.json()["error"], (body, r.text)
    assert reached == ["/gradio_api/queue/join"]  # none of them reached Gradio


def test_rendered_endpoint_names_inputs_by_label_and_never_adds_a_session():
    fn = _fn(7, [_file("Your file (CSV)"), _dropdown("k", ["auto", "3"])])
    e = endpoint_of(fn)
    assert e.fields == ("your_file_csv", "k") and e.files == (0,) and e.choices == {1: ("auto", "3")}
    blocks = _blocks("s", [fn])
    resolve = rendered_endpoints(blocks)
    assert resolve("s", 7).fn_index == 7 and resolve("nobody", 7) is None and resolve(None, 7) is None
    assert list(blocks.state_holder.session_data) == ["s"]
