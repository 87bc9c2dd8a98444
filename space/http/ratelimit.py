"""An optional limit per client (RATE_LIMIT, requests per second; off by default): a token bucket per
client on the JSON route and every POST of the Gradio API (calls, queue, uploads, MCP), answered
with `429` and `Retry-After` beyond it. Pages, assets, results streams and /health are not counted,
nor the MCP server's own loopback client (its caller was counted at the door)."""
from __future__ import annotations

import math
import time

from space.http.asgi import ASGIApp, Receive, Scope, Send, answer, header
from space.http.origin import client_id

MAX_CLIENTS = 100_000  # buckets kept; full (idle) ones are dropped first beyond this
_LOOPBACK = {"127.0.0.1", "::1"}


class RateLimit:
    """ASGI middleware: `per_second` requests per client, in bursts of up to `burst`."""

    def __init__(self, app: ASGIApp, *, per_second: float, burst: float | None = None,
                 json_routes: tuple[str, ...] = ("/predict",), prefix: str = "/gradio_api"):
        if per_second <= 0:
            raise ValueError(f"RATE_LIMIT must be positive, got {per_second}")
        self.app, self.rate = app, per_second
        self.burst = burst if burst is not None else max(1.0, 2 * per_second)
        self.json_routes, self.prefix = json_routes, prefix.rstrip("/") + "/"
        self.buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, when)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._counted(scope):
            wait = self.take(client_id(scope))
            if wait > 0:
                await answer(send, 429, f"too many requests: this server takes {self.rate:g} requests per second "
                                        f"per client; retry in {math.ceil(wait)} s",
                             headers={"Retry-After": str(math.ceil(wait))})
                return
        await self.app(scope, receive, send)

    def _counted(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope.get("method") != "POST":
            return False
        path = scope.get("path", "")
        if path.rstrip("/") not in self.json_routes and not path.startswith(self.prefix):
            return False
        peer = (scope.get("client") or ("",))[0]
        return not (peer in _LOOPBACK and header(scope, b"x-gradio-user") == b"mcp")

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one token of `client`; 0 when granted, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        tokens, when = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - when) * self.rate)
        if tokens < 1:
            self.buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate
        self.buckets[client] = (tokens - 1, now)
        if len(self.buckets) > MAX_CLIENTS:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled (their clients are idle): they would start full anyway."""
        full = [c for c, (t, w) in self.buckets.items() if t + (now - w) * self.rate >= self.burst]
        for c in full[: max(len(full), len(self.buckets) - MAX_CLIENTS)]:
            del self.buckets[c]
