"""Bounded load test against a running app on the loopback interface.

A fixed number of asyncio workers share one httpx client and send requests back to back until a
fixed duration is over; each finishes its request in flight and stops. Two targets:

* ``json``   — ``POST /predict`` (the JSON route; no queue, its own concurrency limit);
* ``gradio`` — ``POST /gradio_api/call/predict`` then the SSE stream
  ``GET /gradio_api/call/predict/{event_id}`` until ``complete`` or ``error`` (through the queue).

Customers are taken from the app's own ``GET /example.csv``. Reports req/s, p50/p95/p99 latency and
errors by kind, as a table and as one JSON line per run::

    python -m benchmarks.load --url http://127.0.0.1:7860 --clients 8 --seconds 30 --target json
    python -m benchmarks.load --start --clients 8 32 --seconds 30 --target json gradio
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import logging
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

TARGETS = ("json", "gradio")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_CLIENTS, MAX_SECONDS = 256, 600.0


@dataclass
class Run:
    """Outcome of one (target, clients, seconds) run."""
    target: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    outcomes: Counter[str] = field(default_factory=Counter)  # "ok", "503", "500", "timeout", ...
    elapsed: float = 0.0

    def summary(self) -> dict[str, Any]:
        done = sum(self.outcomes.values())
        lat = sorted(self.latencies)
        return {"target": self.target, "clients": self.clients, "seconds": round(self.elapsed, 2),
                "requests": done, "ok": self.outcomes["ok"],
                "req_per_s": round(done / self.elapsed, 1) if self.elapsed else 0.0,
                "p50_ms": _ms(_pct(lat, 50)), "p95_ms": _ms(_pct(lat, 95)), "p99_ms": _ms(_pct(lat, 99)),
                "max_ms": _ms(lat[-1] if lat else math.nan),
                "errors": {k: v for k, v in sorted(self.outcomes.items()) if k != "ok"}}


def _pct(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))]


def _ms(seconds: float) -> float | None:
    return None if math.isnan(seconds) else round(seconds * 1000, 1)


def check_loopback(url: str) -> str:
    """The base URL without a trailing slash; refuses anything but the loopback interface."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"load tests only run against the loopback interface; got host {host!r}")
    return url.rstrip("/")


async def customers(client: httpx.AsyncClient, base: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(feature names in API order, records) from the app's /health and /example.csv."""
    features = (await client.get(base + "/health")).raise_for_status().json()["features"]
    text = (await client.get(base + "/example.csv")).raise_for_status().text
    records = []
    for row in csv.DictReader(io.StringIO(text)):
        rec: dict[str, Any] = {}
        for name in features:
            raw = row.get(name, "")
            try:
                rec[name] = float(raw) if raw != "" else None
            except ValueError:
                rec[name] = raw
        records.append(rec)
    return features, records


async def _json_call(client: httpx.AsyncClient, base: str, rec: dict[str, Any], features: list[str]) -> str:
    r = await client.post(base + "/predict", json=rec)
    return "ok" if r.status_code == 200 and "segment_id" in r.json() else str(r.status_code)


async def _gradio_call(client: httpx.AsyncClient, base: str, rec: dict[str, Any], features: list[str]) -> str:
    r = await client.post(base + "/gradio_api/call/predict", json={"data": [rec[n] for n in features]})
    if r.status_code != 200:
        return str(r.status_code)
    event = ""
    async with client.stream("GET", f"{base}/gradio_api/call/predict/{r.json()['event_id']}") as stream:
        if stream.status_code != 200:
            return f"stream {stream.status_code}"
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                return "ok" if event == "complete" else "event error"
    return "stream ended"


async def run_load(base: str, target: str, *, clients: int, seconds: float, timeout: float = 30.0) -> Run:
    """One bounded run: `clients` workers for `seconds`, then every worker stops by itself."""
    base = check_loopback(base)
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}; got {target!r}")
    if not 1 <= clients <= MAX_CLIENTS or not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"clients must be 1–{MAX_CLIENTS} and seconds 0–{MAX_SECONDS:g}")
    call = _json_call if target == "json" else _gradio_call
    run = Run(target, clients, seconds)
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        features, records = await customers(client, base)
        start = time.perf_counter()
        deadline = start + seconds

        async def worker(offset: int) -> None:
            i = offset
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    outcome = await call(client, base, records[i % len(records)], features)
                except httpx.TimeoutException:
                    outcome = "timeout"
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                run.outcomes[outcome] += 1
                if outcome == "ok":
                    run.latencies.append(time.perf_counter() - t0)
                i += 1
        # a hard stop even if a request hangs past its own timeout
        await asyncio.wait_for(asyncio.gather(*(worker(k) for k in range(clients))), seconds + timeout + 10)
        run.elapsed = time.perf_counter() - start
    return run


def table(summaries: Sequence[dict[str, Any]]) -> str:
    cols = ["target", "clients", "seconds", "requests", "req_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors"]
    rows = [[str(s[c] if c != "errors" else (", ".join(f"{k}: {v}" for k, v in s[c].items()) or "0"))
             for c in cols] for s in summaries]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(cols), line(["-" * w for w in widths]), *map(line, rows)])


def _runs(base: str, targets: Sequence[str], clients: Sequence[int], seconds: float) -> Iterator[dict[str, Any]]:
    for target in targets:
        for n in clients:
            log.info("load: %s, %d clients, %g s", target, n, seconds)
            yield asyncio.run(run_load(base, target, clients=n, seconds=seconds)).summary()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="base URL of a running app (loopback only)")
    where.add_argument("--start", action="store_true", help="start the app on a free loopback port for the run")
    ap.add_argument("--clients", type=int, nargs="+", default=[8], help="concurrent workers (one run each)")
    ap.add_argument("--seconds", type=float, default=30.0, help="duration of each run")
    ap.add_argument("--target", choices=TARGETS, nargs="+", default=["json"])
    ap.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="settings for --start")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if args.start:
        from tests.server import running_app
        env = dict(kv.split("=", 1) for kv in args.env)
        with running_app(env) as url:
            summaries = list(_runs(url, args.target, args.clients, args.seconds))
    else:
        summaries = list(_runs(args.url, args.target, args.clients, args.seconds))
    print(table(summaries))
    for s in summaries:
        print(json.dumps(s, sort_keys=True))
    return 1 if any(k.startswith("5") and k not in ("503",) for s in summaries for k in s["errors"]) else 0


if __name__ == "__main__":
    sys.exit(main())
