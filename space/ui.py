"""The Blocks UI for one live bundle: the header, the fallback banner, then one function per tab
(`space.tabs`), each building its components and wiring its own events. Launches nothing."""
from __future__ import annotations

from typing import Any

from space.files import BatchFiles
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

TABS = (predict_tab, segments_tab, edit_tab, data_tab, model_tab, monitor_tab, batch_tab, api_tab)


def build_demo(live: Any, settings: Settings) -> Any:
    """The gr.Blocks of the app; builds the plots' backgrounds once."""
    import gradio as gr
    from gradio.utils import get_upload_folder

    predictor = live.predictor
    files = BatchFiles(get_upload_folder(), max_disk_bytes=settings.max_batch_disk_bytes)
    ctx = Context(live, settings, Handlers(predictor, settings, files))
    manifest = predictor.manifest
    with gr.Blocks(title=manifest.title, delete_cache=(1800, 3600), analytics_enabled=False) as demo:
        ctx.demo = demo
        gr.HTML(cards.header(manifest, manifest.training.rows))
        if live.source.fallback_reason:
            gr.HTML(cards.fallback_banner(live.source))
        with gr.Tabs(elem_id="tabs"):
            for tab in TABS:
                tab(ctx)
    demo.batch_files = files  # create_app deletes them at shutdown
    return demo
