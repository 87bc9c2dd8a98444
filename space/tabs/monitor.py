"""The Monitor tab: new customers (or a new order log) against the training data, and who moved."""
from __future__ import annotations

from typing import Any

from space.tabs.common import Context, guard, plot


def monitor_tab(ctx: Context) -> None:
    import gradio as gr

    with ctx.tab("Monitor", id="monitor"):
        gr.Markdown("Has the customer base changed since training? Upload new customers (the same "
                    "columns" + (", or a new order log" if ctx.manifest.transactions else "") + "): each feature "
                    "is compared with the training data (population stability index), segment shares then "
                    "and now, and the share unlike the training data, with a verdict. Add an earlier scored "
                    "file (with the id column) to see who moved between segments.")
        with gr.Row():
            new_file = gr.File(label="New customers (CSV)", file_types=[".csv"], file_count="single")
            old_file = gr.File(label="Earlier scored file (optional)", file_types=[".csv"], file_count="single")
        button = gr.Button("Compare with training", variant="primary")
        report = gr.Markdown(label="Drift report")
        psi_plot = gr.Plot(label="Drift per feature")
        shares_plot = gr.Plot(label="Segment shares then and now")

    def monitor_ui(file: Any, previous: Any) -> tuple[str, Any, Any]:
        if file is None:
            raise ValueError("choose a CSV file of new customers (or an order log) first")
        markdown, psi, shares = ctx.handlers.monitor(
            ctx.uploaded_path(file), None if previous is None else ctx.uploaded_path(previous))
        return markdown, plot(psi), plot(shares)

    button.click(guard(monitor_ui), [new_file, old_file], [report, psi_plot, shares_plot],
                 api_name="monitor", api_visibility="undocumented")
