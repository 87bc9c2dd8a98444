"""Shared fixtures, and how `make test` spreads the suite over pytest-xdist workers.

Bundles are fitted once per session (per worker) into temporary folders; the session app is started
once per worker (its own port and log).

Scheduling (`pytest -n 2 --dist loadgroup --no-loadscope-reorder`): each test module is one unit of
work, so a module's fixtures are built once — but in the modules of `ALONE`, whose tests are long and
share nothing costly, each test is a unit of its own, so both workers take them. The units that mostly wait on other processes start
first (`UNITS`): the Spark tests then the browser tests as one unit (three JVMs and Chromium beside
each other on 2 cores made both miss their time bounds), the benchmark harness, the Space install;
then the longest modules (`LONG`), then the rest in collection order, so that the last units to
start are short ones and the workers end together."""
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
# mark → unit of work, started first and in this order (longest first: measured in `make test`)
UNITS = {"spark": "spark-then-browser", "browser": "spark-then-browser", "bench": "bench",
         "space_install": "space_install"}
# then these modules (or groups), longest first (durations of `make test-fast` under load 6-12)
LONG = ("tests.test_docs", "tests.test_hub_app", "tests.test_cli", "tests.test_redteam", "tests.test_training",
        "tests.test_surface", "explain_cases", "tests.test_fuzz", "tests.test_serving")
# modules whose tests are units of their own: each starts its own servers or fits (the Hub server and
# the one small fit of test_hub_app are cheap to build twice)
ALONE = ("tests.test_docs", "tests.test_hub_app", "tests.test_cli")

# Nothing in the tests may reach a real Hub: make any accidental call fail fast and locally.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.pop("MODEL_REPO", None)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Give every test its xdist_group (see the module docstring) and put the long units first."""
    def mark(item: Any) -> str | None:
        return next((m for m in UNITS if item.get_closest_marker(m)), None)

    def group(item: Any) -> str:
        named = item.get_closest_marker("xdist_group")
        return named.args[0] if named else UNITS.get(mark(item) or "", item.module.__name__)
    for item in items:
        if not item.get_closest_marker("xdist_group") and group(item) not in ALONE:
            item.add_marker(pytest.mark.xdist_group(group(item)))
    rank = {name: i for i, name in enumerate([*dict.fromkeys(UNITS.values()), *LONG])}
    marks = list(UNITS)  # within a unit: Spark before the browser
    items.sort(key=lambda item: (rank.get(group(item), len(rank)), marks.index(mark(item)) if mark(item) else 0))


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
def app_url(artifacts_dir):
    """The real app on the committed default bundle, started once for the session."""
    from tests.server import running_app
    with running_app(log_path=artifacts_dir / f"app-default{'-' + WORKER if WORKER else ''}.log") as url:
        yield url


@pytest.fixture(scope="session")
def gradio(app_url):
    from gradio_client import Client
    return Client(app_url + "/", verbose=False)
