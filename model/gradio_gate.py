"""A guard in front of Gradio's API routes: a pure ASGI middleware (it never imports gradio).

Gradio 6 answers some malformed calls with a 500 (`/call/<unknown>`, `/call/v2/<name>` with a
missing or unknown keyword, `/queue/join` with an unknown `fn_index`) or with an anonymous error
(`{"error": null}` for a `data` list of the wrong length), and it queues JSON bodies of any size.
This middleware answers those calls itself, before Gradio parses them: 413 over the body cap, 404
for an unknown endpoint, 422 naming the missing or extra fields. Everything else passes through
unchanged (the body is replayed), so per-value validation stays in `model.schema`.

It also refuses file references that were not uploaded: a mounted app never "launches", and Gradio
only checks that a `FileData` path lies in its upload folder once launched, so without this check
`{"path": "/any/file.csv", "meta": {"_type": "gradio.FileData"}}` makes the server read any CSV file
it can see (and echo its header in the error).
"""
from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping, Sequence

from model.errors import echo

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CALL = re.compile(r"^/call/(?:(v2)/)?([^/]+)/?$")


@dataclass(frozen=True)
class Endpoint:
    """One Gradio event as the API sees it."""
    name: str  # api_name without the leading "/"; "" for an event with no API name
    fn_index: int
    fields: tuple[str, ...]  # names of the positional inputs, in order
    expect: Mapping[str, str] = field(default_factory=dict)  # field → what is allowed, for messages
    check_arity: bool = False  # refuse a `data` list of another length
    keywords: bool = False  # documented, hence callable by keyword through /call/v2/<name>
    files: tuple[int, ...] = ()  # positions of file inputs: an uploaded file reference or null


class GradioGate:
    """ASGI middleware for POST `{prefix}/call/<name>`, `{prefix}/call/v2/<name>` and `{prefix}/queue/join`."""

    def __init__(self, app: ASGIApp, *, endpoints: Sequence[Endpoint], max_body: int, upload_dir: str,
                 prefix: str = "/gradio_api"):
        self.app = app
        self.max_body = max_body
        self.upload_dir = os.path.realpath(upload_dir)
        self.prefix = prefix.rstrip("/")
        self.by_name = {e.name: e for e in endpoints if e.name}
        self.by_index = {e.fn_index: e for e in endpoints}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" and scope.get("method") == "POST" else ""
        if not path.startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        rest = path[len(self.prefix):]
        call = _CALL.match(rest)
        if call is None and rest.rstrip("/") != "/queue/join":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await _answer(send, 413, f"body is {declared:,} bytes; the limit is {self.max_body:,}")
            return
        raw = await _read(receive, self.max_body)
        if raw is None:  # the client went away
            return
        if len(raw) > self.max_body:
            await _answer(send, 413, f"body exceeds the limit of {self.max_body:,} bytes")
            return
        problem = self._problem(call, raw)
        if problem:
            log.info("refused POST %s: %s", path, problem[1][:200])
            await _answer(send, *problem)
            return
        await self.app(scope, _replay(raw, receive), send)

    # -- checks -----------------------------------------------------------------------------
    def _problem(self, call: re.Match[str] | None, raw: bytes) -> tuple[int, str, list[dict[str, str]]] | None:
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (ValueError, RecursionError):
            body = None  # not JSON: Gradio's own validation answers 422
        outside = _foreign_file(body, self.upload_dir)
        if outside is not None:
            return 403, (f"file {echo(outside)} was not uploaded to this app: upload it first "
                         f"(POST {self.prefix}/upload, or gradio_client.handle_file on a local path)"), []
        if call is not None:
            v2, name = call.group(1), call.group(2)
            endpoint = self.by_name.get(name)
            if endpoint is None or (v2 and not endpoint.keywords):
                public = ", ".join(f"/{e.name}" for e in self.by_name.values() if e.keywords)
                return 404, f"no API endpoint named {echo(name)}; available: {public}", []
            if v2:
                return _keyword_problem(endpoint, body)
            data = body.get("data") if isinstance(body, dict) else None
            return _arity_problem(endpoint, data) or _file_problem(endpoint, data)
        if not isinstance(body, dict) or "fn_index" not in body:
            return None
        index = _as_index(body["fn_index"])
        if index is None:
            return None
        endpoint = self.by_index.get(index)
        if endpoint is None:
            return 404, f"no event with fn_index {echo(body['fn_index'])}", []
        return _arity_problem(endpoint, body.get("data")) or _file_problem(endpoint, body.get("data"))


def _arity_problem(e: Endpoint, data: Any) -> tuple[int, str, list[dict[str, str]]] | None:
    if not e.check_arity or not isinstance(data, list) or len(data) == len(e.fields):
        return None
    order = f"/{e.name} takes {len(e.fields)} values in this order: {', '.join(e.fields)}"
    if len(data) < len(e.fields):
        missing = e.fields[len(data):]
        detail = [{"field": f, "message": f"{f} is required ({e.expect.get(f, 'a value')})"} for f in missing]
        return 422, f"{order}; got {len(data)}, missing: {', '.join(missing)}", detail
    extra = data[len(e.fields):]
    return 422, (f"{order}; got {len(data)}: remove the extra value(s) {echo(extra)}"), [
        {"field": "data", "message": f"{len(extra)} value(s) too many"}]


def _file_problem(e: Endpoint, data: Any) -> tuple[int, str, list[dict[str, str]]] | None:
    if not isinstance(data, list):
        return None
    for i in e.files:
        value = data[i] if i < len(data) else None
        if value is not None and not _is_file_ref(value):
            name = e.fields[i] if i < len(e.fields) else f"value {i + 1}"
            message = (f"{name} must be an uploaded file (the path returned by POST /gradio_api/upload, "
                       f"with meta._type 'gradio.FileData') or null; got {echo(value)}")
            return 422, message, [{"field": name, "message": message}]
    return None


def _is_file_ref(d: Any) -> bool:
    """The shape Gradio treats as a file (gradio_client.utils.is_file_obj_with_meta)."""
    return (isinstance(d, dict) and isinstance(d.get("path"), str) and isinstance(d.get("meta"), dict)
            and d["meta"].get("_type", "") == "gradio.FileData")


def _foreign_file(body: Any, upload_dir: str, depth: int = 0) -> str | None:
    """The path of the first file reference in `body` that is not inside `upload_dir`, if any."""
    if depth > 20:
        return None  # a 64 KiB body cannot nest a file deeper than Gradio's inputs go
    if _is_file_ref(body):
        path = body["path"]
        if "://" in path or not os.path.isabs(path):
            return path
        real = os.path.realpath(path)
        return None if real.startswith(upload_dir + os.sep) else path
    items = body.values() if isinstance(body, dict) else body if isinstance(body, list) else ()
    for item in items:
        found = _foreign_file(item, upload_dir, depth + 1)
        if found is not None:
            return found
    return None


def _keyword_problem(e: Endpoint, body: Any) -> tuple[int, str, list[dict[str, str]]] | None:
    if not isinstance(body, dict):
        return None
    unknown = [k for k in body if k not in e.fields and k != "oauth_token"]
    missing = [f for f in e.fields if f not in body]
    detail = [{"field": str(k)[:60], "message": f"unknown field {echo(k)}; expected only: {', '.join(e.fields)}"}
              for k in unknown]
    detail += [{"field": f, "message": f"{f} is required ({e.expect.get(f, 'a value')})"} for f in missing]
    if not detail:
        return None
    return 422, "; ".join(d["message"] for d in detail), detail


def _as_index(value: Any) -> int | None:
    """fn_index as pydantic's lax mode would read it (True, 1.0 and "1" all mean 1), else None."""
    if isinstance(value, (bool, int)):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 12:
        return int(value)
    return None


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            return int(value) if value.isdigit() and len(value) < 19 else None
    return None


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or its first `limit + 1` bytes when it is longer; None if the client left."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            break
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(raw: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()
    return again


async def _answer(send: Send, status: int, message: str, detail: list[dict[str, str]] | None = None) -> None:
    body = json.dumps({"error": message, "detail": detail or []}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def endpoints_of(blocks: Any, schema: Any, *, checked: Sequence[str] = ("predict", "predict_form")) -> list[Endpoint]:
    """The events of a Gradio Blocks (duck-typed: `.fns`, `.get_api_info()`). Events in `checked`
    take one value per schema feature, in schema order, and get their arity checked.

    Read once at start-up: events created per session by `gr.render` would be unknown to the gate
    (refused with 404), so an app that adds `gr.render` must let unknown `fn_index` values through."""
    from model.schema import param_name
    documented = blocks.get_api_info().get("named_endpoints", {})
    fields = tuple(param_name(f.name) for f in schema.features)
    expect = {param_name(f.name): schema.expect(f) for f in schema.features}
    out = []
    for fn in blocks.fns.values():  # every event, named or not: the browser joins the queue for all
        if not fn.api_name:
            out.append(Endpoint("", fn._id, tuple(f"value_{i + 1}" for i in range(len(fn.inputs)))))
            continue
        doc = documented.get("/" + fn.api_name)
        names = (fields if fn.api_name in checked else
                 tuple(p["parameter_name"] for p in doc["parameters"]) if doc else
                 tuple(f"value_{i + 1}" for i in range(len(fn.inputs))))
        files = tuple(i for i, b in enumerate(fn.inputs) if type(b).__name__ in ("File", "UploadButton"))
        out.append(Endpoint(fn.api_name, fn._id, names, expect if fn.api_name in checked else {},
                            check_arity=fn.api_name in checked, keywords=doc is not None, files=files))
    return out
