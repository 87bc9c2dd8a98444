"""`POST /predict`: one customer, or many in the KServe / TensorFlow Serving v1 shape.

    {"age": 34, …}                      → {"cluster": 2, "segment_id": 2, …, "bundle": "…"}
    {"instances": [{"age": 34, …}, …]}  → {"predictions": [answer or error envelope, …], "bundle": "…"}

A plain ASGI endpoint under the app's middleware (CORS), not a FastAPI route: FastAPI's per-request
machinery (dependencies, response validation, `jsonable_encoder`) cost more than the prediction
itself. The guards are the gate's (`space.http.asgi`): JSON content type (415), a body cap (413),
a body deadline (408), strict UTF-8 JSON (400), no repeated keys (400), at most `concurrency`
requests computed at once (503). A single customer's body keeps the small cap of every JSON body;
only a batch may use the larger one. A batch is computed off the event loop, each customer
judged alone (`Predictor.predict_many`). `openapi_path` documents it in /openapi.json.
"""
from __future__ import annotations

import contextlib
import gc
import logging
from typing import Any, Iterator

import anyio.to_thread

import orjson

from model.contract.errors import SchemaError, echo, envelope
from model.contract.schema import OMITTED_RULE
from model.serving.predictor import Predictor
from space.http.asgi import BodyProblem, Receive, Scope, Send, answer, header, read_body, send_bytes, strict_json

log = logging.getLogger(__name__)
BATCH_KEY = "instances"
INLINE_ROWS = 64  # a batch this small is computed on the event loop (~1 ms); larger ones in a thread
ERROR_SCHEMA = {"type": "object", "required": ["error", "detail"], "properties": {
    "error": {"type": "string"},
    "detail": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "message": {"type": "string"}}}}}}
ANSWER_SCHEMA = {"type": "object", "required": ["cluster", "segment_id", "segment_name", "margin", "runner_up",
                                                "why", "offers", "bundle"]}


class Slots:
    """At most `limit` JSON requests being computed at once; the rest get 503 at once (the route
    has no queue). A slot is taken only once the body has arrived: a slow sender costs a socket
    until the body deadline, never a slot."""

    def __init__(self, limit: int):
        self.limit, self.busy = limit, 0

    def take(self) -> bool:
        if self.busy >= self.limit:
            return False
        self.busy += 1
        return True

    def give_back(self) -> None:
        self.busy -= 1


class PredictEndpoint:
    """The ASGI app behind `POST /predict`."""

    def __init__(self, predictor: Predictor, *, max_body: int, max_batch_body: int, max_instances: int,
                 timeout_s: float, concurrency: int):
        self.predictor = predictor
        self.max_body, self.max_batch_body, self.max_instances = max_body, max_batch_body, max_instances
        self.timeout_s = timeout_s
        self.slots = Slots(concurrency)
        # a feature could be called "instances": then such a body is one customer
        self.batches = BATCH_KEY not in predictor.schema.names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await self._raw(scope, receive, send)
        if raw is None:
            return
        if not self.slots.take():  # parsing is work too: it waits for a slot
            await answer(send, 503, "busy: too many requests in flight; retry shortly", headers=[(b"retry-after", b"1")])
            return
        try:
            status, body = await self._answer(raw)
        except Exception:  # a bug, not bad input: log it, never send internals to the client
            log.exception("POST /predict failed")
            status, body = 500, orjson.dumps(envelope("something went wrong on our side; it has been logged"))
        finally:
            self.slots.give_back()
        await send_bytes(send, status, body)

    async def _raw(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The body as sent, or None once a 4xx saying what is wrong with it has been sent."""
        ctype = (header(scope, b"content-type") or b"").decode("latin-1")
        if not is_json(ctype):
            # text/plain, forms and a missing type are what a browser sends cross-site without a preflight
            await answer(send, 415, f"send the customer as application/json; got content-type {echo(ctype or None)}")
            return None
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_batch_body:
            await answer(send, 413, f"body is {int(declared):,} bytes; the limit is {self.max_batch_body:,} "
                                    f"({self.max_body:,} for one customer)")
            return None
        try:
            raw = await read_body(receive, limit=self.max_batch_body, timeout_s=self.timeout_s)
        except BodyProblem as exc:
            await answer(send, exc.status, exc.message)
            return None
        if raw is None:
            await answer(send, 400, "the client disconnected before the body arrived")
        return raw

    async def _answer(self, raw: bytes) -> tuple[int, bytes]:
        """(status, JSON body) of a request body: small ones on the event loop, large ones and
        batches of more than `INLINE_ROWS` customers in a thread."""
        if len(raw) > self.max_body:
            return await anyio.to_thread.run_sync(self._complete, raw)
        status, doc, batch = self._parsed(raw)
        if batch is None:
            return status, orjson.dumps(doc)
        return await anyio.to_thread.run_sync(self._batch, batch) if len(batch) > INLINE_ROWS else self._batch(batch)

    def _complete(self, raw: bytes) -> tuple[int, bytes]:
        with gc_paused():  # parsing a large body makes as many objects as answering it
            status, doc, batch = self._parsed(raw)
            return self._batch(batch) if batch is not None else (status, orjson.dumps(doc))

    def _parsed(self, raw: bytes) -> tuple[int, Any, list[Any] | None]:
        """(status, answer, None) for one customer or a body refused as a whole; (200, None, rows)
        for a batch to compute."""
        try:
            body = strict_json(raw, object_pairs_hook=no_duplicate_keys)
        except BodyProblem as exc:
            return exc.status, envelope(exc.message), None
        except DuplicateKey as exc:
            return 400, envelope(f"body is not valid JSON: field {echo(exc.key)} appears more than once",
                                 [{"field": str(exc.key)[:60], "message": "sent more than once; send each field once"}]), None
        if not (self.batches and type(body) is dict and BATCH_KEY in body):
            if len(raw) > self.max_body:  # only a batch may use the larger cap
                return 413, envelope(f"body is {len(raw):,} bytes; the limit is {self.max_body:,} for one customer "
                                     f'(send many as {{"{BATCH_KEY}": [...]}}, up to {self.max_batch_body:,} bytes)'), None
            try:
                return 200, self.predictor.predict_one(body), None
            except SchemaError as exc:
                return 422, exc.envelope(), None
        problem = self._batch_problem(body)
        return (*problem, None) if problem else (200, None, body[BATCH_KEY])

    def _batch(self, rows: list[Any]) -> tuple[int, bytes]:
        with gc_paused():
            return 200, orjson.dumps({"predictions": self.predictor.predict_many(rows),
                                      "bundle": self.predictor.bundle_id})

    def _batch_problem(self, body: dict[str, Any]) -> tuple[int, Any] | None:
        rows = body[BATCH_KEY]
        extra = [k for k in body if k != BATCH_KEY]
        if extra:
            message = (f"unknown field {echo(extra[0])} next to {BATCH_KEY!r}; a batch is "
                       f'{{"{BATCH_KEY}": [customer, ...]}} and nothing else')
            return 422, envelope(message, [{"field": str(extra[0])[:60], "message": message}])
        if not isinstance(rows, list):
            message = f"{BATCH_KEY} must be a list of customers (objects); got {echo(rows)}"
            return 422, envelope(message, [{"field": BATCH_KEY, "message": message}])
        if len(rows) > self.max_instances:
            message = f"{BATCH_KEY} holds {len(rows):,} customers; one request may hold at most {self.max_instances:,}"
            return 413, envelope(message, [{"field": BATCH_KEY, "message": message}])
        return None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is answered: its ~30 objects per customer,
    all freed once sent, would otherwise set off collections that walk every object the server
    holds (measured: a third of a 1,000-customer batch)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def is_json(ctype: str) -> bool:
    """application/json or application/<anything>+json, parameters allowed (as FastAPI reads them)."""
    media = ctype.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or (subtype.endswith("+json") and len(subtype) > 5))


class DuplicateKey(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads keeps the last of repeated keys; a body saying `age` twice is ambiguous: refuse it."""
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: find the first repeated key for the message
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def openapi_path(predictor: Predictor, *, max_body: int, max_batch_body: int, max_instances: int) -> dict[str, Any]:
    """The OpenAPI path item of `POST /predict` (the endpoint is not a FastAPI route)."""
    customer = predictor.schema.json_schema()
    batch = {"type": "object", "required": [BATCH_KEY], "additionalProperties": False, "properties": {
        BATCH_KEY: {"type": "array", "items": customer, "maxItems": max_instances,
                    "description": f"up to {max_instances:,} customers; each gets its own answer or error"}}}
    answers = {"type": "object", "required": ["predictions", "bundle"], "properties": {
        "predictions": {"type": "array", "items": {"anyOf": [ANSWER_SCHEMA, ERROR_SCHEMA]}},
        "bundle": {"type": "string"}}}
    error = {"application/json": {"schema": ERROR_SCHEMA}}
    return {"post": {
        "tags": ["predict"], "summary": "Segment and offers for one customer, or for many",
        "description": (
            "One customer as an object, or many as `{\"instances\": [...]}` (the KServe / TensorFlow "
            f"Serving v1 request), up to {max_instances:,} customers and {max_batch_body:,} bytes "
            f"({max_body:,} bytes for one customer). A batch answers `{{\"predictions\": [...]}}` in "
            "order, each customer its own answer or its own error envelope. Every answer names the "
            f"bundle it came from (`bundle`). Every feature of the bundle by its column name. {OMITTED_RULE}"),
        "operationId": "predict",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"oneOf": [customer, batch]},
            "examples": {"one customer": {"value": predictor.schema.example()},
                         "a batch": {"value": {BATCH_KEY: [predictor.schema.example()]}}}}}},
        "responses": {
            "200": {"description": "the segment (one customer) or one answer per customer (a batch)",
                    "content": {"application/json": {"schema": {"anyOf": [ANSWER_SCHEMA, answers]}}}},
            "400": {"description": "body is not JSON", "content": error},
            "408": {"description": "body did not arrive in time", "content": error},
            "413": {"description": "body too large, or too many instances", "content": error},
            "415": {"description": "not application/json", "content": error},
            "422": {"description": "invalid fields", "content": error},
            "503": {"description": "busy, retry", "content": error}}}}
