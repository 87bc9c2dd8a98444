"""The app built in this process (no socket): for schemathesis' ASGI transport and for tests that
need to reach inside (monkeypatching a handler to fail). Built once per test session."""
from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def default_app() -> Any:
    """`app.create_app` on the committed default bundle with default settings (env ignored), without
    the MCP server: its session manager runs once per app, and in-process clients start the app's
    lifespan once per test (tests/test_mcp.py drives MCP on a real server)."""
    from app import create_app
    from space.settings import load_settings
    return create_app(load_settings({"MCP_SERVER": "0"}))
