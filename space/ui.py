"""The Blocks UI: the header, the fallback banner, the banner of a session's own bundle, then one
function per tab (`space.tabs`), each building its components and wiring its own events. The
bundle-dependent tabs are built once for the live bundle and, per session, for a bundle of that
session's own (`space.active`). Launches nothing."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from space.active import ActiveBundle
from space.files import DiskBudget
from space.scored import BatchFiles
from space.handlers import Handlers
from space.render import cards
from space.settings import Settings
from space.tabs.api import api_tab
from space.tabs.batch import batch_tab
from space.tabs.common import Context
from space.tabs.data import data_tab
from space.tabs.edit import edit_tab
from space.tabs.model_tab import model_tab
from space.tabs.monitor import monitor_tab
from space.tabs.predict import predict_tab
from space.tabs.segments import segments_tab
from space.tabs.train import train_tab

BUNDLE_TABS = (predict_tab, segments_tab, data_tab, model_tab, monitor_tab, batch_tab)  # per session too
TABS = (*BUNDLE_TABS, edit_tab, train_tab, api_tab)  # Edit: the live bundle, not a session's


def build_demo(live: Any, settings: Settings) -> Any:
    """The gr.Blocks of the app; builds the plots' backgrounds once."""
    import gradio as gr
    from gradio.utils import get_upload_folder

    predictor = live.predictor
    budget = DiskBudget(max_total=settings.max_disk_bytes, max_per_client=settings.max_disk_bytes_per_client)
    files = BatchFiles(get_upload_folder(), budget=budget)
    ctx = Context(live, settings, Handlers(predictor, settings, files))
    manifest = predictor.manifest
    with gr.Blocks(title=manifest.title, delete_cache=(1800, 3600), analytics_enabled=False) as demo:
        ctx.demo = demo
        header = gr.HTML(cards.header(manifest, manifest.training.rows))
        if live.source.fallback_reason:
            gr.HTML(cards.fallback_banner(live.source))
        active = ActiveBundle(ctx, ttl_s=min(settings.train.bundle_ttl_s, files.max_age_s),
                              max_bundles=settings.train.max_session_bundles)
        with gr.Tabs(elem_id="tabs", overflow_behavior="wrap"):  # every tab in the bar, none in a "…" menu
            for tab in BUNDLE_TABS:
                tab(ctx)
            edit_tab(ctx, active)
            train_tab(ctx, active)
            api_tab(ctx)
            active.wire(BUNDLE_TABS, header)  # inside the Tabs: it re-enters each tab
    demo.batch_files = files  # create_app deletes them at shutdown
    demo.session_bundles = active.bundles
    demo.disk_budget = budget  # create_app gives it to the request gate, which claims uploads
    return demo


@contextlib.contextmanager
def one_gradio_app() -> Iterator[None]:
    """Gradio 6.31 builds a whole FastAPI app (~80 routes) in `Blocks.__init__` (through `queue()`),
    in `Blocks.__exit__` and in `queue()`, and `mount_gradio_app` builds the one that is served:
    three are thrown away (~0.5 s of start-up). Inside this context none is built (`blocks.app` stays
    None until `adopt_served_app`); building the Blocks and setting up its queue need none."""
    from gradio.routes import App
    build = App.__dict__["create_app"]
    App.create_app = staticmethod(lambda *args, **kwargs: None)  # type: ignore[method-assign]
    try:
        yield
    finally:
        App.create_app = build  # type: ignore[method-assign]


def adopt_served_app(demo: Any, app: Any) -> None:
    """Point `demo.app` at the Gradio app mounted in `app` (as `launch()` does for the app it serves):
    the queue reads it for the few events it runs itself (validators, cached functions)."""
    from starlette.routing import Mount
    demo.app = next(r.app for r in reversed(app.routes) if isinstance(r, Mount))
