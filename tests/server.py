"""Start a server (by default the real app, `python app.py`) on 127.0.0.1 in a subprocess and wait
until it answers /health. Shared by the tests and the benchmarks.

Each pytest-xdist worker starts its own servers: ports come from the OS (`free_port`), logs and
temporary folders are the caller's (per test or per worker)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parents[1]
# Seconds a stopped server gets to close on its own after SIGTERM: uvicorn stops accepting, closes
# idle connections and runs the app's shutdown (scored files deleted) — unless a client still holds
# a stream open (gradio_client's heartbeat), which uvicorn would wait for as long as the client
# lives. Then SIGINT makes it stop waiting for them (its "force quit").
GRACE_S = 3.0
PIDS: dict[str, int] = {}  # base URL → process id of the servers running now
LOGS: dict[str, Path] = {}  # base URL → log file of the servers running now (tests/conftest.py shows them on failure)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without model/Hub settings, listening on 127.0.0.1:`port`, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "HF_"))}
    env.update({"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
                **(extra or {})})
    return env


def stop(proc: subprocess.Popen, *, grace: float = GRACE_S) -> None:
    """SIGTERM, then SIGINT after `grace` seconds (see GRACE_S), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGINT, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def serving(cmd: list[str], port: int, *, env: dict[str, str], log_path: Path | None = None,
            timeout: float = 90.0, poll: float = 0.2, cwd: Path = ROOT) -> Iterator[tuple[str, float]]:
    """Start `cmd` in `cwd` (listening on `port`); yield (base URL, seconds from spawn to the first
    200 on /health); stop it afterwards (`stop`). Output goes to `log_path` (a temporary file when
    None: a pipe nobody reads would fill up and stall a long run); its tail is in the error if it
    dies. `PIDS[url]` is its process id meanwhile, `LOGS[url]` its log file.

    Unless `env` names one, the server gets a Gradio cache folder of its own (deleted afterwards), as
    on a machine of its own: Gradio names an upload by the hash of its bytes and deletes every file
    it cached when it stops, so servers sharing /tmp/gradio deleted each other's uploads of the same
    data set mid-request (a fit in one test found no file when another test's server stopped)."""
    url = f"http://127.0.0.1:{port}"
    own_cache = None if env.get("GRADIO_TEMP_DIR") else tempfile.mkdtemp(prefix="gradio-cache-")
    if own_cache:
        env = {**env, "GRADIO_TEMP_DIR": own_cache}
    log = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    PIDS[url] = proc.pid
    if log_path:
        LOGS[url] = Path(log_path)
    try:
        with httpx.Client(timeout=1.0) as client:
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    tail = log.read().decode("utf-8", "replace")[-1500:]
                    raise RuntimeError(f"{' '.join(cmd[1:2])} exited with {proc.returncode}: {tail}")
                try:
                    if client.get(url + "/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.perf_counter() - start > timeout:
                    raise TimeoutError(f"{cmd} did not answer /health within {timeout} s")
                time.sleep(poll)
        yield url, time.perf_counter() - start
    finally:
        PIDS.pop(url, None)
        LOGS.pop(url, None)
        stop(proc)
        log.close()
        if own_cache:
            shutil.rmtree(own_cache, ignore_errors=True)


@contextmanager
def running_app(env: dict[str, str] | None = None, *, log_path: Path | None = None,
                timeout: float = 90.0) -> Iterator[str]:
    """Yields the base URL of a freshly started app; stops it afterwards."""
    port = free_port()
    with serving([sys.executable, str(ROOT / "app.py")], port, env=app_env(port, env),
                 log_path=log_path, timeout=timeout) as (url, _):
        yield url


@contextmanager
def peak_rss(pid: int, *, every_s: float = 0.05) -> Iterator[list[float]]:
    """Sample process `pid`'s resident memory while the block runs; the yielded list holds the
    peak in MB when the block ends."""
    from tests.test_redteam import rss_mb
    peak, stop = [0.0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(every_s)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()
