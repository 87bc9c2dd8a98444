"""Shared fixtures, and the order and units in which `make test` runs (tests/scheduling.py).

Bundles are fitted once per session (per worker) into temporary folders; the session app is started
once per worker (its own port and log).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEFAULT_BUNDLE = ROOT / "model" / "artifacts" / "default"
ARTIFACTS = ROOT / "test-artifacts"

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1" … under xdist, "" otherwise

# Nothing in the tests may reach a real Hub: make any accidental call fail fast and locally.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.pop("MODEL_REPO", None)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """The long units first (tests/scheduling.py); as collected otherwise."""
    from tests.scheduling import order
    items.sort(key=lambda item: order(item.nodeid))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """A failing test shows what the servers running at that moment logged as warnings and errors
    (a CI run prints only the failure; the server's own log says why, e.g. a training worker's
    traceback)."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    from tests.server import LOGS
    for url, path in list(LOGS.items()):
        try:
            lines = path.read_text("utf-8", "replace").splitlines()[-400:]
        except OSError:
            continue
        records: list[list[str]] = []  # a log record: a timestamped line and the lines under it
        for line in lines:
            if line[:4].isdigit() or not records:
                records.append([])
            records[-1].append(line)
        notable = ["\n".join(r[:30]) for r in records
                   if any(w in "\n".join(r) for w in ("WARNING", "ERROR", "Traceback"))]
        if notable:
            report.sections.append((f"server {url} ({path.name}): warnings and errors", "\n".join(notable[-10:])))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """`--dist loadgroup`: the units of tests/scheduling.py (xdist_group marks do nothing with pytest 9.2)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from tests.scheduling import scheduler
    return scheduler(config, log)


@pytest.fixture(scope="session")
def default_bundle() -> Path:
    return DEFAULT_BUNDLE


@pytest.fixture(scope="session")
def predictor(default_bundle):
    from model.serving.predictor import Predictor
    return Predictor.from_dir(default_bundle)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the reference datasets are expected in {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def synth_csv(tmp_path_factory) -> tuple[Path, "object"]:
    """1,500 synthetic customers (with mess) as a CSV, and their planted labels."""
    from training.synthetic.customers import generate
    frame, labels = generate(1500, seed=11)
    path = tmp_path_factory.mktemp("data") / "customers.csv"
    frame.to_csv(path, index=False)
    return path, labels


@pytest.fixture(scope="session")
def synth_fit(synth_csv, tmp_path_factory):
    """A bundle fitted on `synth_csv` (k auto), with its manifest. No per-segment stability (nothing
    asserts it here: tests/test_explain.py tests stability, tests/test_training.py the default
    bundle's reproduction with it)."""
    from training.fit import FitOptions, fit
    out = tmp_path_factory.mktemp("bundle") / "b"
    manifest = fit(FitOptions(data=synth_csv[0], out=out, seed=3, bootstrap=0)).manifest.as_dict()
    return out, manifest


@pytest.fixture(scope="session")
def app_log(artifacts_dir) -> Path:
    """Where `app_url`'s server writes its output (one file per test worker)."""
    return artifacts_dir / f"app-default{'-' + WORKER if WORKER else ''}.log"


@pytest.fixture(scope="session")
def app_url(app_log):
    """The real app on the committed default bundle, started once for the session."""
    from tests.server import running_app
    with running_app(log_path=app_log) as url:
        yield url


@pytest.fixture(scope="session")
def gradio(app_url):
    from gradio_client import Client
    return Client(app_url + "/", verbose=False)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's, driven by Playwright), one per test module."""
    from playwright.sync_api import sync_playwright

    from tests.browser import ARGS, CHROMIUM
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
