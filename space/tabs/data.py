"""The Data tab: the training data at a glance, from aggregates only (never customer rows)."""
from __future__ import annotations

from space.render import evidence, figures
from space.tabs.common import Context, guard, plot


def data_tab(ctx: Context) -> None:
    import gradio as gr

    schema, summary, ui = ctx.schema, ctx.predictor.bundle.summary, ctx.handlers
    with ctx.tab("Data", id="data"):
        gr.Markdown(f"The training data at a glance ({summary.rows:,} rows after cleaning). "
                    "Only aggregates are kept in the bundle, never customer rows.")
        feature = gr.Dropdown(ctx.choices, value=schema.names[0], label="Feature")
        figure = gr.Plot(plot(ui.data_plot(schema.names[0])), label="Distribution")
        corr = figures.correlation_figure(summary, ui.labels)
        if corr is not None:
            gr.Plot(plot(corr), label="Correlations")
        gr.Dataframe(evidence.outlier_rows(summary, schema),
                     headers=["feature", "median", "IQR range", "outliers (1.5×IQR)"],
                     label="Outliers", interactive=False)

    def data_plot(feature: str) -> object:
        return plot(ui.data_plot(feature))

    feature.change(guard(data_plot), feature, figure, api_name="data_plot", api_visibility="undocumented")
