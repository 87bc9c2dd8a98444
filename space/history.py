"""The model repo's history, for the Model tab when the Space serves a bundle from the Hub: the last
`LIMIT` commits, what changed between each and the one before it (k, names, offers, sizes:
`model.editing.diff`), and which one is live.

Bounded and never in the way: one request lists the commits, then each commit's manifest.json is
fetched (immutable at a sha, so cached by huggingface_hub), all inside one deadline
(`space.hub._run_with_deadline`); any failure becomes a sentence, never an error of the tab.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.contract.manifest import Manifest
from model.editing.diff import diff_manifests
from space.hub import _DeadlineExceeded, _reason, _run_with_deadline, _scrub

log = logging.getLogger(__name__)

LIMIT = 10  # commits shown
TIMEOUT_S = 6.0  # for the whole history
CACHE_S = 60.0  # a repo's history is fetched again after this long


@dataclass(frozen=True)
class Entry:
    commit: str
    title: str
    date: str
    author: str
    live: bool
    k: int | None  # None: no bundle at this commit (or one this app cannot read)
    changes: list[dict[str, str]]  # against the previous listed commit that holds a bundle


_CACHE: dict[tuple[str, str], tuple[float, list[Entry]]] = {}


def repo_history(repo: str, *, endpoint: str, token: str | None, live_commit: str | None,
                 cache_dir: Path | None = None, limit: int = LIMIT, timeout_s: float = TIMEOUT_S) -> list[Entry]:
    """The last `limit` commits of model repo `repo`, newest first. Raises ValueError with a
    token-free sentence when the Hub cannot be read in time."""
    key = (endpoint, repo)
    cached = _CACHE.get(key)
    if cached and time.monotonic() - cached[0] < CACHE_S:
        return [Entry(**{**e.__dict__, "live": e.commit == live_commit}) for e in cached[1]]
    deadline = time.monotonic() + timeout_s
    try:
        entries = _run_with_deadline(lambda: _read(repo, endpoint=endpoint, token=token or False, live=live_commit,
                                                   cache_dir=cache_dir, limit=limit), deadline)
    except _DeadlineExceeded:
        raise ValueError(f"the history of {repo} could not be read within {timeout_s:g} s") from None
    except Exception as exc:
        raise ValueError(f"the history of {repo} could not be read: {_scrub(_reason(exc), token)}") from None
    _CACHE[key] = (time.monotonic(), entries)
    return entries


def _read(repo: str, *, endpoint: str, token: str | bool, live: str | None, cache_dir: Path | None,
          limit: int) -> list[Entry]:
    from huggingface_hub import HfApi
    commits = HfApi(endpoint=endpoint, token=token).list_repo_commits(repo, revision="main")[:limit]
    manifests = [_manifest(repo, c.commit_id, endpoint=endpoint, token=token, cache_dir=cache_dir) for c in commits]
    out = []
    for i, (c, m) in enumerate(zip(commits, manifests)):
        older = next((o for o in manifests[i + 1:] if o is not None), None)
        changes = diff_manifests(older, m) if m is not None and older is not None else []
        out.append(Entry(commit=c.commit_id, title=c.title, date=c.created_at.strftime("%Y-%m-%d %H:%M"),
                         author=", ".join(c.authors), live=c.commit_id == live, k=None if m is None else m.k,
                         changes=changes))
    return out


def _manifest(repo: str, sha: str, *, endpoint: str, token: str | bool, cache_dir: Path | None) -> Manifest | None:
    """The manifest at one commit, or None when there is none this app reads."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError
    try:
        path = hf_hub_download(repo, "manifest.json", revision=sha, endpoint=endpoint, token=token,
                               cache_dir=str(cache_dir) if cache_dir else None, etag_timeout=3)
    except EntryNotFoundError:
        return None
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
        return Manifest.read(data)
    except (ValueError, OSError) as exc:
        log.info("commit %s of %s: no readable manifest (%s)", sha[:12], repo, str(exc)[:120])
        return None
