"""An optional limit per client for public Spaces (issue 19, "Also"): RATE_LIMIT requests per second
per client on the JSON route and the Gradio API, 429 with Retry-After beyond; off by default."""
from __future__ import annotations

import json

import httpx
import pytest

from model.contract.schema import param_name
from tests.server import running_app


@pytest.fixture(scope="module")
def limited_url(artifacts_dir):
    """One request per 20 s per client (a burst of 1): only the first of a quick series passes."""
    with running_app({"RATE_LIMIT": "0.05", "TRUST_FORWARDED_HEADERS": "1"},
                     log_path=artifacts_dir / "app-ratelimit.log") as url:
        yield url


def _as(client: str) -> dict[str, str]:
    return {"x-forwarded-for": client, "content-type": "application/json"}


def test_a_client_over_the_limit_gets_429_with_retry_after(limited_url, predictor):
    body = json.dumps(predictor.schema.example())
    answers = [httpx.post(limited_url + "/predict", content=body, headers=_as("198.51.100.10")) for _ in range(5)]
    assert answers[0].status_code == 200
    refused = [r for r in answers if r.status_code == 429]
    assert refused, [r.status_code for r in answers]
    assert all(int(r.headers["retry-after"]) >= 1 and "requests per second" in r.json()["error"] for r in refused)
    gradio = httpx.post(limited_url + "/gradio_api/call/predict", headers=_as("198.51.100.10"),
                        content=json.dumps({"data": list(predictor.schema.example().values())}))
    assert gradio.status_code == 429 and "retry-after" in gradio.headers
    other = httpx.post(limited_url + "/gradio_api/call/v2/predict", headers=_as("198.51.100.11"),
                       content=json.dumps({param_name(k): v for k, v in predictor.schema.example().items()}))
    assert other.status_code == 200, other.text[:300]  # another client is not affected
    assert httpx.get(limited_url + "/health").status_code == 200  # pages and health are not counted


def test_off_by_default(app_url, predictor):
    with httpx.Client(timeout=30) as client:
        statuses = {client.post(app_url + "/predict", json=predictor.schema.example()).status_code for _ in range(30)}
    assert statuses == {200}
