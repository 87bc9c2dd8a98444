"""What a first-time visitor hit on the command line (issue 19): `fit --data x.csv` without `--out`
overwrote the committed default bundle, the fallback every Space relies on. Rebuilding the default
now takes its own command (`fit --default`); every other fit names its folder."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from tests.server import ROOT

DEFAULT = ROOT / "model" / "artifacts" / "default"


def fingerprint() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(DEFAULT.iterdir()) if p.is_file()}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "training", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture
def small_csv(tmp_path):
    from training.synthetic.customers import generate
    frame, _ = generate(300, seed=2)
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("extra", [[], ["--out", str(DEFAULT)], ["--default"]],
                         ids=["no_out", "out_is_the_default", "default_with_data"])
@pytest.mark.parametrize("source", ["--data", "--transactions"])
def test_a_fit_on_your_data_never_writes_the_default_bundle(source, extra, small_csv):
    before = fingerprint()
    res = run("fit", source, str(small_csv), *extra, "--no-compare", "--bootstrap", "0", "--k", "2")
    assert res.returncode == 2, (res.returncode, res.stdout[-300:], res.stderr[-300:])
    assert "--out" in res.stderr and "--default" in res.stderr and "Traceback" not in res.stderr
    assert fingerprint() == before


def test_a_fit_without_data_or_a_folder_is_refused_too():
    res = run("fit", "--k", "3")
    assert res.returncode == 2 and "--default" in res.stderr


def test_the_default_is_rebuilt_by_its_own_command():
    assert "--default" in run("fit", "--help").stdout
    assert "training fit --default" in (ROOT / "Makefile").read_text()
