"""Bundles one browser session sees instead of the Space's live bundle — a visitor's own fit, or
an edited bundle previewed before it is published — held server-side, for that session only.

The session keeps an opaque token in a `gr.State` (server-side: Gradio never sends it to the
browser, and a request cannot set it); `get` answers only for the session that owns the token.
Nothing here trusts a path from a client: a bundle enters through `add`, called by the server with
a folder it made. A bundle is deleted (its folder with it) when its session ends (`drop_session`,
from `Blocks.unload`), `ttl_s` after it was added, when more than `max_bundles` are held (the
oldest first), or when its folder was pruned from the disk budget meanwhile.

    entry = bundles.add(session=request.session_hash, folder=..., bundle_dir=..., label="…")
    entry = bundles.get(token, request.session_hash)   # None once gone: show the live bundle
"""
from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass
class SessionBundle:
    token: str
    session: str  # the Gradio session hash that owns it
    folder: Path  # everything of this bundle on disk: deleted with it
    bundle_dir: Path
    zip_path: Path | None  # the bundle as a zip, to download
    label: str  # how the UI names it ("your file customers.csv")
    created: float
    view: Any = field(default=None, repr=False)  # what the UI built for it (space.tabs.common.Context)


class SessionBundles:
    """The per-session bundles of one server (see the module docstring). Thread-safe."""

    def __init__(self, *, ttl_s: float, max_bundles: int, build: Callable[[SessionBundle], Any]):
        self.ttl_s, self.max_bundles, self.build = ttl_s, max_bundles, build
        self._entries: dict[str, SessionBundle] = {}
        self._lock = threading.Lock()

    def add(self, *, session: str, folder: Path, bundle_dir: Path, zip_path: Path | None, label: str) -> SessionBundle:
        """Register a bundle for `session`; `build` loads it first (a bundle that does not load
        raises, and its folder is deleted)."""
        if not isinstance(session, str) or not session:
            raise ValueError("a session bundle needs the browser session it belongs to")
        entry = SessionBundle(token=secrets.token_urlsafe(18), session=session, folder=Path(folder),
                              bundle_dir=Path(bundle_dir), zip_path=zip_path, label=label, created=time.time())
        try:
            entry.view = self.build(entry)
        except BaseException:
            _remove(entry.folder)
            raise
        with self._lock:
            self._entries[entry.token] = entry
            self._prune_locked()
        log.info("session bundle added (%d held)", len(self._entries))
        return entry

    def get(self, token: Any, session: Any) -> SessionBundle | None:
        """The bundle behind `token` if `session` owns it and it is still there, else None."""
        if not isinstance(token, str) or not isinstance(session, str):
            return None
        with self._lock:
            self._prune_locked()
            entry = self._entries.get(token)
        if entry is None or not secrets.compare_digest(entry.session, session):
            return None
        return entry

    def drop_session(self, session: Any) -> int:
        """Delete every bundle of `session` (its tab was closed); returns how many."""
        with self._lock:
            gone = [t for t, e in self._entries.items() if e.session == session]
            entries = [self._entries.pop(t) for t in gone]
        for entry in entries:
            _remove(entry.folder)
        return len(entries)

    def held(self) -> int:
        with self._lock:
            return len(self._entries)

    def close(self) -> None:
        """Delete everything (server shutdown)."""
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            _remove(entry.folder)

    def _prune_locked(self) -> None:
        cutoff = time.time() - self.ttl_s
        expired = [t for t, e in self._entries.items() if e.created < cutoff or not e.bundle_dir.is_dir()]
        by_age = sorted(self._entries, key=lambda t: self._entries[t].created)
        expired += [t for t in by_age[:max(0, len(by_age) - self.max_bundles)] if t not in expired]
        for token in expired:
            _remove(self._entries.pop(token).folder)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
