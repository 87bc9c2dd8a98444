"""The MCP server Gradio serves at /gradio_api/mcp/: what we adjust in it."""
from __future__ import annotations

import json
from typing import Any


def json_tool_results(demo: Any) -> None:
    """MCP tools answer with the text of each output: make a dict or a list JSON (Gradio writes
    Python's repr), so agents read the same document as POST /predict. Files stay files."""
    from gradio_client.utils import is_file_obj_with_meta
    server = getattr(demo, "mcp_server_obj", None)
    if server is None:
        return
    original = server.postprocess_output_data

    def as_json(data: Any, root_url: str) -> Any:
        return original([json.dumps(d, ensure_ascii=False) if isinstance(d, (dict, list)) and not is_file_obj_with_meta(d)
                         else d for d in data], root_url)
    server.postprocess_output_data = as_json
