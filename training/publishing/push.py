"""Publish a bundle to a Hub model repo (and optionally the app to a Space): save locally, push once.

`push_bundle` is `create_repo(exist_ok=True)` + ONE `upload_folder` commit and returns the commit sha
to pin. The model repo mirrors the bundle folder: files of an earlier bundle that are not in this one
are deleted in the same commit (`.gitattributes` is kept). Pushing an unchanged bundle makes no commit
and returns the current head sha.

`HfApi` always gets `endpoint=` and `token=` explicitly: huggingface_hub reads `HF_ENDPOINT` /
`HF_TOKEN` once at import, so explicit values are the only way to be sure where a push goes and with
which credentials. The token is never printed, logged, or put in a result or an error message.
"""
from __future__ import annotations

import importlib.metadata
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import yaml

from model.contract.errors import BundleError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_IGNORE = [".DS_Store", "**/.DS_Store", "*.pyc", "**/__pycache__/*", "*.incomplete"]
_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class PublishError(ValueError):
    """A push to the Hub failed; the message names the repo, the endpoint and the reason."""


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    commit_sha: str  # 40-hex: the value to pin
    revision: str  # the branch that was committed to
    url: str  # the commit page

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.commit_sha} ({self.url})"


def resolve_endpoint(endpoint: str | None) -> str:
    """Explicit argument, else HF_ENDPOINT, else https://huggingface.co."""
    if endpoint is None:
        endpoint = os.environ.get("HF_ENDPOINT", "").strip()
    endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
    if not endpoint.startswith(("http://", "https://")):
        raise PublishError(f"endpoint must be an http(s) URL, got {endpoint[:60]!r}")
    return endpoint


def resolve_token(token: str | None) -> str:
    """Explicit argument, else HF_TOKEN, else the stored huggingface_hub login."""
    if token:
        return token
    env_token = os.environ.get("HF_TOKEN", "").strip()
    if env_token:
        return env_token
    from huggingface_hub import get_token
    stored = get_token()
    if stored:
        return stored
    raise PublishError("No Hugging Face token: pass token=..., set HF_TOKEN, or run `hf auth login` "
                       "(the token needs write access to the repo)")


def push_bundle(bundle_dir: Path | str, repo_id: str, *, endpoint: str | None = None,
                token: str | None = None, private: bool = False, revision: str | None = None,
                commit_message: str | None = None) -> PushResult:
    """Create model repo `repo_id` if needed and commit the bundle folder to it in one commit."""
    folder = Path(bundle_dir)
    if not (folder / "manifest.json").is_file():
        raise BundleError(f"{folder} is not a bundle: manifest.json is missing (run `python -m training fit`)")
    endpoint, secret = resolve_endpoint(endpoint), resolve_token(token)
    branch = revision or "main"
    message = commit_message or f"Upload customer-segmentation bundle from {folder.name}"

    def push(api: Any) -> Any:
        api.create_repo(repo_id, repo_type="model", exist_ok=True, private=private)
        if branch != "main":
            api.create_branch(repo_id, branch=branch, repo_type="model", exist_ok=True)
        return api.upload_folder(repo_id=repo_id, repo_type="model", folder_path=str(folder),
                                 revision=branch, commit_message=message, ignore_patterns=list(_IGNORE),
                                 delete_patterns=["*"])

    info = _call_hub(push, what=f"push of {folder} to {repo_id}", endpoint=endpoint, token=secret)
    result = _result(info, repo_id, branch, endpoint, repo_type="model")
    log.info("pushed bundle %s to %s at commit %s", folder, repo_id, result.commit_sha)
    return result


def pin_instructions(result: PushResult) -> str:
    """The exact Space settings that pin the app to this commit."""
    return "\n".join([
        f"Pin the Space to commit {result.commit_sha} of {result.repo_id}.",
        "In the Space: Settings -> Variables and secrets -> New variable, set:",
        f"  MODEL_REPO={result.repo_id}",
        f"  MODEL_REVISION={result.commit_sha}",
        "If the model repo is private, also add a secret HF_TOKEN with read access.",
        f"Commit: {result.url}",
    ])


def push_space(app_dir_files: Iterable[tuple[Path | str, str]], space_repo_id: str, *, model_repo: str,
               model_revision: str | None = None, endpoint: str | None = None, token: str | None = None,
               private: bool = False, commit_message: str | None = None) -> PushResult:
    """Create/update Gradio Space `space_repo_id` with the given (local path, path in repo) files in
    one commit, and set its MODEL_REPO / MODEL_REVISION variables to serve `model_repo`."""
    from huggingface_hub import CommitOperationAdd
    files = [(Path(local), str(in_repo).lstrip("/")) for local, in_repo in app_dir_files]
    missing = [str(p) for p, _ in files if not p.is_file()]
    if missing:
        raise PublishError(f"Cannot push Space {space_repo_id}: missing file(s) {', '.join(missing[:5])}")
    if model_revision is not None and not _SHA.fullmatch(model_revision):
        log.warning("MODEL_REVISION %r is not a commit sha: the Space will not be pinned", model_revision)
    endpoint, secret = resolve_endpoint(endpoint), resolve_token(token)
    message = commit_message or f"Update app (model {model_repo}@{model_revision or 'main'})"

    def push(api: Any) -> Any:
        api.create_repo(space_repo_id, repo_type="space", space_sdk="gradio", exist_ok=True, private=private)
        info = api.create_commit(
            repo_id=space_repo_id, repo_type="space", commit_message=message,
            operations=[CommitOperationAdd(path_in_repo=dst, path_or_fileobj=str(src)) for src, dst in files])
        api.add_space_variable(space_repo_id, "MODEL_REPO", model_repo)
        if model_revision:
            api.add_space_variable(space_repo_id, "MODEL_REVISION", model_revision)
        return info

    info = _call_hub(push, what=f"push of the app to Space {space_repo_id}", endpoint=endpoint, token=secret)
    return _result(info, space_repo_id, "main", endpoint, repo_type="space")


def push_app_space(space_repo_id: str, *, model_repo: str, model_revision: str | None = None,
                   endpoint: str | None = None, token: str | None = None, private: bool = False,
                   root: Path | None = None, train: bool = False) -> PushResult:
    """Push this project's app (app.py, space/, model/, assets/, requirements.txt) plus a generated Space
    README to `space_repo_id`, pinned to `model_repo`@`model_revision`. `train` also pushes the
    build side (training/) and puts the training requirements into the Space's requirements.txt,
    so visitors can train on their own files (the Train tab)."""
    import tempfile
    root = Path(root) if root is not None else _ROOT
    files = [(p, dst) for p, dst in app_files(root, train=train) if dst != "requirements.txt"]
    with tempfile.TemporaryDirectory() as tmp:
        readme = Path(tmp) / "README.md"
        readme.write_text(space_readme(model_repo), encoding="utf-8")
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(space_requirements(root, train=train), encoding="utf-8")
        return push_space([*files, (readme, "README.md"), (requirements, "requirements.txt")], space_repo_id,
                          model_repo=model_repo, model_revision=model_revision, endpoint=endpoint, token=token,
                          private=private)


def space_requirements(root: Path, *, train: bool) -> str:
    """The Space's requirements.txt: the serving requirements, plus with `train` the lines of
    requirements-training.txt (its `-r requirements.txt` include left out: the lines are merged)."""
    serving = root / "requirements.txt"
    if not serving.is_file():
        raise PublishError(f"{root} has no requirements.txt: the Space would not know what to install")
    text = serving.read_text(encoding="utf-8").rstrip("\n") + "\n"
    if not train:
        return text
    extra = root / "requirements-training.txt"
    if not extra.is_file():
        raise PublishError(f"--train needs {extra.name} next to requirements.txt (the training requirements)")
    have = {_requirement_name(line) for line in text.splitlines()} - {""}
    lines = [line for line in extra.read_text(encoding="utf-8").splitlines()
             if not line.strip().startswith(("-r", "--requirement")) and _requirement_name(line) not in have]
    return text + "# training in the Space (push --train): requirements-training.txt\n" + "\n".join(
        line for line in lines if line.strip() and not line.lstrip().startswith("#")) + "\n"


def _requirement_name(line: str) -> str:
    """'scikit-learn==1.9.1' → 'scikit-learn'; comments and blank lines → ''."""
    line = line.split("#", 1)[0].strip()
    return re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower() if line else ""


def app_files(root: Path, *, train: bool = False) -> list[tuple[Path, str]]:
    """The files a Space needs to run the app (with `train`, to train in it too), as (local path, path in repo)."""
    picked: list[Path] = [root / name for name in ("app.py", "requirements.txt") if (root / name).is_file()]
    for sub in ("model", "space", "assets", *(("training",) if train else ())):
        if (root / sub).is_dir():
            picked += [p for p in sorted((root / sub).rglob("*"))
                       if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    if not any(p.name == "app.py" and p.parent == root for p in picked):
        raise PublishError(f"{root} has no app.py: nothing to serve in a Space")
    return [(p, p.relative_to(root).as_posix()) for p in picked]


def space_readme(model_repo: str, *, title: str = "Customer segments and offers",
                 short_description: str = "Find a customer's segment and the offers for it") -> str:
    """Space README with the front matter the Hub expects (values checked here: SpaceCard does not)."""
    if len(short_description) > 60:
        raise PublishError(f"short_description must be at most 60 characters, got {len(short_description)}")
    meta: dict[str, Any] = {"title": title, "emoji": "🧭", "colorFrom": "blue", "colorTo": "indigo",
                            "sdk": "gradio"}
    try:
        meta["sdk_version"] = importlib.metadata.version("gradio")
    except importlib.metadata.PackageNotFoundError:
        pass
    meta.update({"python_version": "3.11", "app_file": "app.py", "pinned": False,
                 "short_description": short_description, "models": [model_repo],
                 # "Sign in with Hugging Face" on the Edit tab: publishing an edit needs write access
                 "hf_oauth": True, "hf_oauth_scopes": ["write-repos"]})
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return (f"---\n{front}---\n\n# {title}\n\nServes the customer-segmentation model "
            f"[{model_repo}](https://huggingface.co/{model_repo}) at the revision pinned in the Space "
            "variables MODEL_REPO / MODEL_REVISION.\n")


def _call_hub(fn: Callable[[Any], T], *, what: str, endpoint: str, token: str) -> T:
    """Run `fn(HfApi)`; turn any client failure into a PublishError that never contains the token."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError
    try:
        return fn(HfApi(endpoint=endpoint, token=token))
    except PublishError:
        raise
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        hint = " (check that the token has write access)" if status in (401, 403) else ""
        server = _first_line(exc.server_message or "")
        detail = f": {server}" if server else ""
        raise PublishError(_scrub(f"{what} at {endpoint} failed: HTTP {status}{hint}{detail}", token)) from None
    except Exception as exc:
        raise PublishError(_scrub(f"{what} at {endpoint} failed: {type(exc).__name__}: "
                                  f"{_oneline(str(exc))}", token)) from None


def _result(info: Any, repo_id: str, branch: str, endpoint: str, *, repo_type: str) -> PushResult:
    sha = getattr(info, "oid", None)
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise PublishError(f"push to {repo_id} returned no commit sha (got {str(sha)[:60]!r})")
    prefix = "spaces/" if repo_type == "space" else ""
    url = getattr(info, "commit_url", None) or f"{endpoint}/{prefix}{repo_id}/commit/{sha}"
    return PushResult(repo_id=repo_id, commit_sha=sha, revision=branch, url=str(url))


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


def _oneline(text: str) -> str:
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())[:400]


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text
