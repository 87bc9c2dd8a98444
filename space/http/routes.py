"""Plain JSON over HTTP beside the Gradio UI: POST /predict, GET /segments, GET /health.

`POST /predict` keeps the original service's contract (`cluster` in the answer) and adds the richer
fields. Validation is the one in `model.contract.schema` (the same as the form and batch); this module only
turns its errors into 4xx answers, in exactly one place (`_error`).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from space.http.asgi import BodyProblem, read_body, strict_json
from model.contract.errors import SchemaError, echo, envelope
from space.loader import Live
from space.settings import Settings
from space.render.pages import example_csv_text

log = logging.getLogger(__name__)


ERROR_SCHEMA = {"type": "object", "properties": {
    "error": {"type": "string"},
    "detail": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "message": {"type": "string"}}}}}}


def _error(status: int, message: str, detail: list[dict[str, str]] | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(envelope(message, detail), status_code=status, headers=headers)


class _Slots:
    """At most `limit` JSON predictions being computed at once; the rest get 503 at once (the
    route has no queue). A slot is taken only once the body has arrived: a slow sender costs a
    socket until the body deadline, never a slot."""

    def __init__(self, limit: int):
        self.limit, self.busy = limit, 0

    def take(self) -> bool:
        if self.busy >= self.limit:
            return False
        self.busy += 1
        return True

    def give_back(self) -> None:
        self.busy -= 1


def add_routes(app: FastAPI, live: Live, settings: Settings) -> None:
    """Register the JSON routes on `app` (before Gradio is mounted at "/", or they are shadowed)."""
    predictor = live.predictor
    slots = _Slots(settings.json_concurrency)
    max_body, timeout_s = settings.max_body_bytes, settings.body_timeout_s
    ok_schema = {"type": "object", "required": ["cluster", "segment_id", "segment_name", "margin", "runner_up",
                                                "why", "offers"]}

    @app.post("/predict", tags=["predict"], summary="Segment and offers for one customer",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": predictor.schema.json_schema(),
                                        "example": predictor.schema.example()}}},
                  "responses": {"200": {"description": "segment", "content": {"application/json": {"schema": ok_schema}}},
                                "400": {"description": "body is not JSON", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
                                "408": {"description": "body did not arrive in time"},
                                "413": {"description": "body too large"},
                                "415": {"description": "not application/json"},
                                "422": {"description": "invalid fields", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
                                "503": {"description": "busy, retry"}}})
    async def predict(request: Request) -> Any:
        body = await _read_body(request, max_body, timeout_s)
        if isinstance(body, JSONResponse):
            return body
        if not slots.take():
            return _error(503, "busy: too many requests in flight; retry shortly", headers={"Retry-After": "1"})
        try:
            return predictor.predict_one(body)
        except SchemaError as exc:
            return JSONResponse(exc.envelope(), status_code=422)
        except Exception:  # a bug, not bad input: log it, never send internals to the client
            log.exception("POST /predict failed")
            return _error(500, "something went wrong on our side; it has been logged")
        finally:
            slots.give_back()

    @app.get("/segments", tags=["segments"], summary="All segments with their offers and value")
    def segments() -> Any:
        value = predictor.manifest.value
        return {"k": predictor.k, "segments": predictor.segments_payload(),
                "value": None if value is None else {"headline": value.headline, "revenue": value.revenue,
                                                     "customers": value.customers}}

    @app.get("/health", tags=["health"], summary="Liveness and which bundle is live")
    def health() -> Any:
        m = predictor.manifest
        return {"status": "ok", "bundle": live.source.as_dict(), "k": predictor.k,
                "features": predictor.schema.names, "created_at": m.created_at,
                "verdict": m.clusterability.verdict, "engine": m.engine.name,
                "versions": m.library_versions}

    @app.get("/example.csv", tags=["batch"], summary="An example file for batch scoring",
             response_class=PlainTextResponse)
    def example_csv() -> Any:
        return PlainTextResponse(example_csv_text(predictor.manifest), media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="example_customers.csv"'})


async def _read_body(request: Request, max_body: int, timeout_s: float) -> Any:
    """The parsed JSON body, or a 4xx response saying what is wrong with it."""
    ctype = request.headers.get("content-type", "")
    if not _is_json(ctype):
        # text/plain, forms and a missing type are what a browser sends cross-site without a preflight
        return _error(415, f"send the customer as application/json; got content-type {echo(ctype or None)}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        return _error(413, f"body is {int(declared):,} bytes; the limit is {max_body:,}")
    try:
        raw = await read_body(request.receive, limit=max_body, timeout_s=timeout_s)
        if raw is None:
            return _error(400, "the client disconnected before the body arrived")
        return strict_json(raw, object_pairs_hook=_no_duplicate_keys)
    except BodyProblem as exc:
        return _error(exc.status, exc.message)
    except _DuplicateKey as exc:
        return _error(400, f"body is not valid JSON: field {echo(exc.key)} appears more than once",
                      [{"field": str(exc.key)[:60], "message": "sent more than once; send each field once"}])


def _is_json(ctype: str) -> bool:
    """application/json or application/<anything>+json, parameters allowed (as FastAPI reads them)."""
    media = ctype.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or (subtype.endswith("+json") and len(subtype) > 5))


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads keeps the last of repeated keys; a body saying `age` twice is ambiguous: refuse it."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def add_embed_route(app: FastAPI, gradio_js: Path) -> None:
    """`GET /gradio.js`: the `<gradio-app>` web component's loader, served by this app itself, so a
    page (or a mobile wrapper) can embed it without the CDN: ``<script type="module"
    src="https://…/gradio.js"></script><gradio-app src="https://…"></gradio-app>``."""
    text = gradio_js.read_text(encoding="utf-8").replace('"./assets/', '"/assets/')

    @app.get("/gradio.js", include_in_schema=False)
    def gradio_loader() -> Any:
        return PlainTextResponse(text, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})
