"""The Batch tab: a CSV (or an order log) in → the scored CSV out, with a summary and a preview;
`/predict_batch` is the same for programs (errors raise)."""
from __future__ import annotations

from typing import Any

from model.contract.errors import CSVError
from model.contract.markdown import md_literal
from space.render import pages
from space.tabs.common import Context, guard


def batch_tab(ctx: Context) -> None:
    import gradio as gr

    schema, settings, ui = ctx.schema, ctx.settings, ctx.handlers
    with ctx.tab("Batch", id="batch"):
        cols = ", ".join(f.label for f in schema.features)
        gr.Markdown(f"Upload a CSV with the columns **{md_literal(', '.join(schema.names))}** "
                    f"({md_literal(cols)})"
                    + (" — or an order log" if ctx.manifest.transactions else "")
                    + f", up to {settings.max_batch_rows:,} rows and {settings.max_upload_bytes // 2**20} MB. "
                    "You get the same rows back with their segment, the runner-up, why, and the offers, "
                    "and the audiences for campaigns: one CSV per segment; rows that cannot be scored say why. [Download an example file](example.csv).")
        upload = gr.File(label="Customer CSV", file_types=[".csv"], file_count="single")
        score_btn = gr.Button("Score file", variant="primary")
        api_batch = gr.Button(visible=False)  # /predict_batch for programs: errors raise
        api_summary = gr.JSON(visible=False, label="Batch summary (data)")  # programs read data, not Markdown
        summary = gr.Markdown(label="Batch summary", elem_id="batch-summary")
        with gr.Row():
            scored = gr.File(label="Scored CSV", interactive=False)
            audiences = gr.File(label="Audiences: one CSV per segment (zip)", interactive=False,
                                elem_id="batch-audiences")
        preview = gr.Dataframe(label="Scored rows (first 20)", interactive=False, visible=False,
                               elem_id="batch-preview")

    def predict_batch(file: Any) -> tuple[str, dict[str, Any]]:
        """Score an uploaded customer CSV (for a bundle trained on an order log, the log itself): the scored
        file — every row in order with its segment, runner-up, why and offers, or the reason it got none —
        and a summary (rows, scored, rejected, per_segment, errors with their line, unlike_training). A file
        that cannot be read as a table raises an error naming the problem."""
        if file is None:
            raise ValueError("choose a CSV file first")
        _, result, out = ui.batch(ctx.uploaded_path(file))
        return out, result

    def batch_ui(file: Any) -> tuple[Any, Any, str, Any]:
        """The page: the same, plus the audiences (one CSV per segment, zipped) and a preview; a
        file that cannot be used is said on the page."""
        try:
            if file is None:
                raise ValueError("choose a CSV file first")
            path = ctx.uploaded_path(file)
            payload, result, out = ui.batch(path)
        except (CSVError, ValueError) as exc:
            return None, None, pages.batch_error(str(exc)), gr.update(value=None, visible=False)
        header, rows = pages.preview(payload)
        return (out, ui.audiences(payload, path), pages.batch_summary(result),
                gr.update(value=rows, headers=header, visible=True))

    score_btn.click(guard(batch_ui), upload, [scored, audiences, summary, preview], api_name="score_file",
                    api_visibility="undocumented")
    api_batch.click(guard(predict_batch), upload, [scored, api_summary], api_name="predict_batch")
