"""Headless Chromium (Debian's package) drives the real page, on a desktop and inside a phone-sized iframe."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def fill_and_predict(frame, predictor, record):
    """Type a customer into the generated form and press the button."""
    for f in predictor.schema.features:
        slug = "field-" + f.name.lower().replace("_", "-")
        box = frame.locator(f"#{slug} input").first
        box.fill(str(record[f.name]))
        if f.kind == "categorical":
            box.press("Enter")
    frame.locator("#predict-btn").click()


def test_desktop_form_shows_segment_and_offers(browser, app_url, predictor, artifacts_dir):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url + "/", wait_until="networkidle")
    segs = predictor.segments
    record = {**predictor.schema.example()}
    expected = predictor.predict_one(record)
    fill_and_predict(page, predictor, record)
    name = page.get_by_test_id("segment-name")
    expect(name).to_have_text(expected["segment_name"], timeout=20_000)
    offers = page.get_by_test_id("offers").locator(".offer-title")
    expect(offers).to_have_count(len(expected["offers"]))
    expect(offers.first).to_have_text(expected["offers"][0]["title"])
    expect(page.locator("#pca-map .js-plotly-plot")).to_be_visible()
    # the star for this customer is drawn on the map
    expect(page.locator("#pca-map .legendtext", has_text="This customer")).to_have_count(1)
    expect(page.locator("#pca-map .legendtext")).to_have_count(len(segs) + 1)  # every segment + the star
    page.screenshot(path=str(artifacts_dir / "desktop.png"), full_page=True)
    page.close()


def test_invalid_form_value_shows_the_field_error(browser, app_url, predictor):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url + "/", wait_until="networkidle")
    f = predictor.schema.numeric[0]
    record = {**predictor.schema.example(), f.name: -1}
    fill_and_predict(page, predictor, record)
    expect(page.get_by_text(f"{f.name} must be {f.constraint}", exact=False).first).to_be_visible(timeout=20_000)
    page.close()


def test_phone_iframe_has_no_horizontal_scroll(browser, app_url, predictor, artifacts_dir):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                            has_touch=True)
    page.set_content(
        "<!doctype html><html><head><meta name=viewport content='width=device-width,initial-scale=1'>"
        "<style>body{margin:0}iframe{border:0;width:100vw;height:100vh;display:block}</style></head>"
        f"<body><iframe id=space src='{app_url}/' title='segments'></iframe></body></html>")
    frame = page.frame_locator("#space")
    inner = page.frames[1]
    inner.wait_for_load_state("networkidle")
    expect(frame.locator("#predict-btn")).to_be_visible(timeout=30_000)
    record = predictor.schema.example()
    expected = predictor.predict_one(record)
    fill_and_predict(frame, predictor, record)
    expect(frame.get_by_test_id("segment-name")).to_have_text(expected["segment_name"], timeout=20_000)
    offers = frame.get_by_test_id("offers")
    offers.scroll_into_view_if_needed()
    expect(offers).to_be_visible()
    widths = inner.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"horizontal scroll inside the iframe: {widths}"
    plot_box = frame.locator("#pca-map .js-plotly-plot").bounding_box()
    assert plot_box and plot_box["width"] >= 300 and plot_box["x"] + plot_box["width"] <= 391
    frame.get_by_test_id("result-card").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "phone-iframe-result.png"))
    page.screenshot(path=str(artifacts_dir / "phone-iframe.png"), full_page=True)
    page.close()


def test_tabs_render_their_plots(browser, app_url, artifacts_dir):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url + "/", wait_until="networkidle")
    for tab, shot in (("Segments", "segments.png"), ("Data", "data.png"), ("Model", "model.png"),
                      ("Batch", "batch.png")):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(800)
        if tab != "Batch":
            expect(page.locator(".js-plotly-plot:visible").first).to_be_visible(timeout=15_000)
        page.screenshot(path=str(artifacts_dir / shot), full_page=True)
    page.close()


def test_batch_upload_in_the_page(browser, app_url, predictor, tmp_path, artifacts_dir):
    import csv
    ex = predictor.schema.example()
    src = tmp_path / "customers.csv"
    with open(src, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=predictor.schema.names)
        w.writeheader()
        w.writerows([ex, {**ex, predictor.schema.categorical[0].name: "Martian"}])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url + "/", wait_until="networkidle")
    page.get_by_role("tab", name="Batch").click()
    page.locator("input[type=file]").first.set_input_files(str(src))
    page.get_by_role("button", name="Score file").click()
    expect(page.get_by_text("rows scored", exact=False)).to_be_visible(timeout=20_000)
    expect(page.get_by_text("line 3", exact=False)).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "batch-scored.png"), full_page=True)
    page.close()
