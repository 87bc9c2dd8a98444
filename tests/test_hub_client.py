"""Publish and fetch through the real huggingface_hub 2.4 client against the loopback Hub."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from model.contract.errors import BundleError
from space.hub import fetch_bundle, is_pinned
from tests.hub_server import HubServer, allow_loopback_calls
from training.publishing.push import PublishError, pin_instructions, push_bundle, push_space

ROOT = Path(__file__).resolve().parent.parent
REPO = "acme/segments"
TOKEN = "hf_loopbackSecretToken1234567890abcdef"


@pytest.fixture(autouse=True)
def online(monkeypatch):
    allow_loopback_calls(monkeypatch)  # conftest sets HF_HUB_OFFLINE=1; these tests use the loopback Hub


@pytest.fixture
def hub():
    server = HubServer(token=TOKEN).start()
    yield server
    server.stop()


def write_bundle_dir(path: Path, *, version: int = 1, plots: bool = True) -> Path:
    """A small stand-in bundle: the file kinds a real one has, including the pickle to keep out."""
    path.mkdir(parents=True, exist_ok=True)
    files = {
        "README.md": f"---\nlibrary_name: sklearn\ntags:\n- clustering\n---\n\n# Segments v{version}\n".encode(),
        "model.skops": b"PK\x03\x04skops-v%d" % version,
        "serving.npz": b"PK\x03\x04arrays-v%d" % version,
        "pca_sample.csv": b"pc1,pc2,segment\n0.1,0.2,0\n",
        "summary.json": json.dumps({"version": version}).encode(),
        "segment_rules.sql": b"SELECT 1 -- v%d" % version,
        "sklearn_model.joblib": b"\x80\x04joblib-pickle-v%d" % version,
    }
    if plots:
        files["plots/silhouette.png"] = b"\x89PNG v%d" % version
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    (path / "manifest.json").write_text(json.dumps({"format_version": 2, "version": version}))
    return path


def local_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


SERVED = {"manifest.json", "serving.npz", "pca_sample.csv", "summary.json", "README.md", "segment_rules.sql"}


def expected(bundle: Path) -> dict[str, bytes]:
    """What the app downloads: the served files only (no pickle, no model file, no plots)."""
    return {k: v for k, v in local_files(bundle).items() if k in SERVED}


def fetch(hub: HubServer, revision: str, cache: Path, **kw) -> Path:
    return fetch_bundle(REPO, revision, endpoint=hub.url, cache_dir=cache, timeout_s=kw.pop("timeout_s", 5.0), **kw)


def test_push_then_fetch_by_sha_returns_identical_bytes(hub, tmp_path):
    bundle = write_bundle_dir(tmp_path / "b1")
    result = push_bundle(bundle, REPO, endpoint=hub.url, token=TOKEN)
    assert is_pinned(result.commit_sha) and result.commit_sha == hub.head(REPO)
    assert (result.repo_id, result.revision) == (REPO, "main")
    assert result.commit_sha in result.url and result.url.startswith(hub.url)
    got = fetch(hub, result.commit_sha, tmp_path / "cache")
    assert local_files(got) == expected(bundle)  # byte for byte; no joblib, no .gitattributes
    assert "sklearn_model.joblib" in hub.files(REPO)  # it is on the Hub, just never downloaded


def test_second_push_new_sha_and_first_sha_still_served(hub, tmp_path):
    b1 = write_bundle_dir(tmp_path / "b1", version=1)
    b2 = write_bundle_dir(tmp_path / "b2", version=2, plots=False)
    first = push_bundle(b1, REPO, endpoint=hub.url, token=TOKEN)
    second = push_bundle(b2, REPO, endpoint=hub.url, token=TOKEN, commit_message="v2")
    assert second.commit_sha != first.commit_sha and is_pinned(second.commit_sha)
    assert local_files(fetch(hub, first.commit_sha, tmp_path / "c1")) == expected(b1)
    assert local_files(fetch(hub, second.commit_sha, tmp_path / "c2")) == expected(b2)
    assert "plots/silhouette.png" in hub.files(REPO, first.commit_sha)  # the repo has every file …
    assert "plots/silhouette.png" not in hub.files(REPO)  # … and mirrors the bundle
    again = push_bundle(b2, REPO, endpoint=hub.url, token=TOKEN)  # unchanged: no empty commit
    assert again.commit_sha == second.commit_sha


def test_fetch_never_downloads_pickles_even_if_asked(hub, tmp_path):
    sha = push_bundle(write_bundle_dir(tmp_path / "b"), REPO, endpoint=hub.url, token=TOKEN).commit_sha
    hub.clear_requests()
    got = fetch(hub, sha, tmp_path / "cache", allow_patterns=["*"])
    assert not list(got.rglob("*.joblib")) and not list(got.rglob("*.skops"))
    assert not [r.path for r in hub.requests if ".joblib" in r.path or ".skops" in r.path]


def test_hub_down_fails_fast(hub, tmp_path):
    sha = push_bundle(write_bundle_dir(tmp_path / "b"), REPO, endpoint=hub.url, token=TOKEN).commit_sha
    hub.stop()
    t0 = time.monotonic()
    with pytest.raises(BundleError) as err:
        fetch(hub, sha, tmp_path / "cache")
    assert time.monotonic() - t0 < 5
    assert REPO in str(err.value) and sha in str(err.value) and "unreachable" in str(err.value)


def test_hub_500_fails_fast(hub, tmp_path):
    sha = push_bundle(write_bundle_dir(tmp_path / "b"), REPO, endpoint=hub.url, token=TOKEN).commit_sha
    t0 = time.monotonic()
    with hub.failing(500), pytest.raises(BundleError, match="HTTP 500"):
        fetch(hub, sha, tmp_path / "cache")
    assert time.monotonic() - t0 < 5


def test_slow_hub_is_bounded_by_timeout(hub, tmp_path):
    sha = push_bundle(write_bundle_dir(tmp_path / "b"), REPO, endpoint=hub.url, token=TOKEN).commit_sha
    hub.set_delay(30)
    t0 = time.monotonic()
    with pytest.raises(BundleError, match="no answer within 1 s"):
        fetch(hub, sha, tmp_path / "cache", timeout_s=1.0)
    assert time.monotonic() - t0 < 3


def test_client_retry_loop_is_cut_by_the_deadline(hub, tmp_path):
    """Probe and tree listing succeed, then every file answers 500: huggingface_hub retries the HEAD
    with 1+2+4+8+8 s of back-off; fetch_bundle gives up at its own deadline instead."""
    import threading
    sha = push_bundle(write_bundle_dir(tmp_path / "b"), REPO, endpoint=hub.url, token=TOKEN).commit_sha
    hub.fail_with(500, match="/resolve/")
    t0 = time.monotonic()
    with pytest.raises(BundleError, match="no answer within 2 s"):
        fetch(hub, sha, tmp_path / "cache", timeout_s=2.0)
    assert time.monotonic() - t0 < 4
    assert any("/resolve/" in r.path for r in hub.requests)
    hub.fail_with(None)  # let the abandoned worker finish on its next retry instead of outliving the test
    for worker in [t for t in threading.enumerate() if t.name == "hub-fetch"]:
        worker.join(timeout=15)


def test_pinned_sha_is_served_from_cache_without_the_hub(hub, tmp_path):
    bundle = write_bundle_dir(tmp_path / "b")
    sha = push_bundle(bundle, REPO, endpoint=hub.url, token=TOKEN).commit_sha
    fetch(hub, sha, tmp_path / "cache")
    hub.stop()
    hub.clear_requests()
    assert local_files(fetch(hub, sha, tmp_path / "cache")) == expected(bundle)
    assert hub.requests == []


def test_missing_repo_and_missing_revision(hub, tmp_path):
    with pytest.raises(BundleError, match="repository not found"):
        fetch_bundle("acme/nothing", "a" * 40, endpoint=hub.url, cache_dir=tmp_path / "c", timeout_s=5)
    push_bundle(write_bundle_dir(tmp_path / "b"), REPO, endpoint=hub.url, token=TOKEN)
    with pytest.raises(BundleError, match="revision not found") as err:
        fetch(hub, "b" * 40, tmp_path / "c")
    assert REPO in str(err.value) and "b" * 40 in str(err.value)
    with pytest.raises(BundleError, match="revision not found"):
        fetch(hub, "no-such-branch", tmp_path / "c")


def test_branch_revision_warns_and_resolves_to_head(hub, tmp_path, caplog):
    bundle = write_bundle_dir(tmp_path / "b")
    sha = push_bundle(bundle, REPO, endpoint=hub.url, token=TOKEN).commit_sha
    with caplog.at_level(logging.WARNING, logger="space.hub"):
        got = fetch(hub, "main", tmp_path / "cache")
    assert got.name == sha and local_files(got) == expected(bundle)
    text = caplog.text
    assert "not pinned" in text and f"MODEL_REVISION={sha}" in text
    assert not is_pinned("main") and not is_pinned(None) and not is_pinned(sha.upper()) and is_pinned(sha)


def test_tamper_changes_served_bytes_but_not_the_sha(hub, tmp_path):
    sha = push_bundle(write_bundle_dir(tmp_path / "b"), REPO, endpoint=hub.url, token=TOKEN).commit_sha
    hub.tamper(REPO, "serving.npz", b"evil")
    assert hub.head(REPO) == sha
    assert (fetch(hub, sha, tmp_path / "cache") / "serving.npz").read_bytes() == b"evil"


def test_token_hygiene(hub, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    bundle = write_bundle_dir(tmp_path / "b")
    result = push_bundle(bundle, REPO, endpoint=hub.url, token=TOKEN)
    writes = [r for r in hub.requests if r.is_write]
    assert writes and all(r.authorization == f"Bearer {TOKEN}" for r in writes)
    hub.clear_requests()
    fetch(hub, result.commit_sha, tmp_path / "cache")  # public repo, no token given: none sent
    assert hub.requests and all(r.authorization is None for r in hub.requests)
    with pytest.raises(PublishError) as err:
        push_bundle(bundle, REPO, endpoint=hub.url, token=TOKEN + "-wrong")
    assert "401" in str(err.value)
    out, errs = capsys.readouterr()
    for text in (repr(result), str(result), pin_instructions(result), caplog.text, out, errs, str(err.value)):
        assert TOKEN not in text
    assert all(TOKEN.encode() not in r.body for r in hub.requests)


def test_private_repo_needs_the_token_for_reads(hub, tmp_path):
    bundle = write_bundle_dir(tmp_path / "b")
    sha = push_bundle(bundle, REPO, endpoint=hub.url, token=TOKEN, private=True).commit_sha
    with pytest.raises(BundleError, match="not accessible"):
        fetch(hub, sha, tmp_path / "c1")
    with pytest.raises(BundleError) as err:
        fetch(hub, sha, tmp_path / "c2", token="hf_wrongToken")
    assert "hf_wrongToken" not in str(err.value)
    assert local_files(fetch(hub, sha, tmp_path / "c3", token=TOKEN)) == expected(bundle)


def test_token_from_env_and_missing_token(hub, tmp_path, monkeypatch):
    import huggingface_hub.constants as hf_constants
    bundle = write_bundle_dir(tmp_path / "b")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert is_pinned(push_bundle(bundle, REPO, endpoint=hub.url).commit_sha)
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    with pytest.raises(PublishError, match="No Hugging Face token"):
        push_bundle(bundle, REPO, endpoint=hub.url)


def test_push_to_branch_leaves_main_alone(hub, tmp_path):
    main = push_bundle(write_bundle_dir(tmp_path / "b1"), REPO, endpoint=hub.url, token=TOKEN)
    staged = push_bundle(write_bundle_dir(tmp_path / "b2", version=2), REPO, endpoint=hub.url,
                         token=TOKEN, revision="staging")
    assert staged.revision == "staging" and hub.head(REPO, branch="staging") == staged.commit_sha
    assert hub.head(REPO) == main.commit_sha


def test_pin_instructions(hub, tmp_path):
    result = push_bundle(write_bundle_dir(tmp_path / "b"), REPO, endpoint=hub.url, token=TOKEN)
    lines = pin_instructions(result).splitlines()
    assert f"MODEL_REPO={REPO}" in [ln.strip() for ln in lines]
    assert f"MODEL_REVISION={result.commit_sha}" in [ln.strip() for ln in lines]


def test_push_space(hub, tmp_path):
    app = tmp_path / "app.py"
    app.write_text("print('hi')\n")
    readme = tmp_path / "README.md"
    readme.write_text("---\ntitle: Segments\nsdk: gradio\ncolorFrom: blue\ncolorTo: indigo\n"
                      "python_version: '3.11'\napp_file: app.py\nmodels:\n- acme/segments\n---\n")
    result = push_space([(app, "app.py"), (readme, "README.md")], "acme/segments-app",
                        model_repo=REPO, model_revision="c" * 40, endpoint=hub.url, token=TOKEN)
    space = hub.repo("acme/segments-app", repo_type="space")
    assert space.sdk == "gradio" and space.refs["main"] == result.commit_sha
    files = hub.files("acme/segments-app", repo_type="space")
    assert files["app.py"] == b"print('hi')\n" and "README.md" in files
    assert {k: v["value"] for k, v in space.variables.items()} == {"MODEL_REPO": REPO, "MODEL_REVISION": "c" * 40}
    readme.write_text("---\ntitle: Segments\nsdk: gradio\ncolorFrom: orange\n---\n")
    with pytest.raises(PublishError, match="colorFrom"):
        push_space([(readme, "README.md")], "acme/segments-app", model_repo=REPO, endpoint=hub.url, token=TOKEN)


def test_push_app_space_generates_a_valid_space_readme(hub, tmp_path):
    from training.publishing.push import push_app_space
    root = tmp_path / "project"
    for name, text in {"app.py": "demo = None\n", "requirements.txt": "gradio\n", "model/__init__.py": "",
                       "model/__pycache__/x.pyc": "junk", "assets/style.css": "body{}\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    result = push_app_space("acme/app", model_repo=REPO, model_revision="d" * 40, endpoint=hub.url,
                            token=TOKEN, root=root)
    files = hub.files("acme/app", repo_type="space")
    assert set(files) == {".gitattributes", "README.md", "app.py", "requirements.txt",
                          "model/__init__.py", "assets/style.css"}
    readme = files["README.md"].decode()
    assert "sdk: gradio" in readme and "python_version: '3.11'" in readme and f"- {REPO}" in readme
    assert hub.repo("acme/app", repo_type="space").variables["MODEL_REVISION"]["value"] == "d" * 40
    assert result.repo_id == "acme/app" and is_pinned(result.commit_sha)


def test_push_app_space_with_train_adds_the_training_code_and_requirements(hub, tmp_path):
    from training.publishing.push import push_app_space
    root = tmp_path / "project"
    for name, text in {"app.py": "demo = None\n", "requirements.txt": "gradio==6.31.0\nnumpy==2.4.6\n",
                       "requirements-training.txt": "# build side\n-r requirements.txt\nnumpy==2.4.6\n"
                                                    "scikit-learn==1.9.1\nskops==0.16.0\n",
                       "model/__init__.py": "", "training/worker.py": "x = 1\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    push_app_space("acme/serve", model_repo=REPO, endpoint=hub.url, token=TOKEN, root=root)
    served = hub.files("acme/serve", repo_type="space")
    assert "training/worker.py" not in served and served["requirements.txt"] == b"gradio==6.31.0\nnumpy==2.4.6\n"
    push_app_space("acme/train", model_repo=REPO, endpoint=hub.url, token=TOKEN, root=root, train=True)
    trains = hub.files("acme/train", repo_type="space")
    assert trains["training/worker.py"] == b"x = 1\n" and "requirements-training.txt" not in trains
    lines = trains["requirements.txt"].decode().splitlines()
    assert [x for x in lines if not x.startswith("#")] == ["gradio==6.31.0", "numpy==2.4.6", "scikit-learn==1.9.1",
                                                           "skops==0.16.0"]
    (root / "requirements-training.txt").unlink()
    with pytest.raises(PublishError, match="--train needs requirements-training.txt"):
        push_app_space("acme/train", model_repo=REPO, endpoint=hub.url, token=TOKEN, root=root, train=True)


def test_push_train_needs_a_space():
    out = subprocess.run([sys.executable, "-m", "training", "push", "--repo", REPO, "--train"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "--train applies to the Space: give --space OWNER/NAME too" in out.stderr


def test_offline_mode_gives_a_clear_error(hub, tmp_path, monkeypatch):
    import huggingface_hub.constants as hf_constants
    sha = push_bundle(write_bundle_dir(tmp_path / "b"), REPO, endpoint=hub.url, token=TOKEN).commit_sha
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)  # what HF_HUB_OFFLINE=1 at import sets
    with pytest.raises(BundleError, match="offline"):
        fetch(hub, sha, tmp_path / "cache")


def test_env_endpoint_and_token_cannot_redirect_or_leak(hub, tmp_path):
    """HF_ENDPOINT / HF_TOKEN are read by huggingface_hub at import: set them before it starts."""
    bundle = write_bundle_dir(tmp_path / "b")
    sha = push_bundle(bundle, REPO, endpoint=hub.url, token=TOKEN).commit_sha
    hub.clear_requests()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from space.hub import fetch_bundle
        print(fetch_bundle({REPO!r}, {sha!r}, endpoint={hub.url!r}, cache_dir={str(tmp_path / 'c')!r}))
    """)
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_TOKEN": "hf_envTokenMustNotBeSent",
           "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf_home")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert local_files(Path(proc.stdout.strip())) == expected(bundle)
    assert hub.requests and all(r.authorization is None for r in hub.requests)
