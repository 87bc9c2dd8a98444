"""Training for the Space, below the web layer: the caps checked before parsing, the confined worker
process (`python -m training.worker`, started by `space.train.launcher`) — how it reads a file, its
memory cap, its deadline, its lack of network, the sentences a visitor gets — and the bundle zip."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from model.contract.bundle import read_bundle
from model.contract.errors import CSVError, TrainError
from space.files import DiskBudget
from space.scored import BatchFiles
from space.train.launcher import Launcher
from space.train.limits import TrainLimits, precheck, train_limits
from space.train.service import Choices, Trainer
from tests.conftest import ROOT

LIMITS = TrainLimits()


@pytest.fixture
def trainer(tmp_path) -> Trainer:
    files = BatchFiles(tmp_path / "out", budget=DiskBudget(max_total=512 * 2**20, max_per_client=512 * 2**20))
    yield Trainer(LIMITS, files)
    files.close()


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# -- the caps, before anything parses the file ------------------------------------------------
def test_precheck_names_the_cap_a_file_breaks(tmp_path):
    small = TrainLimits(max_bytes=1000, max_rows=10, max_log_lines=20, max_columns=3)
    with pytest.raises(CSVError, match=r"the file is 1,001 bytes; training here takes files up to 1,000 bytes"):
        precheck(write(tmp_path / "big.csv", "x" * 1001), small)
    with pytest.raises(CSVError, match=r"the file has 21 data lines; .* at most 10 customer rows or 20 order-log lines"):
        precheck(write(tmp_path / "long.csv", "a,b\n" + "1,2\n" * 21), small)
    with pytest.raises(CSVError, match=r"the header has 4 fields; .* at most 3 columns"):
        precheck(write(tmp_path / "wide.csv", "a;b;c;d\n1;2;3;4\n"), small)
    for blank in (b"", b"\n\n  \r\n", b"\xef\xbb\xbf\n"):
        with pytest.raises(CSVError, match="the file is empty"):
            precheck(write(tmp_path / "empty.csv", blank), small)
    facts = precheck(write(tmp_path / "ok.csv", '"a,x",b\n1,2\n3,4'), small)  # quoted comma, no final newline
    assert (facts.lines, facts.columns, facts.bytes) == (3, 2, 15)


def test_two_million_rows_are_refused_before_parsing(tmp_path):
    path = write(tmp_path / "two_million.csv", "a,b\n" + "1,2\n" * 2_000_000)
    with pytest.raises(CSVError, match=r"2,000,000 data lines; .* at most 200,000 customer rows"):
        precheck(path, LIMITS)


def test_caps_come_from_the_environment_and_bad_values_are_named():
    limits = train_limits({"TRAIN_MAX_ROWS": "5000", "TRAIN_MEMORY_MB": "1024", "TRAIN_TIMEOUT_S": "30.5"})
    assert (limits.max_rows, limits.memory_bytes, limits.timeout_s) == (5000, 2**30, 30.5)
    assert limits.job_limits()["memory_bytes"] == 2**30
    assert not train_limits({"TRAIN": "0"}).enabled
    with pytest.raises(ValueError, match="TRAIN_MAX_ROWS must be a positive number, got '-3'"):
        train_limits({"TRAIN_MAX_ROWS": "-3"})


# -- how the worker reads a file ----------------------------------------------------------------
def test_worker_reads_a_table_as_fit_does(trainer, shared_data):
    read = trainer.inspect(shared_data / "Mall_Customers.csv", Choices()).reading
    assert read["source"] == "table" and read["rows_out"] == 200 and read["id_column"] == "CustomerID"
    kinds = {c["name"]: (c["kind"], c["role"]) for c in read["columns"]}
    assert kinds == {"CustomerID": ("id", None), "Gender": ("categorical", None), "Age": ("numeric", "age"),
                     "Annual Income (k$)": ("numeric", "income"), "Spending Score (1-100)": ("numeric", "spend")}
    assert "none" in read["roles_allowed"] and "income" in read["roles_allowed"]


def test_worker_reads_an_order_log_and_its_dates(trainer, shared_data):
    read = trainer.inspect(shared_data / "online_retail_invoices.csv", Choices()).reading
    assert read["source"] == "log" and "customers repeat" in read["why_source"]
    assert read["log_roles"] == {"customer": "CustomerID", "date": "InvoiceDate", "amount": "TotalPrice",
                                 "order": "InvoiceNo"}
    assert read["rows_in"] == 18532 and read["rows_out"] == 4338
    assert "ISO 8601" in read["date_formats"]


def test_the_visitors_choices_change_the_reading(tmp_path):
    """In process (the same function the worker runs): kinds, roles and the id column."""
    from training.reading.describe import describe
    rows = "".join(f"c{i},{i % 5},{20 + i % 40},{'A' if i % 2 else 'B'},note {i}\n" for i in range(60))
    path = write(tmp_path / "t.csv", "client,stars,age,plan,memo\n" + rows)
    first = {c["name"]: c for c in describe(path)["columns"]}
    assert first["stars"]["kind"] == "numeric" and first["memo"]["kind"] == "excluded"
    again = describe(path, source="table", kinds={"stars": "categorical", "plan": "excluded"},
                     role_flags=["none=age"], id_column="client")
    cols = {c["name"]: c for c in again["columns"]}
    assert cols["stars"]["kind"] == "categorical" and "5 levels" in cols["stars"]["note"]
    assert cols["plan"] == {**cols["plan"], "kind": "excluded", "note": "excluded by you"}
    assert cols["age"]["role"] is None and cols["client"]["kind"] == "id"
    with pytest.raises(ValueError, match=r"kind for 'stars' must be one of numeric, categorical, excluded; got 'date'"):
        describe(path, kinds={"stars": "date"})
    with pytest.raises(ValueError, match=r"kind for 'nope': no such column; columns are: client, stars"):
        describe(path, kinds={"nope": "numeric"})


BAD = {  # file → what the visitor is told
    "binary.csv": (os.urandom(4000) + b"\x00" + os.urandom(4000), r"binary data \(a NUL byte\)"),
    "only_ids.csv": ("customer_id\n" + "".join(f"C{i:05d}\n" for i in range(300)),
                     r"no usable feature columns: customer_id: the id column"),
    "one_column.csv": ("age\n" + "".join(f"{18 + i * 37 % 61}\n" for i in range(300)),
                       r"only one usable feature column \(age\).*at least two columns"),
    "no_values.csv": ("age,income\n" + ",\n" * 50, r"age: empty in every row; income: empty in every row"),
    "few_rows.csv": ("age,income\n" + "".join(f"{20 + i},{1000 * i}\n" for i in range(5)),
                     r"only 5 usable rows after cleaning; at least 10 are needed"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_file_that_cannot_be_used_gets_a_sentence(name, trainer, tmp_path):
    data, message = BAD[name]
    with pytest.raises(ValueError, match=message) as caught:
        trainer.fit(write(tmp_path / name, data), Choices())
    assert "Traceback" not in str(caught.value) and str(tmp_path) not in str(caught.value)
    assert not any(trainer.files.root.glob("call-*")), "a failed fit leaves nothing on disk"


def test_library_errors_are_not_passed_on_as_sentences():
    from sklearn.decomposition import PCA

    from training.worker import written_for_people
    try:
        PCA(n_components=5).fit([[1.0], [2.0]])
    except ValueError as exc:
        assert not written_for_people(exc)
    try:
        raise ValueError("ours")
    except ValueError as exc:
        assert written_for_people(exc)


# -- the fit: its steps, its bundle and zip -----------------------------------------------------
def test_fit_reports_every_step_and_writes_a_bundle_and_its_zip(trainer, shared_data, tmp_path):
    steps = []
    fitted = trainer.fit(shared_data / "Mall_Customers.csv", Choices(k="3"), on_step=steps.append)
    assert [s["n"] for s in steps] == list(range(1, len(steps) + 1)) and steps[-1]["n"] == steps[-1]["total"]
    assert steps[0]["message"] == "reading and cleaning data" and steps[-1]["message"] == "writing bundle"
    assert fitted.summary["k"] == 3 and len(fitted.summary["segments"]) == 3
    assert fitted.folder.parent == trainer.files.root and not (fitted.folder / "work").exists()
    with zipfile.ZipFile(fitted.zip_path) as zf:
        zf.extractall(tmp_path / "unzipped")
    (folder,) = (tmp_path / "unzipped").iterdir()
    bundle = read_bundle(folder)  # every file verified against the manifest
    assert bundle.manifest.k == 3 and bundle.manifest.training.source == "Mall_Customers.csv"
    assert fitted.peak_rss_bytes > 50 * 2**20


def test_an_upload_deleted_once_the_job_started_does_not_fail_it(tmp_path, shared_data):
    """Gradio's cache cleaner (or a stopping server that shared the cache) may delete an upload while
    its fit runs: the worker reads its own copy (CI once failed a fit this way)."""
    upload = tmp_path / "gradio" / "abc" / "Mall_Customers.csv"
    upload.parent.mkdir(parents=True)
    shutil.copyfile(shared_data / "Mall_Customers.csv", upload)

    class Cleaner(Launcher):
        def run(self, job, **kw):
            upload.unlink()  # deleted after the server's checks, before the worker reads
            return super().run(job, **kw)
    files = BatchFiles(tmp_path / "out", budget=DiskBudget(max_total=512 * 2**20, max_per_client=512 * 2**20))
    fitted = Trainer(LIMITS, files, launcher=Cleaner(timeout_s=LIMITS.timeout_s)).fit(upload, Choices(k="3"))
    assert fitted.summary["k"] == 3 and not upload.exists()
    assert read_bundle(fitted.bundle_dir).manifest.training.source == "Mall_Customers.csv"
    with pytest.raises(TrainError, match="no longer on the server .* upload the file again"):
        Trainer(LIMITS, files).fit(upload, Choices())  # gone before the job started: said, not a traceback


# -- confinement: memory, time, network --------------------------------------------------------
def test_the_memory_cap_stops_the_worker_with_a_clear_message(tmp_path, shared_data):
    limits = TrainLimits(memory_bytes=300 * 2**20)
    files = BatchFiles(tmp_path / "out", budget=DiskBudget(max_total=2**29, max_per_client=2**29))
    try:
        with pytest.raises(TrainError, match=r"needed more memory than training here may use \(0\.3 GiB"):
            Trainer(limits, files).fit(shared_data / "Mall_Customers.csv", Choices())
        assert not any(files.root.glob("call-*"))
    finally:
        files.close()


def test_the_deadline_kills_the_worker_and_everything_it_started(tmp_path, shared_data):
    launcher = Launcher(timeout_s=0.5)
    before = _my_children()
    job = {"kind": "fit", "file": str(shared_data / "Mall_Customers.csv"), "lines": 201, "out": str(tmp_path / "b"),
           "zip": str(tmp_path / "b.zip"), "limits": LIMITS.job_limits()}
    with pytest.raises(TrainError, match=r"the fit took longer than 0.5 s, the limit here, and was stopped"):
        launcher.run(job, workdir=tmp_path / "work")
    assert _my_children() == before, "the worker (or a child of it) outlived its deadline"
    assert not (tmp_path / "b.zip").exists()


def _my_children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[1] == me:
                    out.add(int(pid))
        except OSError:
            continue
    return out


def test_the_worker_has_no_network():
    """A listener on loopback here; the confined process cannot reach it, through Python's socket
    module or the raw `_socket` below it (when the kernel grants a network namespace)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = ("import sys; from training.worker import confine; how = confine({}); print(how)\n"
                "import socket, _socket\n"
                "for connect in (lambda: socket.create_connection(('127.0.0.1', %d), timeout=2),\n"
                "                lambda: _socket.socket().connect(('127.0.0.1', %d))):\n"
                "    try:\n        connect(); print('CONNECTED')\n"
                "    except OSError as exc:\n        print('refused', type(exc).__name__)\n") % (port, port)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr[-1000:]
    lines = out.stdout.splitlines()
    assert "CONNECTED" not in out.stdout and lines[1] == "refused PermissionError", lines
    if lines[0].startswith("own empty network namespace"):
        assert lines[2].startswith("refused"), lines  # the kernel refuses even the raw socket


def test_an_excel_export_is_read_as_it_was_meant(trainer, tmp_path):
    """';' between fields, decimal commas, a UTF-8 byte-order mark: what Excel writes in much of Europe."""
    rows = "".join(f"K{i};{20 + i % 50};{30 + i % 90},{i % 100:02d};{1 + i % 99}\r\n" for i in range(300))
    path = write(tmp_path / "excel.csv", "\ufeffKunde;Alter;Einkommen;Ausgaben\r\n".encode("utf-8") + rows.encode())
    read = trainer.inspect(path, Choices()).reading
    kinds = {c["name"]: c["kind"] for c in read["columns"]}
    assert kinds == {"Kunde": "id", "Alter": "numeric", "Einkommen": "numeric", "Ausgaben": "numeric"}


def test_where_training_is_not_installed_the_tab_says_how_to_enable_it(monkeypatch, tmp_path):
    import importlib.util

    from space.render.training import intro
    from space.train import service
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    assert not service.training_installed()
    files = BatchFiles(tmp_path / "out", budget=DiskBudget(max_total=2**20, max_per_client=2**20))
    try:
        trainer = Trainer(LIMITS, files)
        assert not trainer.ready
        with pytest.raises(TrainError, match=r"push --bundle … --repo OWNER/MODEL --space OWNER/SPACE --train"):
            trainer.inspect(write(tmp_path / "a.csv", "a,b\n1,2\n"), Choices())
    finally:
        files.close()
    text = intro(LIMITS, ready=False, ttl_s=3600, estimate=trainer.estimate)
    assert "Not available here" in text and "--train" in text and "Limits here" not in text
    monkeypatch.undo()
    assert service.training_installed()  # this environment has the training requirements
