"""A guard in front of Gradio's routes: a pure ASGI middleware (it never imports gradio).

Gradio 6 answers some malformed calls with a 500 or an anonymous `{"error": null}`, and a mounted
app never "launches", so Gradio never checks that a `FileData` path lies in its upload folder: it
copies whatever file a request names into its cache. The gate answers those calls itself, before
Gradio parses them, and passes everything else through unchanged (the body is replayed), so
per-value validation stays in `model.contract.schema`.

POST bodies under the prefix (other than form uploads) must be plain UTF-8 JSON (400 otherwise:
the gate must see what FastAPI's `json.loads(bytes)` will parse, and that also accepts a BOM,
UTF-16 and UTF-32), arrive within the deadline (408) and stay under the cap (413). Any file
reference in them, at any depth, must name an uploaded file (403); in a call it may only stand
where the event takes a file (422). Calls get their arity, keywords and dropdown choices checked
(404/422 naming the field); an event `gr.render` created in one session is checked the same way
once `resolve` finds it in that session. `/stream/<event>` (would replace a queued event's data) and
`/component_server` are closed when no event streams and no component has server functions, and
`/process_recording` (screen-recording post-processing: ffmpeg on an upload) always is.
Uploads must declare a Content-Length within a total per request (411/413), may not pause longer
than 3 body deadlines (408), must fit in the disk budget of their client (507; the files Gradio
keeps are then claimed in it), and a part without a file name is a 400 (Gradio raised a TypeError:
500). An event stream for an unknown session or
event ends cleanly instead of logging a traceback per request.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from typing import Any, Callable, Collection, Sequence

from space.http.asgi import (ASGIApp, BodyProblem, Message, Receive, Scope, Send, answer, content_length,
                        header, read_body, replay, strict_json)
from model.contract.errors import echo
from space.http.endpoints import Endpoint, endpoints_of
from space.http.origin import client_id

__all__ = ["GradioGate", "Endpoint", "endpoints_of", "SENT_JSON"]
log = logging.getLogger(__name__)
Problem = tuple[int, str, list[dict[str, str]]]

_CALL = re.compile(r"^/call/(?:(v2)/)?([^/]+)/?$")
_FORMS = (b"multipart/form-data", b"application/x-www-form-urlencoded")
SENT_JSON = "gate.sent_json"  # scope["state"] key: the JSON body as the gate parsed it
UPLOAD_IDLE_FACTOR = 3  # an upload may pause this many body deadlines between two chunks


class GradioGate:
    """ASGI middleware for the routes under `prefix` (Gradio's API)."""

    def __init__(self, app: ASGIApp, *, endpoints: Sequence[Endpoint], max_body: int, upload_dir: str,
                 max_upload: int | None = None, body_timeout_s: float = 10.0,
                 server_components: Collection[int] = (), prefix: str = "/gradio_api",
                 resolve: Callable[[Any, int], Endpoint | None] | None = None, budget: Any = None):
        self.app = app
        self.resolve = resolve  # events gr.render made in one session (endpoints.rendered_endpoints)
        self.budget = budget  # space.files.DiskBudget: every upload is claimed by its client
        self.max_body, self.max_upload, self.timeout = max_body, max_upload, body_timeout_s
        self.upload_dir = os.path.realpath(upload_dir)
        self.prefix = prefix.rstrip("/")
        self.by_name = {e.name: e for e in endpoints if e.name}
        self.by_index = {e.fn_index: e for e in endpoints}
        self.streams = any(e.stream for e in endpoints)
        self.server_components = frozenset(server_components)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        rest = path[len(self.prefix):]
        closed = self._closed(rest) if scope.get("method") == "POST" else None
        if closed:
            await answer(send, 404, closed)
        elif scope.get("method") != "POST":
            await self._pass(scope, receive, send, rest)
        elif rest.rstrip("/") == "/upload":
            await self._upload(scope, receive, send, rest)
        elif (header(scope, b"content-type") or b"").lower().startswith(_FORMS):
            await self._pass(scope, receive, send, rest)
        else:
            await self._json(scope, receive, send, rest)

    # -- JSON bodies --------------------------------------------------------------------------
    async def _json(self, scope: Scope, receive: Receive, send: Send, rest: str) -> None:
        declared = content_length(scope)
        if declared is not None and declared > self.max_body:
            await answer(send, 413, f"body is {declared:,} bytes; the limit is {self.max_body:,}")
            return
        try:
            raw = await read_body(receive, limit=self.max_body, timeout_s=self.timeout)
            if raw is None:  # the client went away
                return
            body = strict_json(raw) if raw.strip() else None
        except BodyProblem as exc:
            log.info("refused POST %s: %s", rest, exc.message[:200])
            await answer(send, exc.status, exc.message)
            return
        # what the body said, for handlers that see it only after a library re-encoded it (the MCP
        # library turns NaN and Infinity into null before a tool sees its arguments)
        scope.setdefault("state", {})[SENT_JSON] = body
        problem = self._problem(rest, body)
        if problem:
            log.info("refused POST %s: %s", rest, problem[1][:200])
            await answer(send, *problem)
            return
        await self._pass(scope, replay(raw, receive), send, rest)

    def _problem(self, rest: str, body: Any) -> Problem | None:
        refs, malformed = _file_refs(body)
        if malformed is not None:
            message = (f"a file reference needs a string 'path' and an object 'meta' "
                       f"({{\"_type\": \"gradio.FileData\"}}); got {echo(malformed)}")
            return 422, message, [{"field": "file", "message": message}]
        for ref in refs:
            if not self._uploaded(ref["path"]):
                return 403, (f"file {echo(ref['path'])} was not uploaded to this app: upload it first "
                             f"(POST {self.prefix}/upload, or gradio_client.handle_file on a local path)"), []
        if rest.rstrip("/") == "/component_server":
            component = body.get("component_id") if isinstance(body, dict) else None
            if component not in self.server_components:
                return 404, f"no component with server functions has id {echo(component)}", []
            return None
        call = _CALL.match(rest)
        if call is not None:
            v2, name = call.group(1), call.group(2)
            endpoint = self.by_name.get(name)
            if endpoint is None or (v2 and not endpoint.keywords):
                public = ", ".join(f"/{e.name}" for e in self.by_name.values() if e.keywords)
                return 404, f"no API endpoint named {echo(name)}; available: {public}", []
            if v2:
                return _keyword_problem(endpoint, body) or endpoint.problem(
                    [body.get(f) for f in endpoint.fields] if isinstance(body, dict) else None)
            return endpoint.problem(body.get("data") if isinstance(body, dict) else None)
        if rest.rstrip("/") == "/queue/join" and isinstance(body, dict) and "fn_index" in body:
            index = _as_index(body["fn_index"])
            if index is None:
                return None  # Gradio's own validation answers 422
            endpoint = self.by_index.get(index)
            if endpoint is None and self.resolve is not None:
                endpoint = self.resolve(body.get("session_hash"), index)
            if endpoint is None:
                return 404, f"no event with fn_index {echo(body['fn_index'])}", []
            return endpoint.problem(body.get("data"))
        return None

    def _closed(self, rest: str) -> str | None:
        """Why a POST route this app does not use is closed, whatever the body (any content type)."""
        if rest.startswith("/stream/") and not self.streams:
            return "this app has no streaming inputs"
        if rest.rstrip("/") == "/component_server" and not self.server_components:
            return "this app has no components with server functions"
        if rest.rstrip("/") == "/process_recording":  # Gradio's screen-recording helper (runs ffmpeg)
            return "this app has no screen recording"
        return None

    def _uploaded(self, path: str) -> bool:
        if "://" in path or "\x00" in path or not os.path.isabs(path):
            return False
        return os.path.realpath(path).startswith(self.upload_dir + os.sep)

    # -- uploads ------------------------------------------------------------------------------
    async def _upload(self, scope: Scope, receive: Receive, send: Send, rest: str) -> None:
        if self.max_upload is not None:
            declared = content_length(scope)
            if declared is None:
                await answer(send, 411, "send uploads with a Content-Length header (no chunked encoding)")
                return
            if declared > self.max_upload:
                await answer(send, 413, f"this upload is {declared:,} bytes; one request may upload at most "
                                        f"{self.max_upload:,} bytes in all")
                return
        claim = None
        if self.budget is not None:
            try:
                claim = self.budget.reserve(content_length(scope) or 0, owner=client_id(scope))
            except ValueError as exc:  # DiskBudgetError
                log.info("refused POST %s: %s", rest, exc)
                await answer(send, 507, str(exc))
                return
        try:
            paths = await self._upload_within(scope, receive, send, rest)
        except BaseException:
            if claim is not None:
                claim.release()
            raise
        # Gradio keeps each upload in a folder of its own (named by a hash of the content): claim those
        folders = {os.path.dirname(os.path.realpath(p)) for p in paths}
        folders = [f for f in folders if f.startswith(self.upload_dir + os.sep)]
        if claim is not None and folders:
            claim.attach(*folders)
        elif claim is not None:
            claim.release()

    async def _upload_within(self, scope: Scope, receive: Receive, send: Send, rest: str) -> list[str]:
        """Pass an upload on to Gradio; returns the paths its answer names (empty on a refusal)."""
        held: list[Message] = []  # a 500 is held back: Gradio's own error middleware sends it, then raises
        answered: list[bytes] = []  # a 200's body: the list of the uploaded files' paths
        status = 0
        forwarded = stalled = False
        idle_s = UPLOAD_IDLE_FACTOR * self.timeout

        async def patient() -> Message:  # a slow upload is fine; one that stops sending is not
            nonlocal stalled
            try:
                return await asyncio.wait_for(receive(), idle_s)
            except asyncio.TimeoutError:
                stalled = True
                return {"type": "http.disconnect"}

        async def watch(message: Message) -> None:
            nonlocal forwarded, status
            if message["type"] == "http.response.start":
                status = message.get("status", 0)
            elif status == 200 and sum(map(len, answered)) < 1 << 20:
                answered.append(message.get("body", b""))
            if held or (message["type"] == "http.response.start" and message.get("status") == 500):
                held.append(message)
            else:
                forwarded = True
                await send(message)
        try:
            await self.app(scope, patient, watch)
        except Exception as exc:
            if forwarded or not (stalled or (held and isinstance(exc, TypeError))):
                raise
            if stalled:
                log.info("refused POST %s: no data for %g s", rest, idle_s)
                await answer(send, 408, f"the upload stopped: no data for {idle_s:g} s")
            else:  # Gradio's upload route on a part that is not a file (no file name)
                log.info("refused POST %s: a part without a file name", rest)
                await answer(send, 400, "every part named 'files' must be a file with a file name")
            return []
        for message in held:
            await send(message)
        try:
            paths = json.loads(b"".join(answered)) if status == 200 else []
        except ValueError:
            paths = []
        return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) else []

    # -- everything else ----------------------------------------------------------------------
    async def _pass(self, scope: Scope, receive: Receive, send: Send, rest: str) -> None:
        """Pass through; an event stream Gradio aborts with a 404 (unknown session or event) after
        it started answering is ended cleanly here instead of logging a traceback per request."""
        state = {"started": False, "ended": False}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["ended"] = True
            await send(message)
        try:
            await self.app(scope, receive, watch)
        except RuntimeError as exc:
            if not state["started"] or getattr(exc.__cause__, "status_code", None) != 404:
                raise
            log.debug("%s %s: unknown session or event", scope.get("method"), rest[:100])
            if not state["ended"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})


def _file_refs(body: Any) -> tuple[list[dict[str, Any]], Any]:
    """Every file reference in `body` at any depth (Gradio's traversal has no depth limit), and
    the first malformed one (a dict with a 'path' and a 'meta' Gradio would choke on), if any."""
    refs, stack = [], [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "path" in node and "meta" in node:
                if not isinstance(node["path"], str) or not isinstance(node["meta"], dict):
                    return refs, node
                if node["meta"].get("_type", "") == "gradio.FileData":
                    refs.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return refs, None


def _keyword_problem(e: Endpoint, body: Any) -> Problem | None:
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
