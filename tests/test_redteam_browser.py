"""The second attack on the public Space and a first-time visitor (issue 19), in headless Chromium:
deep links that carry Markdown or text for a number, the map's label over its points, a deep
link on a phone, and text drawn inside plots in both themes."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser import DESKTOP, PHONE, PLOT_TEXT_CONTRAST_JS, open_app, slug

pytestmark = pytest.mark.browser


def on_tab(browser, url: str, device: dict, tab: str):
    """A fresh page showing `tab` (after a few clicks Gradio's tab bar may rename its buttons)."""
    page = open_app(browser, url, device)
    page.get_by_role("tab", name=tab).click()
    page.wait_for_timeout(1000)
    return page


def test_a_refused_value_in_a_deep_link_is_shown_as_text(browser, app_url, predictor):
    """The refused value was echoed into the field's info line as Markdown: a working link under
    the field, on the Space's own page."""
    cat = predictor.schema.categorical[-1]
    value = "**Session expired** [sign in](https://evil.example/login) <b>x</b>"
    page = open_app(browser, f"{app_url}/?{quote(slug(cat.name)[6:].replace('-', '_'))}={quote(value)}", DESKTOP)
    field = page.locator(f"#{slug(cat.name)}")
    expect(field).to_contain_text("Session expired", timeout=20_000)
    expect(field).to_contain_text("sign in")
    expect(field).to_contain_text("https://evil.example/login")  # shown as text
    assert page.locator("a[href*='evil.example']").count() == 0
    assert field.locator("strong, b, em").count() == 0
    page.close()


def test_text_in_a_number_field_of_a_deep_link_is_that_field_s_message(browser, app_url, predictor, app_log):
    """`/?age=abc` broke the whole form (a TypeError in Gradio's Number) and logged a traceback per visit."""
    log = app_log
    before = log.read_text(errors="replace").count("Traceback")
    f = predictor.schema.numeric[0]
    page = open_app(browser, f"{app_url}/?{slug(f.name)[6:].replace('-', '_')}=abc", DESKTOP)
    expect(page.locator(f"#{slug(f.name)}")).to_contain_text(f"{f.name} must be {f.constraint}; got 'abc'",
                                                            timeout=20_000)
    expect(page.get_by_test_id("field-errors")).to_contain_text("got 'abc'")
    assert page.locator(f"#{slug(f.name)} input").input_value() == ""  # a number box holds numbers only
    page.wait_for_timeout(500)
    assert log.read_text(errors="replace").count("Traceback") == before
    page.close()


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_plot_labels_leave_the_plot_area_clear(device, browser, app_url):
    """The map's label covered the top 44 px of its plot on a desktop, ~85 of 324 px on a phone."""
    for tab in ("Predict", "Segments", "Data", "Model"):
        page = on_tab(browser, app_url + "/", device, tab)
        for block in page.locator(".block:has(.js-plotly-plot):visible").all():
            overlap = block.evaluate("""b => {
              const label = b.querySelector("[data-testid='block-label']");
              const area = b.querySelector('.bglayer .bg, .nsewdrag, .draglayer .xy');
              if (!label || !area || !label.getBoundingClientRect().height) return 0;
              const l = label.getBoundingClientRect(), a = area.getBoundingClientRect();
              const across = Math.min(l.right, a.right) - Math.max(l.left, a.left);
              return across > 0 ? Math.max(0, l.bottom - a.top) : 0; }""")
            assert overlap <= 1, (tab, block.get_attribute("id"), overlap)
        page.close()


def test_a_deep_link_on_a_phone_shows_the_result(browser, app_url, predictor):
    """The result was ~1,250 px below the screen after a deep link on a phone."""
    from space.render.pages import deep_link
    record = predictor.schema.example()
    page = open_app(browser, deep_link(app_url, record), PHONE)
    expect(page.get_by_test_id("segment-name")).to_have_text(predictor.predict_one(record)["segment_name"],
                                                             timeout=20_000)
    page.wait_for_timeout(1200)  # the smooth scroll
    top = page.get_by_test_id("segment-name").evaluate("e => e.getBoundingClientRect().top")
    assert 0 <= top < PHONE["viewport"]["height"] - 40, top
    page.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_inside_plots_meets_wcag_aa(theme, browser, app_url, artifacts_dir):
    """The dark theme forced every value of the correlation heatmap to a light grey: those on pale
    cells vanished."""
    failures = {}
    for tab in ("Data", "Segments", "Model"):
        page = on_tab(browser, f"{app_url}/?__theme={theme}", DESKTOP, tab)
        if tab == "Data":
            expect(page.locator(".js-plotly-plot .textpoint text").first).to_be_visible(timeout=20_000)
        found = page.evaluate(PLOT_TEXT_CONTRAST_JS)
        if tab == "Data":
            assert found["checked"] >= 4, found  # the heatmap's values
            page.screenshot(path=str(artifacts_dir / f"plot-text-{theme}.png"), full_page=True)
        if found["bad"]:
            failures[tab] = found["bad"][:5]
        page.close()
    assert failures == {}
