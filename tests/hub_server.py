"""A loopback Hugging Face Hub for tests: the endpoints huggingface_hub 2.4 calls, nothing more.

Drive it with the real client (`HfApi(endpoint=server.url, token=...)`, `snapshot_download(...,
endpoint=server.url)`); never patch the client. It tests the client contract, not the real Hub's
transfer path: every file is a regular git blob (preupload answers `uploadMode: "regular"`), so no
LFS or Xet transfer happens.

Endpoints (paths as 2.4 builds them; revisions and tree paths arrive `quote(..., safe="")`-encoded):
  POST /api/repos/create                          409 on an existing repo still carries "url"
  POST /api/validate-yaml                         README front matter must be a YAML mapping
  GET  /api/{type}s/{ns}/{name}[/revision/{rev}]  repo info ("sha" = resolved commit)
  GET  /api/{type}s/{ns}/{name}/tree/{rev}[/{path}]?recursive=true
  POST /api/{type}s/{ns}/{name}/preupload/{rev}   uploadMode "regular", remote blob oid if present
  POST /api/{type}s/{ns}/{name}/commit/{rev}      ndjson: header line, then file / deletedFile lines
  POST /api/{type}s/{ns}/{name}/branch/{branch}
  GET  /api/{type}s/{ns}/{name}/commits/{rev}      history, newest first (`HfApi.list_repo_commits`)
  GET  /api/{type}s/{ns}/{name}/auth-check[/write]  200, or 403 when the token may not (read or) write it
  GET|POST /api/spaces/{ns}/{name}/variables
  GET  /api/whoami-v2                             the token's user, orgs and role (read / write)
  HEAD/GET /[{type}s/]{ns}/{name}/resolve/{rev}/{path}   X-Repo-Commit, ETag (git blob oid),
                                                        Content-Length; Range "bytes=a-[b]"
Errors carry `X-Error-Code` (RepoNotFound, RevisionNotFound, EntryNotFound) and `X-Error-Message`,
which is what the client maps to its exception types.

Writes need `Authorization: Bearer <token>` of a token with write access to the repo's namespace
(its user's, or one of its orgs'; `add_token` makes read-only tokens and other users); reads of public
repos work anonymously; an unknown token is refused everywhere. Every request is recorded
(`.requests`) so tests can check token hygiene.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

DEFAULT_TOKEN = "hf_loopbackTestToken000000000000000000"
DEFAULT_USER = "loopback-user"
TYPES_BY_PLURAL = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
SPACE_SDKS = ("gradio", "streamlit", "docker", "static")
SPACE_COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
GITATTRIBUTES = b"*.joblib filter=lfs diff=lfs merge=lfs -text\n*.skops filter=lfs diff=lfs merge=lfs -text\n"
_SHA = re.compile(r"^[0-9a-f]{40}$")


def allow_loopback_calls(monkeypatch: Any) -> None:
    """Lift offline mode for a test that talks to a HubServer through an explicit endpoint.

    tests/conftest.py sets HF_HUB_OFFLINE=1 so nothing can reach the real Hub; huggingface_hub then
    refuses every request, loopback included. It reads the flag into this constant (at import) and
    checks the constant on each request, so patching it for one test is enough."""
    import huggingface_hub.constants as hf_constants
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)


def git_blob_oid(data: bytes) -> str:
    """The git object id of a blob: what the Hub reports as a regular file's oid and ETag."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Commit:
    oid: str
    parent: str | None
    title: str
    files: dict[str, bytes]
    date: str
    author: str = DEFAULT_USER


@dataclass(frozen=True)
class Token:
    user: str
    write: bool = True
    orgs: tuple[str, ...] = ()  # namespaces it may write besides its user's ("*": every one)

    def owns(self, namespace: str | None) -> bool:
        return namespace is None or namespace == self.user or namespace in self.orgs or "*" in self.orgs


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    sdk: str | None = None
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_at: str = field(default_factory=_now)

    def resolve(self, revision: str) -> str | None:
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # path and query string, as sent
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD")


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None,
                 extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.extra, self.headers = extra or {}, headers or {}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], hub: "HubServer"):
        self.hub = hub
        super().__init__(addr, _Handler)


class HubServer:
    """In-memory Hub on 127.0.0.1, served from a background thread.

    >>> with HubServer() as hub:
    ...     HfApi(endpoint=hub.url, token=hub.token).create_repo("me/model")
    """

    def __init__(self, *, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0):
        self.token = token
        # the default token may write any namespace (the tests' own pushes); `add_token` makes others
        self.tokens: dict[str, Token] = {token: Token(DEFAULT_USER, orgs=("*",))}
        self.host = host
        self._port = port
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], Repo] = {}
        self._requests: list[RecordedRequest] = []
        self._counter = itertools.count(1)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._fail_status: int | None = None
        self._fail_match: str | None = None
        self._delay_s = 0.0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("HubServer has not been started")
        return f"http://{self.host}:{self._port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> "HubServer":
        """Serve (again, on the same port after `stop()`: state is kept)."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self._port), self)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"hub-server-{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go down: close the listening socket and every open connection (clients get refused)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ fault injection
    def fail_with(self, status: int | None, *, match: str | None = None) -> None:
        """Answer every request (or those whose path contains `match`) with `status`; None heals."""
        with self._lock:
            self._fail_status, self._fail_match = status, match

    @contextlib.contextmanager
    def failing(self, status: int = 500, *, match: str | None = None) -> Iterator["HubServer"]:
        self.fail_with(status, match=match)
        try:
            yield self
        finally:
            self.fail_with(None)

    def set_delay(self, seconds: float) -> None:
        """Hold every response for `seconds` (a slow or black-holed Hub); `stop()` cuts it short."""
        with self._lock:
            self._delay_s = float(seconds)

    def add_token(self, token: str, *, user: str = DEFAULT_USER, write: bool = True,
                  orgs: tuple[str, ...] = ()) -> str:
        """Another token: of another user, read-only (`write=False`), or member of `orgs`."""
        with self._lock:
            self.tokens[token] = Token(user, write, tuple(orgs))
        return token

    # ------------------------------------------------------------------ inspection
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def repo(self, repo_id: str, *, repo_type: str = "model") -> Repo:
        with self._lock:
            return self._repos[(repo_type, repo_id)]

    def head(self, repo_id: str, *, branch: str = "main", repo_type: str = "model") -> str:
        return self.repo(repo_id, repo_type=repo_type).refs[branch]

    def files(self, repo_id: str, revision: str = "main", *, repo_type: str = "model") -> dict[str, bytes]:
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            sha = repo.resolve(revision)
            if sha is None:
                raise KeyError(f"{repo_id} has no revision {revision!r}")
            return dict(repo.commits[sha].files)

    # ------------------------------------------------------------------ direct state changes
    def add_repo(self, repo_id: str, *, repo_type: str = "model", private: bool = False,
                 sdk: str | None = None) -> Repo:
        """Create a repo with the Hub's initial commit (a .gitattributes), as /api/repos/create does."""
        with self._lock:
            key = (repo_type, repo_id)
            if key in self._repos:
                return self._repos[key]
            repo = Repo(repo_type=repo_type, repo_id=repo_id, private=private, sdk=sdk)
            self._repos[key] = repo
            self._new_commit(repo, "main", {".gitattributes": GITATTRIBUTES}, "initial commit")
            return repo

    def add_commit(self, repo_id: str, files: dict[str, bytes], *, repo_type: str = "model",
                   branch: str = "main", message: str = "seed", delete: tuple[str, ...] = ()) -> str:
        """Commit `files` on `branch` without going through HTTP (seeding); returns the new sha."""
        with self._lock:
            repo = self.add_repo(repo_id, repo_type=repo_type)
            base = repo.commits[repo.refs[branch]].files if branch in repo.refs else {}
            tree = {p: b for p, b in base.items() if p not in delete}
            tree.update(files)
            return self._new_commit(repo, branch, tree, message)

    def tamper(self, repo_id: str, path: str, new_bytes: bytes, *, repo_type: str = "model",
               revision: str = "main") -> None:
        """Replace a file's bytes in the commit `revision` points to, keeping its sha: a lying server.

        The oid/ETag served for the file follow the new bytes (as a malicious mirror would serve
        them consistently), so a fresh client cache downloads the tampered content."""
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            sha = repo.resolve(revision)
            if sha is None:
                raise KeyError(f"{repo_id} has no revision {revision!r}")
            files = repo.commits[sha].files
            if path not in files:
                raise KeyError(f"{repo_id}@{sha} has no file {path!r}")
            files[path] = bytes(new_bytes)

    def _new_commit(self, repo: Repo, branch: str, tree: dict[str, bytes], title: str,
                    author: str = DEFAULT_USER) -> str:
        parent = repo.refs.get(branch)
        seed = json.dumps({"parent": parent, "title": title, "n": next(self._counter),
                           "tree": {p: git_blob_oid(b) for p, b in sorted(tree.items())}})
        oid = hashlib.sha1(seed.encode()).hexdigest()
        repo.commits[oid] = Commit(oid=oid, parent=parent, title=title, files=dict(tree), date=_now(),
                                   author=author)
        repo.refs[branch] = oid
        return oid

    # ------------------------------------------------------------------ request handling
    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(req)

    def _injected_failure(self, path: str) -> int | None:
        with self._lock:
            if self._fail_status is None:
                return None
            if self._fail_match is not None and self._fail_match not in path:
                return None
            return self._fail_status

    def _caller(self, headers: dict[str, str]) -> Token | None:
        """The token's owner (None without a token); an unknown token is refused."""
        auth = headers.get("authorization")
        if auth is None:
            return None
        token = self.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if token is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        return token

    def _check_auth(self, headers: dict[str, str], *, write: bool, repo: Repo | None = None,
                    namespace: str | None = None) -> Token | None:
        caller = self._caller(headers)
        if caller is None:
            if write:
                raise HubError(401, "You must be authenticated to access this resource")
            if repo is not None and repo.private:
                raise HubError(404, "Repository not found", "RepoNotFound")
            return None
        space = namespace or (repo.repo_id.split("/")[0] if repo is not None else None)
        if repo is not None and repo.private and not caller.owns(space):
            raise HubError(404, "Repository not found", "RepoNotFound")
        if write and not caller.write:
            raise HubError(403, "This token has read access only: it cannot write")
        if write and not caller.owns(space):
            raise HubError(403, f"You don't have the rights to write to {repo.repo_id if repo else space}")
        return caller

    def _get_repo(self, repo_type: str, repo_id: str, headers: dict[str, str], *, write: bool) -> Repo:
        self._check_auth(headers, write=write)
        repo = self._repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        self._check_auth(headers, write=write, repo=repo)
        return repo

    @staticmethod
    def _resolve(repo: Repo, revision: str) -> str:
        sha = repo.resolve(revision)
        if sha is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return sha

    def _repo_url(self, repo: Repo) -> str:
        return f"{self.url}/{URL_PREFIX[repo.repo_type]}{repo.repo_id}"

    def dispatch(self, method: str, raw_path: str, query: dict[str, list[str]],
                 headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes | None, Any]:
        """Route one request; returns (status, headers, raw body or None, JSON body)."""
        segs = [unquote(s) for s in raw_path.strip("/").split("/")] if raw_path.strip("/") else []
        with self._lock:
            if segs[:1] == ["api"]:
                return self._api(method, segs[1:], query, headers, body)
            return self._resolve_file(method, segs, headers)

    def _api(self, method: str, segs: list[str], query: dict[str, list[str]],
             headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes | None, Any]:
        if method == "POST" and segs == ["repos", "create"]:
            return self._create_repo(headers, body)
        if method == "POST" and segs == ["validate-yaml"]:
            return self._validate_yaml(headers, body)
        if method == "GET" and segs == ["whoami-v2"]:
            return self._whoami(headers)
        if len(segs) < 3 or segs[0] not in TYPES_BY_PLURAL:
            raise HubError(404, f"Not found: /api/{'/'.join(segs)}")
        repo_type, repo_id, rest = TYPES_BY_PLURAL[segs[0]], f"{segs[1]}/{segs[2]}", segs[3:]
        write = method not in ("GET", "HEAD") or rest in (["auth-check", "write"], ["variables"])
        repo = self._get_repo(repo_type, repo_id, headers, write=write)
        if method == "GET" and rest[:1] == ["auth-check"]:
            return 200, {}, None, {}
        if method == "GET" and len(rest) == 2 and rest[0] == "commits":
            return self._commits(repo, rest[1])
        if method == "GET" and rest == ["variables"] and repo_type == "space":
            return 200, {}, None, {k: dict(v) for k, v in repo.variables.items()}
        if method == "GET" and rest == []:
            return self._info(repo, "main")
        if method == "GET" and len(rest) == 2 and rest[0] == "revision":
            return self._info(repo, rest[1])
        if method == "GET" and len(rest) >= 2 and rest[0] == "tree":
            recursive = (query.get("recursive") or ["false"])[0].lower() in ("1", "true")
            return self._tree(repo, rest[1], "/".join(rest[2:]).strip("/"), recursive)
        if method == "POST" and len(rest) == 2 and rest[0] == "preupload":
            return self._preupload(repo, rest[1], body)
        if method == "POST" and len(rest) == 2 and rest[0] == "commit":
            if query.get("create_pr"):
                raise HubError(400, "Pull requests are not supported by the loopback Hub")
            caller = self._caller(headers)
            return self._commit(repo, rest[1], body, caller.user if caller else DEFAULT_USER)
        if method == "POST" and len(rest) == 2 and rest[0] == "branch":
            return self._branch(repo, rest[1], body)
        if method == "POST" and rest == ["variables"] and repo_type == "space":
            return self._variable(repo, body)
        raise HubError(404, f"Not found: {method} /api/{'/'.join(segs)}")

    def _create_repo(self, headers: dict[str, str], body: bytes):
        payload = _json_body(body)
        caller = self._caller(headers)
        namespace = payload.get("organization") or (caller.user if caller else DEFAULT_USER)
        self._check_auth(headers, write=True, namespace=namespace)
        name = payload.get("name")
        if not isinstance(name, str) or not name:
            raise HubError(400, "name is required")
        repo_id = f"{namespace}/{name}"
        repo_type = payload.get("type") or "model"
        if repo_type not in URL_PREFIX:
            raise HubError(400, f"Invalid repo type {repo_type!r}")
        sdk = payload.get("sdk")
        if repo_type == "space" and sdk not in SPACE_SDKS:
            raise HubError(400, f"Invalid sdk {sdk!r}: expected one of {', '.join(SPACE_SDKS)}")
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        key = (repo_type, repo_id)
        if key in self._repos:
            url = self._repo_url(self._repos[key])
            return 409, {}, None, {"error": f"You already created this {repo_type} repo", "url": url}
        repo = self.add_repo(repo_id, repo_type=repo_type, private=private, sdk=sdk)
        return 200, {}, None, {"url": self._repo_url(repo), "name": repo_id, "id": repo_id}

    def _validate_yaml(self, headers: dict[str, str], body: bytes):
        self._check_auth(headers, write=False)
        payload = _json_body(body)
        content, repo_type = payload.get("content"), payload.get("repoType") or "model"
        if not isinstance(content, str):
            raise HubError(400, "content is required")
        match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, flags=re.DOTALL)
        if match is None:
            return 200, {}, None, {"errors": [], "warnings": [
                {"message": "empty or missing yaml metadata in repo card"}]}
        try:
            meta = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            return _yaml_errors([f"Invalid YAML in README.md front matter: {exc}"])
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            return _yaml_errors(["README.md front matter must be a YAML mapping"])
        errors = _space_meta_errors(meta) if repo_type == "space" else []
        return _yaml_errors(errors) if errors else (200, {}, None, {"errors": [], "warnings": []})

    def _whoami(self, headers: dict[str, str]):
        caller = self._caller(headers)
        if caller is None:
            raise HubError(401, "You must be authenticated to access this resource")
        return 200, {}, None, {
            "type": "user", "id": hashlib.sha1(caller.user.encode()).hexdigest()[:24], "name": caller.user,
            "fullname": caller.user.replace("-", " ").title(), "email": None, "avatarUrl": "",
            "orgs": [{"name": o, "type": "org", "roleInOrg": "write"} for o in caller.orgs if o != "*"],
            "auth": {"type": "access_token", "accessToken": {"displayName": "loopback",
                                                             "role": "write" if caller.write else "read"}}}

    def _commits(self, repo: Repo, revision: str):
        """The commits reachable from `revision`, newest first (one page: no Link header)."""
        sha, out = self._resolve(repo, revision), []
        while sha is not None:
            c = repo.commits[sha]
            out.append({"id": c.oid, "title": c.title, "message": "", "date": c.date,
                        "authors": [{"user": c.author}]})
            sha = c.parent
        return 200, {}, None, out

    def _info(self, repo: Repo, revision: str):
        sha = self._resolve(repo, revision)
        commit = repo.commits[sha]
        data: dict[str, Any] = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0], "sha": sha, "lastModified": commit.date,
            "createdAt": repo.created_at, "private": repo.private, "disabled": False, "gated": False,
            "tags": [], "likes": 0, "downloads": 0,
            "siblings": [{"rfilename": p} for p in sorted(commit.files)],
        }
        if repo.repo_type == "space":
            data["sdk"] = repo.sdk
        return 200, {}, None, data

    def _tree(self, repo: Repo, revision: str, path: str, recursive: bool):
        sha = self._resolve(repo, revision)
        files = repo.commits[sha].files
        prefix = f"{path}/" if path else ""
        if path and path not in files and not any(p.startswith(prefix) for p in files):
            raise HubError(404, f"{path} does not exist on {revision}", "EntryNotFound",
                           headers={"X-Repo-Commit": sha})
        entries: dict[str, dict[str, Any]] = {}
        for p, data in sorted(files.items()):
            if not p.startswith(prefix):
                continue
            parts = p[len(prefix):].split("/")
            for depth in range(1, len(parts)):
                if not recursive and depth > 1:
                    break
                d = prefix + "/".join(parts[:depth])
                entries.setdefault(d, {"type": "directory", "size": 0, "path": d,
                                       "oid": hashlib.sha1(f"tree:{sha}:{d}".encode()).hexdigest()})
            if recursive or len(parts) == 1:
                entries[p] = {"type": "file", "oid": git_blob_oid(data), "size": len(data), "path": p}
        return 200, {}, None, list(entries.values())

    def _preupload(self, repo: Repo, revision: str, body: bytes):
        sha = self._resolve(repo, revision)
        current = repo.commits[sha].files
        items = _json_body(body).get("files")
        if not isinstance(items, list):
            raise HubError(400, "files must be a list")
        out = []
        for item in items:
            path = item.get("path") if isinstance(item, dict) else None
            if not isinstance(path, str):
                raise HubError(400, "each file needs a path")
            oid = git_blob_oid(current[path]) if path in current else None
            out.append({"path": path, "uploadMode": "regular", "shouldIgnore": False, "oid": oid})
        return 200, {}, None, {"files": out, "commitOid": sha}

    def _commit(self, repo: Repo, revision: str, body: bytes, author: str = DEFAULT_USER):
        if revision not in repo.refs:
            if _SHA.match(revision) and revision in repo.commits:
                raise HubError(400, "Cannot commit to a commit sha: target a branch")
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        try:
            lines = [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HubError(400, f"Invalid ndjson payload: {exc}") from exc
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The first ndjson line must be the commit header")
        header = lines[0].get("value") or {}
        title = header.get("summary")
        if not isinstance(title, str) or not title:
            raise HubError(400, "A commit summary is required")
        parent = repo.refs[revision]
        if header.get("parentCommit") not in (None, parent):
            raise HubError(412, f"parentCommit {header['parentCommit']} is not the head of {revision}")
        tree = dict(repo.commits[parent].files)
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value") or {}
            path = value.get("path")
            if not isinstance(path, str) or not path or path.startswith("/") or ".." in path.split("/"):
                raise HubError(400, f"Invalid path in commit: {path!r}")
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, "file content must be base64-encoded")
                try:
                    tree[path] = base64.b64decode(value.get("content", ""), validate=True)
                except ValueError as exc:
                    raise HubError(400, f"Invalid base64 content for {path}") from exc
            elif key == "deletedFile":
                if path not in tree:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del tree[path]
            elif key == "deletedFolder":
                folder = path.rstrip("/") + "/"
                for p in [p for p in tree if p.startswith(folder)]:
                    del tree[p]
            elif key == "lfsFile":
                raise HubError(422, "LFS files are not supported by the loopback Hub (uploadMode is regular)")
            else:
                raise HubError(400, f"Unknown commit operation {key!r}")
        oid = self._new_commit(repo, revision, tree, title, author)
        return 200, {}, None, {"success": True, "commitOid": oid, "hookOutput": "",
                               "commitUrl": f"{self._repo_url(repo)}/commit/{oid}", "pullRequestUrl": None}

    def _branch(self, repo: Repo, branch: str, body: bytes):
        if branch in repo.refs:
            raise HubError(409, "Reference already exists")
        start = _json_body(body).get("startingPoint") or "main"
        repo.refs[branch] = self._resolve(repo, start)
        return 200, {}, None, {}

    def _variable(self, repo: Repo, body: bytes):
        payload = _json_body(body)
        key, value = payload.get("key"), payload.get("value")
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise HubError(400, "key and value are required")
        repo.variables[key] = {"value": value, "description": payload.get("description"), "updatedAt": _now()}
        return 200, {}, None, {k: dict(v) for k, v in repo.variables.items()}

    def _resolve_file(self, method: str, segs: list[str], headers: dict[str, str]):
        if method not in ("GET", "HEAD"):
            raise HubError(405, "Method not allowed")
        repo_type = "model"
        if segs and segs[0] in ("datasets", "spaces") and len(segs) > 3 and segs[3] == "resolve":
            repo_type, segs = TYPES_BY_PLURAL[segs[0]], segs[1:]
        if len(segs) < 5 or segs[2] != "resolve":
            raise HubError(404, f"Not found: /{'/'.join(segs)}")
        repo = self._get_repo(repo_type, f"{segs[0]}/{segs[1]}", headers, write=False)
        sha = self._resolve(repo, segs[3])
        path = "/".join(segs[4:])
        files = repo.commits[sha].files
        if path not in files:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", headers={"X-Repo-Commit": sha})
        data = files[path]
        out = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_oid(data)}"', "Accept-Ranges": "bytes",
               "Content-Type": "application/octet-stream"}
        status, body = 200, data
        rng = headers.get("range")
        if rng:
            m = re.fullmatch(r"\s*bytes=(\d+)-(\d*)\s*", rng)
            if m is None or int(m.group(1)) >= max(len(data), 1):
                raise HubError(416, "Requested range not satisfiable",
                               headers={"Content-Range": f"bytes */{len(data)}"})
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
            status, body = 206, data[start:end + 1]
            out["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return status, out, body, None


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HubError(400, f"Invalid JSON body: {exc}") from exc
    if not isinstance(data, dict):
        raise HubError(400, "JSON body must be an object")
    return data


def _yaml_errors(messages: list[str]):
    return 400, {}, None, {"error": "Invalid metadata", "errors": [{"message": m} for m in messages]}


def _space_meta_errors(meta: dict[str, Any]) -> list[str]:
    """The checks the Hub applies to Space front matter that SpaceCard does not make locally."""
    errors = []
    if meta.get("sdk") not in SPACE_SDKS:
        errors.append(f'"sdk" must be one of {", ".join(SPACE_SDKS)}, got {meta.get("sdk")!r}')
    for key in ("colorFrom", "colorTo"):
        if key in meta and meta[key] not in SPACE_COLORS:
            errors.append(f'"{key}" must be one of {", ".join(SPACE_COLORS)}, got {meta[key]!r}')
    short = meta.get("short_description")
    if short is not None and (not isinstance(short, str) or len(short) > 60):
        errors.append('"short_description" must be a string of at most 60 characters')
    return errors


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection: stop() really takes the Hub down

    def setup(self) -> None:
        super().setup()
        with self.server.hub._lock:
            self.server.hub._conns.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.server.hub._lock:
            self.server.hub._conns.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # requests are recorded in HubServer.requests instead

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        hub = self.server.hub
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        hub._record(RecordedRequest(self.command, self.path, headers, body))
        with hub._lock:
            delay = hub._delay_s
        if delay and hub._stopping.wait(delay):
            self.close_connection = True
            return  # went down while holding the request: the client sees the connection drop
        split = urlsplit(self.path)
        try:
            injected = hub._injected_failure(split.path)
            if injected is not None:
                raise HubError(injected, f"Simulated failure (HTTP {injected})")
            status, out_headers, raw, data = hub.dispatch(self.command, split.path, parse_qs(split.query),
                                                          headers, body)
        except HubError as err:
            status, raw = err.status, None
            out_headers = {"X-Error-Message": err.message, **err.headers}
            if err.code:
                out_headers["X-Error-Code"] = err.code
            data = {"error": err.message, **err.extra}
        except Exception as exc:  # a bug in the fake must surface as a 500, not a hung client
            status, raw, out_headers = 500, None, {"X-Error-Message": f"loopback Hub bug: {exc!r}"}
            data = {"error": f"loopback Hub bug: {exc!r}"}
        if raw is None:
            raw = json.dumps(data).encode()
            out_headers.setdefault("Content-Type", "application/json")
        self.send_response(status)
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _handle
