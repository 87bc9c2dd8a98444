"""The second attack on the public Space (issue 19), on files: the Monitor tab's uploads get the
batch path's caps, and everything the app writes to disk (uploads, scored files) is held to one
budget, per client and in total."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from tests.redteam import customers, ref, rss_mb, server_pid, upload
from tests.surfaces import assert_clear, gradio_call


def wide_file(predictor, columns: int) -> bytes:
    """The schema's columns and `columns` more, one row: ~6.3 bytes per column."""
    ex, n = predictor.schema.example(), columns - len(predictor.schema.names)
    header = ",".join([*ex, *(f"c{i}" for i in range(n))])
    row = ",".join([*(str(v) for v in ex.values()), *("1" for _ in range(n))])
    return f"{header}\n{row}\n".encode()


# -- the Monitor tab reads files with the batch path's caps ----------------------------------------
@pytest.mark.parametrize("which", ["new", "previous"])
def test_monitor_refuses_a_very_wide_file_before_parsing(which, app_url, predictor):
    """A 0.63 MB file with 100,000 columns cost the Monitor tab +800 MB and 12 s holding the GIL."""
    pid = server_pid(app_url)
    before = rss_mb(pid)
    wide = upload(app_url, wide_file(predictor, 100_000), name="wide.csv")
    good = upload(app_url, customers(predictor, 50, tag="m"))
    data = [ref(wide), None] if which == "new" else [ref(good), ref(wide)]
    kind, message = gradio_call(app_url, "monitor", data, timeout=120)
    assert kind == "error" and "100,000 columns" in message and "1,000" in message, (kind, str(message)[:300])
    assert_clear(message)
    grown = rss_mb(pid) - before
    assert grown < 150, f"RSS grew {grown:.0f} MB for one wide upload"

