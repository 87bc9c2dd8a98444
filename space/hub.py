"""Fetch a model bundle from the Hub at a pinned revision: the runtime's only Hub read.

Only the files serving reads are downloaded (`BUNDLE_PATTERNS`: manifest, serving.npz, sample,
summary, card, rules); pickles (`sklearn_model.joblib`, `*.pkl`, …) and model files are excluded twice,
by the allow list and by `FORBIDDEN_PATTERNS`, so nothing executable ever reaches the disk. A bundle
of format 1 has no serving.npz: its two skops files (zips of JSON and .npy arrays) are then fetched
by name, in a second call, and read as data (`model.contract.formats.v1`), never loaded by skops.
Checking the files against the manifest's sha256 is `model.contract.bundle.read_bundle`'s job.

Time bound. huggingface_hub 2.4 offers no overall deadline: its shared httpx2 client has no default
timeout, `list_repo_tree` (called by `snapshot_download`) retries connection errors and 5xx with
1+2+4+8+8 s of back-off (~23 s), and a failed HEAD in `hf_hub_download` is retried the same way. The
knobs that exist are process-wide (`set_client_factory`, `HF_HUB_*_TIMEOUT` read at import) and
would change every other huggingface_hub user in the process (gradio imports it), so we use none:
1. a pinned sha is first looked up in the local cache (`local_files_only=True`: no HTTP at all);
2. otherwise one probe, `HfApi.repo_info(..., timeout=...)`, a single request without retries,
   resolves the revision to a sha and fails at once with a precise reason (repo or revision
   missing, Hub unreachable, HTTP status);
3. `snapshot_download` then runs at that sha, in a daemon worker thread joined with what is left of
   `timeout_s`. If it overruns, `BundleError` is raised and the thread is abandoned: it finishes or
   fails on its own, writing only into the huggingface_hub cache.
`endpoint` and `token` are always passed explicitly: `HF_ENDPOINT` and `HF_TOKEN` are read by
huggingface_hub at import and never redirect this call or add credentials to it.
"""
from __future__ import annotations

import fnmatch
import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Callable, TypeVar

from model.contract.stats import STATS
from model.contract.errors import BundleError
from model.contract.files import CAPS, MANIFEST, SERVED
from model.contract.formats import extra_model_files

log = logging.getLogger(__name__)

# Exactly the files serving reads (model.contract.files.SERVED), and the statistics an edit reads
# (model.contract.stats, when the bundle has them): no model files, no plots.
BUNDLE_PATTERNS: tuple[str, ...] = (*SERVED, STATS)
FORBIDDEN_PATTERNS: tuple[str, ...] = (
    "*.joblib", "*.joblib.*", "*.pkl", "*.pickle", "*.dill", "*.cloudpickle",
    "*.pt", "*.pth", "*.bin", "*.ckpt", "*.npy", "*.skops",
)
_SHA = re.compile(r"^[0-9a-f]{40}$")
T = TypeVar("T")


class _HubAnswerError(Exception):
    """The Hub answered, but not with what a Hub would say."""


class _DeadlineExceeded(Exception):
    """The worker did not finish in time (distinct from any TimeoutError raised inside it)."""


def is_pinned(revision: str | None) -> bool:
    """True when `revision` is a full 40-hex commit sha (immutable), not a branch or tag."""
    return bool(revision) and _SHA.fullmatch(revision) is not None  # type: ignore[arg-type]


def fetch_bundle(repo_id: str, revision: str | None, *, endpoint: str, token: str | None = None,
                 cache_dir: Path | str | None = None, timeout_s: float = 10.0,
                 allow_patterns: list[str] | tuple[str, ...] | None = None) -> Path:
    """Download the bundle files of model repo `repo_id` at `revision`; return the local folder.

    `revision` should be a commit sha; a branch or tag works but logs a warning (the Space is not
    pinned). Fails within about `timeout_s` seconds with `BundleError` naming the repo, the
    revision and the reason — never the token."""
    revision = revision or "main"
    where = f"{repo_id}@{revision}"
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        raise BundleError(f"Cannot fetch model bundle {where}: endpoint must be an http(s) URL, "
                          f"got {str(endpoint)[:60]!r}")
    endpoint = endpoint.rstrip("/")
    if not is_pinned(revision):
        log.warning("Model revision %r of %s is not a commit sha: the Space is not pinned and serves "
                    "whatever that ref points to at start-up. Set MODEL_REVISION to a 40-hex commit sha.",
                    revision, repo_id)
    patterns = list(allow_patterns) if allow_patterns is not None else list(BUNDLE_PATTERNS)
    # token=False, not None: None would make huggingface_hub send a stored login or HF_TOKEN.
    auth: str | bool = token or False
    deadline = time.monotonic() + timeout_s

    def download(rev: str, *, local_only: bool) -> Path:
        from huggingface_hub import snapshot_download

        def fetch(allow: list[str], ignore: list[str]) -> Path:
            return Path(snapshot_download(
                repo_id=repo_id, repo_type="model", revision=rev, endpoint=endpoint, token=auth,
                cache_dir=str(cache_dir) if cache_dir is not None else None, local_files_only=local_only,
                allow_patterns=allow, ignore_patterns=ignore,
                etag_timeout=max(0.5, deadline - time.monotonic()), max_workers=4))
        folder = fetch(patterns, list(FORBIDDEN_PATTERNS))
        extra = _model_files(folder)
        if extra:  # a format-1 bundle: exactly its named skops files, nothing else they would match
            fetch(list(extra), [p for p in FORBIDDEN_PATTERNS if not any(fnmatch.fnmatch(e, p) for e in extra)])
        return folder

    def work() -> Path:
        if is_pinned(revision):
            cached = _from_cache(lambda: download(revision, local_only=True))
            if cached is not None:
                log.info("Model bundle %s served from the local cache %s", where, cached)
                return cached
        sha = _resolve(repo_id, revision, endpoint=endpoint, token=auth,
                       timeout=max(0.5, deadline - time.monotonic()))
        if sha != revision:
            log.warning("Model revision %r of %s resolved to commit %s; pin it with MODEL_REVISION=%s",
                        revision, repo_id, sha, sha)
        return download(sha, local_only=False)

    try:
        folder = _run_with_deadline(work, deadline)
    except _DeadlineExceeded:
        raise BundleError(f"Cannot fetch model bundle {where} from {endpoint}: no answer within "
                          f"{timeout_s:g} s (Hub slow or unreachable)") from None
    except BundleError:
        raise
    except Exception as exc:  # every failure of the client becomes one clear, token-free message
        reason = _scrub(_reason(exc), token)
        raise BundleError(f"Cannot fetch model bundle {where} from {endpoint}: {reason}") from exc
    if not (folder / "manifest.json").is_file():
        raise BundleError(f"Model bundle {where} from {endpoint} has no manifest.json: it is not a bundle")
    return folder


def _from_cache(call: Callable[[], Path]) -> Path | None:
    """The cached snapshot for a pinned sha, if complete; None on any cache miss."""
    from huggingface_hub.errors import LocalEntryNotFoundError
    try:
        folder = call()
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    complete = (folder / MANIFEST).is_file() and all((folder / name).is_file() for name in _model_files(folder))
    return folder if complete else None


def _model_files(folder: Path) -> tuple[str, ...]:
    """The model files an older format's reader needs besides SERVED (`extra_model_files`); none when
    the manifest cannot be read — `read_bundle` then says why."""
    path = folder / MANIFEST
    try:
        if path.stat().st_size > CAPS[MANIFEST]:
            return ()
        return extra_model_files(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):
        return ()


def _resolve(repo_id: str, revision: str, *, endpoint: str, token: str | bool, timeout: float) -> str:
    """One request, no retry: the commit sha `revision` points to (or the precise failure)."""
    from huggingface_hub import HfApi
    info = HfApi(endpoint=endpoint, token=token).repo_info(
        repo_id, repo_type="model", revision=revision, timeout=timeout)
    if not info.sha or not is_pinned(info.sha):
        raise _HubAnswerError("the Hub answered without a commit sha for this revision")
    return info.sha


def _run_with_deadline(fn: Callable[[], T], deadline: float) -> T:
    """Run `fn` in a daemon thread; raise _DeadlineExceeded if it is not done by `deadline`."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="hub-fetch", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise _DeadlineExceeded
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _reason(exc: BaseException) -> str:
    """A short, actionable description of a huggingface_hub / httpx2 failure."""
    import httpx2
    from huggingface_hub import errors
    if isinstance(exc, _HubAnswerError):
        return str(exc)
    if isinstance(exc, errors.RevisionNotFoundError):
        return "revision not found in the repository (check MODEL_REVISION)"
    if isinstance(exc, (errors.RepositoryNotFoundError, errors.GatedRepoError)):
        return "repository not found or not accessible (check MODEL_REPO, and HF_TOKEN for a private repo)"
    if isinstance(exc, errors.OfflineModeIsEnabled) or (
            isinstance(exc, errors.LocalEntryNotFoundError) and "offline" in str(exc).lower()):
        return "offline mode is enabled (HF_HUB_OFFLINE) and the bundle is not in the local cache"
    if isinstance(exc, errors.HfHubHTTPError) and exc.response is not None:
        return f"the Hub answered HTTP {exc.response.status_code}"
    if isinstance(exc, httpx2.TimeoutException):
        return "the Hub did not answer in time"
    if isinstance(exc, (httpx2.ConnectError, httpx2.NetworkError, httpx2.RemoteProtocolError)):
        return "the Hub is unreachable (connection failed)"
    if isinstance(exc, errors.HFValidationError):
        return f"invalid repository id or revision ({str(exc).splitlines()[0][:120]})"
    first_line = (str(exc).splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text
