"""The Segments tab: the segment cards, the segments as rules and SQL, a feature by segment."""
from __future__ import annotations

from space.handlers import bundle_text
from space.render import cards
from space.tabs.common import Context, guard, plot


def segments_tab(ctx: Context) -> None:
    import gradio as gr

    predictor, schema, manifest = ctx.predictor, ctx.schema, ctx.manifest
    with ctx.tab("Segments", id="segments"):
        gr.HTML(cards.segment_cards(predictor.segments, schema, manifest.rules), label="Segment cards")
        if manifest.rules is not None:
            with gr.Accordion(f"Segments as rules for a CRM or a database ({manifest.rules.fidelity:.1%} "
                              "agree with the model)", open=False):
                gr.Code(cards.rules_text(manifest.rules, predictor.segments), language=None, label="Rules",
                        interactive=False, elem_id="rules-text")
                gr.Code(bundle_text(predictor.bundle.path, "segment_rules.sql"), language="sql",
                        label="segment_rules.sql (SQLite, DuckDB, PostgreSQL)", interactive=False,
                        elem_id="rules-sql")
        feature = gr.Dropdown(ctx.choices, value=schema.names[0], label="Feature by segment")
        figure = gr.Plot(plot(ctx.handlers.segment_plot(schema.names[0])), label="Feature by segment plot")

    def segment_plot(feature: str) -> object:
        return plot(ctx.handlers.segment_plot(feature))

    feature.change(guard(segment_plot), feature, figure, api_name="segment_plot", api_visibility="undocumented")
