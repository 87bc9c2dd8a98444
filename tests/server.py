"""Start a server (by default the real app, `python app.py`) on 127.0.0.1 in a subprocess and wait
until it answers /health. Shared by the tests and the benchmarks."""
from __future__ import annotations

import os
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


@contextmanager
def serving(cmd: list[str], port: int, *, env: dict[str, str], log_path: Path | None = None,
            timeout: float = 90.0, poll: float = 0.2) -> Iterator[tuple[str, float]]:
    """Start `cmd` (listening on `port`); yield (base URL, seconds from spawn to the first 200 on
    /health); stop it afterwards. Output goes to `log_path` (a temporary file when None: a pipe
    nobody reads would fill up and stall a long run); its tail is in the error if it dies."""
    url = f"http://127.0.0.1:{port}"
    log = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
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
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


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
