"""Publish an edited bundle from the Space: one new commit of the model repo, then the Space pinned to
it (its MODEL_REPO / MODEL_REVISION variables, through the Hub API) when the account may write the
Space — else the two settings are shown.

Whose token: the visitor's, from "Sign in with Hugging Face" (OAuth) on a Space; running locally,
Gradio's sign-in is a mock of the machine's own login, whose token it does not pass on, so the
app's HF_TOKEN stands in for it (`token_for`) — never on a Space, where that token is the owner's.
The account must be able to write the repo (`HfApi.auth_check(write=True)`); without that nothing
is written and the edit stays a preview for that visitor. The commit adds the files the edit
rewrote and deletes none the new manifest still lists, so the model files that never reach a
Space (model.skops, sklearn_model.joblib, plots) stay in the repo as they are; it is made on top of
the commit the Space serves (`parent_commit`), so an edit of a bundle someone replaced meanwhile is
refused instead of silently overwriting theirs. Every failure is a sentence without the token.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.contract.bundle import read_manifest
from space.hub import _reason, _scrub

log = logging.getLogger(__name__)

MOCK_TOKEN = "mock-oauth-token-for-local-dev"  # what gradio's local sign-in passes instead of a token


class PublishRefused(ValueError):
    """The edit could not be published; the message says why and what to do instead."""


@dataclass(frozen=True)
class Published:
    repo: str
    commit: str
    space_id: str | None
    pinned: bool  # the Space's variables were set


_SIGN_IN: dict[tuple[str, str | None], bool] = {}


def sign_in_available(settings: Any) -> bool:
    """Whether the Edit tab offers "Sign in with Hugging Face": on a Space with OAuth enabled; locally
    (HF_OAUTH=1) only when gradio's mocked sign-in can start — it needs a token and asks the Hub
    whoami once, and an app must never fail to start because the Hub is down (checked once, 5 s)."""
    if not settings.oauth:
        return False
    if settings.space_id:
        return True
    key = (settings.hf_endpoint, settings.hf_token)
    if key not in _SIGN_IN:
        from huggingface_hub import HfApi
        from space.hub import _run_with_deadline
        import time
        try:
            if not settings.hf_token:
                raise ValueError("HF_OAUTH=1 needs HF_TOKEN: gradio's local sign-in is the machine's own login")
            _run_with_deadline(lambda: HfApi(endpoint=settings.hf_endpoint, token=settings.hf_token).whoami(),
                               time.monotonic() + 5.0)
            _SIGN_IN[key] = True
        except Exception as exc:
            log.warning("sign-in with Hugging Face disabled: %s", _scrub(str(exc) or type(exc).__name__,
                                                                         settings.hf_token)[:200])
            _SIGN_IN[key] = False
    return _SIGN_IN[key]


def token_for(oauth_token: Any, *, on_space: bool, local_token: str | None) -> str | None:
    """The token to publish with: the visitor's own on a Space; locally, the app's HF_TOKEN behind
    gradio's mocked sign-in. None when nobody signed in."""
    value = getattr(oauth_token, "token", None)
    if not value:
        return None
    if value == MOCK_TOKEN:
        return None if on_space else local_token
    return value


def publish(folder: Path, *, repo: str, token: str, endpoint: str, parent: str | None, message: str,
            space_id: str | None) -> Published:
    """Commit the edited bundle in `folder` to model repo `repo` on top of `parent`; pin `space_id`."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError
    api = HfApi(endpoint=endpoint, token=token)
    try:
        user = api.whoami().get("name", "this account")
    except Exception as exc:
        raise PublishRefused(f"signing in did not give a usable token ({_scrub(_reason(exc), token)}); sign in "
                             "again") from None
    try:
        api.auth_check(repo, write=True)
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise PublishRefused(f"{user} cannot write the model repo {repo} (the Hub answered HTTP {status}): nothing "
                             "was published, and your edit is still only a preview for you. Ask the repo's owner, "
                             "or download the zip and push it to a repo of yours") from None
    new = read_manifest(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    ops: list[Any] = [CommitOperationAdd(path_in_repo=p.relative_to(folder).as_posix(), path_or_fileobj=str(p))
                      for p in files]
    try:
        listed = set(api.list_repo_files(repo, revision=parent or "main"))
    except Exception:
        listed = set()
    keep = set(new.files) | {"manifest.json", ".gitattributes"}
    ops += [CommitOperationDelete(path_in_repo=name) for name in sorted(listed - keep)
            if name.endswith((".json", ".npz", ".csv", ".sql", ".md"))]  # an old bundle's files, nothing else
    try:
        info = api.create_commit(repo, operations=ops, commit_message=message[:200], parent_commit=parent)
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        why = ("the model repo changed since this Space loaded it: reload the Space and edit the new bundle"
               if status == 412 else f"the Hub answered HTTP {status}")
        raise PublishRefused(f"publishing to {repo} failed: {why}; nothing was published") from None
    except Exception as exc:
        raise PublishRefused(f"publishing to {repo} failed: {_scrub(_reason(exc), token)}; nothing was published") from None
    commit = info.oid
    pinned = False
    if space_id:
        try:
            api.add_space_variable(space_id, "MODEL_REPO", repo)
            api.add_space_variable(space_id, "MODEL_REVISION", commit)
            pinned = True
        except Exception as exc:  # the commit stands; the settings are shown instead
            log.info("could not set the variables of %s: %s", space_id, _scrub(_reason(exc), token))
    log.info("published an edit of %s as %s (Space pinned: %s)", repo, commit, pinned)
    return Published(repo=repo, commit=commit, space_id=space_id, pinned=pinned)
