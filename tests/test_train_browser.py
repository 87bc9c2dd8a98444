"""The Train tab in headless Chromium: a visitor uploads a file, corrects how a column was read,
fits (the progress bar shows the fit's steps), sees their own segments in every tab under a banner
— and nobody else does — then goes back; bad files are said on the page; two visitors at once,
one waits in line. Desktop and 390 px, light and dark, screenshots in test-artifacts/."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import CONTRAST_JS, DESKTOP, PHONE, open_app
from tests.test_train_app import bad_files  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
FIT_S = 240_000  # ms: a fit on a loaded 2-core machine, queue included
# Records texts that appear anywhere on the page (progress descriptions, queue positions) while it runs.
WATCH_JS = """() => { window.__seen = new Set();
  new MutationObserver(() => { for (const el of document.querySelectorAll('.progress-text, .meta-text, .meta-text-center, .progress-level-inner'))
      window.__seen.add(el.textContent.trim()); }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
STEPS = ("reading and cleaning data", "describing columns", "preprocessing", "choosing k", "fitting KMeans",
         "comparing clustering algorithms", "profiling segments", "segments as rules", "writing bundle")


def open_train(browser, url: str, device: dict, theme: str = "light"):
    page = open_app(browser, f"{url}/?__theme={theme}", device)
    page.get_by_role("tab", name="Train").click()
    return page


def upload(page, path) -> None:
    page.locator("#train-file input[type=file]").set_input_files(str(path))


def column_row(page, name: str):
    return page.locator(".train-column").filter(has=page.get_by_text(name, exact=True))


def pick(page, box, option: str) -> None:
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def no_sideways_scroll(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"horizontal scroll: {widths}"


def test_a_visitor_trains_sees_own_segments_everywhere_and_goes_back(browser, app_url, shared_data,  # noqa: F811
                                                                   artifacts_dir):
    page = open_train(browser, app_url, DESKTOP)
    expect(page.locator("#train-intro")).to_contain_text("Limits here: files up to 20 MB, 200,000 customer rows")
    upload(page, shared_data / "Mall_Customers.csv")
    expect(page.locator("#train-status")).to_contain_text("read as a customer table", timeout=90_000)
    expect(column_row(page, "Annual Income (k$)")).to_contain_text("15 to 137")
    pick(page, column_row(page, "Gender").locator("input").first, "left out")
    page.locator("#train-again").click()
    expect(column_row(page, "Gender")).to_contain_text("excluded by you", timeout=90_000)
    pick(page, page.locator("#train-k input"), "3")
    page.screenshot(path=str(artifacts_dir / "train-desktop-light-columns.png"), full_page=True)
    page.evaluate(WATCH_JS)
    page.locator("#train-fit").click()
    expect(page.locator("#train-result")).to_contain_text("Your segments are ready: 3 segments from 200", timeout=FIT_S)
    seen = " | ".join(page.evaluate("() => [...window.__seen]"))
    assert sum(step in seen for step in STEPS) >= 2, f"the progress never showed the fit's steps: {seen[:500]}"
    banner = page.locator("#own-bundle-banner")
    expect(banner).to_contain_text("You are looking at your own segmentation")
    expect(banner).to_contain_text("trained in this session on Mall_Customers.csv: 3 segments from 200 customers")
    expect(page.locator(".app-header h1")).to_have_text("Segments of Mall_Customers.csv")
    expect(page.locator("#train-zip a")).to_have_attribute("href", re.compile(r"/Mall_Customers-bundle\.zip$"))
    page.screenshot(path=str(artifacts_dir / "train-desktop-light-result.png"), full_page=True)

    # every tab shows the visitor's bundle
    page.get_by_role("tab", name="Predict").click()
    expect(page.locator("#field-annual-income-k input")).to_be_editable(timeout=20_000)
    expect(page.locator("#field-gender")).to_have_count(0)  # left out by the visitor
    page.locator("#field-annual-income-k input").fill("120")
    page.locator("#predict-btn").click()
    expect(page.get_by_test_id("segment-name")).to_be_visible(timeout=20_000)
    page.screenshot(path=str(artifacts_dir / "train-desktop-light-predict.png"), full_page=True)
    page.get_by_role("tab", name="Segments").click()
    expect(page.locator(".segment-card")).to_have_count(3, timeout=20_000)
    page.get_by_role("tab", name="Model").click()
    expect(page.get_by_text("trained in this session on Mall_Customers.csv").first).to_be_visible()
    page.get_by_role("tab", name="Batch").click()
    expect(page.get_by_text(re.compile(r"Upload a CSV with the columns Age, Annual Income \(k\$\)"))).to_be_visible()
    failures = page.evaluate(CONTRAST_JS)["bad"]
    assert failures == [], failures[:5]

    # another visitor meanwhile: the Space's own model, no banner
    other = open_app(browser, app_url + "/", DESKTOP)
    expect(other.locator(".app-header h1")).to_have_text("Customer segments")
    expect(other.locator("#own-bundle-banner")).to_be_hidden()
    expect(other.locator("#field-income input")).to_be_visible()
    other.close()

    page.locator("#back-to-live").click()
    expect(page.locator("#own-bundle-banner")).to_be_hidden(timeout=20_000)
    expect(page.locator(".app-header h1")).to_have_text("Customer segments")
    page.get_by_role("tab", name="Predict").click()
    expect(page.locator("#field-income input")).to_be_visible()
    page.get_by_role("tab", name="Train").click()
    page.locator("#show-mine").click()  # and back to their own again
    expect(page.locator("#own-bundle-banner")).to_be_visible(timeout=20_000)
    zipped = Path(page.locator("#train-zip a").get_attribute("href").split("/gradio_api/file=", 1)[1])
    assert zipped.is_file()
    page.close()  # the session ends: its bundle is deleted (Blocks.unload)
    deadline = time.monotonic() + 60
    while zipped.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not zipped.exists() and not zipped.parent.exists(), "the bundle outlived its session"


def test_bad_files_are_said_on_the_page(browser, app_url, bad_files, artifacts_dir):  # noqa: F811
    page = open_train(browser, app_url, PHONE, theme="dark")
    for name in ("empty.csv", "one_column.csv", "no_values.csv", "only_ids.csv", "binary.csv", "two_million.csv"):
        path, message = bad_files[name]
        upload(page, path)
        status = page.locator("#train-status")
        expect(status).to_contain_text("Not trained.", timeout=90_000)
        text = status.inner_text()
        assert re.search(message, text, re.I), (name, text)
        expect(page.locator("#train-fit")).to_have_count(0)  # nothing to fit
        if name == "two_million.csv":
            page.screenshot(path=str(artifacts_dir / "train-phone-dark-refused.png"), full_page=True)
        page.locator("#train-file button[aria-label='Clear']").first.click()
        expect(status).to_have_text("", timeout=20_000)
    no_sideways_scroll(page)
    assert page.evaluate(CONTRAST_JS)["bad"] == []
    page.close()


def test_two_visitors_at_once_one_waits_in_line_and_each_sees_their_own(browser, app_url, shared_data,  # noqa: F811
                                                                      artifacts_dir):
    phone = open_train(browser, app_url, PHONE, theme="light")
    desk = open_train(browser, app_url, DESKTOP, theme="dark")
    upload(phone, shared_data / "Mall_Customers.csv")
    upload(desk, shared_data / "customer_segmentation_data.csv")
    for page in (phone, desk):
        expect(page.locator("#train-fit")).to_be_visible(timeout=90_000)
        page.evaluate(WATCH_JS)
    phone.screenshot(path=str(artifacts_dir / "train-phone-light-columns.png"), full_page=True)
    no_sideways_scroll(phone)
    phone.locator("#train-fit").click()
    desk.locator("#train-fit").click()
    for page in (phone, desk):
        expect(page.locator("#train-result")).to_contain_text("Your segments are ready", timeout=FIT_S)
    seen = [" | ".join(p.evaluate("() => [...window.__seen]")) for p in (phone, desk)]
    assert any("queue" in s.lower() for s in seen), f"neither page showed its place in the line: {seen}"
    expect(phone.locator("#own-bundle-banner")).to_contain_text("Mall_Customers.csv")
    expect(desk.locator("#own-bundle-banner")).to_contain_text("customer_segmentation_data.csv")
    no_sideways_scroll(phone)
    phone.screenshot(path=str(artifacts_dir / "train-phone-light-result.png"), full_page=True)
    desk.screenshot(path=str(artifacts_dir / "train-desktop-dark-result.png"), full_page=True)
    for page in (phone, desk):
        assert page.evaluate(CONTRAST_JS)["bad"] == []
    phone.get_by_role("tab", name="Predict").click()
    expect(phone.locator("#field-annual-income-k input")).to_be_visible(timeout=20_000)
    no_sideways_scroll(phone)
    phone.screenshot(path=str(artifacts_dir / "train-phone-light-predict.png"), full_page=True)
    phone.close()
    desk.close()


def test_the_tab_bar_shows_each_tab_once_whichever_is_selected(browser, app_url):  # noqa: F811
    """Gradio's bar counts every child of gr.Tabs as a tab: a State among them once made the selected
    tab appear twice and its neighbour vanish (API twice on a seven-tab page)."""
    from tests.test_browser import TABS
    page = open_app(browser, app_url + "/", DESKTOP)
    for tab in TABS:
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        shown = page.evaluate("() => [...document.querySelectorAll('#tabs [role=tab]')].map(e => e.textContent.trim())")
        assert shown == list(TABS), (tab, shown)
    page.close()
