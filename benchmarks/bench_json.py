"""json: JSON `POST /predict` on the running app (127.0.0.1, one keep-alive client per server).

(a) One customer against a bare FastAPI route returning a constant (the same answer, precomputed),
    served by uvicorn: requests alternate between the two servers so that machine noise hits both.
(b) 1,000 distinct customers in one request (`{"instances": [...]}`) against one customer, on the
    same app, alternating: what a batch costs in single requests.
"""
from __future__ import annotations

import json
import sys
from contextlib import ExitStack

import httpx

from benchmarks.common import Result, fmt_s, p50, timed
from benchmarks.servers import app_cmd, bare_cmd, customers, example, free_port, serve

TARGET_RATIO, TARGET_BATCH_RATIO, BATCH = 1.1, 20.0, 1_000


def run(smoke: bool = False, app_url: str | None = None) -> list[Result]:
    record, answer, _ = example()
    with ExitStack() as stack:
        if app_url is None:
            port = free_port()
            app_url, _ = stack.enter_context(serve(app_cmd(), port))
        bare_port = free_port()
        bare_url, _ = stack.enter_context(serve(bare_cmd(bare_port, answer), bare_port))
        app = stack.enter_context(httpx.Client(timeout=60))
        bare = stack.enter_context(httpx.Client(timeout=60))
        got = app.post(app_url + "/predict", json=record)
        if got.status_code != 200 or got.json().get("segment_id") != answer["segment_id"]:
            raise RuntimeError(f"POST /predict answered {got.status_code}: {got.text[:200]}")
        rows = [_single(smoke, app, bare, app_url, bare_url, record)]
        try:
            rows.append(_batch(smoke, app, app_url, record))
        except RuntimeError as exc:  # an app without batches (an older checkout): the single figure still stands
            rows.append(Result("json: batch (failed)", "error", "", "", "", False, {"error": str(exc)}))
        return rows


def _single(smoke: bool, app: httpx.Client, bare: httpx.Client, app_url: str, bare_url: str,
            record: dict) -> Result:
    rounds, per_round = (2, 10) if smoke else (20, 100)
    calls = {"app": lambda: app.post(app_url + "/predict", json=record).raise_for_status(),
             "bare": lambda: bare.post(bare_url + "/predict", json=record).raise_for_status()}
    for fn in calls.values():
        timed(fn, repeat=5 if smoke else 200)  # warm-up: connections, caches
    samples: dict[str, list[float]] = {"app": [], "bare": []}
    for _ in range(rounds):
        for name, fn in calls.items():
            samples[name] += timed(fn, repeat=per_round)
    a, b = p50(samples["app"]), p50(samples["bare"])
    return Result("json: POST /predict p50 (HTTP, keep-alive)", fmt_s(a), f"bare FastAPI {fmt_s(b)}",
                  f"{a / b:.2f}x", f"<= {TARGET_RATIO}x bare", None if smoke else a / b <= TARGET_RATIO,
                  {"app_s": a, "bare_s": b, "requests_each": len(samples["app"])})


def _batch(smoke: bool, app: httpx.Client, app_url: str, record: dict) -> Result:
    # both bodies encoded once: what is measured is the service and the wire, not the client's encoder
    headers = {"content-type": "application/json"}
    body, one = json.dumps({"instances": customers(BATCH, seed=7)}).encode(), json.dumps(record).encode()
    got = app.post(app_url + "/predict", content=body, headers=headers)
    predictions = got.json().get("predictions", []) if got.status_code == 200 else []
    if len(predictions) != BATCH or any("error" in p for p in predictions):
        raise RuntimeError(f"the batch answered {got.status_code}: {got.text[:200]}")
    rounds, singles, batches = (2, 5, 1) if smoke else (10, 50, 5)
    calls = {"single": lambda: app.post(app_url + "/predict", content=one, headers=headers).raise_for_status(),
             "batch": lambda: app.post(app_url + "/predict", content=body, headers=headers).raise_for_status()}
    timed(calls["batch"], repeat=1 if smoke else 3)
    samples: dict[str, list[float]] = {"single": [], "batch": []}
    for _ in range(rounds):
        samples["single"] += timed(calls["single"], repeat=singles)
        samples["batch"] += timed(calls["batch"], repeat=batches)
    a, b = p50(samples["batch"]), p50(samples["single"])
    return Result(f"json: batch of {BATCH:,} customers p50", fmt_s(a), f"one customer {fmt_s(b)}",
                  f"{a / b:.1f}x", f"<= {TARGET_BATCH_RATIO:.0f}x one customer",
                  None if smoke else a / b <= TARGET_BATCH_RATIO,
                  {"batch_s": a, "single_s": b, "requests": [len(samples["batch"]), len(samples["single"])],
                   "customers_per_s": round(BATCH / a)})


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
