"""What every tab shares: the one error boundary, plot values, uploaded files, and the context the
tabs are built from (the live bundle, the settings, the handlers, the Blocks)."""
from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from space.files import uploaded_file
from space.handlers import Handlers
from space.settings import Settings

log = logging.getLogger(__name__)


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The UI's one error boundary: our ValueErrors reach the visitor (and gradio_client as AppError)
    with their message; anything else is logged and answered with a generic message."""
    import gradio as gr

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except ValueError as exc:  # SchemaError, CSVError, BundleError: written for people
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("handler %s failed", fn.__name__)
            raise gr.Error("Something went wrong on our side; it has been logged.", print_exception=False) from None
    return inner


def plot(fig: str | None) -> Any:
    """A figure's plotly JSON (`space.render.figures`) as a `gr.Plot` value."""
    from gradio.components.plot import PlotData
    return None if fig is None else PlotData(type="plotly", plot=fig)


@dataclass
class Context:
    """One bundle's UI: what each tab function reads. The Space's live bundle is built once into
    the page; a session's own bundle (`visitor`) is built inside `gr.render` (space.active)."""
    live: Any  # space.loader.Live
    settings: Settings
    handlers: Handlers
    demo: Any = field(default=None, repr=False)  # the gr.Blocks being built
    visitor: bool = False  # a session's own bundle: no page-load events, no tab of its own
    views: list[tuple[Any, Any]] = field(default_factory=list, repr=False)  # (tab, live column) per tab

    @contextlib.contextmanager
    def tab(self, label: str, *, id: str) -> Iterator[None]:
        """Where a tab's components go: for the live bundle a `gr.Tab` holding a column that
        `space.active` hides while the session looks at its own bundle; for a visitor's bundle a
        plain column inside that tab."""
        import gradio as gr
        if self.visitor:
            with gr.Column():
                yield
            return
        with gr.Tab(label, id=id) as tab, gr.Column() as live:
            yield
        self.views.append((tab, live))

    @property
    def predictor(self) -> Any:
        return self.live.predictor

    @property
    def schema(self) -> Any:
        return self.live.predictor.schema

    @property
    def manifest(self) -> Any:
        return self.live.predictor.manifest

    @property
    def choices(self) -> list[tuple[str, str]]:
        """Feature dropdown choices: (label, column name)."""
        return [(f.label, f.name) for f in self.schema.features]

    def uploaded_path(self, file: Any) -> Path:
        """The path of a file this visitor uploaded to this app (nothing else is read)."""
        return uploaded_file(file, upload_dir=self.demo.GRADIO_CACHE,
                             uploaded=getattr(self.demo, "upload_file_set", None))
