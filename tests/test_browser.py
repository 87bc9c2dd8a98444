"""Headless Chromium (Debian's package, driven by Playwright) on the real page: a desktop, a phone
(390×844, touch), an iframe, the <gradio-app> web component, a deep link, light and dark themes."""
from __future__ import annotations

import csv

import pytest
from playwright.sync_api import expect

from tests.browser import CONTRAST_JS, DESKTOP, PHONE, fill, fill_and_predict, open_app, slug

pytestmark = pytest.mark.browser
TABS = ("Predict", "Segments", "Data", "Model", "Monitor", "Batch", "Edit", "Train", "API")


def test_desktop_form_shows_segment_why_offers_and_the_map(browser, app_url, predictor, artifacts_dir):
    page = open_app(browser, app_url + "/", DESKTOP)
    record = {**predictor.schema.example()}
    expected = predictor.predict_one(record)
    fill_and_predict(page, predictor, record)
    expect(page.get_by_test_id("segment-name")).to_have_text(expected["segment_name"], timeout=20_000)
    expect(page.get_by_test_id("why").locator("li")).to_have_count(len(expected["why"]))
    expect(page.get_by_test_id("margin")).to_contain_text(f"{expected['margin']:.2f}")
    offers = page.get_by_test_id("offers").locator(".offer-title")
    expect(offers).to_have_count(len(expected["offers"]))
    expect(offers.first).to_have_text(expected["offers"][0]["title"])
    expect(page.locator("#pca-map .legendtext")).to_have_count(predictor.k + 1)  # every segment + the star
    examples = page.locator("#examples table")
    assert examples.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth + 1"), "examples cut on a desktop"
    page.screenshot(path=str(artifacts_dir / "desktop.png"), full_page=True)
    page.close()


def test_enter_in_a_field_scores_the_form(browser, app_url, predictor):
    page = open_app(browser, app_url + "/", DESKTOP)
    record = {**predictor.schema.example(), predictor.schema.numeric[0].name: predictor.schema.numeric[0].max}
    fill(page, predictor, record)
    page.locator(f"#{slug(predictor.schema.numeric[0].name)} input").press("Enter")
    expect(page.get_by_test_id("segment-name")).to_have_text(predictor.predict_one(record)["segment_name"],
                                                             timeout=20_000)
    page.close()


def test_invalid_input_clears_the_result_marks_the_field_and_keeps_the_map(browser, app_url, predictor):
    page = open_app(browser, app_url + "/", DESKTOP)
    record = predictor.schema.example()
    fill_and_predict(page, predictor, record)
    expect(page.get_by_test_id("segment-name")).to_have_text(predictor.predict_one(record)["segment_name"],
                                                             timeout=20_000)
    f = predictor.schema.numeric[0]
    page.locator(f"#{slug(f.name)} input").fill("-1")
    page.locator("#predict-btn").click()
    errors = page.get_by_test_id("field-errors")
    expect(errors).to_contain_text(f"{f.name} must be {f.constraint}; got -1", timeout=20_000)
    expect(page.get_by_test_id("segment-name")).to_have_count(0)  # the stale result is gone
    expect(page.locator(f"#{slug(f.name)}")).to_have_class(__import__("re").compile("field-invalid"))
    expect(page.locator(f"#{slug(f.name)}")).to_contain_text("⚠")  # the reason beside the field
    expect(page.locator("#pca-map .js-plotly-plot")).to_be_visible()  # the map stays a map
    expect(page.locator("#pca-map")).not_to_contain_text("Error")
    page.close()


def test_offers_that_contradict_the_customer_are_marked(browser, app_url, predictor):
    """A customer of the Sports-loving segment who prefers something else: 'Sports gear club' is
    kept but marked as not for them, with the reason."""
    seg = next(s for s in predictor.segments if any(o.basis and o.basis[0].level for o in s.offers))
    offer = next(o for o in seg.offers if o.basis and o.basis[0].level)
    cat = predictor.schema.feature(offer.basis[0].feature)
    other = next(lv for lv in cat.levels if lv != offer.basis[0].level)
    record = {f.name: (seg.profile.numeric[f.name].median if f.kind == "numeric" else f.mode)
              for f in predictor.schema.features} | {cat.name: other}
    answer = predictor.predict_one(record)
    assert answer["segment_id"] == seg.id, "the segment's typical member with another level stays in it"
    page = open_app(browser, app_url + "/", DESKTOP)
    fill_and_predict(page, predictor, record)
    muted = page.locator(".offer-card.muted")
    expect(muted).to_have_count(1, timeout=20_000)
    expect(muted).to_contain_text(offer.title)
    expect(muted).to_contain_text(f"this customer's {cat.label.lower()} is {other}")
    page.close()


def _phone_checks(frame, inner, predictor, artifacts_dir, name, page):
    """Shared by the page and the iframe: the result comes into view, tabs, no sideways scroll."""
    record = predictor.schema.example()
    expected = predictor.predict_one(record)
    fill_and_predict(frame, predictor, record)
    expect(frame.get_by_test_id("segment-name")).to_have_text(expected["segment_name"], timeout=20_000)
    inner.wait_for_timeout(800)  # the smooth scroll
    top = frame.get_by_test_id("result-card").evaluate("e => e.getBoundingClientRect().top")
    height = inner.evaluate("() => window.innerHeight")
    assert 0 <= top < height * 0.5, f"the result card starts at y={top:.0f} of {height}: not in view"
    result_y = frame.get_by_test_id("result-card").evaluate("e => e.getBoundingClientRect().top")
    examples_y = frame.locator("#examples").evaluate("e => e.getBoundingClientRect().top")
    assert examples_y > result_y, "the examples push the result down"
    widths = inner.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"horizontal scroll: {widths}"
    for tab in TABS:  # every tab visible, labelled, big enough to touch
        button = frame.get_by_role("tab", name=tab)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 391, (tab, box)
    expect(frame.get_by_role("button", name="More tabs")).to_be_hidden()
    page.screenshot(path=str(artifacts_dir / f"{name}.png"))


def test_phone_result_in_view_tabs_and_width(browser, app_url, predictor, artifacts_dir):
    page = open_app(browser, app_url + "/", PHONE)
    _phone_checks(page, page, predictor, artifacts_dir, "phone-result", page)
    page.screenshot(path=str(artifacts_dir / "phone-full.png"), full_page=True)
    page.close()


def test_phone_iframe(browser, app_url, predictor, artifacts_dir):
    page = browser.new_page(**PHONE)
    page.set_content(
        "<!doctype html><html><head><meta name=viewport content='width=device-width,initial-scale=1'>"
        "<style>body{margin:0}iframe{border:0;width:100vw;height:100vh;display:block}</style></head>"
        f"<body><iframe id=space src='{app_url}/' title='segments'></iframe></body></html>")
    frame = page.frame_locator("#space")
    inner = page.frames[1]
    expect(frame.locator("#predict-btn")).to_be_visible(timeout=90_000)
    _phone_checks(frame, inner, predictor, artifacts_dir, "phone-iframe-result", page)
    plot_box = frame.locator("#pca-map .js-plotly-plot").bounding_box()
    assert plot_box and plot_box["width"] >= 300 and plot_box["x"] + plot_box["width"] <= 391
    page.close()


def test_swiping_over_the_map_scrolls_the_page_and_the_legend_fits(browser, app_url, predictor):
    page = open_app(browser, app_url + "/", PHONE)
    fill_and_predict(page, predictor, predictor.schema.example())
    expect(page.locator("#pca-map .legendtext", has_text="This customer")).to_have_count(1, timeout=20_000)
    page.evaluate("() => window.scrollTo(0, document.querySelector('#pca-map').getBoundingClientRect().top"
                  " + window.scrollY - 200)")
    page.wait_for_timeout(500)
    plot = page.locator("#pca-map .js-plotly-plot")
    ranges = "() => { const g = document.querySelector('#pca-map .js-plotly-plot'); " \
             "return [g.layout.xaxis.range, g.layout.yaxis.range]; }"
    before, range_before = page.evaluate("() => window.scrollY"), page.evaluate(ranges)
    box = plot.bounding_box()
    # A finger drawn downward over the map: the page scrolls up. (The map sits near the end of the
    # page, where an upward swipe may have no room left to scroll; there is always room above.)
    top = max(box["y"], 0.0)
    x, y = box["x"] + box["width"] / 2, top + 40
    assert y + 250 < min(box["y"] + box["height"], PHONE["viewport"]["height"]) and before > 300, (box, before)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for i in range(1, 11):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y + 25 * i}]})
        page.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.scrollY") < before - 100, "the swipe did not scroll the page"
    assert page.evaluate(ranges) == range_before, "the swipe zoomed or panned the map"
    right = plot.evaluate("g => g.getBoundingClientRect().right")
    for entry in page.locator("#pca-map .legendtext").all():
        assert entry.evaluate("e => e.getBoundingClientRect().right") <= right + 1, entry.text_content()
    page.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_meets_wcag_aa_in_both_themes(browser, app_url, predictor, theme, artifacts_dir):
    """Including the 'unlike the training data' and verdict boxes: a deep link opens a far-out
    customer, then every tab is checked."""
    far = {**predictor.schema.example()}
    f = predictor.schema.numeric[0]
    far[f.name] = f.max + 0.5 * (f.hard_max - f.max)
    from space.render.pages import deep_link
    page = open_app(browser, deep_link(app_url, far) + f"&__theme={theme}", DESKTOP)
    expect(page.locator(".flag.warn")).to_be_visible(timeout=20_000)
    failures = {}
    for tab in TABS:
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(600)
        found = page.evaluate(CONTRAST_JS)
        assert found["checked"] > 10, (tab, found)
        if found["bad"]:
            failures[tab] = found["bad"][:5]
    page.get_by_role("tab", name="Predict").click()
    page.wait_for_timeout(400)
    page.screenshot(path=str(artifacts_dir / f"contrast-{theme}.png"), full_page=True)
    assert failures == {}
    if theme == "dark":  # the map is not a white block
        bg = page.evaluate("() => getComputedStyle(document.querySelector('#pca-map .main-svg')).backgroundColor")
        assert bg in ("rgba(0, 0, 0, 0)", "transparent"), bg
    page.close()


def test_plots_have_accessible_names(browser, app_url):
    page = open_app(browser, app_url + "/", DESKTOP)
    for tab in ("Predict", "Segments", "Data", "Model"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(800)
        for plot in page.locator(".js-plotly-plot:visible").all():
            assert (plot.get_attribute("aria-label") or "").strip(), f"a plot on {tab} has no name"
            assert plot.get_attribute("role") == "img"
    page.close()


def test_deep_link_fills_the_form_and_scores_it(browser, app_url, predictor):
    from space.render.pages import deep_link
    record = {**predictor.schema.example(), predictor.schema.categorical[0].name: predictor.schema.categorical[0].levels[-1]}
    page = open_app(browser, deep_link(app_url, record), PHONE)
    expect(page.get_by_test_id("segment-name")).to_have_text(predictor.predict_one(record)["segment_name"],
                                                             timeout=20_000)
    f = predictor.schema.numeric[1]
    assert float(page.locator(f"#{slug(f.name)} input").input_value()) == pytest.approx(record[f.name])
    page.close()


def test_gradio_app_web_component_at_phone_width(browser, predictor, artifacts_dir, tmp_path):
    """The <gradio-app> element, loaded from this server's /gradio.js into a page of another origin
    (allowed by CORS_ORIGINS, as a mobile wrapper's would be), sizes its own height."""
    import functools
    import http.server
    import threading

    from tests.server import free_port, running_app
    port = free_port()
    page_origin = f"http://127.0.0.1:{port}"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    wrapper = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=wrapper.serve_forever, daemon=True).start()
    try:
        with running_app({"CORS_ORIGINS": page_origin}, log_path=artifacts_dir / "app-embed.log") as url:
            (tmp_path / "index.html").write_text(
                "<!doctype html><html><head><meta name=viewport content='width=device-width,initial-scale=1'>"
                f"<script type=module src='{url}/gradio.js'></script></head><body style='margin:0'>"
                f"<gradio-app src='{url}/'></gradio-app><p id=after>after the app</p></body></html>")
            page = browser.new_page(**PHONE)
            page.goto(page_origin + "/index.html", wait_until="domcontentloaded")
            expect(page.locator("#predict-btn")).to_be_visible(timeout=90_000)
            record = predictor.schema.example()
            fill_and_predict(page, predictor, record)
            expect(page.get_by_test_id("segment-name")).to_have_text(predictor.predict_one(record)["segment_name"],
                                                                     timeout=30_000)
            height = page.locator("gradio-app").evaluate("e => e.getBoundingClientRect().height")
            assert height > 1500, f"the component did not grow with its content ({height:.0f} px)"
            after = page.locator("#after").evaluate("e => e.getBoundingClientRect().top + window.scrollY")
            assert after >= height - 5, "the page below the component is overlapped"
            widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1], widths
            page.screenshot(path=str(artifacts_dir / "web-component.png"))
            page.close()
    finally:
        wrapper.shutdown()


def test_tabs_render_their_plots(browser, app_url, artifacts_dir):
    page = open_app(browser, app_url + "/", DESKTOP)
    for tab, shot in (("Segments", "segments.png"), ("Data", "data.png"), ("Model", "model.png"),
                      ("Batch", "batch.png"), ("Monitor", "monitor.png"), ("API", "api.png")):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(800)
        if tab in ("Segments", "Data", "Model"):
            expect(page.locator(".js-plotly-plot:visible").first).to_be_visible(timeout=15_000)
        page.screenshot(path=str(artifacts_dir / shot), full_page=True)
    page.get_by_role("tab", name="API").click()
    expect(page.get_by_text(app_url + "/", exact=False).first).to_be_visible(timeout=15_000)  # its own address
    page.close()


def test_batch_upload_shows_a_preview_and_errors_on_the_page(browser, app_url, predictor, tmp_path, artifacts_dir):
    ex = predictor.schema.example()
    src = tmp_path / "customers.csv"
    with open(src, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=predictor.schema.names)
        w.writeheader()
        w.writerows([ex, {**ex, predictor.schema.categorical[0].name: "Martian"}])
    page = open_app(browser, app_url + "/", DESKTOP)
    page.get_by_role("tab", name="Batch").click()
    page.locator("input[type=file]").first.set_input_files(str(src))
    page.get_by_role("button", name="Score file").click()
    expect(page.get_by_text("rows scored", exact=False)).to_be_visible(timeout=20_000)
    expect(page.get_by_text("line 3", exact=False)).to_be_visible()
    preview = page.locator("#batch-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text(predictor.predict_one(ex)["segment_name"])
    page.screenshot(path=str(artifacts_dir / "batch-scored.png"), full_page=True)
    bad = tmp_path / "semicolon.csv"
    bad.write_text("age;gender\n1;Male\n")
    page.close()
    page = open_app(browser, app_url + "/", DESKTOP)
    page.get_by_role("tab", name="Batch").click()
    page.locator("input[type=file]").first.set_input_files(str(bad))
    page.get_by_role("button", name="Score file").click()
    summary = page.locator("#batch-summary")
    expect(summary).to_contain_text("The file was not scored", timeout=20_000)
    expect(summary).to_contain_text("missing required column")
    page.wait_for_timeout(1500)
    expect(summary).to_contain_text("The file was not scored")  # it stays: not a pop-up
    page.close()


def test_monitor_tab_reports_drift(browser, app_url, predictor, tmp_path):
    """Upload new customers whose first number is 1.5× larger: the page says re-train and why."""
    import numpy as np
    from tests.test_predictor import random_records
    frame = random_records(predictor.schema, 800, seed=21)
    f = predictor.schema.numeric[1]
    frame[f.name] = np.clip(frame[f.name] * 1.5, f.hard_min, f.hard_max)
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    page = open_app(browser, app_url + "/", DESKTOP)
    page.get_by_role("tab", name="Monitor").click()
    page.locator("input[type=file]:visible, .tabitem:visible input[type=file]").first.set_input_files(str(path))
    page.get_by_role("button", name="Compare with training").click()
    expect(page.get_by_text("Drift report:", exact=False)).to_be_visible(timeout=30_000)
    expect(page.locator("h1", has_text="Drift report")).to_contain_text("re-train")
    report = page.locator(".prose:visible", has_text="Drift report").first
    expect(report).to_contain_text(f.name)  # the reason names the feature that moved
    expect(page.locator(".tabitem:visible .js-plotly-plot")).to_have_count(2)
    page.close()


def test_segments_tab_of_an_order_log_shows_what_each_segment_is_worth(browser, shared_data, tmp_path):
    """The headline, the concentration chart, a value line on every card, and the cards sorted by
    share of revenue when the visitor asks."""
    from tests.server import running_app
    from training.fit import FitOptions, fit

    m = fit(FitOptions(transactions=shared_data / "online_retail_invoices.csv", out=tmp_path / "b", compare=False,
                       bootstrap=0)).manifest
    top = max(m.segments, key=lambda s: s.value.revenue_share)
    with running_app({"MODEL_DIR": str(tmp_path / "b")}, log_path=tmp_path / "app.log") as url:
        page = open_app(browser, url + "/", DESKTOP)
        page.get_by_role("tab", name="Segments").click()
        expect(page.get_by_text(m.value.headline)).to_be_visible(timeout=15_000)
        expect(page.locator(".js-plotly-plot:visible").first).to_be_visible(timeout=15_000)
        expect(page.locator(".segment-value")).to_have_count(m.k)
        page.get_by_label("share of revenue").check()
        expect(page.locator(".segment-card").first).to_contain_text(f"Segment {top.id} ·", timeout=15_000)
        expect(page.locator(".segment-card").first.locator(".rfm-mix")).to_contain_text("RFM mix:")
        page.locator(".claims summary").first.click()  # the claims behind the name, with their numbers
        expect(page.locator(".claims li").first).to_be_visible()
        found = page.evaluate(CONTRAST_JS)
        assert found["checked"] > 10 and not found["bad"], found["bad"][:5]
        page.close()
