"""Figure 6: cold start, each in fresh processes, alternating. (a) `read_bundle` of the committed
bundle once its libraries are imported (hash checks, two skops loads, the PCA sample, the
summary). (b) `python app.py` from spawn to the first 200 on /health, against `python -c
"import gradio"` (spawn to exit) in the same run."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from benchmarks.common import PYTHON, ROOT, Result, fmt_s
from benchmarks.servers import app_cmd, free_port, serve
from tests.server import app_env

TARGET_READ_S, TARGET_EXTRA_S = 0.100, 1.5
READ = """
import json, time
import sklearn, skops.io, pandas, numpy  # libraries first: their import is not reading the bundle
from model.bundle import read_bundle
from model.predictor import Predictor
from model.settings import DEFAULT_BUNDLE_DIR
t = time.perf_counter(); b = read_bundle(DEFAULT_BUNDLE_DIR); t1 = time.perf_counter()
Predictor(b); t2 = time.perf_counter()
print(json.dumps({"read_bundle": t1 - t, "predictor": t2 - t1}))
"""


def run(smoke: bool = False) -> list[Result]:
    rounds = 1 if smoke else 3
    reads, predictors, apps, gradios = [], [], [], []
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
        port = free_port()
        with serve(app_cmd(), port, timeout=180) as (_, ready):
            apps.append(ready)
    read, app, grad = statistics.median(reads), statistics.median(apps), statistics.median(gradios)
    return [
        Result("6a read_bundle (committed bundle)", fmt_s(read), f"Predictor build +{fmt_s(statistics.median(predictors))}",
               "", "<= 100 ms", None if smoke else read <= TARGET_READ_S, {"samples": reads}),
        Result("6b python app.py -> ready", fmt_s(app), f"import gradio {fmt_s(grad)}", f"+{app - grad:.2f} s",
               "<= import gradio + 1.5 s", None if smoke else app <= grad + TARGET_EXTRA_S,
               {"app_samples": apps, "gradio_samples": gradios}),
    ]


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
