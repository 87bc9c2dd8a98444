"""The web layer: the Gradio Blocks (one module per tab), the JSON routes, the MCP server, the
request gate, uploads and their disk budget, figures and the Hub loader. Imports `model`, never
`training`; nothing imports it but `app.py` (and tests and benchmarks).
"""
