"""Serving the app with uvicorn, and stopping it promptly.

On SIGTERM uvicorn stops accepting connections, waits for the open ones to finish, then runs the
app's shutdown. Some never finish by themselves: Gradio's heartbeat streams (every browser tab and
every `gradio_client`, including the MCP server's own loopback client) and its queue streams. So
when the shutdown starts, `stopping` ends them the way `Blocks.close()` does for a launched app,
closes the MCP loopback client, and uvicorn waits at most `STOP_GRACE_S` for the rest.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from space.settings import Settings

log = logging.getLogger(__name__)
STOP_GRACE_S = 5.0  # a request still running after this long is cancelled when the server stops


def on_stop(app: Any, hook: Callable[[], Any]) -> None:
    """Run `hook` as soon as the server starts stopping: a coroutine function on the server's loop,
    anything else in a thread (it may block)."""
    if not hasattr(app.state, "stop_hooks"):
        app.state.stop_hooks = []
    app.state.stop_hooks.append(hook)


async def stopping(app: Any) -> None:
    """Run every stop hook of `app`, each at most once."""
    hooks, app.state.stop_hooks = list(getattr(app.state, "stop_hooks", [])), []
    for hook in hooks:
        try:
            if asyncio.iscoroutinefunction(hook):
                await hook()
            else:
                await asyncio.to_thread(hook)
        except Exception:  # stopping anyway
            log.exception("stop hook %s failed", getattr(hook, "__name__", hook))


def end_gradio_streams(app: Any, demo: Any) -> Callable[[], Awaitable[None]]:
    """A stop hook that ends Gradio's heartbeat and queue streams, as `Blocks.close()` does."""
    from starlette.routing import Mount
    served = [r.app for r in app.routes if isinstance(r, Mount) and hasattr(r.app, "stop_event")]

    async def end() -> None:
        demo.is_running = False
        if demo._queue is not None:
            demo._queue.close()
        for gradio_app in served:
            gradio_app.stop_event.set()
    return end


def serve(app: Any, settings: Settings) -> None:
    """Run `app` on settings.server_name:server_port until SIGTERM/SIGINT."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            await stopping(app)
            await super().shutdown(sockets)

    # proxy_headers=False: which forwarded headers count is decided by space.http.origin, not by
    # the peer's address (uvicorn trusts 127.0.0.1's X-Forwarded-For by default)
    config = uvicorn.Config(app, host=settings.server_name, port=settings.server_port, log_level="warning",
                            timeout_graceful_shutdown=STOP_GRACE_S, proxy_headers=False)
    Server(config).run()
