"""The Space installs what it serves: the file set `python -m training push --space` uploads, installed
from its own requirements.txt alone (.venv-space, built by `make test` / `make install-space` — no
scikit-learn, scipy, skops, matplotlib, joblib), starts and serves a bundle pinned on the loopback
Hub: JSON, the Gradio API, batch scoring and drift monitoring."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.hub_server import HubServer
from tests.server import ROOT, free_port, serving

pytestmark = pytest.mark.space_install

SPACE_PYTHON = ROOT / ".venv-space" / "bin" / "python"
BUILD_SIDE = ("sklearn", "scipy", "skops", "matplotlib", "joblib", "training")
MODEL_REPO, SPACE_REPO = "acme/customer-segments", "acme/segments-app"
TOKEN = "hf_loopbackTokenForTests0123456789abcdef"


@pytest.fixture(scope="module")
def space_python():
    if not SPACE_PYTHON.is_file():
        pytest.fail(f"{SPACE_PYTHON.parent.parent.name} is missing: `make install-space` builds it from "
                    "requirements.txt (`make test` does)")
    return SPACE_PYTHON


def test_the_space_venv_holds_serving_requirements_only(space_python):
    code = ("import importlib.util as u, importlib.metadata as m; "
            f"print([n for n in {BUILD_SIDE!r} if u.find_spec(n)]); print(m.version('gradio'))")
    out = subprocess.run([str(space_python), "-c", code], capture_output=True, text=True, timeout=120,
                         cwd="/", env={"PATH": os.environ["PATH"]})
    assert out.returncode == 0, out.stderr[-2000:]
    found, gradio = out.stdout.split()[:-1], out.stdout.split()[-1]
    assert " ".join(found) == "[]"
    assert f"gradio[mcp,oauth]=={gradio}" in (ROOT / "requirements.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """`python -m training push --bundle … --repo … --space …` against the loopback Hub: the model
    repo's commit, the Hub, and the Space repo's files as pushed."""
    tmp = tmp_path_factory.mktemp("space-push")
    bundle = tmp / "bundle"
    shutil.copytree(ROOT / "model" / "artifacts" / "default", bundle)  # push --space edits the card
    hub = HubServer(token=TOKEN).start()
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_OFFLINE": "0"}
    out = subprocess.run([sys.executable, "-m", "training", "push", "--bundle", str(bundle), "--repo", MODEL_REPO,
                          "--space", SPACE_REPO], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    try:
        assert out.returncode == 0, out.stderr[-3000:]
        yield hub.head(MODEL_REPO), hub, hub.files(SPACE_REPO, repo_type="space")
    finally:
        hub.stop()


def test_push_space_uploads_the_app_and_serving_requirements_only(pushed):
    sha, hub, files = pushed
    assert {"app.py", "requirements.txt", "README.md", "model/contract/bundle.py", "space/ui.py",
            "assets/app.css"} <= set(files)
    assert not [n for n in files if n.startswith(("training/", "tests/", "benchmarks/"))]
    assert files["requirements.txt"] == (ROOT / "requirements.txt").read_bytes()
    pinned = {k: v["value"] for k, v in hub.repo(SPACE_REPO, repo_type="space").variables.items()}
    assert pinned == {"MODEL_REPO": MODEL_REPO, "MODEL_REVISION": sha}


def test_the_pushed_files_serve_the_pinned_bundle_from_serving_requirements_alone(pushed, space_python, tmp_path,
                                                                                  predictor, artifacts_dir):
    from gradio_client import Client, handle_file

    from model.contract.schema import param_name
    sha, hub, files = pushed
    space = tmp_path / "space"
    for name, data in files.items():
        (space / name).parent.mkdir(parents=True, exist_ok=True)
        (space / name).write_bytes(data)
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "MODEL_REPO": MODEL_REPO, "MODEL_REVISION": sha,
           "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HUB_CACHE_DIR": str(tmp_path / "hub-cache"),
           "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
           "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}
    record = predictor.schema.example()
    table = tmp_path / "customers.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([list(record), list(record.values())])
    with serving([str(space_python), "app.py"], port, env=env, cwd=space,
                 log_path=artifacts_dir / "app-space-venv.log", timeout=180) as (url, _):
        health = httpx.get(url + "/health").json()
        assert health["bundle"]["kind"] == "hub" and health["bundle"]["commit"] == sha, health["bundle"]
        answer = httpx.post(url + "/predict", json=record).json()
        assert answer["segment_name"] == predictor.predict_one(record)["segment_name"]
        client = Client(url + "/", verbose=False)
        try:
            by_param = {param_name(name): value for name, value in record.items()}
            assert client.predict(**by_param, api_name="/predict")["segment_id"] == answer["segment_id"]
            scored, summary = client.predict(handle_file(str(table)), api_name="/predict_batch")
            assert summary["scored"] == 1 and summary["bundle"] == f"{MODEL_REPO}@{sha}", summary
            assert "segment_name" in open(scored, encoding="utf-8").readline()
            report = client.predict(handle_file(str(table)), None, api_name="/monitor")[0]
            assert "Drift report" in report
        finally:
            client.close()
