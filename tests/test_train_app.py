"""`/train` on the real app through gradio_client: a file in, the summary and a bundle zip out; every
bad file refused with a sentence naming the problem (a cap by its value); two callers at once (one
waits its turn); a worker that runs out of memory leaves the server as it was; the Space's own
model keeps serving everyone."""
from __future__ import annotations

import os
import time
import zipfile

import httpx
import pytest
from gradio_client import Client, handle_file

from model.contract.bundle import read_bundle
from tests.server import peak_rss, running_app
from tests.test_redteam import rss_mb, server_pid
from tests.test_train_worker import BAD


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url + "/", verbose=False)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    files = {}
    for name, (data, message) in BAD.items():
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        files[name] = (path, message)
    (folder / "empty.csv").write_bytes(b"")
    files["empty.csv"] = (folder / "empty.csv", r"the file is empty")
    (folder / "two_million.csv").write_bytes(b"a,b\n" + b"1,2\n" * 2_000_000)
    files["two_million.csv"] = (folder / "two_million.csv", r"2,000,000 data lines; training here takes at most 200,000 customer rows")
    return files


def test_train_returns_the_summary_and_a_bundle_zip(client, app_url, shared_data, tmp_path):
    live_segments = httpx.get(app_url + "/segments", timeout=30).json()
    summary, bundle_zip = client.predict(handle_file(str(shared_data / "Mall_Customers.csv")), "table", "3", "", "",
                                         "none=Age", "", api_name="/train")
    assert summary["k"] == 3 and len(summary["segments"]) == 3 and summary["rows"] == 200
    features = {f["name"]: f["role"] for f in summary["features"]}
    assert features == {"Gender": None, "Age": None, "Annual Income (k$)": "income", "Spending Score (1-100)": "spend"}
    assert sum(s["size"] for s in summary["segments"]) == 200 and summary["worker_peak_memory_mb"] > 50
    with zipfile.ZipFile(bundle_zip) as zf:
        zf.extractall(tmp_path)
    (folder,) = tmp_path.iterdir()
    manifest = read_bundle(folder).manifest
    assert [s.name for s in manifest.segments] == [s["name"] for s in summary["segments"]]
    assert httpx.get(app_url + "/segments", timeout=30).json() == live_segments  # the Space's model is untouched


def test_train_reads_an_order_log(client, shared_data):
    summary, _ = client.predict(handle_file(str(shared_data / "online_retail_invoices.csv")), api_name="/train")
    assert summary["rows"] == 4338 and [f["name"] for f in summary["features"]] == [
        "recency_days", "frequency", "monetary", "tenure_days", "avg_order_value"]


@pytest.mark.parametrize("name", ["empty.csv", "one_column.csv", "no_values.csv", "only_ids.csv", "binary.csv",
                                  "two_million.csv"])
def test_a_bad_file_gets_a_sentence_and_nothing_is_kept(name, client, bad_files):
    path, message = bad_files[name]
    with pytest.raises(Exception, match=message) as caught:
        client.predict(handle_file(str(path)), api_name="/train")
    assert type(caught.value).__name__ == "AppError" and "Traceback" not in str(caught.value)


def test_options_outside_their_choices_are_named(app_url, client, shared_data):
    with pytest.raises(Exception, match=r"k must be one of auto, 2, 3, .*, 10; got '11'"):
        client.predict(handle_file(str(shared_data / "Mall_Customers.csv")), "auto", "11", api_name="/train")
    with pytest.raises(Exception, match=r"kinds must look like COLUMN=VALUE; COLUMN=VALUE; got 'Age'"):
        client.predict(handle_file(str(shared_data / "Mall_Customers.csv")), "auto", "auto", "", "Age",
                       api_name="/train")
    with pytest.raises(Exception, match=r"unknown role 'wealth'"):
        client.predict(handle_file(str(shared_data / "Mall_Customers.csv")), "auto", "auto", "", "",
                       "wealth=Age", api_name="/train")


def test_two_callers_at_once_one_waits_its_turn(app_url, shared_data):
    """Two programs submit a fit together: one runs while the other is queued (Gradio reports its
    place in the line), then it runs; each gets its own bundle."""
    first, second = Client(app_url + "/", verbose=False), Client(app_url + "/", verbose=False)
    jobs = [c.submit(handle_file(str(shared_data / name)), api_name="/train")
            for c, name in ((first, "Mall_Customers.csv"), (second, "customer_segmentation_data.csv"))]
    queued = set()
    while not all(j.done() for j in jobs):
        for i, job in enumerate(jobs):
            status = job.status()
            if status.code.name == "IN_QUEUE" and status.rank is not None:
                queued.add(i)
        time.sleep(0.1)
    (s1, z1), (s2, z2) = (j.result() for j in jobs)
    assert (s1["rows"], s2["rows"]) == (200, 1000) and z1 != z2
    assert queued, "neither call ever waited in the line, though only one fit runs at a time"


@pytest.fixture(scope="module")
def starved_url(artifacts_dir):
    """An app whose worker may use 400 MB of address space: not enough to import the build side."""
    with running_app({"TRAIN_MEMORY_MB": "400"}, log_path=artifacts_dir / "app-train-starved.log") as url:
        yield url


def test_a_worker_out_of_memory_leaves_the_server_as_it_was(starved_url, shared_data):
    client = Client(starved_url + "/", verbose=False)
    pid = server_pid(starved_url)
    data = handle_file(str(shared_data / "customer_segmentation_data.csv"))

    def fit() -> str:
        with pytest.raises(Exception, match=r"needed more memory than training here may use \(0.4 GiB") as caught:
            client.predict(data, api_name="/train")
        return str(caught.value)
    fit()  # first call: Gradio's own first-call work is not the worker's
    baseline = rss_mb(pid)
    with peak_rss(pid) as peak:
        for _ in range(3):
            assert "Nothing was kept" in fit()
    after = rss_mb(pid)
    print(f"server RSS: baseline {baseline:.0f} MB, peak during 3 failed fits {peak[0]:.0f} MB, after {after:.0f} MB")
    assert after - baseline < 25, (baseline, after)
    assert peak[0] - baseline < 60, (baseline, peak[0])  # the fit's memory is the worker's, never the server's
    assert httpx.get(starved_url + "/health", timeout=10).status_code == 200
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _is_worker_of(int(p), pid)]


def _is_worker_of(pid: int, parent: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1]) == parent
    except OSError:
        return False
