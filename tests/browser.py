"""Shared pieces for the Chromium tests: launch arguments, the phone viewport, a form filler and a
WCAG contrast checker that runs in the page."""
from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def slug(name: str) -> str:
    from model.contract.schema import param_name
    return "field-" + param_name(name).replace("_", "-")


def fill(frame: Any, predictor: Any, record: dict) -> None:
    """Type a customer into the generated form (without pressing the button)."""
    for f in predictor.schema.features:
        box = frame.locator(f"#{slug(f.name)} input").first
        box.fill(str(record[f.name]))
        if f.kind == "categorical":
            box.press("Enter")


def fill_and_predict(frame: Any, predictor: Any, record: dict) -> None:
    fill(frame, predictor, record)
    frame.locator("#predict-btn").click()


# Colours in the page: parse a CSS colour, WCAG relative luminance, one colour composited over another.
_COLOURS = """  const parse = (c) => { const m = c && c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(parseFloat); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = (c) => 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
  const over = (top, under) => ({r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
                                 b: top.b * top.a + under.b * (1 - top.a), a: 1});
"""

# Every visible text (HTML and SVG) against the colour actually behind it (semi-transparent
# backgrounds composited up to the page's); WCAG AA: 4.5:1, 3:1 for large text (24 px, or 18.7 px bold).
CONTRAST_JS = """() => {
""" + _COLOURS + """  const page = parse(getComputedStyle(document.body).backgroundColor);
  const root = parse(getComputedStyle(document.documentElement).backgroundColor);
  const base = (page && page.a > 0) ? over(page, root && root.a > 0 ? root : {r: 255, g: 255, b: 255, a: 1})
                                    : (root && root.a > 0 ? root : {r: 255, g: 255, b: 255, a: 1});
  const background = (el) => { const layers = [];
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; } }
    let bg = base; for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg); return bg; };
  const visible = (el) => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && parseFloat(s.opacity) > 0.1 && r.width > 0 && r.height > 0
           && !el.closest('.visually-hidden, [aria-hidden=true]'); };
  const bad = []; let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el) || ['SCRIPT', 'STYLE', 'OPTION'].includes(el.tagName)) continue;
    const s = getComputedStyle(el);
    const svg = el instanceof SVGElement;
    // in a plot, the axes, legend and titles sit on the page; other text sits on drawn shapes
    if (svg && !el.closest('.xtick, .ytick, .legendtext, .gtitle, .g-xtitle, .g-ytitle, .annotation')) continue;
    let fg = parse(svg ? s.fill : s.color); if (!fg) continue;
    const bg = background(el); fg = over(fg, bg);
    const [a, b] = [lum(fg) + 0.05, lum(bg) + 0.05]; const ratio = Math.max(a, b) / Math.min(a, b);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5; checked++;
    if (ratio < need) bad.push({text: el.textContent.trim().slice(0, 60), ratio: Math.round(ratio * 100) / 100,
                                need, fg: s.color, tag: el.tagName, cls: String(el.className).slice(0, 60)});
  }
  return {checked, bad};
}"""


def open_app(browser: Any, url: str, device: dict) -> Any:
    """A new page on `url`, once the app has rendered (a load under CPU contention may take a
    while; waiting for the network to go idle is fragile with Gradio's open streams)."""
    from playwright.sync_api import expect
    page = browser.new_page(**device)
    page.goto(url, wait_until="domcontentloaded", timeout=90_000)
    expect(page.locator("#predict-btn")).to_be_visible(timeout=90_000)
    page.wait_for_timeout(300)
    return page


# Text drawn inside plots (heatmap cell values, bar labels) against what is drawn behind it: the
# pixel of a heatmap's image under the text's centre, else the fill of a shape under it, else the
# page. Axis ticks, titles, legends and annotations sit on the page: CONTRAST_JS checks those.
PLOT_TEXT_CONTRAST_JS = """async () => {
""" + _COLOURS + """  const pageBg = () => { const b = parse(getComputedStyle(document.body).backgroundColor);
    return b && b.a > 0 ? b : {r: 255, g: 255, b: 255, a: 1}; };
  const behind = (el) => { let bg = pageBg(); const layers = [];
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; } }
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg); return bg; };
  const inside = (r, x, y) => x >= r.left && x <= r.right && y >= r.top && y <= r.bottom;
  const pixel = async (img, x, y) => { const r = img.getBoundingClientRect();
    const src = img.getAttribute('href') || img.getAttribute('xlink:href'); const im = new Image();
    await new Promise((ok, no) => { im.onload = ok; im.onerror = no; im.src = src; });
    const c = document.createElement('canvas'); c.width = Math.max(1, Math.round(r.width)); c.height = Math.max(1, Math.round(r.height));
    const ctx = c.getContext('2d'); ctx.imageSmoothingEnabled = false; ctx.drawImage(im, 0, 0, c.width, c.height);
    const d = ctx.getImageData(Math.min(c.width - 1, Math.floor(x - r.left)), Math.min(c.height - 1, Math.floor(y - r.top)), 1, 1).data;
    return {r: d[0], g: d[1], b: d[2], a: d[3] / 255}; };
  const onPage = '.xtick, .ytick, .legend, .gtitle, .g-xtitle, .g-ytitle, .annotation, .cbaxis, .colorbar, .infolayer';
  const bad = []; let checked = 0;
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const pr = plot.getBoundingClientRect(); if (pr.width === 0 || pr.height === 0) continue;
    for (const t of plot.querySelectorAll('text')) {
      if (!t.textContent.trim() || t.closest(onPage)) continue;
      const r = t.getBoundingClientRect(); if (r.width === 0) continue;
      const x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2; const s = getComputedStyle(t);
      let bg = behind(plot);
      for (const img of plot.querySelectorAll('image')) if (inside(img.getBoundingClientRect(), x, y)) bg = over(await pixel(img, x, y), bg);
      for (const p of plot.querySelectorAll('.trace path.point, .bars path')) {
        const f = parse(getComputedStyle(p).fill); if (f && inside(p.getBoundingClientRect(), x, y))
          bg = over({...f, a: f.a * parseFloat(getComputedStyle(p).fillOpacity || '1')}, bg); }
      const fg = over(parse(s.fill) || {r: 0, g: 0, b: 0, a: 1}, bg);
      const [a, b] = [lum(fg) + 0.05, lum(bg) + 0.05]; const ratio = Math.max(a, b) / Math.min(a, b); checked++;
      if (ratio < 4.5) bad.push({text: t.textContent.trim().slice(0, 30), ratio: Math.round(ratio * 100) / 100,
                                 fill: s.fill, bg: `rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)})`});
    }
  }
  return {checked, bad};
}"""
