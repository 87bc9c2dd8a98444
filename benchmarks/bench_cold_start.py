"""cold-start: cold start and memory, each in fresh processes, alternating.

(a) `read_bundle` + `Predictor` of the committed bundle once numpy and pandas are imported (hash
checks, the typed manifest, the serving arrays, the PCA sample, the summary).
(b) `python app.py` from spawn to its first answer (`POST /predict` → 200), against `python -c
"import gradio"` (spawn to exit) in the same run.
(c) The serving process's resident memory (VmRSS, after answering) against a bare Gradio app
(one Markdown block mounted on FastAPI, same launch path) in the same run.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks.common import PYTHON, ROOT, Result, fmt_s
from benchmarks.servers import app_cmd, free_port
from tests.server import app_env, serving

TARGET_READ_S, TARGET_EXTRA_S = 0.100, 0.8
READ = """
import json, time
import numpy, pandas  # libraries first: their import is not reading the bundle
from model.contract.bundle import read_bundle
from model.serving.predictor import Predictor
from model.contract.bundle import DEFAULT_BUNDLE_DIR
t = time.perf_counter(); b = read_bundle(DEFAULT_BUNDLE_DIR); t1 = time.perf_counter()
Predictor(b); t2 = time.perf_counter()
print(json.dumps({"read_bundle": t1 - t, "predictor": t2 - t1}))
"""
BARE_GRADIO = """
import sys
import gradio as gr, uvicorn
from fastapi import FastAPI
app = FastAPI()

@app.get("/health")
def health():
    return {"status": "ok"}

with gr.Blocks() as demo:
    gr.Markdown("bare")
app = gr.mount_gradio_app(app, demo, path="/", ssr_mode=False)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _first_answer(record: dict) -> tuple[float, float]:
    """Seconds from spawning `python app.py` to its first 200 on POST /predict, and its RSS then."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    proc = subprocess.Popen(app_cmd(), cwd=ROOT, env=app_env(port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(timeout=1.0) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"app.py exited with {proc.returncode}")
                try:
                    if client.post(url + "/predict", json=record).status_code == 200:
                        return time.perf_counter() - start, _rss_mb(proc.pid)
                except httpx.HTTPError:
                    pass
                if time.perf_counter() - start > 180:
                    raise TimeoutError("app.py did not answer within 180 s")
                time.sleep(0.02)
    finally:
        proc.terminate()
        proc.wait(10)


def _bare_rss() -> float:
    port = free_port()
    with serving([PYTHON, "-c", BARE_GRADIO, str(port)], port, env=app_env(port), timeout=180, poll=0.05):
        return _rss_of_port(port)


def _rss_of_port(port: int) -> float:
    """RSS of the process listening on 127.0.0.1:`port` (found through /proc/net/tcp inodes)."""
    want = f"{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(":" + want) and parts[3] == "0A":  # LISTEN
            inodes.add(parts[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return _rss_mb(int(pid))
        except OSError:
            continue
    raise RuntimeError(f"no process listens on port {port}")


def run(smoke: bool = False) -> list[Result]:
    from benchmarks.servers import example
    record = example()[0]
    rounds = 1 if smoke else 5  # start-up times on a shared machine vary by seconds: medians of several
    reads, predictors, apps, gradios, rss, bare = [], [], [], [], [], []
    for _ in range(rounds):
        out = subprocess.run([PYTHON, "-c", READ], cwd=ROOT, env=app_env(free_port()), capture_output=True,
                             text=True, check=True, timeout=120)
        got = json.loads(out.stdout.strip().splitlines()[-1])
        reads.append(got["read_bundle"])
        predictors.append(got["predictor"])
        t = time.perf_counter()
        subprocess.run([PYTHON, "-c", "import gradio"], cwd=ROOT, env=app_env(free_port()), check=True,
                       timeout=120, capture_output=True)
        gradios.append(time.perf_counter() - t)
        seconds, mb = _first_answer(record)
        apps.append(seconds)
        rss.append(mb)
        bare.append(_bare_rss())
    read, app, grad = statistics.median(reads), statistics.median(apps), statistics.median(gradios)
    extra = statistics.median(a - g for a, g in zip(apps, gradios))  # each app beside the import run just before it
    mem, base = statistics.median(rss), statistics.median(bare)
    return [
        Result("cold-start: read_bundle (committed bundle)", fmt_s(read), f"Predictor build +{fmt_s(statistics.median(predictors))}",
               "", "<= 100 ms", None if smoke else read <= TARGET_READ_S, {"samples": reads}),
        Result("cold-start: python app.py -> first answer", fmt_s(app), f"import gradio {fmt_s(grad)}", f"{extra:+.2f} s",
               f"<= import gradio + {TARGET_EXTRA_S} s", None if smoke else extra <= TARGET_EXTRA_S,
               {"app_samples": apps, "gradio_samples": gradios, "extra_median_of_pairs_s": extra,
                "extra_of_medians_s": app - grad}),
        Result("cold-start: serving process RSS", f"{mem:.0f} MB", f"bare Gradio app {base:.0f} MB", f"+{mem - base:.0f} MB",
               "reported", None, {"app_mb": rss, "bare_mb": bare}),
    ]


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
