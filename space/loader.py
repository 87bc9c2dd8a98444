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
from typing import Callable, TypeVar

from model.contract.errors import BundleError
from model.contract.manifest import LiveSource
from model.serving.predictor import Predictor
from model.contract.bundle import DEFAULT_BUNDLE_DIR
from space.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


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
    """The Predictor to serve, and where it came from. The reason a configured bundle is not
    served is public (/health, the banner): it names no Hub repo, revision, endpoint or server
    path — the log has those."""
    t0 = time.perf_counter()
    reason, hub_seconds = None, None
    if settings.model_repo:
        from space.hub import fetch_bundle, is_pinned
        revision = settings.model_revision or "main"
        where = f"Hub bundle {settings.model_repo}@{revision} from {settings.hf_endpoint}"
        stage = "could not be downloaded"
        try:
            path = fetch_bundle(settings.model_repo, revision, endpoint=settings.hf_endpoint,
                                token=settings.hf_token, cache_dir=settings.hub_cache_dir,
                                timeout_s=settings.hub_timeout_s)
            stage = "failed its checks"
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
            log.warning("%s not used: %s; falling back to the local bundle %s", where, exc, settings.model_dir)
            reason = f"the Hub model {stage}" + (f": {_public(exc, path)}" if stage == "failed its checks" else "")
        except Exception:  # never let a Hub problem stop the Space from starting
            hub_seconds = round(time.perf_counter() - t0, 3)
            log.exception("unexpected error loading the %s; falling back", where)
            reason = f"the Hub model {stage} (an unexpected error)"
        reason += " (details in the server log)"
    path = settings.model_dir
    try:
        predictor = Predictor.from_dir(path)
    except Exception as exc:  # a bad MODEL_DIR must not keep the Space from starting
        if Path(path).resolve() == DEFAULT_BUNDLE_DIR.resolve():
            raise  # the embedded default is broken: nothing to fall back to
        local = f"local bundle {_shown(path)} not used: " + (_public(exc, path) if isinstance(exc, BundleError)
                                                               else type(exc).__name__)
        reason = f"{reason}; {local}" if reason else local
        log.error("%s; serving the embedded default bundle", local, exc_info=not isinstance(exc, BundleError))
        path = DEFAULT_BUNDLE_DIR
        predictor = Predictor.from_dir(path)
    return Live(predictor, LiveSource(kind="local", path=_shown(path), fallback_reason=reason,
                                      hub_seconds=hub_seconds, load_seconds=round(time.perf_counter() - t0, 3)))


def _public(exc: BaseException, path: Path) -> str:
    """A bundle error's message without the server's paths (the bundle's own file names stay)."""
    why = str(exc)
    for spelled in sorted({str(Path(path).resolve()), str(path)}, key=len, reverse=True):
        why = why.replace(spelled + ": ", "").replace(spelled, _shown(path))
    return why


def load_and_build(settings: Settings, build: Callable[["Live"], T]) -> tuple["Live", T]:
    """The live bundle and what `build` makes of it (the app). Building is part of serving a bundle:
    when it fails for a configured bundle (files that verify, contents that do not fit together),
    the embedded default is served instead, with the reason, as for a bundle that does not load."""
    live = load_live(settings)
    try:
        return live, build(live)
    except Exception as exc:
        default = _shown(DEFAULT_BUNDLE_DIR)
        if live.source.kind == "local" and live.source.path == default:
            raise  # the embedded default itself: nothing to fall back to
        what = "the Hub model" if live.source.kind == "hub" else f"local bundle {live.source.path}"
        why = f"{what} not used: the app could not be built from it ({type(exc).__name__})"
        log.exception("%s; serving the embedded default bundle", why)
    t0 = time.perf_counter()
    fallback = Live(Predictor.from_dir(DEFAULT_BUNDLE_DIR), LiveSource(
        kind="local", path=default, fallback_reason=why + " (details in the server log)",
        hub_seconds=live.source.hub_seconds, load_seconds=round(time.perf_counter() - t0, 3)))
    return fallback, build(fallback)
