"""What the Train tab and `/train` compute, as plain functions (no gradio): check an upload against
the caps, ask the worker how it reads, fit it into a folder of the shared disk budget.

A fit's folder (`call-…` under `space.scored.BatchFiles`): `bundle/` (what `fit` writes),
`<name>-bundle.zip` (the same, to download) and, while the worker runs, `work/` (its TMPDIR,
deleted after). A failed fit leaves nothing behind.
"""
from __future__ import annotations

import importlib.util
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from model.contract.errors import TrainError
from space.scored import BatchFiles
from space.train.launcher import ROOT, Launcher
from space.train.limits import Estimate, FileFacts, TrainLimits, precheck

log = logging.getLogger(__name__)
# what the worker imports beyond the serving requirements (requirements-training.txt)
TRAINING_MODULES = ("sklearn", "scipy", "skops", "joblib", "matplotlib", "yaml")
FIT_DISK_BYTES = 64 * 1024 * 1024  # reserved in the disk budget for one fit (a bundle is ~1–5 MB)


def training_installed() -> bool:
    """Whether this environment can train: the build side's code and libraries are present
    (looked up with `find_spec`, which imports nothing)."""
    if not (ROOT / "training" / "worker.py").is_file():
        return False
    return all(importlib.util.find_spec(name) is not None for name in TRAINING_MODULES)


@dataclass(frozen=True)
class Choices:
    """How to read the file, as the visitor (or a program) set it; empty means "as recognised"."""
    source: str = "auto"  # auto | table | log
    id_column: str | None = None
    kinds: Mapping[str, str] | None = None  # column → numeric | categorical | excluded
    roles: Sequence[str] = ()  # ROLE=COLUMN (none=COLUMN clears one)
    log_columns: Mapping[str, str] | None = None  # customer | date | amount | quantity | price | order → column
    k: str = "auto"

    def job(self) -> dict[str, Any]:
        return {"source": self.source, "id_column": self.id_column, "kinds": dict(self.kinds or {}),
                "roles": list(self.roles), "log_columns": dict(self.log_columns or {}), "k": self.k}


@dataclass(frozen=True)
class Reading:
    facts: FileFacts
    reading: dict[str, Any]  # training.reading.describe's answer
    seconds: float  # estimated time of the fit


@dataclass(frozen=True)
class Fitted:
    folder: Path
    bundle_dir: Path
    zip_path: Path
    summary: dict[str, Any]
    seconds: float
    peak_rss_bytes: int


class Trainer:
    """Training for one server: the caps, the worker launcher, the time estimate, the disk budget."""

    def __init__(self, limits: TrainLimits, files: BatchFiles, *, launcher: Launcher | None = None):
        self.limits, self.files = limits, files
        self.launcher = launcher or Launcher(timeout_s=limits.timeout_s)
        self.estimate = Estimate()
        self._installed: bool | None = None

    @property
    def ready(self) -> bool:
        """Training is switched on (TRAIN) and installed here (checked once)."""
        if self._installed is None:
            self._installed = training_installed()
        return self.limits.enabled and self._installed

    def check_ready(self) -> None:
        if not self.ready:
            from space.render.training import ENABLE
            raise TrainError(ENABLE if self.limits.enabled else "training is switched off on this Space (TRAIN=0)")

    def inspect(self, path: Path, choices: Choices) -> Reading:
        """How the worker reads `path` with `choices` (CSVError / TrainError naming the problem)."""
        self.check_ready()
        facts = checked(path, self.limits)
        with self.files.folder(incoming=facts.bytes, owner=self._owner(path), keep=(path,)) as folder:
            try:
                job = {**self._job("inspect", path, facts, choices), "file": str(own_copy(path, folder / "work"))}
                out = self.launcher.run(job, workdir=folder / "work")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        reading = out.result
        lines = facts.lines if reading["source"] == "log" else 0
        return Reading(facts, reading, self.estimate.seconds(reading["rows_out"], lines))

    def fit(self, path: Path, choices: Choices, *, on_step: Callable[[dict[str, Any]], None] | None = None) -> Fitted:
        """Fit `path` into a new folder of the disk budget; on any failure nothing is left."""
        self.check_ready()
        facts = checked(path, self.limits)
        stem = _stem(path)
        with self.files.folder(incoming=FIT_DISK_BYTES, owner=self._owner(path), keep=(path,)) as folder:
            try:
                job = {**self._job("fit", path, facts, choices), "file": str(own_copy(path, folder / "work")),
                       "out": str(folder / "bundle"), "zip": str(folder / f"{stem}-bundle.zip"),
                       "title": f"Segments of {path.name}"[:80]}
                out = self.launcher.run(job, workdir=folder / "work", on_step=on_step)
                shutil.rmtree(folder / "work", ignore_errors=True)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        summary = out.result["summary"]
        lines = facts.lines if out.result.get("source") == "log" else 0
        self.estimate.observe(summary["rows"], lines, out.seconds)
        return Fitted(folder=folder, bundle_dir=folder / "bundle", zip_path=Path(job["zip"]), summary=summary,
                      seconds=out.seconds, peak_rss_bytes=out.peak_rss_bytes)

    def _owner(self, path: Path) -> str:
        """Whoever uploaded the file pays for what is written from it (`space.files.DiskBudget`)."""
        return self.files.budget.owner_of(path) or "unknown"

    def _job(self, kind: str, path: Path, facts: FileFacts, choices: Choices) -> dict[str, Any]:
        return {"kind": kind, "file": str(path), "lines": facts.lines, "caps": self.limits.caps(),
                "limits": self.limits.job_limits(), **choices.job()}


GONE = "your upload is no longer on the server (uploads are kept for up to an hour): upload the file again"


def checked(path: Path, limits: TrainLimits) -> FileFacts:
    """`precheck`, with an upload deleted meanwhile said as such."""
    try:
        return precheck(path, limits)
    except FileNotFoundError:
        raise TrainError(GONE) from None


def own_copy(path: Path, workdir: Path) -> Path:
    """A copy of the upload in the job's own folder, which the worker reads: once a job has started,
    the upload being deleted (Gradio's cache cleaner, a stopping server that shared the cache) cannot
    fail it. Same file name (the reading report names it), made of safe characters."""
    suffix = path.suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", path.suffix) else ""
    target = workdir / "input" / f"{_stem(path)}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(path, target)
    except FileNotFoundError:
        raise TrainError(GONE) from None
    return target


def _stem(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._")[:40] or "upload"
