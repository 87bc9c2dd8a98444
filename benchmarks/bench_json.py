"""json: JSON `POST /predict` on the running app against a bare FastAPI route returning a
constant (the same answer, precomputed), both served by uvicorn on 127.0.0.1, one keep-alive
client, requests alternating between the two servers so that machine noise hits both alike."""
from __future__ import annotations

import sys
from contextlib import ExitStack

import httpx

from benchmarks.common import Result, fmt_s, p50, timed
from benchmarks.servers import app_cmd, bare_cmd, example, free_port, serve

TARGET_RATIO = 1.5


def run(smoke: bool = False, app_url: str | None = None) -> list[Result]:
    record, answer, _ = example()
    rounds, per_round = (2, 10) if smoke else (20, 100)
    with ExitStack() as stack:
        if app_url is None:
            port = free_port()
            app_url, _ = stack.enter_context(serve(app_cmd(), port))
        bare_port = free_port()
        bare_url, _ = stack.enter_context(serve(bare_cmd(bare_port, answer), bare_port))
        app, bare = stack.enter_context(httpx.Client()), stack.enter_context(httpx.Client())
        got = app.post(app_url + "/predict", json=record)
        if got.status_code != 200 or got.json().get("segment_id") != answer["segment_id"]:
            raise RuntimeError(f"POST /predict answered {got.status_code}: {got.text[:200]}")
        calls = {"app": lambda: app.post(app_url + "/predict", json=record).raise_for_status(),
                 "bare": lambda: bare.post(bare_url + "/predict", json=record).raise_for_status()}
        for fn in calls.values():
            timed(fn, repeat=5 if smoke else 200)  # warm-up: connections, caches
        samples: dict[str, list[float]] = {"app": [], "bare": []}
        for _ in range(rounds):
            for name, fn in calls.items():
                samples[name] += timed(fn, repeat=per_round)
    a, b = p50(samples["app"]), p50(samples["bare"])
    return [Result("json: POST /predict p50 (HTTP, keep-alive)", fmt_s(a), f"bare FastAPI {fmt_s(b)}",
                   f"{a / b:.2f}x", f"<= {TARGET_RATIO}x bare", None if smoke else a / b <= TARGET_RATIO,
                   {"app_s": a, "bare_s": b, "requests_each": len(samples["app"])})]


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
