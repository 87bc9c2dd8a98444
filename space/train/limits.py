"""The caps of training in the Space, read from the environment, and the checks made on an upload
before anything parses it: size, line count, header width. Each refusal names the cap.

Why these defaults (a Space's free CPU hardware: 2 vCPU, 16 GB; the serving process ~250 MB):
- 20 MB and 200,000 customer rows (1,000,000 lines of an order log): a fit of 200,000 rows takes
  ~12 s on an idle 2-core machine and peaks at ~1.2 GB resident.
- 100 columns: each one is profiled, plotted and described; wider files are exports, not features.
- 4 GiB of address space (RLIMIT_AS, not resident memory: the build side's imports take ~0.6 GB of
  address space and numpy's thread pools reserve ~1 GB more on first use, so a 200-row fit reserves
  ~1.75 GB and a 200,000-row fit ~2.6 GB).
- 300 s of wall time, and CPU time capped at that times the cores: a fit that runs longer is stopped.
- One fit at a time per Space: the others wait in Gradio's queue and see their place in it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from model.contract.errors import CSVError

_BLOCK = 1 << 20
_QUOTED = re.compile(rb'"[^"]*"')
_DELIMITERS = (b",", b";", b"\t", b"|")


@dataclass(frozen=True)
class TrainLimits:
    enabled: bool = True  # TRAIN=0 hides the tab's controls
    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 200_000  # a customer table
    max_log_lines: int = 1_000_000  # an order log
    max_columns: int = 100
    timeout_s: float = 300.0
    memory_bytes: int = 4 * 1024 ** 3  # RLIMIT_AS of the worker
    file_bytes: int = 256 * 1024 ** 2  # RLIMIT_FSIZE of the worker: no file it writes grows beyond
    bundle_ttl_s: float = 3600.0  # a visitor's bundle is deleted this long after the fit at the latest
    max_session_bundles: int = 24  # visitors' bundles held at once; the oldest goes first

    def job_limits(self) -> dict[str, int]:
        """What the worker applies to itself (training.worker.confine)."""
        return {"memory_bytes": self.memory_bytes, "file_bytes": self.file_bytes,
                "cpu_seconds": int(self.timeout_s * (os.cpu_count() or 1)) + 10}

    def caps(self) -> dict[str, int]:
        """What the worker checks once it knows a table from a log."""
        return {"max_rows": self.max_rows, "max_log_lines": self.max_log_lines, "max_columns": self.max_columns}


def train_limits(env: Mapping[str, str]) -> TrainLimits:
    """TRAIN, TRAIN_MAX_BYTES, TRAIN_MAX_ROWS, TRAIN_MAX_LOG_LINES, TRAIN_MAX_COLUMNS,
    TRAIN_TIMEOUT_S, TRAIN_MEMORY_MB, TRAIN_BUNDLE_TTL_S (unset: the defaults above)."""
    d = TrainLimits()

    def num(name: str, default: float, cast: type = int) -> float:
        raw = env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = cast(raw)
        except ValueError:
            raise ValueError(f"{name} must be a positive number, got {raw[:40]!r}") from None
        if value <= 0:
            raise ValueError(f"{name} must be a positive number, got {raw[:40]!r}")
        return value
    return TrainLimits(
        enabled=env.get("TRAIN", "1").strip().lower() not in ("0", "false", "no", "off"),
        max_bytes=int(num("TRAIN_MAX_BYTES", d.max_bytes)), max_rows=int(num("TRAIN_MAX_ROWS", d.max_rows)),
        max_log_lines=int(num("TRAIN_MAX_LOG_LINES", d.max_log_lines)),
        max_columns=int(num("TRAIN_MAX_COLUMNS", d.max_columns)),
        timeout_s=float(num("TRAIN_TIMEOUT_S", d.timeout_s, float)),
        memory_bytes=int(num("TRAIN_MEMORY_MB", d.memory_bytes // 2**20)) * 2**20,
        bundle_ttl_s=float(num("TRAIN_BUNDLE_TTL_S", d.bundle_ttl_s, float)))


@dataclass(frozen=True)
class FileFacts:
    bytes: int
    lines: int  # physical lines, the header included (a quoted field spanning lines counts twice)
    columns: int  # fields of the header line, at most (the delimiter is not known yet)


def precheck(path: Path | str, limits: TrainLimits) -> FileFacts:
    """Size, lines and header width of an upload, read in 1 MB blocks without parsing it; raises
    CSVError naming the cap it breaks."""
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise CSVError(f"the file is {_mb(size)}; training here takes files up to {_mb(limits.max_bytes)}")
    lines, first, last, blank = 0, b"", b"\n", True
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            if len(first) < 64 * 1024:
                first += block[:64 * 1024]
            lines += block.count(b"\n")
            blank = blank and not block.strip(b" \t\r\n\xef\xbb\xbf")
            last = block[-1:]
    if size == 0 or blank:
        raise CSVError("the file is empty: upload a CSV with a header line and one line per customer (or order)")
    lines += last != b"\n"
    if lines - 1 > limits.max_log_lines:
        raise CSVError(f"the file has {lines - 1:,} data lines; training here takes at most {limits.max_rows:,} "
                       f"customer rows or {limits.max_log_lines:,} order-log lines. Upload a random sample of it, "
                       "or fit the whole file on your machine with: python -m training fit")
    header = first.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    columns = 1 + max(_QUOTED.sub(b"", header).count(d) for d in _DELIMITERS)
    if columns > limits.max_columns:
        raise CSVError(f"the header has {columns:,} fields; training here takes at most {limits.max_columns:,} "
                       "columns. Keep the columns that describe customers (and an id) and upload again")
    return FileFacts(bytes=size, lines=lines, columns=columns)


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n:,} bytes"


class Estimate:
    """How long a fit takes on this server: the worker's start-up, then a cost per customer row (and
    per order-log line), measured on the reference machine (benchmarks/bench_space_train.py: 2 cores,
    defaults of `fit`), scaled by how this server's own recent fits compared with the estimate."""
    START_S, PER_ROW_S, PER_LINE_S = 5.0, 35e-6, 2e-6

    def __init__(self) -> None:
        self.factor = 1.0

    def seconds(self, rows: int, lines: int = 0) -> float:
        return (self.START_S + self.PER_ROW_S * rows + self.PER_LINE_S * lines) * self.factor

    def observe(self, rows: int, lines: int, actual_s: float) -> None:
        """Learn from a finished fit (a moving average of actual ÷ estimated, kept within 0.5–4)."""
        ratio = actual_s / max(0.1, self.seconds(rows, lines) / self.factor)
        self.factor = min(4.0, max(0.5, 0.7 * self.factor + 0.3 * ratio))
