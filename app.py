"""Customer segments → offers: the Gradio Space.

`python app.py` serves the UI and the JSON routes on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT
(default 0.0.0.0:7860) from the committed default bundle, or from MODEL_DIR, or from the Hub when
MODEL_REPO (+ MODEL_REVISION) is set. Wiring only: every handler is a plain function over the
Predictor and `model.views` / `model.figures`; validation errors become `gr.Error` in one place.
"""
from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any, Callable, Literal

ASSETS = Path(__file__).resolve().parent / "assets"
log = logging.getLogger("app")


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The UI's one error boundary: our ValueErrors reach the visitor (and gradio_client as AppError)
    with their message; anything else is logged and answered with a generic message."""
    import functools

    import gradio as gr

    @functools.wraps(fn)
    def inner(*args: Any) -> Any:
        try:
            return fn(*args)
        except gr.Error:
            raise
        except ValueError as exc:  # SchemaError, CSVError, BundleError: written for people
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("handler %s failed", fn.__name__)
            raise gr.Error("Something went wrong on our side; it has been logged.", print_exception=False) from None
    return inner


def build_demo(live: Any, settings: Any) -> Any:
    """The Blocks UI for one live bundle. Builds plots' backgrounds once; launches nothing."""
    import gradio as gr
    from gradio.components.plot import PlotData
    from gradio.utils import get_upload_folder

    from model import figures, views
    from model.batch import score_upload
    from model.batch_files import BatchFiles, uploaded_file
    from model.schema import NumericFeature, param_name

    p = live.predictor
    schema, manifest, summary = p.schema, p.manifest, p.bundle.summary
    labels = {f.name: f.label for f in schema.features}
    choices = [(f.label, f.name) for f in schema.features]
    map_fig = figures.MapFigure(p.bundle.sample, p.segments)
    # inside Gradio's cache, so Gradio serves the scored file without copying it
    files = BatchFiles(get_upload_folder(), max_disk_bytes=settings.max_batch_disk_bytes)

    def plot(fig: Any) -> Any:
        return None if fig is None else PlotData(type="plotly", plot=fig if isinstance(fig, str) else fig.to_json())

    # -- handlers (plain functions) --------------------------------------------------------------
    def predict_ui(*values: Any) -> tuple[str, str, Any]:
        result = p.predict_one(dict(zip(schema.names, values)))
        seg = result["segment_id"]
        return (views.result_card(result, manifest), views.offer_cards(result["offers"], seg),
                plot(map_fig.with_point(result["pca"]["x"], result["pca"]["y"], seg)))

    def predict_api(*values: Any) -> dict:
        return p.predict_one(dict(zip(schema.names, values)))

    predict_api.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(param_name(f.name), inspect.Parameter.POSITIONAL_OR_KEYWORD)
         for f in schema.features], return_annotation=dict)
    predict_api.__annotations__ = {
        param_name(f.name): (float if isinstance(f, NumericFeature) else Literal[tuple(f.levels)])  # type: ignore[misc]
        for f in schema.features} | {"return": dict}
    predict_api.__doc__ = ("Segment, margin over the runner-up, why, offers and PCA point for one customer. "
                           "Fields: " + ", ".join(f"{param_name(f.name)} ({f.label})" for f in schema.features))

    def segments_api() -> list[dict]:
        return p.segments_payload()

    def ping() -> str:
        """Trivial endpoint: the queue's own round trip, for monitoring and benchmarks."""
        return "ok"

    def predict_batch(file: Any) -> tuple[str, str]:
        if file is None:
            raise ValueError("choose a CSV file first")
        path = uploaded_file(file, upload_dir=demo.GRADIO_CACHE, uploaded=getattr(demo, "upload_file_set", None))
        size = path.stat().st_size
        if size > settings.max_upload_bytes:
            raise ValueError(f"the file is {size:,} bytes; the limit is {settings.max_upload_bytes:,}")
        payload, result = score_upload(p, path.read_bytes(), max_bytes=settings.max_upload_bytes,
                                      max_rows=settings.max_batch_rows)
        return str(files.write(payload, stem=path.stem)), views.batch_summary(result)

    def segment_plot(feature: str) -> Any:
        return plot(figures.segment_feature_figure(summary, schema.feature(feature), p.segments))

    def data_plot(feature: str) -> Any:
        return plot(figures.distribution_figure(summary, schema.feature(feature)))

    # -- layout -------------------------------------------------------------------------------
    source_note = views.live_source_text(live.source)
    with gr.Blocks(title=manifest.title, delete_cache=(1800, 3600), analytics_enabled=False) as demo:
        gr.HTML(views.header(manifest, manifest.training.rows))
        if live.source.fallback_reason:
            gr.HTML(f'<div class="banner-warn" role="alert">⚠ {views._e(source_note)}</div>')
        with gr.Tabs():
            with gr.Tab("Predict", id="predict"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4, min_width=280):
                        inputs = [_input(gr, f) for f in schema.features]
                        go = gr.Button("Find segment", variant="primary", elem_id="predict-btn")
                        gr.Examples(examples=views.example_rows(p.segments, schema), inputs=inputs,
                                    label="Example customers",
                                    cache_examples=False, elem_id="examples")
                    with gr.Column(scale=6, min_width=300):
                        result_html = gr.HTML(views.empty_result(), label="Segment")
                        offers_html = gr.HTML("", label="Offers")
                        map_plot = gr.Plot(plot(map_fig.background()), label="Customers on the PCA map",
                                           elem_id="pca-map")
            with gr.Tab("Segments", id="segments"):
                gr.HTML(views.segment_cards(p.segments, schema), label="Segment cards")
                seg_feature = gr.Dropdown(choices, value=schema.names[0], label="Feature by segment")
                seg_plot = gr.Plot(segment_plot(schema.names[0]), label="Feature by segment plot")
            with gr.Tab("Data", id="data"):
                gr.Markdown(f"The training data at a glance ({summary.rows:,} rows after cleaning). "
                            "Only aggregates are kept in the bundle, never customer rows.")
                data_feature = gr.Dropdown(choices, value=schema.names[0], label="Feature")
                data_plot_out = gr.Plot(data_plot(schema.names[0]), label="Distribution")
                corr = figures.correlation_figure(summary, labels)
                if corr is not None:
                    gr.Plot(plot(corr), label="Correlations")
                gr.Dataframe(views.outlier_rows(summary, schema),
                             headers=["feature", "median", "IQR range", "outliers (1.5×IQR)"],
                             label="Outliers", interactive=False)
            with gr.Tab("Model", id="model"):
                gr.Markdown(views.model_overview(manifest, live.source))
                gr.Plot(plot(figures.selection_figure(manifest.selection)), label="k selection")
                header, rows = views.comparison_rows(manifest.comparison)
                if rows and manifest.comparison is not None:
                    gr.Markdown("### Clustering algorithms compared on the same data\n"
                                + views._md(manifest.comparison.why))
                    gr.Dataframe(rows, headers=header, label="Algorithm comparison", interactive=False)
                kd = figures.kdistance_figure(manifest.comparison)
                if kd is not None:
                    gr.Plot(plot(kd), label="k-distance")
                gr.Markdown("### Cleaning report\n" + views.cleaning_text(manifest.cleaning))
                with gr.Accordion("Model card", open=False):
                    gr.Markdown(_card_body(p.bundle.path))
            with gr.Tab("Batch", id="batch"):
                gr.Markdown(f"Upload a CSV with the columns **{', '.join(schema.names)}** "
                            f"(up to {settings.max_batch_rows:,} rows, {settings.max_upload_bytes // 2**20} MB). "
                            "You get the same rows back with their segment; rows that cannot be scored say why. "
                            "[Download an example file](example.csv).")
                upload = gr.File(label="Customer CSV", file_types=[".csv"], file_count="single")
                score_btn = gr.Button("Score file", variant="primary")
                scored = gr.File(label="Scored CSV", interactive=False)
                batch_md = gr.Markdown(label="Batch summary")
            with gr.Tab("API", id="api"):
                gr.Markdown(views.api_help(schema, "http://127.0.0.1:7860/"))

        # preprocess=False: gr.Number(precision=0) would turn False into 0 and NaN into an anonymous
        # crash, and gr.Dropdown refuses " female " without naming the field; model.schema sees
        # the raw values, as on every other surface.
        go.click(_guard(predict_ui), inputs, [result_html, offers_html, map_plot], api_name="predict_form",
                 api_visibility="undocumented", preprocess=False)
        seg_feature.change(_guard(segment_plot), seg_feature, seg_plot, api_name="segment_plot",
                           api_visibility="undocumented")
        data_feature.change(_guard(data_plot), data_feature, data_plot_out, api_name="data_plot",
                            api_visibility="undocumented")
        score_btn.click(_guard(predict_batch), upload, [scored, batch_md], api_name="predict_batch")
        gr.api(_guard(predict_api), api_name="predict")
        gr.api(_guard(segments_api), api_name="segments")
        gr.api(ping, api_name="ping")
    demo.batch_files = files  # create_app deletes them at shutdown
    return demo


def _input(gr: Any, f: Any) -> Any:
    from model.schema import NumericFeature
    if isinstance(f, NumericFeature):
        return gr.Number(value=int(f.median) if f.integer else f.median, label=f.label, precision=0 if f.integer else None,
                         info=f"training range {f.min:g} – {f.max:g}", elem_id=f"field-{_slug(f.name)}")
    return gr.Dropdown(list(f.levels), value=f.mode, label=f.label, elem_id=f"field-{_slug(f.name)}")


def _slug(name: str) -> str:
    from model.schema import param_name
    return param_name(name).replace("_", "-")


def _card_body(path: Path) -> str:
    text = (Path(path) / "README.md").read_text(encoding="utf-8")
    if text.startswith("---"):
        text = text.split("---", 2)[2]
    # images in the card point at files of the Hub repo; the app shows its own interactive plots
    return "\n".join(line for line in text.splitlines() if not line.startswith("!["))


def create_app(settings: Any = None) -> Any:
    """FastAPI app: JSON routes first, then the Gradio UI mounted at "/" with safe launch settings."""
    from model.loader import load_live
    from model.settings import load_settings

    settings = settings or load_settings()
    # Load the bundle before importing gradio: skops scans every loaded module when it is imported,
    # so importing it after gradio costs ~1.4 s more (measured).
    live = load_live(settings)

    import gradio as gr
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    from model.api import add_routes
    from model.gradio_endpoints import server_components_of
    from model.gradio_gate import GradioGate, endpoints_of
    demo = build_demo(live, settings)
    demo.queue(api_open=False, max_size=settings.queue_size,
               default_concurrency_limit=settings.gradio_concurrency)
    app = FastAPI(title="Customer segments API", version=live.predictor.manifest.created_at,
                  description="Segment and offers for a customer. The Gradio UI is served at /.",
                  lifespan=demo.batch_files.lifespan)
    add_routes(app, live, settings)
    # inside CORS, so its 4xx answers carry the CORS headers too
    app.add_middleware(GradioGate, endpoints=endpoints_of(demo, live.predictor.schema),
                       max_body=settings.max_body_bytes, upload_dir=demo.GRADIO_CACHE,
                       max_upload=settings.max_upload_request_bytes, body_timeout_s=settings.body_timeout_s,
                       server_components=server_components_of(demo))
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                       allow_methods=["GET", "POST"], allow_headers=["Content-Type"])
    app = gr.mount_gradio_app(
        app, demo, path="/", show_error=False, run_history=False, enable_monitoring=False,
        max_file_size=settings.max_upload_bytes, footer_links=["api"], ssr_mode=False,
        css_paths=[ASSETS / "app.css"], theme=gr.themes.Soft(), mcp_server=False,
        # Gradio's page has no viewport tag: phones would lay it out 980 px wide and zoom out.
        head='<meta name="viewport" content="width=device-width, initial-scale=1">')
    app.state.live = live
    return app


def main() -> None:
    import uvicorn

    from model.settings import load_settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    app = create_app(settings)
    uvicorn.run(app, host=settings.server_name, port=settings.server_port, log_level="warning")


def __getattr__(name: str) -> Any:
    # `import app; app.demo` builds the UI on demand (for `gradio app.py` reload mode) without
    # touching disk at import time.
    if name == "demo":
        from model.loader import load_live
        from model.settings import load_settings
        settings = load_settings()
        return build_demo(load_live(settings), settings)
    raise AttributeError(name)


if __name__ == "__main__":
    main()
