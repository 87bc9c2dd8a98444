"""The Model tab: the evidence behind k in plain words, the algorithms compared, the glossary,
the order-log and cleaning reports, the model card."""
from __future__ import annotations

from model.contract.markdown import md_literal
from space.handlers import card_body
from space.history import repo_history
from space.render import evidence, figures
from space.render.editing import history_markdown
from space.tabs.common import Context, guard, plot


def model_tab(ctx: Context) -> None:
    import gradio as gr

    manifest = ctx.manifest
    with ctx.tab("Model", id="model"):
        gr.Markdown(evidence.model_overview(manifest, ctx.live.source))
        gr.Plot(plot(figures.selection_figure(manifest.selection)), label="k selection")
        header, rows = evidence.evidence_rows(manifest)
        gr.Dataframe(rows, headers=header, label="Evidence for each k", interactive=False)
        header, rows = evidence.comparison_rows(manifest.comparison)
        if rows and manifest.comparison is not None:
            gr.Markdown("### Clustering algorithms compared on the same data\n" + md_literal(manifest.comparison.why))
            gr.Dataframe(rows, headers=header, label="Algorithm comparison", interactive=False)
        kd = figures.kdistance_figure(manifest.comparison)
        if kd is not None:
            gr.Plot(plot(kd), label="k-distance")
        gr.Markdown(evidence.GLOSSARY)
        if manifest.transactions is not None:
            gr.Markdown(evidence.transactions_text(manifest.transactions))
        gr.Markdown("### Cleaning report\n" + evidence.cleaning_text(manifest.cleaning))
        with gr.Accordion("Model card", open=False):
            gr.Markdown(card_body(ctx.predictor.bundle.path))
        if ctx.live.source.kind == "hub":  # serving locally, there is no repo history to show
            history_tab(ctx)


def history_tab(ctx: Context) -> None:
    """The model repo's last commits and what changed between them, fetched when asked."""
    import gradio as gr

    source, settings = ctx.live.source, ctx.settings
    with gr.Accordion("History of the model repo", open=False, elem_id="model-history"):
        button = gr.Button("Show the last commits", size="sm")
        out = gr.Markdown(label="Model repo history", elem_id="model-history-table")

    def model_history() -> str:
        try:
            entries = repo_history(source.repo, endpoint=settings.hf_endpoint, token=settings.hf_token,
                                   live_commit=source.commit, cache_dir=settings.hub_cache_dir)
        except ValueError as exc:  # the Hub is slow or down: the tab says so and goes on
            return f"⚠ {md_literal(str(exc))}"
        return history_markdown(entries, source.repo)

    button.click(guard(model_history), None, out, api_name="model_history", api_visibility="undocumented")
