"""Which bundle a browser session sees: the Space's live bundle (built once into the page), or a
bundle of its own from `space.sessions` — a visitor's fit, an edited preview — shown in every
bundle-dependent tab of that session only, under a banner with a way back.

How: `ActiveBundle.state` holds the session's token (a `gr.State`: server-side, never sent to the
browser). Each bundle-dependent tab (`Context.tab`) holds the live view in a column; next to it a
`gr.render` over the state builds the same tab function on the session's `Context` when the token
names a bundle this session owns, and the live column is hidden meanwhile (Gradio removes hidden
components from the page, so element ids stay unique). The events those renders create exist only
in that session's copy of the event table: `space.http.endpoints.rendered_endpoints` lets the
gate check them like any other. The API (`/predict`, `/segments`, MCP) keeps serving the live bundle.

To show a bundle to one session (issue 23's edited preview does the same as a fit):

    entry = active.bundles.add(session=request.session_hash, folder=…, bundle_dir=…, zip_path=…, label=…)
    return entry.token   # as the output of an event whose outputs include `active.state`
"""
from __future__ import annotations

import html
import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from model.contract.manifest import LiveSource
from model.serving.predictor import Predictor
from space.handlers import Handlers
from space.loader import Live
from space.render import cards
from space.sessions import SessionBundle, SessionBundles
from space.tabs.common import Context

log = logging.getLogger(__name__)


class ActiveBundle:
    """The per-session choice of bundle (see the module docstring). Build it inside the Blocks,
    before the tabs; call `wire` after them."""

    def __init__(self, ctx: Context, *, ttl_s: float, max_bundles: int):
        import gradio as gr
        self.ctx = ctx
        self.bundles = SessionBundles(ttl_s=ttl_s, max_bundles=max_bundles, build=self._context_for)
        self.state = gr.State(None)  # token of the bundle this session sees; None: the live bundle
        with gr.Row(visible=False, elem_id="own-bundle-banner", elem_classes=["own-banner"]) as self.banner:
            self.banner_text = gr.HTML("")
            self.back = gr.Button("Back to the Space's model", variant="secondary", scale=0, min_width=200,
                                  elem_id="back-to-live")

    def _context_for(self, entry: SessionBundle) -> Context:
        """The tabs' Context for a session bundle (loads and verifies it: BundleError if bad)."""
        predictor = Predictor.from_dir(entry.bundle_dir)
        source = LiveSource(kind="local", path=entry.label)
        ctx = self.ctx
        return Context(Live(predictor, source), ctx.settings, Handlers(predictor, ctx.settings, ctx.handlers.files),
                       demo=ctx.demo, visitor=True)

    def entry(self, token: Any, request: Any) -> SessionBundle | None:
        """The session's bundle behind `token`, if this request's session owns it."""
        return self.bundles.get(token, getattr(request, "session_hash", None))

    def folder_to_publish(self, token: Any, request: Any) -> Path:
        """The bundle folder this session sees, to push to the visitor's own Hub repo: issue 23
        wires the sign-in (`gr.OAuthToken`) and the push (`huggingface_hub.HfApi.upload_folder` to a
        repo that token can write). Raises ValueError when this session has no bundle of its own."""
        entry = self.entry(token, request)
        if entry is None:
            raise ValueError("there is no segmentation of your own in this browser tab to publish: train one first")
        return entry.bundle_dir

    def wire(self, tabs: Sequence[Callable[[Context], None]], header: Any) -> None:
        """A render per bundle-dependent tab, the banner, the way back, and deletion on unload."""
        import gradio as gr
        if len(tabs) != len(self.ctx.views):
            raise ValueError(f"{len(tabs)} tab functions for {len(self.ctx.views)} tab views")
        for build, (tab, _) in zip(tabs, self.ctx.views):
            with tab:
                self._render(build)
        lives = [live for _, live in self.ctx.views]
        live_header = cards.header(self.ctx.manifest, self.ctx.manifest.training.rows)

        def switch(token: Any, request: gr.Request) -> list[Any]:
            entry = self.entry(token, request)
            if entry is None:
                note = "" if token is None else ('<div class="banner-warn" role="status">Your own segmentation is '
                                                  'gone (its time was up, or the Space restarted): the Space\'s '
                                                  'model is shown. Train again on the Train tab.</div>')
                return [gr.update(visible=bool(note)), note, live_header, *[gr.update(visible=True)] * len(lives)]
            m = entry.view.manifest
            return [gr.update(visible=True), banner_html(entry, self.bundles.ttl_s), cards.header(m, m.training.rows),
                    *[gr.update(visible=False)] * len(lives)]
        switch.__annotations__["request"] = gr.Request
        self.state.change(switch, self.state, [self.banner, self.banner_text, header, *lives],
                          api_visibility="private", show_progress="hidden")
        self.back.click(lambda: None, None, self.state, api_visibility="private", show_progress="hidden")

        def forget(request: gr.Request) -> None:
            gone = self.bundles.drop_session(getattr(request, "session_hash", None))
            if gone:
                log.info("deleted %d session bundle(s) of a closed page", gone)
        forget.__annotations__["request"] = gr.Request
        self.ctx.demo.unload(forget)

    def _render(self, build: Callable[[Context], None]) -> None:
        import gradio as gr

        # One render at a time (one concurrency id for every tab's render): a session's renders share
        # its copy of the Blocks config, and Gradio's `attach_load_events` iterates over it while
        # another render adds to it ("dictionary changed size during iteration").
        @gr.render(inputs=[self.state], triggers=[self.state.change], show_progress="hidden",
                   concurrency_limit=1, concurrency_id="session-views")
        def session_view(token: Any, request: gr.Request) -> None:
            entry = self.entry(token, request)
            if entry is not None:
                build(entry.view)
                _inputs_interactive()
        session_view.__annotations__["request"] = gr.Request


def banner_html(entry: SessionBundle, ttl_s: float) -> str:
    """The banner above the tabs while a session sees its own bundle."""
    m = entry.view.manifest
    left = max(0, int((entry.created + ttl_s - time.time()) // 60))
    return ('<div class="own-bundle" role="status"><b>You are looking at your own segmentation</b> — '
            f"{html.escape(entry.label)}: {m.k:d} segments from {m.training.rows:,} customers. Only this browser "
            f"tab sees it; it is deleted when you close the tab or in {left} min. The Space's API and other "
            "visitors keep the Space's own model.</div>")


def _inputs_interactive() -> None:
    """Components created by a render that feed one of its events are interactive, as they are
    when built into the page (Gradio infers that for the page's components only)."""
    from gradio.components.base import Component
    from gradio.components.state import State
    from gradio.context import LocalContext
    config, renderable = LocalContext.blocks_config.get(None), LocalContext.renderable.get(None)
    if config is None or renderable is None:
        return
    for fn in list(config.fns.values()):
        if fn.rendered_in is renderable and fn.render_iteration == renderable.render_iteration:
            for block in fn.inputs:
                if isinstance(block, Component) and not isinstance(block, State) and block.interactive is None:
                    block.interactive = True
