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
from tests.server import running_app
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



# -- one disk budget for everything the app writes ---------------------------------------------------
MB = 2**20


def used(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def upload_as(base: str, client: str, data: bytes, name: str = "c.csv") -> httpx.Response:
    return httpx.post(base + "/gradio_api/upload", files={"files": (name, data, "text/csv")},
                      headers={"x-forwarded-for": f"203.0.113.77, {client}"}, timeout=60)


@pytest.fixture(scope="module")
def budget_url(artifacts_dir, tmp_path_factory):
    """Behind a trusted proxy (clients told apart by X-Forwarded-For), 3 MB per client, 8 MB in all."""
    cache = tmp_path_factory.mktemp("cache")
    env = {"TRUST_FORWARDED_HEADERS": "1", "MAX_DISK_BYTES_PER_CLIENT": str(3 * MB), "MAX_DISK_BYTES": str(8 * MB),
           "GRADIO_TEMP_DIR": str(cache), "MAX_UPLOAD_BYTES": str(2 * MB), "MAX_UPLOAD_REQUEST_BYTES": str(2 * MB)}
    with running_app(env, log_path=artifacts_dir / "app-disk-budget.log") as url:
        yield url, cache


def test_many_uploads_from_one_client_stay_within_its_budget(budget_url, predictor):
    """Uploads were capped per request only: 190 MB in 2.3 s. Now a client's oldest files go once
    it holds more than its share, and other clients' files stay."""
    url, cache = budget_url
    other = upload_as(url, "198.51.100.2", customers(predictor, 20, tag="other"))
    assert other.status_code == 200
    padding = b"\n" * (MB - 200)
    paths = []
    for i in range(20):
        r = upload_as(url, "198.51.100.1", customers(predictor, 3, tag=f"a{i}") + padding)
        assert r.status_code == 200, r.text[:300]
        paths.append(r.json()[0])
    assert used(cache) <= 3 * MB + 64 * 1024 + len(customers(predictor, 20, tag="other"))
    assert not Path(paths[0]).exists() and Path(paths[-1]).exists() and Path(other.json()[0]).exists()
    kind, out = gradio_call(url, "predict_batch", [ref(other.json()[0])])
    assert kind == "complete", out  # the other client's file was kept, and still scores


def test_scored_files_are_charged_to_the_client_who_uploaded(budget_url, predictor):
    url, cache = budget_url
    big = customers(predictor, 6000, tag="b")  # ~0.4 MB in, a few MB scored
    r = upload_as(url, "198.51.100.3", big)
    assert r.status_code == 200
    kind, out = gradio_call(url, "predict_batch", [ref(r.json()[0])], timeout=120)
    assert kind == "complete", out
    scored = Path(out[0]["path"])
    assert scored.stat().st_size > len(big)
    for i in range(3):  # the same client keeps uploading: its scored file is among its oldest
        upload_as(url, "198.51.100.3", customers(predictor, 3, tag=f"c{i}") + b"\n" * (MB - 200))
    assert not scored.exists()
    assert used(cache) <= 8 * MB


def test_an_upload_larger_than_a_client_s_budget_is_refused(artifacts_dir, predictor, tmp_path):
    env = {"MAX_DISK_BYTES_PER_CLIENT": str(MB), "GRADIO_TEMP_DIR": str(tmp_path)}
    with running_app(env, log_path=artifacts_dir / "app-disk-small.log") as url:
        r = httpx.post(url + "/gradio_api/upload", timeout=60,
                       files={"files": ("c.csv", customers(predictor, 3, tag="x") + b"\n" * (2 * MB), "text/csv")})
        assert r.status_code == 507 and "at most 1.0 MB" in r.json()["error"], r.text[:300]
        assert used(tmp_path) < 64 * 1024
