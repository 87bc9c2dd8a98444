"""Helpers of the red-team tests (tests/test_redteam*.py): upload a file to a running app, name it
in a call, read a served file, make a customer CSV, find the server's process and its memory."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx


def upload(base: str, data: bytes, name: str = "customers.csv") -> str:
    r = httpx.post(base + "/gradio_api/upload", files={"files": (name, data, "text/csv")}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json()[0]


def ref(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def served(base: str, path: str) -> bytes:
    r = httpx.get(f"{base}/gradio_api/file={path}", timeout=30)
    assert r.status_code == 200, (path, r.status_code)
    return r.content


def customers(predictor, n: int, *, tag: str, id_header: str = "id") -> bytes:
    ex = predictor.schema.example()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([id_header, *ex])
    for i in range(n):
        w.writerow([f"{tag}-{i}", *ex.values()])
    return buf.getvalue().encode()


def fn_index(base: str, api_name: str) -> int:
    return next(d["id"] for d in httpx.get(base + "/config").json()["dependencies"] if d.get("api_name") == api_name)


def server_pid(base: str) -> int:
    """The pid of the process listening on `base`'s port (from /proc, Linux)."""
    port = urlsplit(base).port
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                parts = line.split()
                if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":
                    inodes.add(parts[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in {f"socket:[{i}]" for i in inodes}:
                    return int(pid)
        except OSError:
            continue
    raise AssertionError(f"nobody listens on port {port}")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        line = next(x for x in fh if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def log_tracebacks(log: Path) -> int:
    return log.read_text(errors="replace").count("Traceback")


