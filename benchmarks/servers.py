"""Servers for the HTTP figures, on 127.0.0.1 only: the real app (`python app.py`) and a bare
FastAPI app whose `POST /predict` returns a constant (the floor any JSON route stands on)."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any, Iterator

import httpx

from benchmarks.common import ROOT
from tests.server import app_env, free_port, serving  # noqa: F401  (free_port re-exported)

BARE = """
import json, sys
import uvicorn
from fastapi import FastAPI
ANSWER = json.loads(sys.argv[2])
app = FastAPI()

@app.post("/predict")
async def predict() -> dict:
    return ANSWER

@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@contextmanager
def serve(cmd: list[str], port: int, *, timeout: float = 120.0, poll: float = 0.02
          ) -> Iterator[tuple[str, float]]:
    """Start `cmd` (which listens on `port`), yield (base URL, seconds from spawn to the first
    200 on /health), stop it afterwards."""
    with serving(cmd, port, env=app_env(port), timeout=timeout, poll=poll) as served:
        yield served


def app_cmd() -> list[str]:
    return [sys.executable, str(ROOT / "app.py")]


def bare_cmd(port: int, answer: dict[str, Any]) -> list[str]:
    return [sys.executable, "-c", BARE, str(port), json.dumps(answer)]


def example() -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(the default bundle's example customer, its answer, API field order)."""
    from model.serving.predictor import Predictor
    from model.contract.bundle import DEFAULT_BUNDLE_DIR
    p = Predictor.from_dir(DEFAULT_BUNDLE_DIR)
    rec = p.schema.example()
    return rec, p.predict_one(rec), p.schema.names


def customers(n: int, *, seed: int) -> list[dict[str, Any]]:
    """`n` distinct valid customers of the default bundle: numbers uniform over each feature's
    training range, levels at random (numpy only: runs in the Space's own environment)."""
    import numpy as np

    from model.contract.bundle import DEFAULT_BUNDLE_DIR
    from model.contract.schema import NumericFeature
    from model.serving.predictor import Predictor
    schema = Predictor.from_dir(DEFAULT_BUNDLE_DIR).schema
    rng = np.random.default_rng(seed)
    columns = {f.name: (np.round(rng.uniform(f.min, f.max, n), 0 if f.integer else 2).tolist()
                        if isinstance(f, NumericFeature) else rng.choice(list(f.levels), n).tolist())
               for f in schema.features}
    return [{name: columns[name][i] for name in schema.names} for i in range(n)]


def gradio_call(client: httpx.Client, base: str, name: str, data: list[Any]) -> Any:
    """One call through the Gradio queue: POST /gradio_api/call/<name>, then read the SSE stream
    until `complete` (returns its data) or `error` (raises)."""
    r = client.post(f"{base}/gradio_api/call/{name}", json={"data": data})
    r.raise_for_status()
    event = ""
    with client.stream("GET", f"{base}/gradio_api/call/{name}/{r.json()['event_id']}") as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    raise RuntimeError(f"/{name}: {line[5:].strip()[:300]}")
                return json.loads(line[5:])
    raise RuntimeError(f"/{name}: stream ended without a result")
