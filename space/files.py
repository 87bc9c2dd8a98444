"""Everything the app writes to disk: one budget for all of it, which uploads a handler may read,
and where scored files go.

The budget (`DiskBudget`): every byte the app writes — uploads in Gradio's cache (claimed by the
request gate), scored files, any later kind — is claimed first, by its client (`reserve`), and the
claim then names the files holding it (`Claim.attach`). Over the limit per client, that client's
oldest files are deleted; over the total, everybody's oldest. A claim being written is never
deleted; a claim whose files are gone (Gradio's cache cleaner deleted them) is simply dropped. A
request that cannot fit even then is refused (`DiskBudgetError`). Each claim counts whole disk
blocks, so a flood of tiny files is bounded too.

Scored files: every call gets its own folder, `<root>/call-<random>/scored_<stem>.csv`, so two
visitors who upload `customers.csv` in the same second never share a path, and the file is written
under a temporary name and renamed into place, so nobody reads a half-written file. Before each
write the root is pruned: calls older than `max_age_s`, then the oldest calls until the new file
fits in `max_disk_bytes`. Pruning takes a lock (handlers run in threads) and tolerates files that
vanish under it (Gradio's own cache cleaner deletes old outputs too).

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
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Collection

from model.contract.errors import DiskBudgetError

try:
    import fcntl
except ImportError:  # not POSIX: no orphan sweep, the rest works
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

PREFIX = "segments-batch-"
_LOCK = ".lock"
BLOCK = 4096  # a file costs at least one disk block


@dataclass(eq=False)
class Claim:
    """Room held in a `DiskBudget` by one client: `nbytes` (whole blocks), then the files holding it."""
    budget: "DiskBudget" = field(repr=False)
    owner: str
    nbytes: int
    created: float
    paths: list[Path] = field(default_factory=list)
    writing: bool = True  # reserved, files not attached yet: never evicted

    def attach(self, *paths: Path | str) -> None:
        """The files (or folders) now holding this claim; the claim is re-measured from them."""
        self.budget._attach(self, [Path(p) for p in paths])

    def release(self) -> None:
        """Give the room back without deleting anything (the write failed, or nothing was kept)."""
        self.budget._forget(self)


class DiskBudget:
    """One budget for every byte the app writes, per client and in total (module docstring)."""

    def __init__(self, *, max_total: int, max_per_client: int, block: int = BLOCK):
        if max_total <= 0 or max_per_client <= 0:
            raise ValueError(f"disk budgets must be positive, got {max_total} and {max_per_client}")
        self.max_total, self.max_per_client, self.block = max_total, max_per_client, block
        self._claims: list[Claim] = []  # oldest first
        self._mutex = threading.Lock()

    def reserve(self, nbytes: int, *, owner: str) -> Claim:
        """Room for `nbytes` more bytes written for `owner`: the oldest files of `owner` (beyond the
        per-client limit), then anybody's (beyond the total) are deleted to make it. Raises
        DiskBudgetError when it cannot fit (larger than a limit, or the room is being written)."""
        need = self._blocks(nbytes)
        for limit, what in ((self.max_per_client, "one visitor's files"), (self.max_total, "all files")):
            if need > limit:
                raise DiskBudgetError(f"this needs {_mb(need)} of disk; {what} may take at most {_mb(limit)}")
        with self._mutex:
            self._evict(need, owner=owner)
            self._evict(need, owner=None)
            claim = Claim(self, owner, need, time.time())
            self._claims.append(claim)
        return claim

    def usage(self, owner: str | None = None) -> int:
        """Bytes claimed (whole blocks), by `owner` or by everyone."""
        with self._mutex:
            return sum(c.nbytes for c in self._claims if owner is None or c.owner == owner)

    def owner_of(self, path: Path | str) -> str | None:
        """Who claimed the file or folder `path` (or a folder holding it)."""
        real = Path(os.path.realpath(path))
        with self._mutex:
            for claim in reversed(self._claims):
                if any(real == p or p in real.parents for p in claim.paths):
                    return claim.owner
        return None

    def _evict(self, need: int, *, owner: str | None) -> None:
        limit = self.max_per_client if owner is not None else self.max_total
        mine = [c for c in self._claims if owner is None or c.owner == owner]
        used = sum(c.nbytes for c in mine)
        for claim in mine:  # oldest first
            if used + need <= limit:
                return
            if claim.writing:
                continue
            used -= claim.nbytes
            self._claims.remove(claim)
            for path in claim.paths:
                _delete(path)
        if used + need > limit:
            who = "your files" if owner is not None else "the server's files"
            raise DiskBudgetError(f"{who} being written take the disk budget ({_mb(limit)}); try again shortly")

    def _attach(self, claim: Claim, paths: list[Path]) -> None:
        size = sum(_size(p) for p in paths)
        with self._mutex:
            claim.paths = [Path(os.path.realpath(p)) for p in paths]
            claim.nbytes, claim.writing = self._blocks(size) if paths else 0, False

    def _forget(self, claim: Claim) -> None:
        with self._mutex:
            if claim in self._claims:
                self._claims.remove(claim)

    def _blocks(self, nbytes: int) -> int:
        return max(1, -(-int(nbytes) // self.block)) * self.block


def _size(path: Path) -> int:
    """Bytes in a file, or in the files of a folder (0 for what is gone)."""
    try:
        if path.is_dir():
            return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _delete(path: Path) -> None:
    """Delete a claimed file or folder (what vanished meanwhile is fine)."""
    if path.is_dir():
        _remove(path)
    else:
        path.unlink(missing_ok=True)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


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
                for f in os.scandir(entry.path):
                    st = f.stat()
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


def uploaded_file(value: Any, *, upload_dir: Path | str, uploaded: Collection[str] | None = None) -> Path:
    """The path of a file a handler was given, once it is known to be an upload.

    `value` is what Gradio hands a `gr.File` handler (a path string, or an object with `.name` or a
    `"path"` key). The file must lie inside `upload_dir` after resolving links and `..`, and, when
    `uploaded` (the paths Gradio's upload route returned) is given, be one of those files: Gradio
    copies any file a request names into its cache before the handler runs, so being inside the
    folder alone does not prove a visitor uploaded it. Raises ValueError otherwise."""
    raw = value.get("path") if isinstance(value, dict) else getattr(value, "name", value)
    refusal = ValueError("the file was not uploaded to this app: upload it with the file box (or "
                         "gradio_client.handle_file) and try again")
    if not isinstance(raw, str) or not raw or "\x00" in raw:
        raise refusal
    real = os.path.realpath(raw)
    if not real.startswith(os.path.realpath(upload_dir) + os.sep) or not os.path.isfile(real):
        raise refusal
    if uploaded is not None and raw not in uploaded:
        if real not in {os.path.realpath(p) for p in list(uploaded)}:
            raise refusal
    return Path(real)


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
