"""Customer segments → offers: the Gradio Space.

`python app.py` serves the UI, the JSON routes and an MCP server on GRADIO_SERVER_NAME:
GRADIO_SERVER_PORT (default 0.0.0.0:7860) from the committed default bundle, or from MODEL_DIR, or
from the Hub when MODEL_REPO (+ MODEL_REVISION) is set. The app is built from `space/`: the tabs
(`space.ui`, one module per tab in `space.tabs`), the JSON routes and the gate (`space.http`), MCP
(`space.mcp`).
"""
from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parent / "assets"


def create_app(settings: Any = None) -> Any:
    """FastAPI app: JSON routes first, then the Gradio UI (and its MCP server) mounted at "/"."""
    from space.loader import load_and_build
    from space.settings import load_settings

    settings = settings or load_settings()

    import gradio as gr
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    from space.http.routes import add_routes, add_embed_route
    from space.http.endpoints import rendered_endpoints, server_components_of
    from space.http.gate import GradioGate, endpoints_of
    from space.http.ratelimit import RateLimit
    from space.http.origin import ForwardedHeaders, loopback_url, public_url, warm_api_info
    from space import lifecycle, mcp
    from space.handlers import keyword_record
    from space.ui import adopt_served_app, build_demo, one_gradio_app

    def build(live: Any) -> Any:
        with one_gradio_app():  # Gradio's own app is built once, by mount_gradio_app below
            demo = build_demo(live, settings)
            demo.queue(api_open=False, max_size=settings.queue_size,
                       default_concurrency_limit=settings.gradio_concurrency)
        return demo
    live, demo = load_and_build(settings, build)
    app = FastAPI(title="Customer segments API", version=live.predictor.manifest.created_at,
                  description="Segment and offers for a customer. The Gradio UI is served at /.",
                  lifespan=demo.batch_files.lifespan)
    add_routes(app, live, settings)
    add_embed_route(app, Path(gr.__file__).parent / "templates" / "frontend" / "gradio.js")
    # inside CORS, so its 4xx answers carry the CORS headers too
    app.add_middleware(GradioGate, endpoints=endpoints_of(demo, live.predictor.schema),
                       max_body=settings.max_body_bytes, upload_dir=demo.GRADIO_CACHE,
                       max_upload=settings.max_upload_request_bytes, body_timeout_s=settings.body_timeout_s,
                       server_components=server_components_of(demo), resolve=rendered_endpoints(demo),
                       budget=demo.disk_budget)
    if settings.rate_limit > 0:  # inside CORS, so a 429 carries the CORS headers too
        app.add_middleware(RateLimit, per_second=settings.rate_limit)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                       allow_methods=["GET", "POST"], allow_headers=["*"])  # no credentials: any header is harmless
    app.add_middleware(ForwardedHeaders, trusted=settings.trust_forwarded)  # outermost: before anything reads them
    app = gr.mount_gradio_app(
        app, demo, path="/", show_error=False, run_history=False, enable_monitoring=False,
        max_file_size=settings.max_upload_bytes, footer_links=["api"], ssr_mode=False,
        css_paths=[ASSETS / "app.css"], theme=gr.themes.Soft(), mcp_server=settings.mcp_server,
        # Gradio's page has no viewport tag: phones would lay it out 980 px wide and zoom out.
        head='<meta name="viewport" content="width=device-width, initial-scale=1">'
             f'<script>{(ASSETS / "a11y.js").read_text(encoding="utf-8")}</script>')
    adopt_served_app(demo, app)
    record = keyword_record(live.predictor.schema)
    mcp.adjust(demo, loopback=loopback_url(settings),
               checks={"/predict": lambda arguments: live.predictor.schema.check(record(arguments))})
    warm_api_info(app, public_url(settings))  # the API docs name this server, whoever asks first
    lifecycle.on_stop(app, lifecycle.end_gradio_streams(app, demo))
    lifecycle.on_stop(app, lambda: mcp.close_loopback(demo))
    app.state.live = live
    return app


def main() -> None:
    from space.lifecycle import serve
    from space.settings import load_settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    app = create_app(settings)
    gc.freeze()  # what start-up built lives as long as the process: the collector need not walk it again
    serve(app, settings)


def __getattr__(name: str) -> Any:
    # `import app; app.demo` builds the UI on demand (for `gradio app.py` reload mode) without
    # touching disk at import time.
    if name == "demo":
        from space.loader import load_live
        from space.settings import load_settings
        from space.ui import build_demo
        settings = load_settings()
        return build_demo(load_live(settings), settings)
    raise AttributeError(name)


if __name__ == "__main__":
    main()
