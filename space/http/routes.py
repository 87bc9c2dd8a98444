"""Plain JSON over HTTP beside the Gradio UI: POST /predict, GET /segments, GET /health.

`POST /predict` keeps the original service's contract (`cluster` in the answer), adds the richer
fields and takes batches (`space.http.predict`, a plain ASGI endpoint). Validation is the one in
`model.contract.schema` (the same as the form and batch).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.routing import Route

from space.http.predict import PredictEndpoint, openapi_path
from space.loader import Live
from space.render.pages import example_csv_text
from space.settings import Settings

log = logging.getLogger(__name__)


def add_routes(app: FastAPI, live: Live, settings: Settings) -> None:
    """Register the JSON routes on `app` (before Gradio is mounted at "/", or they are shadowed)."""
    predictor = live.predictor
    caps = {"max_body": settings.max_body_bytes, "max_batch_body": settings.max_batch_body_bytes,
            "max_instances": settings.max_batch_instances}
    endpoint = PredictEndpoint(predictor, **caps, timeout_s=settings.body_timeout_s,
                               concurrency=settings.json_concurrency)
    # first in the routing table: every request is matched against the routes in turn
    app.router.routes.insert(0, Route("/predict", endpoint, methods=["POST"], name="predict", include_in_schema=False))
    documented = app.openapi

    def openapi() -> dict[str, Any]:  # FastAPI documents its own routes; /predict is added here
        if app.openapi_schema is None:
            spec = documented()
            spec["paths"] = {"/predict": openapi_path(predictor, **caps), **spec["paths"]}
        return app.openapi_schema  # type: ignore[return-value]
    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/segments", tags=["segments"], summary="All segments with their offers and value")
    def segments() -> Any:
        value = predictor.manifest.value
        return {"k": predictor.k, "segments": predictor.segments_payload(),
                "value": None if value is None else {"headline": value.headline, "revenue": value.revenue,
                                                     "customers": value.customers}}

    @app.get("/health", tags=["health"], summary="Liveness and which bundle is live")
    def health() -> Any:
        m = predictor.manifest
        return {"status": "ok", "bundle": {**live.source.as_dict(), "id": predictor.bundle_id}, "k": predictor.k,
                "features": predictor.schema.names, "created_at": m.created_at,
                "verdict": m.clusterability.verdict, "engine": m.engine.name,
                "versions": m.library_versions}

    @app.get("/example.csv", tags=["batch"], summary="An example file for batch scoring",
             response_class=PlainTextResponse)
    def example_csv() -> Any:
        return PlainTextResponse(example_csv_text(predictor.manifest), media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="example_customers.csv"'})


def add_embed_route(app: FastAPI, gradio_js: Path) -> None:
    """`GET /gradio.js`: the `<gradio-app>` web component's loader, served by this app itself, so a
    page (or a mobile wrapper) can embed it without the CDN: ``<script type="module"
    src="https://…/gradio.js"></script><gradio-app src="https://…"></gradio-app>``."""
    text = gradio_js.read_text(encoding="utf-8").replace('"./assets/', '"/assets/')

    @app.get("/gradio.js", include_in_schema=False)
    def gradio_loader() -> Any:
        return PlainTextResponse(text, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})
