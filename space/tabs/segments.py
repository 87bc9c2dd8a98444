"""The Segments tab: what each segment is worth (the headline, the concentration chart), the segment
cards (sortable by value), the segments as rules and SQL, a feature by segment."""
from __future__ import annotations

from model.contract.markdown import md_literal
from space.handlers import bundle_text
from space.render import cards, figures
from space.tabs.common import Context, guard, plot


def segments_tab(ctx: Context) -> None:
    import gradio as gr

    predictor, schema, manifest = ctx.predictor, ctx.schema, ctx.manifest
    with ctx.tab("Segments", id="segments"):
        if manifest.value is not None:
            gr.Markdown(f"### {md_literal(manifest.value.headline)}", elem_id="value-headline")
            gr.Plot(plot(figures.concentration_figure(predictor.segments)), label="Revenue concentration by segment")
        sorts = list(cards.SORTS) if manifest.value is not None else ["segment", "customers"]
        order = gr.Radio([(cards.SORTS[k], k) for k in sorts], value="segment", label="Sort the cards by",
                         elem_id="segment-sort")
        grid = gr.HTML(cards.segment_cards(predictor.segments, schema, manifest.rules), label="Segment cards")
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

    def sorted_cards(sort: str) -> str:
        return cards.segment_cards(predictor.segments, schema, manifest.rules, sort=sort)

    feature.change(guard(segment_plot), feature, figure, api_name="segment_plot", api_visibility="undocumented")
    order.change(guard(sorted_cards), order, grid, api_name="segment_cards", api_visibility="undocumented")
