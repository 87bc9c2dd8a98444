"""Everything the app writes to disk is held to one budget, and a handler reads only uploads.

The budget (`DiskBudget`): every byte the app writes — uploads in Gradio's cache (claimed by the
request gate), scored files and trained bundles (`space.scored`), any later kind — is claimed first, by its client
(`reserve`), and the claim then names the files holding it (`Claim.attach`). Over the limit per
client, that client's oldest files are deleted; over the total, everybody's oldest. A file another
claim still holds stays (Gradio stores an upload under the hash of its bytes, so two visitors who
upload the same file share one path). A claim being written is never deleted; a claim whose files are gone (Gradio's cache cleaner deleted them) is
simply dropped. A request that cannot fit even then is refused (`DiskBudgetError`). Each claim
counts whole disk blocks, so a flood of tiny files is bounded too.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection

from model.contract.errors import DiskBudgetError

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

    def reserve(self, nbytes: int, *, owner: str, keep: Collection[Path | str] = ()) -> Claim:
        """Room for `nbytes` more bytes written for `owner`: the oldest files of `owner` (beyond the
        per-client limit), then anybody's (beyond the total) are deleted to make it — never those
        holding a file of `keep` (what the request is reading: the upload a scored file or a fit
        comes from). Raises DiskBudgetError when it cannot fit (larger than a limit, or the room is
        being written or read)."""
        need = self._blocks(nbytes)
        for limit, what in ((self.max_per_client, "one visitor's files"), (self.max_total, "all files")):
            if need > limit:
                raise DiskBudgetError(f"this needs {_mb(need)} of disk; {what} may take at most {_mb(limit)}")
        kept = [Path(os.path.realpath(p)) for p in keep]
        with self._mutex:
            self._evict(need, owner=owner, keep=kept)
            self._evict(need, owner=None, keep=kept)
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
                if _holds(claim, real):
                    return claim.owner
        return None

    def _evict(self, need: int, *, owner: str | None, keep: Collection[Path] = ()) -> None:
        limit = self.max_per_client if owner is not None else self.max_total
        mine = [c for c in self._claims if owner is None or c.owner == owner]
        used = sum(c.nbytes for c in mine)
        for claim in mine:  # oldest first
            if used + need <= limit:
                return
            if claim.writing or any(_holds(claim, real) for real in keep):
                continue
            used -= claim.nbytes
            self._claims.remove(claim)
            for path in claim.paths:
                if not any(_holds(other, path) for other in self._claims):
                    _delete(path)  # Gradio names an upload by its bytes: another client may hold it too
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


def _holds(claim: Claim, real: Path) -> bool:
    """Whether the claim's files include the (resolved) path, or a folder holding it."""
    return any(real == p or p in real.parents for p in claim.paths)


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
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


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
