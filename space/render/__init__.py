"""What the tabs show, as HTML, Markdown, tables and Plotly figures: pure functions over the
typed manifest and predictions (no gradio). Every string from data is escaped.
"""
