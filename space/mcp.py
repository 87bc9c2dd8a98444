"""The MCP server Gradio serves at /gradio_api/mcp/: what we adjust in it.

* `json_tool_results`: a dict or a list answers as JSON (Gradio writes Python's repr).
* `pin_loopback`: Gradio runs a queued tool through ONE `gradio_client.Client` per process, made on
  the first call from that call's `Host`/`X-Forwarded-Host` unless the server knows its own URL
  (`launch()` tells it; a mounted app never launches). A first caller naming their own host would
  then receive every later caller's arguments. We give it this server's loopback address.
* `working_tools_only`: a tool that takes a file cannot work through MCP here (Gradio writes a
  `data:` URI to a temporary folder this app does not accept files from, or fetches an `http(s)`
  URL from the server), so such tools are not listed, and a call to one is an unknown tool.
* `check_arguments`: a tool's own check runs on its arguments as they arrive, before the MCP
  library's JSON-schema check and Gradio's loopback client (which turns NaN and Infinity into
  null, so they were scored as "unknown"): the tool answers with POST /predict's sentences.
* `close_loopback`: the loopback client holds a heartbeat stream open to this server; closed when
  the server stops.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable, Mapping

log = logging.getLogger(__name__)
_FILE_INPUTS = ("File", "UploadButton", "Image", "Audio", "Video", "Gallery", "Model3D")


Check = Callable[[Mapping[str, Any]], None]  # raises ValueError with the message for the caller


def adjust(demo: Any, *, loopback: str, checks: Mapping[str, Check] | None = None) -> None:
    """Every adjustment, once, after the app is mounted (no-op without an MCP server). `checks`:
    endpoint name ("/predict") → the check of a call's arguments."""
    if getattr(demo, "mcp_server_obj", None) is None:
        return
    json_tool_results(demo)
    pin_loopback(demo, loopback)
    working_tools_only(demo)
    check_arguments(demo, checks or {})


def json_tool_results(demo: Any) -> None:
    """MCP tools answer with the text of each output: make a dict or a list JSON (Gradio writes
    Python's repr), so agents read the same document as POST /predict. Files stay files."""
    from gradio_client.utils import is_file_obj_with_meta
    server = demo.mcp_server_obj
    original = server.postprocess_output_data

    def as_json(data: Any, root_url: str) -> Any:
        return original([json.dumps(d, ensure_ascii=False) if isinstance(d, (dict, list)) and not is_file_obj_with_meta(d)
                         else d for d in data], root_url)
    server.postprocess_output_data = as_json


def pin_loopback(demo: Any, url: str) -> None:
    """The loopback client targets `url` (this server), whatever a caller's headers say."""
    server = demo.mcp_server_obj
    if not hasattr(server, "_local_url"):  # a Gradio upgrade renamed it: refuse to serve unpinned
        raise RuntimeError("cannot pin Gradio's MCP loopback client: GradioMCPServer._local_url is gone")
    server._local_url = url.rstrip("/") + "/"  # what Blocks.launch() sets; read before any request's host


def working_tools_only(demo: Any) -> list[str]:
    """Drop the tools whose event takes a file; returns the names dropped."""
    server = demo.mcp_server_obj
    dropped = []
    for tool, endpoint in list(server.tool_to_endpoint.items()):
        fn = server.get_block_fn_from_endpoint_name(endpoint)
        if fn is not None and any(type(b).__name__ in _FILE_INPUTS for b in fn.inputs):
            del server.tool_to_endpoint[tool]
            dropped.append(tool)
    if dropped:
        log.info("MCP: not listed (they take a file): %s", ", ".join(dropped))
    return dropped


def check_arguments(demo: Any, checks: Mapping[str, Check]) -> None:
    """Run `checks[endpoint](arguments)` first on every tools/call of that endpoint's tool; a
    ValueError becomes the tool's error result, with its message."""
    from mcp import types
    server = demo.mcp_server_obj
    handlers = server.mcp_server.request_handlers
    original = handlers[types.CallToolRequest]

    async def checked(request: Any) -> Any:
        check = checks.get(server.tool_to_endpoint.get(request.params.name, ""))
        if check is not None:
            try:
                check(_sent_arguments(server) or request.params.arguments or {})
            except ValueError as exc:
                return types.ServerResult(types.CallToolResult(
                    content=[types.TextContent(type="text", text=str(exc))], isError=True))
        return await original(request)
    handlers[types.CallToolRequest] = checked


def _sent_arguments(server: Any) -> Mapping[str, Any] | None:
    """The arguments of this tools/call as its body spelt them (kept by the gate), NaN included."""
    from space.http.gate import SENT_JSON
    context = server.mcp_server.request_context
    scope = getattr(context.request, "scope", None) or {}
    body = (scope.get("state") or {}).get(SENT_JSON)
    if not isinstance(body, dict) or body.get("method") != "tools/call" or body.get("id") != context.request_id:
        return None
    arguments = (body.get("params") or {}).get("arguments")
    return arguments if isinstance(arguments, dict) else None


def close_loopback(demo: Any) -> None:
    """Stop the loopback client's heartbeat stream (idempotent)."""
    server = getattr(demo, "mcp_server_obj", None)
    client = getattr(server, "_client_instance", None)
    if client is not None:
        server._client_instance = None
        try:
            client.close()
        except Exception:  # stopping anyway: a client that fails to close must not block it
            log.exception("closing the MCP loopback client failed")
