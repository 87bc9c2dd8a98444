"""Which bundle is live: the Hub revision when one is configured and it verifies, else the local one.

Start-up never hangs on the Hub and never serves an unverified file: any failure (unreachable, repo
or revision missing, tampered file, version mismatch) falls back to the local bundle (MODEL_DIR),
and a MODEL_DIR that fails too falls back to the embedded default; the reasons are kept so the UI
and /health can say which bundle is live and why.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from model.contract.errors import BundleError
from model.contract.manifest import LiveSource
from model.serving.predictor import Predictor
from model.contract.bundle import DEFAULT_BUNDLE_DIR
from space.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Live:
    predictor: Predictor
    source: LiveSource


def _shown(path: Path) -> str:
    """A bundle's location for /health and the UI, without the server's directory layout."""
    path = Path(path).resolve()
    root = Path(__file__).resolve().parents[1]
    return str(path.relative_to(root)) if path.is_relative_to(root) else path.name


def load_live(settings: Settings) -> Live:
    """The Predictor to serve, and where it came from."""
    t0 = time.perf_counter()
    reason, hub_seconds = None, None
    if settings.model_repo:
        from space.hub import fetch_bundle, is_pinned
        revision = settings.model_revision or "main"
        try:
            path = fetch_bundle(settings.model_repo, revision, endpoint=settings.hf_endpoint,
                                token=settings.hf_token, cache_dir=settings.hub_cache_dir,
                                timeout_s=settings.hub_timeout_s)
            commit = path.name if is_pinned(path.name) else None  # the snapshot folder is named by its commit
            # every answer names the Hub commit it came from (else the manifest's sha256)
            predictor = Predictor.from_dir(path, bundle_id=f"{settings.model_repo}@{commit}" if commit else None)
            source = LiveSource(kind="hub", repo=settings.model_repo, revision=revision,
                                commit=commit, pinned=is_pinned(revision),
                                path=f"hub cache/{path.name}", load_seconds=round(time.perf_counter() - t0, 3))
            log.info("serving %s@%s", settings.model_repo, revision)
            return Live(predictor, source)
        except BundleError as exc:
            hub_seconds = round(time.perf_counter() - t0, 3)
            reason = f"Hub bundle {settings.model_repo}@{revision} not used: {exc}"
            log.warning("%s; falling back to the local bundle %s", reason, settings.model_dir)
        except Exception as exc:  # never let a Hub problem stop the Space from starting
            hub_seconds = round(time.perf_counter() - t0, 3)
            reason = f"Hub bundle {settings.model_repo}@{revision} not used: {type(exc).__name__}"
            log.exception("unexpected error loading the Hub bundle; falling back")
    path = settings.model_dir
    try:
        predictor = Predictor.from_dir(path)
    except Exception as exc:  # a bad MODEL_DIR must not keep the Space from starting
        if Path(path).resolve() == DEFAULT_BUNDLE_DIR.resolve():
            raise  # the embedded default is broken: nothing to fall back to
        why = str(exc) if isinstance(exc, BundleError) else type(exc).__name__
        for spelled in {str(Path(path).resolve()), str(path)}:  # no server paths on /health
            why = why.replace(spelled, _shown(path))
        local = f"local bundle {_shown(path)} not used: {why}"
        reason = f"{reason}; {local}" if reason else local
        log.error("%s; serving the embedded default bundle", local, exc_info=not isinstance(exc, BundleError))
        path = DEFAULT_BUNDLE_DIR
        predictor = Predictor.from_dir(path)
    return Live(predictor, LiveSource(kind="local", path=_shown(path), repo=settings.model_repo,
                                      revision=settings.model_revision, fallback_reason=reason,
                                      hub_seconds=hub_seconds, load_seconds=round(time.perf_counter() - t0, 3)))
