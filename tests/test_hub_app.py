"""Publish → the app serves a pinned, verified Hub revision; every failure falls back to the local
bundle quickly and says why. Real huggingface_hub client code against the loopback Hub server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.hub_server import HubServer, allow_loopback_calls
from tests.server import ROOT, running_app

REPO = "acme/customer-segments"
TOKEN = "hf_loopbackTokenForTests0123456789abcdef"


@pytest.fixture(autouse=True)
def online(monkeypatch):
    allow_loopback_calls(monkeypatch)


@pytest.fixture(scope="module")
def hub():
    server = HubServer(token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def second_bundle(tmp_path_factory):
    """A different bundle (k forced to 3) to push as a later commit."""
    from training.fit import FitOptions, fit
    out = tmp_path_factory.mktemp("second") / "bundle"
    fit(FitOptions(out=out, k=3, seed=5, compare=False, bootstrap=0))
    return out


def push(bundle, hub, *, message="test push") -> str:
    """`python -m training push` as a user runs it; returns the printed commit sha."""
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_OFFLINE": "0"}
    out = subprocess.run([sys.executable, "-m", "training", "push", "--bundle", str(bundle), "--repo", REPO,
                          "--message", message], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert TOKEN not in out.stdout + out.stderr
    sha = next(line.split("MODEL_REVISION=")[1].split()[0] for line in out.stdout.splitlines()
               if "MODEL_REVISION=" in line)
    assert len(sha) == 40 and f"MODEL_REPO={REPO}" in out.stdout
    return sha


def hub_env(hub, revision, cache, **extra) -> dict[str, str]:
    """The app's settings for the loopback Hub. The Hub time budget is generous where the Hub answers
    (a loaded machine must not turn a good fetch into a fallback); the failure tests set 4 s."""
    return {"MODEL_REPO": REPO, "MODEL_REVISION": revision, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0",
            "HUB_CACHE_DIR": str(cache), "HUB_TIMEOUT_S": "60", **extra}


def same_predictions(url, predictor, bundle, n=5):
    """The served answers are the local bundle's, each naming the Hub commit it came from."""
    from tests.test_predictor import random_records
    for rec in random_records(predictor.schema, n, seed=9).to_dict("records"):
        got = httpx.post(url + "/predict", json=rec).json()
        assert got == json.loads(json.dumps({**predictor.predict_one(rec), "bundle": bundle}))


def test_push_then_serve_pinned_revision(hub, default_bundle, predictor, second_bundle, tmp_path, artifacts_dir):
    first = push(default_bundle, hub, message="first")
    pushed = hub.files(REPO, first)
    assert {"model.skops", "sklearn_model.joblib", "manifest.json", "README.md", "pca_sample.csv"} <= set(pushed)
    assert all(TOKEN.encode() not in data for data in pushed.values())
    writes = [r for r in hub.requests if r.is_write]
    assert writes and all(r.authorization == f"Bearer {TOKEN}" for r in writes)
    second = push(second_bundle, hub, message="second")
    assert second != first and hub.head(REPO) == second
    hub.clear_requests()
    with running_app(hub_env(hub, first, tmp_path / "cache"), log_path=artifacts_dir / "app-hub.log") as url:
        health = httpx.get(url + "/health").json()
        assert health["bundle"]["kind"] == "hub" and health["bundle"]["commit"] == first
        assert health["bundle"]["pinned"] is True and health["bundle"]["fallback_reason"] is None
        assert health["k"] == predictor.k  # still the first bundle, though main moved on
        assert health["bundle"]["id"] == f"{REPO}@{first}"
        same_predictions(url, predictor, f"{REPO}@{first}")
    fetched = [r.path for r in hub.requests if not r.is_write]
    assert not any(p.endswith(".joblib") for p in fetched), "the app must never download a pickle"
    assert not any(p.endswith(".skops") for p in fetched), "serving needs no model file"
    assert all(r.authorization is None for r in hub.requests), "no token configured → none sent"


def test_branch_revision_works_but_is_not_pinned(hub, default_bundle, tmp_path, artifacts_dir):
    push(default_bundle, hub)
    log = artifacts_dir / "app-hub-branch.log"
    with running_app(hub_env(hub, "main", tmp_path / "cache"), log_path=log) as url:
        health = httpx.get(url + "/health").json()
        assert health["bundle"]["kind"] == "hub" and health["bundle"]["pinned"] is False
        assert len(health["bundle"]["commit"]) == 40
    assert "not pinned" in log.read_text()


def test_tampered_file_on_the_hub_is_refused_and_local_bundle_served(hub, default_bundle, tmp_path, artifacts_dir):
    sha = push(default_bundle, hub)
    hub.tamper(REPO, "serving.npz", b"PK\x03\x04 not the model", revision=sha)
    with running_app(hub_env(hub, sha, tmp_path / "cache"), log_path=artifacts_dir / "app-hub-tamper.log") as url:
        health = httpx.get(url + "/health").json()
        assert health["bundle"]["kind"] == "local"
        assert "serving.npz does not match the manifest" in health["bundle"]["fallback_reason"]
        page = httpx.get(url + "/config").text
        assert "does not match the manifest" in page  # the UI says which bundle is live and why


@pytest.mark.parametrize("failure", ["down", "black-hole", "missing-repo", "missing-revision"])
def test_hub_failures_fall_back_fast(failure, tmp_path, artifacts_dir):
    server = HubServer(token=TOKEN).start()
    revision, repo = "0" * 40, REPO
    if failure == "down":
        server.stop()
    elif failure == "black-hole":
        server.set_delay(60)
    elif failure == "missing-repo":
        repo = "acme/nothing-here"
    else:
        server.add_repo(REPO)
    env = {**hub_env(server, revision, tmp_path / "cache", HUB_TIMEOUT_S="4"), "MODEL_REPO": repo}
    t0 = time.monotonic()
    try:
        with running_app(env, log_path=artifacts_dir / f"app-hub-{failure}.log") as url:
            ready = time.monotonic() - t0
            health = httpx.get(url + "/health").json()
    finally:
        server.set_delay(0)
        server.stop()
    assert health["bundle"]["kind"] == "local" and health["bundle"]["fallback_reason"]
    # bounded by HUB_TIMEOUT_S=4 (+ slack for a loaded machine), not by the client's ~23 s retry loop
    assert health["bundle"]["hub_seconds"] < 9, health["bundle"]
    with open(artifacts_dir / "hub-fallback-times.txt", "a") as fh:
        fh.write(f"{failure}: ready in {ready:.1f} s (Hub attempt {health['bundle']['hub_seconds']:.2f} s, "
                 f"bundle load incl. Hub attempt {health['bundle']['load_seconds']:.2f} s)\n")


def test_fit_push_to_hub_shortcut_keeps_the_token_out(hub, tmp_path):
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_OFFLINE": "0"}
    out_dir = tmp_path / "b"
    res = subprocess.run([sys.executable, "-m", "training", "-v", "fit", "--out", str(out_dir), "--k", "3",
                          "--no-compare", "--bootstrap", "0", "--push-to-hub", "acme/shortcut"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "MODEL_REVISION=" in res.stdout
    assert TOKEN not in res.stdout + res.stderr
    for f in out_dir.rglob("*"):
        if f.is_file():
            assert TOKEN.encode() not in f.read_bytes(), f
    assert hub.head("acme/shortcut")
