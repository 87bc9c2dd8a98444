"""Publishing an edit: a new commit of the model repo (and the Space pinned to it) for an account that may
write it, nothing for one that may not; the Model tab's history of the repo. Real huggingface_hub
client code against the loopback Hub (tests/hub_server.py), and the real app in Chromium with
Gradio's sign-in (mocked outside a Space: the machine's token stands behind it)."""
from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser import ARGS, CHROMIUM, DESKTOP, open_app
from tests.test_edit_browser import choose
from tests.hub_server import HubServer, allow_loopback_calls
from tests.server import running_app

REPO = "acme/segments"
SPACE = "acme/segments-app"
ADMIN = "hf_loopbackAdmin000000000000000000000000"
OWNER = "hf_marketerWithWriteAccess00000000000000"
READER = "hf_marketerReadOnly000000000000000000000"
STRANGER = "hf_someoneElse00000000000000000000000000"


@pytest.fixture(autouse=True)
def online(monkeypatch):
    allow_loopback_calls(monkeypatch)


@pytest.fixture(scope="module")
def hub(default_bundle):
    server = HubServer(token=ADMIN).start()
    server.add_token(OWNER, user="marketer", orgs=("acme",))
    server.add_token(READER, user="marketer", orgs=("acme",), write=False)
    server.add_token(STRANGER, user="stranger")
    server.add_repo(SPACE, repo_type="space", sdk="gradio")
    yield server
    server.stop()


def sign_in(page) -> None:
    """Press "Sign in with Hugging Face": the page goes to /login/huggingface and comes back signed in."""
    with page.expect_navigation(timeout=60_000):
        page.locator("#edit-login").click()
    expect(page.locator("#predict-btn")).to_be_visible(timeout=90_000)
    page.get_by_role("tab", name="Edit").click()
    expect(page.locator("#edit-login")).to_contain_text("Logout", timeout=30_000)


def _app_env(hub, sha, tmp_path, token) -> dict[str, str]:
    """The app serving `sha` of the repo, sign-in on (gradio's mock: `token`'s account behind it)."""
    return {"MODEL_REPO": REPO, "MODEL_REVISION": sha, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0",
            "HF_TOKEN": token, "HF_OAUTH": "1", "HUB_CACHE_DIR": str(tmp_path / "cache"), "HUB_TIMEOUT_S": "10"}


def _push(hub, bundle) -> str:
    from training.publishing.push import push_bundle
    return push_bundle(bundle, REPO, endpoint=hub.url, token=ADMIN, commit_message="trained").commit_sha


def _edited_from_hub(hub, sha, tmp_path, spec):
    """What the Space does: the bundle as fetched from the Hub (served files and statistics only),
    edited and written to a folder."""
    from model.contract.bundle import read_bundle
    from model.contract.stats import read_stats
    from model.editing.apply import apply_edit
    from model.editing.files import write_edited
    from space.hub import fetch_bundle
    folder = fetch_bundle(REPO, sha, endpoint=hub.url, cache_dir=tmp_path / "cache", timeout_s=20)
    assert not (folder / "model.skops").exists()  # a Space never downloads the model files
    bundle = read_bundle(folder)
    edited = apply_edit(bundle, read_stats(folder / "segment_stats.json"), spec)
    write_edited(edited, folder, tmp_path / "edited")
    return tmp_path / "edited"


def test_publish_commits_keeps_the_model_files_and_pins_the_space(hub, default_bundle, tmp_path):
    from model.editing.spec import build_spec
    from space.publish import PublishRefused, publish
    sha = _push(hub, default_bundle)
    folder = _edited_from_hub(hub, sha, tmp_path, build_spec(renames=["2=Sports fans"], merges=["1,4"]))
    for token, why in [(READER, "cannot write the model repo"), (STRANGER, "cannot write the model repo")]:
        with pytest.raises(PublishRefused, match=why):
            publish(folder, repo=REPO, token=token, endpoint=hub.url, parent=sha, message="edit", space_id=SPACE)
        assert hub.head(REPO) == sha  # nothing was written
    done = publish(folder, repo=REPO, token=OWNER, endpoint=hub.url, parent=sha, message="Edit segments",
                   space_id=SPACE)
    assert done.pinned and hub.head(REPO) == done.commit != sha
    files, before = hub.files(REPO, done.commit), hub.files(REPO, sha)
    assert files["model.skops"] == before["model.skops"] and files["sklearn_model.joblib"] == before["sklearn_model.joblib"]
    assert b"Sports fans" in files["manifest.json"] and b"Sports fans" in files["README.md"]
    variables = hub.repo(SPACE, repo_type="space").variables
    assert variables["MODEL_REPO"]["value"] == REPO and variables["MODEL_REVISION"]["value"] == done.commit
    assert hub.repo(REPO).commits[done.commit].author == "marketer"
    # the published commit serves as any bundle, fetched and verified like the Space does
    from model.serving.predictor import Predictor
    from space.hub import fetch_bundle
    served = Predictor.from_dir(fetch_bundle(REPO, done.commit, endpoint=hub.url, cache_dir=tmp_path / "c2"))
    assert served.k == 4 and served.segments[2].name == "Sports fans"
    other = _edited_from_hub(hub, sha, tmp_path / "second", build_spec(renames=["0=Young deal seekers"]))
    with pytest.raises(PublishRefused, match="changed since this Space loaded it"):  # an edit of a replaced bundle
        publish(other, repo=REPO, token=OWNER, endpoint=hub.url, parent=sha, message="again", space_id=None)
    assert hub.head(REPO) == done.commit
    assert all(OWNER not in r.path for r in hub.requests)


@pytest.mark.browser
def test_sign_in_publish_and_history_in_the_browser(hub, default_bundle, predictor, tmp_path, artifacts_dir):
    sha = _push(hub, default_bundle)
    with running_app(_app_env(hub, sha, tmp_path, OWNER), log_path=artifacts_dir / "app-publish.log") as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = open_app(browser, url + "/", DESKTOP)
        page.get_by_role("tab", name="Model").click()
        page.locator("#model-history").click()
        with hub.failing(503, match="/commits/"):  # a Hub failure is a sentence, not a broken tab
            page.get_by_role("button", name="Show the last commits").click()
            expect(page.locator("#model-history-table")).to_contain_text("could not be read", timeout=30_000)
        page.get_by_role("tab", name="Edit").click()
        publish = page.locator("#edit-publish")
        publish.click()
        expect(page.locator("#edit-published")).to_contain_text("Sign in with Hugging Face first", timeout=20_000)
        sign_in(page)  # gradio's local sign-in: the machine's own account
        choose(page, "edit-segment", "2 ·")
        page.locator("#edit-name textarea, #edit-name input").first.fill("Sports fans")
        page.locator("#edit-apply").click()
        expect(page.locator("#edit-status")).to_contain_text("name and offers applied", timeout=20_000)
        publish.click()
        published = page.locator("#edit-published")
        expect(published).to_contain_text("Published as commit", timeout=60_000)
        new = hub.head(REPO)
        assert new != sha and new in published.inner_text() and f"MODEL_REVISION={new}" in published.inner_text()
        assert b"Sports fans" in hub.files(REPO, new)["manifest.json"]
        page.screenshot(path=str(artifacts_dir / "edit-published.png"), full_page=True)
        other = open_app(browser, url + "/", DESKTOP)  # another visitor: still the live, pinned bundle
        other.get_by_role("tab", name="Segments").click()
        expect(other.locator("body")).to_contain_text(predictor.segments[2].name)
        expect(other.locator("body")).not_to_contain_text("Sports fans")
        page.get_by_role("tab", name="Model").click()
        page.locator("#model-history").click()  # the page came back from signing in: the accordion is closed
        page.get_by_role("button", name="Show the last commits").click()
        history = page.locator("#model-history-table")
        expect(history).to_contain_text(new[:10], timeout=30_000)
        expect(history).to_contain_text("live")
        expect(history).to_contain_text("Sports fans")
        page.screenshot(path=str(artifacts_dir / "model-history.png"), full_page=True)
        browser.close()


@pytest.mark.browser
def test_a_token_without_write_access_publishes_nothing(hub, default_bundle, tmp_path, artifacts_dir):
    sha = _push(hub, default_bundle)
    with running_app(_app_env(hub, sha, tmp_path, READER), log_path=artifacts_dir / "app-publish-reader.log") as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = open_app(browser, url + "/", DESKTOP)
        page.get_by_role("tab", name="Edit").click()
        sign_in(page)
        choose(page, "edit-merge-a", "1 ·")
        choose(page, "edit-merge-b", "4 ·")
        page.locator("#edit-merge").click()
        expect(page.locator("#edit-status")).to_contain_text("merged", timeout=20_000)
        page.locator("#edit-publish").click()
        expect(page.locator("#edit-published")).to_contain_text("cannot write the model repo", timeout=60_000)
        assert hub.head(REPO) == sha
        browser.close()
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
