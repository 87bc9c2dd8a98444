"""The API tab and the endpoints it documents: `/predict`, `/segments`, `/score_csv` for
gradio_client and MCP (typed and described from the bundle), and how to call them from here."""
from __future__ import annotations

import os

from model.serving.predictor import SegmentInfo
from space.handlers import CsvScores, base_url, typed_predict
from space.render import pages
from space.tabs.common import Context, guard


def api_tab(ctx: Context) -> None:
    import gradio as gr

    schema, predictor, ui = ctx.schema, ctx.predictor, ctx.handlers
    with gr.Tab("API", id="api") as tab:
        caps = {"max_instances": ctx.settings.max_batch_instances, "max_batch_bytes": ctx.settings.max_batch_body_bytes}
        page = gr.Markdown(pages.api_help(schema, "http://127.0.0.1:7860/", **caps))

    segment_customer = typed_predict(lambda record: predictor.predict_one(record), schema)

    def list_segments() -> list[SegmentInfo]:
        """Every segment: id, name, size, share, what sets it apart, its offers with their rationale, and
        what it is worth (share of customers and of revenue, revenue and orders per customer; null
        when the bundle has no money column)."""
        return predictor.segments_payload()

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

    def api_page(request: gr.Request) -> str:
        url = base_url(request.headers if request else {}, request.url.scheme if request else "http")
        return pages.api_help(schema, url, space_id=os.environ.get("SPACE_ID") or None, **caps)

    # gradio reads these hints (the request, the API's documented types) as objects, not strings
    api_page.__annotations__["request"] = gr.Request
    list_segments.__annotations__["return"] = list[SegmentInfo]
    score_csv.__annotations__.update({"csv_text": str, "return": CsvScores})

    with tab:  # gr.api adds a component: inside the tab, not directly in gr.Tabs
        gr.api(guard(segment_customer), api_name="predict")
        gr.api(guard(list_segments), api_name="segments")
        gr.api(guard(score_csv), api_name="score_csv")
        gr.api(ping, api_name="ping", api_visibility="private")
    ctx.demo.load(api_page, None, page, api_visibility="private")
