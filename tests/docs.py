"""Run the code blocks of a Markdown document as a user would copy them.

Every fenced block is run: ``python`` blocks with this interpreter (``>>>``/``...`` prompts
stripped), ``bash`` blocks with bash -e. A block can carry one directive in an HTML comment on the
line just above it:

* ``<!-- doc-test: serves -->`` — the block starts a server: it is started, must answer
  ``GET /health`` on ``GRADIO_SERVER_PORT``, and is then stopped;
* ``<!-- doc-test: skip: <why> -->`` — not run here, with the reason (e.g. ``make test`` is what CI
  itself runs). Every other block runs; a block of another language must say why it is skipped.

``json`` blocks (configuration to paste elsewhere) are parsed: they must be valid JSON.

Addresses, Space ids and interpreter paths in the text are replaced by the test's own
(`Context.subs`) before running, the only change made to a block.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
_FENCE = re.compile(r"(?ms)^(?:<!--\s*doc-test:\s*(?P<directive>.*?)\s*-->\s*\n)?"
                    r"```(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)^```[ \t]*$")


@dataclass(frozen=True)
class Block:
    source: str
    index: int
    lang: str
    code: str
    directive: str = ""

    @property
    def id(self) -> str:
        first = next((line.strip() for line in self.code.splitlines() if line.strip()), "")
        return f"{self.source}#{self.index}:{self.lang}:{first[:40]}"


def blocks(text: str, source: str) -> list[Block]:
    return [Block(source, i, m.group("lang"), m.group("code"), (m.group("directive") or "").strip())
            for i, m in enumerate(_FENCE.finditer(text))]


@dataclass
class Context:
    cwd: Path
    env: dict[str, str]
    subs: dict[str, str] = field(default_factory=dict)


def prepared(block: Block, ctx: Context) -> str:
    code = block.code
    if block.lang == "python" and ">>> " in code:
        code = "\n".join(line[4:] for line in code.splitlines() if line.startswith((">>> ", "... ")))
    for old, new in sorted(ctx.subs.items(), key=lambda kv: -len(kv[0])):  # longest first
        code = code.replace(old, new)
    return code


def run_block(block: Block, ctx: Context, *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run one block; raise AssertionError with its output when it fails."""
    code = prepared(block, ctx)
    env = {**ctx.env, "PYTHONPATH": str(ROOT)}
    if block.directive == "serves":
        return _serve(code, ctx, env, timeout=timeout)
    if block.lang == "json":
        json.loads(code)  # raises on invalid JSON
        return subprocess.CompletedProcess(["json"], 0, stdout=code, stderr="")
    if block.lang == "python":
        cmd = [sys.executable, "-c", code]
    elif block.lang in ("bash", "sh", "shell"):
        cmd = ["bash", "-e", "-o", "pipefail", "-c", code]
    else:
        raise AssertionError(f"{block.id}: a {block.lang or 'plain'} block must be run or say why not")
    done = subprocess.run(cmd, cwd=ctx.cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{block.id} failed ({done.returncode}):\n{code}\n--- stdout\n" \
                                 f"{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    return done


def _serve(code: str, ctx: Context, env: dict[str, str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    port = env["GRADIO_SERVER_PORT"]
    log = ctx.cwd / f"serve-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["bash", "-e", "-c", code], cwd=ctx.cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        start = time.monotonic()
        while True:
            assert proc.poll() is None, f"the server block exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() - start < timeout, f"no /health within {timeout} s:\n{log.read_text()[-3000:]}"
            time.sleep(0.3)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5.0).json()
    finally:
        _stop(proc)
    return subprocess.CompletedProcess(["serve"], 0, stdout=str(health), stderr="")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the block's whole process group (make → python app.py)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
