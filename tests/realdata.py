"""Real public data sets the tests read as shipped, never downloaded at test time.

CDNOW (the CLV literature's standard order log: 69,659 lines, 23,570 customers) ships in the
MIT-licensed ``lifetimes`` 0.11.3 wheel, installed without its dependencies by ``make test``
(the Makefile's dev install). Its files are found through the installed distribution's metadata:
``import lifetimes`` would fail without its dependencies, and is never needed.
"""
from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

LIFETIMES = "lifetimes"
INSTALL = ".venv/bin/pip install --no-deps lifetimes==0.11.3 (make install-dev does it)"


def lifetimes_file(name: str) -> Path:
    """A file of lifetimes' `datasets/` folder; the test fails (never skips) when it is missing."""
    try:
        dist = importlib.metadata.distribution(LIFETIMES)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"the lifetimes wheel is not installed: {INSTALL}")
    path = Path(str(dist.locate_file(f"lifetimes/datasets/{name}")))
    if not path.is_file():
        pytest.fail(f"{path} is missing from the installed lifetimes {dist.version}: {INSTALL}")
    return path


def cdnow_path() -> Path:
    """CDNOW_master.txt as shipped: whitespace-aligned, CRLF, dates as yyyymmdd."""
    return lifetimes_file("CDNOW_master.txt")


def example_transactions_path() -> Path:
    """example_transactions.csv: `date,id` — an order log without money."""
    return lifetimes_file("example_transactions.csv")
