"""Figure 11: training in the Space against the CLI on the same file, in the same run.

11a: `/train` through gradio_client (upload, queue, the confined worker's start-up and fit, the zip,
the download) against `python -m training fit` of the same CSV (interpreter start-up included,
same options), in pairs run back to back in alternating order (Space then CLI, CLI then Space, …) so that a
noisy neighbour or a drifting load hits both alike; the median of the per-pair ratios. 11b: the serving process's resident memory while the Space fits a file at the row cap,
and after: the fit's memory is the worker's, never the server's.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import PYTHON, Result, fmt_s, run_measured, synthetic_csv

TARGET_RATIO = 1.2
MiB = 1024 ** 2


def run(smoke: bool = False) -> list[Result]:
    from gradio_client import Client, handle_file

    from benchmarks.servers import app_cmd, free_port, serve
    from tests.server import peak_rss
    from tests.test_redteam import rss_mb, server_pid
    rows, rounds = (2_000, 1) if smoke else (200_000, 4)
    data = synthetic_csv(rows)
    space_s, cli_s, peaks, summary = [], [], [], {}
    with serve(app_cmd(), free_port(), timeout=180) as (url, _), tempfile.TemporaryDirectory() as tmp:
        client, pid = Client(url + "/", verbose=False), server_pid(url)
        client.predict(api_name="/segments")  # the queue warmed up
        before = rss_mb(pid)
        for i in range(rounds):
            def space() -> None:
                t = time.perf_counter()
                with peak_rss(pid) as peak:
                    summary.update(client.predict(handle_file(str(data)), api_name="/train")[0])
                space_s.append(time.perf_counter() - t)
                peaks.append(peak[0])

            def cli() -> None:
                run = run_measured([PYTHON, "-m", "training", "fit", "--data", str(data), "--out", f"{tmp}/cli{i}"],
                                   timeout=900)
                if run["returncode"] != 0:
                    raise RuntimeError(f"the CLI fit failed: {run['stderr'][-800:]}")
                cli_s.append(run["seconds"])
            for step in ((space, cli) if i % 2 == 0 else (cli, space)):  # ABBA: neither always goes second
                step()
        time.sleep(1.0)
        after = rss_mb(pid)
    space, cli = statistics.median(space_s), statistics.median(cli_s)
    ratio = statistics.median(s / c for s, c in zip(space_s, cli_s))  # each pair ran back to back
    return [
        Result(f"space-train: fit in the Space (/train), {rows:,} rows", fmt_s(space), f"CLI fit {fmt_s(cli)}",
               f"{ratio:.2f}x", f"<= {TARGET_RATIO}x CLI", None if smoke else ratio <= TARGET_RATIO,
               {"space_s": space_s, "cli_s": cli_s, "k": summary["k"], "worker_peak_mb": summary["worker_peak_memory_mb"]}),
        Result(f"space-train: server RSS during / after a fit of {rows:,} rows", f"peak {max(peaks):.0f} MB / after {after:.0f} MB",
               f"before {before:.0f} MB", f"+{max(peaks) - before:.0f} MB / +{after - before:.0f} MB",
               "reported (the worker's own peak: "
               f"{summary['worker_peak_memory_mb']:,} MB)", None,
               {"before_mb": before, "peaks_mb": peaks, "after_mb": after}),
    ]


if __name__ == "__main__":
    for r in run(smoke=True):
        print(r)
