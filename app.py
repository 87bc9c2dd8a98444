"""Customer segments → offers: the Gradio Space.

`python app.py` serves the UI, the JSON routes and an MCP server on GRADIO_SERVER_NAME:
GRADIO_SERVER_PORT (default 0.0.0.0:7860) from the committed default bundle, or from MODEL_DIR, or
from the Hub when MODEL_REPO (+ MODEL_REVISION) is set. Wiring only: handlers are plain functions
over the Predictor and `model.views*` / `model.figures`; validation errors become `gr.Error` in one
place (`_guard`), or — for the form — a marked field and an error card.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable

ASSETS = Path(__file__).resolve().parent / "assets"
log = logging.getLogger("app")
# Runs in the browser before the form is scored: bring the result card into view on a phone,
# where it sits below the form (on a desktop it is beside it and nothing moves).
SCROLL_TO_RESULT = """(...args) => {
  const card = document.querySelector('#result-block');
  if (card) { const top = card.getBoundingClientRect().top;
    if (top > window.innerHeight * 0.5 || top < 0) card.scrollIntoView({behavior: 'smooth', block: 'start'}); }
  return args; }"""


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The UI's one error boundary: our ValueErrors reach the visitor (and gradio_client as AppError)
    with their message; anything else is logged and answered with a generic message."""
    import functools

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


def build_demo(live: Any, settings: Any) -> Any:
    """The Blocks UI for one live bundle. Builds plots' backgrounds once; launches nothing."""
    import gradio as gr
    from gradio.components.plot import PlotData
    from gradio.utils import get_upload_folder

    from model import figures, views, views_io, views_model
    from model.batch_files import BatchFiles, uploaded_file
    from model.errors import CSVError
    from model.predictor import SegmentInfo
    from model.surface import CsvScores, Surface, base_url, bundle_text, card_body, typed_predict

    p = live.predictor
    schema, manifest, summary = p.schema, p.manifest, p.bundle.summary
    choices = [(f.label, f.name) for f in schema.features]
    ui = Surface(p, settings, BatchFiles(get_upload_folder(), max_disk_bytes=settings.max_batch_disk_bytes))

    def plot(fig: Any) -> Any:
        return None if fig is None else PlotData(type="plotly", plot=fig if isinstance(fig, str) else fig.to_json())

    def uploaded_path(file: Any) -> Path:
        return uploaded_file(file, upload_dir=demo.GRADIO_CACHE, uploaded=getattr(demo, "upload_file_set", None))

    # -- handlers: the Surface's answers as component values -------------------------------------
    def score_form(record: dict[str, Any], *, fill: bool = False) -> list[Any]:
        """Result card, offers, map and every field's state (a refused value marks its field with
        the message). `fill` also puts the values in the form (a deep link)."""
        answer = ui.form(record)
        fields = [gr.update(info=f"⚠ {answer.errors[n]}" if n in answer.errors else ui.infos[n],
                            elem_classes=["field-invalid"] if n in answer.errors else [],
                            **({"value": record[n]} if fill else {})) for n in schema.names]
        return [answer.card, answer.offers, answer.map_json, *fields]

    def show_map(map_json: str | None) -> Any:
        """Second step of a form event: the map (re-drawing a few thousand points takes a phone
        a second or more; the result card is painted before it starts)."""
        return gr.skip() if map_json is None else plot(map_json)

    def predict_ui(*values: Any) -> list[Any]:
        return score_form(dict(zip(schema.names, values)))

    def from_link(request: gr.Request) -> list[Any]:
        """A deep link (`?age=34&income=…`) fills the form and scores it on load."""
        record = views_io.query_record(schema, dict(request.query_params) if request else {})
        if record is None:
            return [gr.skip()] * (3 + len(schema.names))
        return score_form(record, fill=True)

    segment_customer = typed_predict(lambda record: p.predict_one(record), schema)

    def list_segments() -> list[SegmentInfo]:
        """Every segment: id, name, size, share, what sets it apart and its offers with their rationale."""
        return p.segments_payload()

    def score_csv(csv_text: str) -> CsvScores:
        """Score a small customer CSV (header + rows; for a bundle trained on an order log, the log itself).
        Every row gets a segment or the reason it got none.

        Args:
            csv_text: the CSV file's text, UTF-8, comma-separated, with a header naming the columns.
        """
        return ui.csv_scores(csv_text)

    def ping() -> str:
        """Trivial endpoint: the queue's own round trip, for monitoring and benchmarks."""
        return "ok"

    def predict_batch(file: Any) -> tuple[str, str]:
        """Score an uploaded customer CSV (for a bundle trained on an order log, the log itself): the scored
        file — every row in order with its segment, runner-up, why and offers, or the reason it got none —
        and a summary. A file that cannot be read as a table raises an error naming the problem."""
        if file is None:
            raise ValueError("choose a CSV file first")
        _, result, out = ui.batch(uploaded_path(file))
        return out, views_io.batch_summary(result)

    def batch_ui(file: Any) -> tuple[Any, str, Any]:
        """The page: the same, plus a preview; a file that cannot be used is said on the page."""
        try:
            if file is None:
                raise ValueError("choose a CSV file first")
            payload, result, out = ui.batch(uploaded_path(file))
        except (CSVError, ValueError) as exc:
            return None, views_io.batch_error(str(exc)), gr.update(value=None, visible=False)
        header, rows = views_io.preview(payload)
        return out, views_io.batch_summary(result), gr.update(value=rows, headers=header, visible=True)

    def monitor_ui(file: Any, previous: Any) -> tuple[str, Any, Any]:
        if file is None:
            raise ValueError("choose a CSV file of new customers (or an order log) first")
        markdown, psi, shares = ui.monitor(uploaded_path(file).read_bytes(),
                                           None if previous is None else uploaded_path(previous).read_bytes())
        return markdown, plot(psi), plot(shares)

    def segment_plot(feature: str) -> Any:
        return plot(ui.segment_plot(feature))

    def data_plot(feature: str) -> Any:
        return plot(ui.data_plot(feature))

    def api_page(request: gr.Request) -> str:
        url = base_url(request.headers if request else {}, request.url.scheme if request else "http")
        return views_io.api_help(schema, url, space_id=os.environ.get("SPACE_ID") or None)

    # gradio reads these hints (the request, the API's documented types): as objects, not strings
    for handler in (from_link, api_page):
        handler.__annotations__["request"] = gr.Request
    list_segments.__annotations__["return"] = list[SegmentInfo]
    score_csv.__annotations__.update({"csv_text": str, "return": CsvScores})

    # -- layout -------------------------------------------------------------------------------
    with gr.Blocks(title=manifest.title, delete_cache=(1800, 3600), analytics_enabled=False) as demo:
        gr.HTML(views.header(manifest, manifest.training.rows))
        if live.source.fallback_reason:
            gr.HTML(f'<div class="banner-warn" role="alert">⚠ {views._e(views.live_source_text(live.source))}</div>')
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Predict", id="predict"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4, min_width=280):
                        inputs = [_input(gr, f, ui.infos[f.name]) for f in schema.features]
                        go = gr.Button("Find segment", variant="primary", elem_id="predict-btn")
                    with gr.Column(scale=6, min_width=300):
                        result_html = gr.HTML(views.empty_result(), label="Segment", elem_id="result-block")
                        offers_html = gr.HTML("", label="Offers")
                        map_plot = gr.Plot(plot(ui.map.background()), label="Where this customer sits among "
                                           "everyone (the map squeezes all features into two directions; nearby "
                                           "points are similar customers)", elem_id="pca-map")
                with gr.Accordion("Example customers: one typical member of each segment", open=True):
                    gr.Examples(examples=views.example_rows(p.segments, schema), inputs=inputs, label=None,
                                cache_examples=False, elem_id="examples")
            with gr.Tab("Segments", id="segments"):
                gr.HTML(views.segment_cards(p.segments, schema, manifest.rules), label="Segment cards")
                if manifest.rules is not None:
                    with gr.Accordion(f"Segments as rules for a CRM or a database ({manifest.rules.fidelity:.1%} "
                                      "agree with the model)", open=False):
                        gr.Code(views.rules_text(manifest.rules, p.segments), language=None, label="Rules",
                                interactive=False, elem_id="rules-text")
                        gr.Code(bundle_text(p.bundle.path, "segment_rules.sql"), language="sql",
                                label="segment_rules.sql (SQLite, DuckDB, PostgreSQL)", interactive=False,
                                elem_id="rules-sql")
                seg_feature = gr.Dropdown(choices, value=schema.names[0], label="Feature by segment")
                seg_plot = gr.Plot(segment_plot(schema.names[0]), label="Feature by segment plot")
            with gr.Tab("Data", id="data"):
                gr.Markdown(f"The training data at a glance ({summary.rows:,} rows after cleaning). "
                            "Only aggregates are kept in the bundle, never customer rows.")
                data_feature = gr.Dropdown(choices, value=schema.names[0], label="Feature")
                data_plot_out = gr.Plot(data_plot(schema.names[0]), label="Distribution")
                corr = figures.correlation_figure(summary, ui.labels)
                if corr is not None:
                    gr.Plot(plot(corr), label="Correlations")
                gr.Dataframe(views_model.outlier_rows(summary, schema),
                             headers=["feature", "median", "IQR range", "outliers (1.5×IQR)"],
                             label="Outliers", interactive=False)
            with gr.Tab("Model", id="model"):
                gr.Markdown(views_model.model_overview(manifest, live.source))
                gr.Plot(plot(figures.selection_figure(manifest.selection)), label="k selection")
                header, rows = views_model.evidence_rows(manifest)
                gr.Dataframe(rows, headers=header, label="Evidence for each k", interactive=False)
                header, rows = views_model.comparison_rows(manifest.comparison)
                if rows and manifest.comparison is not None:
                    gr.Markdown("### Clustering algorithms compared on the same data\n"
                                + views.md_literal(manifest.comparison.why))
                    gr.Dataframe(rows, headers=header, label="Algorithm comparison", interactive=False)
                kd = figures.kdistance_figure(manifest.comparison)
                if kd is not None:
                    gr.Plot(plot(kd), label="k-distance")
                gr.Markdown(views_model.GLOSSARY)
                if manifest.transactions is not None:
                    gr.Markdown(views_model.transactions_text(manifest.transactions))
                gr.Markdown("### Cleaning report\n" + views_model.cleaning_text(manifest.cleaning))
                with gr.Accordion("Model card", open=False):
                    gr.Markdown(card_body(p.bundle.path))
            with gr.Tab("Monitor", id="monitor"):
                gr.Markdown("Has the customer base changed since training? Upload new customers (the same "
                            "columns" + (", or a new order log" if manifest.transactions else "") + "): each feature "
                            "is compared with the training data (population stability index), segment shares then "
                            "and now, and the share unlike the training data, with a verdict. Add an earlier scored "
                            "file (with the id column) to see who moved between segments.")
                with gr.Row():
                    new_file = gr.File(label="New customers (CSV)", file_types=[".csv"], file_count="single")
                    old_file = gr.File(label="Earlier scored file (optional)", file_types=[".csv"], file_count="single")
                monitor_btn = gr.Button("Compare with training", variant="primary")
                monitor_md = gr.Markdown(label="Drift report")
                psi_plot = gr.Plot(label="Drift per feature")
                shares_plot = gr.Plot(label="Segment shares then and now")
            with gr.Tab("Batch", id="batch"):
                cols = ", ".join(f.label for f in schema.features)
                gr.Markdown(f"Upload a CSV with the columns **{views.md_literal(', '.join(schema.names))}** "
                            f"({views.md_literal(cols)})"
                            + (" — or an order log" if manifest.transactions else "")
                            + f", up to {settings.max_batch_rows:,} rows and {settings.max_upload_bytes // 2**20} MB. "
                            "You get the same rows back with their segment, the runner-up, why, and the offers; "
                            "rows that cannot be scored say why. [Download an example file](example.csv).")
                upload = gr.File(label="Customer CSV", file_types=[".csv"], file_count="single")
                score_btn = gr.Button("Score file", variant="primary")
                api_batch = gr.Button(visible=False)  # /predict_batch for programs: errors raise
                batch_md = gr.Markdown(label="Batch summary", elem_id="batch-summary")
                scored = gr.File(label="Scored CSV", interactive=False)
                preview = gr.Dataframe(label="Scored rows (first 20)", interactive=False, visible=False,
                                       elem_id="batch-preview")
            with gr.Tab("API", id="api"):
                api_md = gr.Markdown(views_io.api_help(schema, "http://127.0.0.1:7860/"))

        # preprocess=False: gr.Number(precision=0) would turn False into 0 and NaN into an anonymous
        # crash, and gr.Dropdown refuses " female " without naming the field; model.schema sees
        # the raw values, as on every other surface.
        map_json = gr.State(None)  # the form's map, drawn by a second step once the card is shown
        form_out = [result_html, offers_html, map_json, *inputs]
        form_events = [go.click(_guard(predict_ui), inputs, form_out, api_name="predict_form",
                                api_visibility="undocumented", preprocess=False, js=SCROLL_TO_RESULT)]
        for box in inputs:
            if isinstance(box, gr.Number):  # Enter in a field scores the form
                form_events.append(box.submit(_guard(predict_ui), inputs, form_out, api_visibility="private",
                                              preprocess=False, js=SCROLL_TO_RESULT))
        seg_feature.change(_guard(segment_plot), seg_feature, seg_plot, api_name="segment_plot",
                           api_visibility="undocumented")
        data_feature.change(_guard(data_plot), data_feature, data_plot_out, api_name="data_plot",
                            api_visibility="undocumented")
        score_btn.click(_guard(batch_ui), upload, [scored, batch_md, preview], api_name="score_file",
                        api_visibility="undocumented")
        api_batch.click(_guard(predict_batch), upload, [scored, batch_md], api_name="predict_batch")
        monitor_btn.click(_guard(monitor_ui), [new_file, old_file], [monitor_md, psi_plot, shares_plot],
                          api_name="monitor", api_visibility="undocumented")
        gr.api(_guard(segment_customer), api_name="predict")
        gr.api(_guard(list_segments), api_name="segments")
        gr.api(_guard(score_csv), api_name="score_csv")
        gr.api(ping, api_name="ping", api_visibility="private")
        demo.load(api_page, None, api_md, api_visibility="private")
        form_events.append(demo.load(_guard(from_link), None, form_out, api_visibility="private", preprocess=False))
        for event in form_events:
            event.then(show_map, map_json, map_plot, api_visibility="private")
    demo.batch_files = ui.files  # create_app deletes them at shutdown
    return demo


def _input(gr: Any, f: Any, info: str) -> Any:
    from model.schema import NumericFeature
    elem = f"field-{_slug(f.name)}"
    if isinstance(f, NumericFeature):
        value = int(f.median) if f.integer and float(f.median).is_integer() else f.median
        return gr.Number(value=value, label=f.label, precision=0 if f.integer else None, info=info, elem_id=elem)
    return gr.Dropdown(list(f.levels), value=f.mode, label=f.label, info=info, elem_id=elem)


def _slug(name: str) -> str:
    from model.schema import param_name
    return param_name(name).replace("_", "-")


def create_app(settings: Any = None) -> Any:
    """FastAPI app: JSON routes first, then the Gradio UI (and its MCP server) mounted at "/"."""
    from model.loader import load_live
    from model.settings import load_settings

    settings = settings or load_settings()
    live = load_live(settings)

    import gradio as gr
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    from model.api import add_routes, add_embed_route
    from model.gradio_endpoints import server_components_of
    from model.gradio_gate import GradioGate, endpoints_of
    demo = build_demo(live, settings)
    demo.queue(api_open=False, max_size=settings.queue_size,
               default_concurrency_limit=settings.gradio_concurrency)
    app = FastAPI(title="Customer segments API", version=live.predictor.manifest.created_at,
                  description="Segment and offers for a customer. The Gradio UI is served at /.",
                  lifespan=demo.batch_files.lifespan)
    add_routes(app, live, settings)
    add_embed_route(app, Path(gr.__file__).parent / "templates" / "frontend" / "gradio.js")
    # inside CORS, so its 4xx answers carry the CORS headers too
    app.add_middleware(GradioGate, endpoints=endpoints_of(demo, live.predictor.schema),
                       max_body=settings.max_body_bytes, upload_dir=demo.GRADIO_CACHE,
                       max_upload=settings.max_upload_request_bytes, body_timeout_s=settings.body_timeout_s,
                       server_components=server_components_of(demo))
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                       allow_methods=["GET", "POST"], allow_headers=["*"])  # no credentials: any header is harmless
    app = gr.mount_gradio_app(
        app, demo, path="/", show_error=False, run_history=False, enable_monitoring=False,
        max_file_size=settings.max_upload_bytes, footer_links=["api"], ssr_mode=False,
        css_paths=[ASSETS / "app.css"], theme=gr.themes.Soft(), mcp_server=settings.mcp_server,
        # Gradio's page has no viewport tag: phones would lay it out 980 px wide and zoom out.
        head='<meta name="viewport" content="width=device-width, initial-scale=1">'
             f'<script>{(ASSETS / "a11y.js").read_text(encoding="utf-8")}</script>')
    _json_tool_results(demo)
    app.state.live = live
    return app


def _json_tool_results(demo: Any) -> None:
    """MCP tools answer with the text of each output: make a dict or a list JSON (Gradio writes
    Python's repr), so agents read the same document as POST /predict. Files stay files."""
    import json

    from gradio_client.utils import is_file_obj_with_meta
    server = getattr(demo, "mcp_server_obj", None)
    if server is None:
        return
    original = server.postprocess_output_data

    def as_json(data: Any, root_url: str) -> Any:
        return original([json.dumps(d, ensure_ascii=False) if isinstance(d, (dict, list)) and not is_file_obj_with_meta(d)
                         else d for d in data], root_url)
    server.postprocess_output_data = as_json


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
