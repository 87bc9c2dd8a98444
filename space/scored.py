"""The scored files of the batch route: where they go, and that nothing is left behind.

Every call gets its own folder, `<root>/call-<random>/scored_<stem>.csv`, so two visitors who upload
`customers.csv` in the same second never share a path, and the file is written under a temporary
name and renamed into place, so nobody reads a half-written file. Each file is claimed in the disk
budget (`space.files.DiskBudget`) for the client who uploaded its input, which deletes the oldest
when it is full; calls older than `max_age_s` are pruned before each write. Pruning takes a lock
(handlers run in threads) and tolerates files that vanish under it (Gradio's own cache cleaner
deletes old outputs too).

Nothing is left behind: the root is deleted when the server shuts down (`lifespan`, for FastAPI:
uvicorn re-raises SIGTERM after its shutdown, so atexit handlers do not run then) and at normal
interpreter exit (atexit), and a root left by a process that died without cleaning up (SIGKILL,
out of memory) is deleted by the next one: a live root holds an exclusive `flock` on its `.lock`
file, and a root whose lock can be taken is an orphan.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

from space.files import DiskBudget

try:
    import fcntl
except ImportError:  # not POSIX: no orphan sweep, the rest works
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

PREFIX = "segments-batch-"
_LOCK = ".lock"


class BatchFiles:
    """The scored files of one server process, under a fresh folder in `parent`."""

    def __init__(self, parent: Path | str, *, budget: DiskBudget, max_age_s: float = 3600.0):
        self.budget, self.max_age_s = budget, max_age_s
        self._mutex = threading.Lock()
        self._writing: set[Path] = set()
        parent = Path(parent)
        parent.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
        self._lock_fd: int | None = os.open(self.root / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        atexit.register(self.close)
        removed = sweep_orphans(parent, keep=self.root)
        if removed:
            log.info("removed %d batch folder(s) left by stopped servers", removed)

    def write(self, payload: bytes, *, stem: str, owner: str = "unknown") -> Path:
        """Write one call's scored file atomically into a folder of its own, within `owner`'s disk
        budget (DiskBudgetError when it cannot fit); returns its path."""
        claim = self.budget.reserve(len(payload), owner=owner)
        try:
            for attempt in range(3):
                with self._mutex:
                    self.prune()
                    folder = Path(tempfile.mkdtemp(prefix="call-", dir=self.root))
                    self._writing.add(folder)  # not pruned while being written
                try:
                    path = _write_atomically(folder / f"scored_{_safe_stem(stem)}.csv", payload)
                    claim.attach(folder)
                    return path
                except FileNotFoundError:  # the folder was deleted from outside meanwhile: start again
                    if attempt == 2:
                        raise
                finally:
                    with self._mutex:
                        self._writing.discard(folder)
        except BaseException:
            claim.release()
            raise
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def folder(self, *, incoming: int, owner: str = "unknown") -> Iterator[Path]:
        """A fresh call folder for several files (a trained bundle and its zip), claimed for `owner`
        (`incoming` bytes up front, then what the folder holds) and not pruned while the caller fills
        it. If the caller fails, the claim is given back; the caller deletes what it wrote."""
        claim = self.budget.reserve(incoming, owner=owner)
        try:
            with self._mutex:
                self.prune()
                folder = Path(tempfile.mkdtemp(prefix="call-", dir=self.root))
                self._writing.add(folder)
            try:
                yield folder
            finally:
                with self._mutex:
                    self._writing.discard(folder)
            claim.attach(folder)
        except BaseException:
            claim.release()
            raise

    def prune(self) -> None:
        """Delete calls older than `max_age_s` (the budget deletes the oldest when it is full). Safe
        against concurrent deletion of anything under the root."""
        cutoff = time.time() - self.max_age_s
        for folder, mtime, _ in self._calls():
            if mtime < cutoff and folder not in self._writing:
                _remove(folder)

    def usage(self) -> int:
        """Bytes held by scored files now."""
        return sum(size for _, _, size in self._calls())

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """`FastAPI(lifespan=files.lifespan)`: everything is deleted when the server shuts down."""
        try:
            yield
        finally:
            self.close()

    def close(self) -> None:
        """Delete every scored file and the root (idempotent)."""
        shutil.rmtree(self.root, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _calls(self) -> list[tuple[Path, float, int]]:
        """(folder, newest mtime, bytes) of every call folder; a folder vanishing midway is skipped."""
        out = []
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return out
        for entry in entries:
            if not entry.name.startswith("call-"):
                continue
            try:
                mtime, size = entry.stat().st_mtime, 0
                for top, _, names in os.walk(entry.path):  # a trained bundle has a plots/ folder
                    for name in names:
                        st = os.stat(os.path.join(top, name))
                        mtime, size = max(mtime, st.st_mtime), size + st.st_size
            except FileNotFoundError:
                continue
            out.append((Path(entry.path), mtime, size))
        return out


def sweep_orphans(parent: Path | str, *, keep: Path | None = None) -> int:
    """Delete `segments-batch-*` folders in `parent` whose owner process is gone; returns how many."""
    if fcntl is None:
        return 0
    removed = 0
    for folder in Path(parent).glob(PREFIX + "*"):
        if folder == keep or not folder.is_dir():
            continue
        try:
            fd = os.open(folder / _LOCK, os.O_RDWR)
        except FileNotFoundError:
            continue  # not ours, or a root being created right now
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its server is alive
        finally:
            os.close(fd)
        _remove(folder)
        removed += 1
    return removed


def _write_atomically(final: Path, payload: bytes) -> Path:
    """Write under a temporary name in the same folder, then rename: readers see all or nothing."""
    fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=".csv", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def _safe_stem(stem: str) -> str:
    """A file-name stem made of safe characters only (the visitor chose the original name)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:40] or "upload"


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
