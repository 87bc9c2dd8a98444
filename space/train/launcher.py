"""Start `python -m training.worker` for one job and follow it: its steps, its deadline, its end.

The server never imports the build side: a job is JSON on the worker's stdin, its answer JSON
lines on its stdout (at most `MAX_OUTPUT` bytes are read), its stderr goes to a file the server
logs and never shows. The worker runs in a session of its own with a clean environment (no
HF_TOKEN or other secret, the Hub offline, TMPDIR inside the job's folder) and confines itself
(`training.worker.confine`: memory, CPU, file size, network). Past its deadline it is killed with
its whole process group. A crash, a kill or a refusal becomes a `TrainError` written for the
visitor; nothing of the worker stays in the server (its memory was never ours).

One fit at a time per server: `fit_slot` is held while a fit runs (Gradio's queue already
serialises the fit events; the slot also covers any other caller). Inspections have a slot of
their own, so a visitor can check a file while another visitor's fit runs.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from model.contract.errors import TrainError

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
MAX_OUTPUT = 4 * 1024 * 1024
_ENV_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED", "OMP_NUM_THREADS",
             "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MPLCONFIGDIR", "XDG_CACHE_HOME")


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    seconds: float  # wall time from start to exit, the worker's start-up included
    peak_rss_bytes: int  # the worker's own peak resident memory (from wait4)


def worker_env(workdir: Path) -> dict[str, str]:
    """The worker's environment: what Python and the libraries need, nothing secret."""
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEPT}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
                "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TMPDIR": str(workdir)})
    return env


class Launcher:
    """Runs worker jobs for one server (see the module docstring)."""

    def __init__(self, *, timeout_s: float, python: str = sys.executable):
        self.timeout_s, self.python = timeout_s, python
        self.fit_slot, self.inspect_slot = threading.Lock(), threading.Lock()

    def run(self, job: dict[str, Any], *, workdir: Path, on_step: Callable[[dict[str, Any]], None] | None = None,
            timeout_s: float | None = None) -> Outcome:
        """Run one job to its end; raises TrainError (the visitor's sentence) on any failure."""
        slot = self.fit_slot if job.get("kind") == "fit" else self.inspect_slot
        with slot:
            return self._run(job, Path(workdir), on_step, timeout_s or self.timeout_s)

    def _run(self, job: dict[str, Any], workdir: Path, on_step: Callable[[dict[str, Any]], None] | None,
             timeout_s: float) -> Outcome:
        workdir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with tempfile.TemporaryFile(dir=workdir) as stderr:
            proc = subprocess.Popen([self.python, "-m", "training.worker"], cwd=ROOT, env=worker_env(workdir),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    start_new_session=True)
            lines: queue.Queue[bytes | None] = queue.Queue()
            reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
            reader.start()
            try:
                proc.stdin.write(json.dumps(job).encode("utf-8"))  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]
            except BrokenPipeError:
                pass  # it died at start: its exit status says why
            final, timed_out = None, False
            deadline = start + timeout_s
            while True:
                try:
                    line = lines.get(timeout=max(0.0, min(1.0, deadline - time.perf_counter())))
                except queue.Empty:
                    if time.perf_counter() >= deadline:
                        timed_out = True
                        _kill(proc)
                        break
                    continue
                if line is None:
                    break
                event = _event(line)
                if event.get("event") == "step" and on_step is not None:
                    on_step(event)
                elif event.get("event") in ("done", "error"):
                    final = event
            status, peak = _reap(proc)
            reader.join(timeout=5)
            seconds = time.perf_counter() - start
            if status != 0 or final is None or final.get("event") != "done":
                stderr.seek(0)
                tail = stderr.read()[-4000:].decode("utf-8", "replace")
                raise self._failure(job, final, status, timed_out, timeout_s, tail)
        log.info("worker %s done in %.1f s, peak %.0f MB", job.get("kind"), seconds, peak / 2**20)
        return Outcome(result=final["result"], seconds=seconds, peak_rss_bytes=peak)

    def _failure(self, job: dict[str, Any], final: dict[str, Any] | None, status: int, timed_out: bool,
                 timeout_s: float, tail: str) -> TrainError:
        what = "fit" if job.get("kind") == "fit" else "reading of the file"
        if timed_out:
            log.warning("worker %s stopped after %g s", job.get("kind"), timeout_s)
            return TrainError(f"the {what} took longer than {timeout_s:g} s, the limit here, and was stopped. "
                              "Nothing was kept. Upload fewer rows (a random sample) or fewer columns")
        if final is not None and final.get("kind") == "input":
            return TrainError(str(final.get("message", ""))[:2000])
        memory = job.get("limits", {}).get("memory_bytes", 0)
        if (final is not None and final.get("kind") == "memory") or status in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV):
            log.warning("worker %s ended with status %s; stderr: %s", job.get("kind"), status, tail)
            return TrainError(f"the {what} needed more memory than training here may use ({memory / 2**30:.1f} GiB "
                              "of address space) and was stopped. Nothing was kept. Upload fewer rows or columns")
        if status == -signal.SIGXCPU:
            return TrainError(f"the {what} used more CPU time than allowed and was stopped. Nothing was kept")
        log.error("worker %s failed (status %s): %s", job.get("kind"), status, tail)
        return TrainError(f"the {what} failed on our side (it has been logged). Nothing was kept; the Space's own "
                          "model is unchanged")


def _read_lines(stream: Any, out: queue.Queue[bytes | None]) -> None:
    """Forward the worker's lines (each capped; past MAX_OUTPUT the rest is drained and dropped)."""
    total = 0
    try:
        while line := stream.readline(MAX_OUTPUT):
            total += len(line)
            if total <= MAX_OUTPUT:
                out.put(line)
    finally:
        out.put(None)


def _event(line: bytes) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker and anything it started
    except ProcessLookupError:
        pass


def _reap(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    """Wait for the worker; (exit status as Popen reports it, its peak resident bytes). Anything
    it left running goes with its process group, killed while the worker is still a zombie (so
    its pid, the group's id, cannot have been reused)."""
    try:
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        _kill(proc)
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:  # already reaped
        return proc.wait(), 0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024
