"""Where this server is, and which of a request's headers say so.

Gradio builds URLs from a request's `Host`, `X-Forwarded-Host`, `X-Forwarded-Proto` and
`X-Gradio-Server` headers. For a URL shown to that requester alone this is harmless, but Gradio
also builds two things once, from whichever request comes first, and then uses them for everyone:
the API docs (`/gradio_api/info`, with code snippets) and the MCP server's loopback client (which
runs every later tool call). So:

* `ForwardedHeaders` removes the forwarded headers from every request unless the deployment trusts
  its proxy (`Settings.trust_forwarded`: a Space's proxy sets them), and `X-Gradio-Server` always
  (only Gradio's own server-side rendering, which this app does not use, sends it);
* the MCP loopback client targets `loopback_url` (this very process), never a request's host;
* the API docs are built once at start-up for `public_url` (`warm_api_info`), never from a request.

`client_id` names the visitor behind a request (for per-client limits): the address the trusted
proxy saw, else the peer's address.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from space.http.asgi import ASGIApp, Receive, Scope, Send
from space.settings import Settings

FORWARDED = frozenset({b"x-forwarded-host", b"x-forwarded-proto", b"x-forwarded-for", b"x-forwarded-port",
                       b"x-forwarded-prefix", b"forwarded"})
NEVER = frozenset({b"x-gradio-server"})
_ANY = {"", "0.0.0.0", "::", "[::]"}


class ForwardedHeaders:
    """ASGI middleware (outermost): a request reaches the app with only the headers it may believe."""

    def __init__(self, app: ASGIApp, *, trusted: bool):
        self.app = app
        self.dropped = NEVER if trusted else NEVER | FORWARDED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = scope.get("headers") or []
            kept = [(k, v) for k, v in headers if k.lower() not in self.dropped]
            if len(kept) != len(headers):
                scope = {**scope, "headers": kept}
        await self.app(scope, receive, send)


def loopback_url(settings: Settings) -> str:
    """This server's own address, reachable from this process (a wildcard bind → loopback)."""
    host = settings.server_name.strip()
    if host in _ANY:
        host = "127.0.0.1" if ":" not in host else "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.server_port}"


def public_url(settings: Settings) -> str:
    """The address visitors use, for what is built once for everyone: PUBLIC_URL, a Space's own
    https address, else this server's loopback address (what a local `python app.py` serves)."""
    return (settings.public_url or loopback_url(settings)).rstrip("/")


def client_id(scope: Scope) -> str:
    """The visitor behind a request: the last `X-Forwarded-For` entry (what the trusted proxy saw;
    earlier entries are the client's to write) when present — `ForwardedHeaders` removed it unless
    the proxy is trusted — else the peer's address."""
    forwarded = None
    for key, value in scope.get("headers") or []:
        if key == b"x-forwarded-for":
            forwarded = value
    if forwarded:
        last = forwarded.decode("latin-1").split(",")[-1].strip()
        if last:
            return last[:64]
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def warm_api_info(app: Any, url: str) -> None:
    """Build Gradio's cached `/gradio_api/info` (its code snippets name the server) for `url` now,
    before any request can decide it: one in-process GET to the mounted Gradio app, whose
    `X-Gradio-Server` header Gradio takes as its root URL. `app` is the parent FastAPI app."""
    import asyncio
    import threading

    from starlette.routing import Mount
    gradio_app = next(r.app for r in app.routes if isinstance(r, Mount) and hasattr(r.app, "get_blocks"))
    parts = urlsplit(url)
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": "/gradio_api/info",
             "raw_path": b"/gradio_api/info", "root_path": "", "query_string": b"", "scheme": parts.scheme,
             "server": (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)),
             "client": ("127.0.0.1", 0), "headers": [(b"host", parts.netloc.encode()),
                                                     (b"x-gradio-server", url.encode())]}
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    # a thread of its own: asyncio.run needs a thread without a running loop
    worker = threading.Thread(target=lambda: asyncio.run(gradio_app(scope, receive, send)), daemon=True)
    worker.start()
    worker.join(30)
    if status != [200] or not getattr(gradio_app, "api_info", None):  # a Gradio upgrade changed the cache
        raise RuntimeError(f"Gradio's API info was not cached by GET /gradio_api/info (status {status})")
