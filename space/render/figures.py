"""The app's figures as plain Plotly JSON, built from the bundle's aggregates (pure; no gradio, no plotly).

Plotly's Python objects validate every property and point: building the start-up figures with them
cost ~1 s (and importing plotly ~0.3 s) before the first answer. These are the same documents, written
directly: the browser's plotly.js draws them; tests check each against plotly's own validation. The
"plotly_white" template sits beside this module (`plotly_white.json`, as plotly writes it; a test
holds it equal). The PCA map's background is serialised once; a request only splices the new
customer's point into that JSON.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from model.contract.manifest import Comparison, Segment, Selection, Summary
from model.contract.schema import Feature

PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B",
           "#9D755D", "#FF9DA6", "#79706E", "#1F77B4", "#BCBD22")
TEMPLATE_FILE = Path(__file__).with_name("plotly_white.json")
RD_BU = [[0.0, "rgb(103,0,31)"], [0.1, "rgb(178,24,43)"], [0.2, "rgb(214,96,77)"], [0.3, "rgb(244,165,130)"],
         [0.4, "rgb(253,219,199)"], [0.5, "rgb(247,247,247)"], [0.6, "rgb(209,229,240)"],
         [0.7, "rgb(146,197,222)"], [0.8, "rgb(67,147,195)"], [0.9, "rgb(33,102,172)"], [1.0, "rgb(5,48,97)"]]
DASHED = {"color": PALETTE[3], "dash": "dash"}
_MAP_CONFIG = (',"config":{"displayModeBar":false,"scrollZoom":false,"doubleClick":false,'
               '"showTips":false,"responsive":true}}')


@functools.cache
def template() -> dict[str, Any]:
    """plotly's "plotly_white" template, as plotly writes it into a figure."""
    return json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))


def layout(**extra: Any) -> dict[str, Any]:
    """The app's common layout (transparent: the page's theme shows through), updated by `extra`."""
    return {"margin": {"l": 40, "r": 10, "t": 40, "b": 40}, "font": {"size": 12},
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0}, "height": 380,
            "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)", "template": template(), **extra}


def figure(data: list[dict[str, Any]], lay: dict[str, Any]) -> str:
    return json.dumps({"data": data, "layout": lay}, separators=(",", ":"), ensure_ascii=False)


def _title(text: str) -> dict[str, Any]:
    return {"text": text, "x": 0.01}


def _hline(y: float, text: str, color: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A dashed horizontal line across the plot with its label at the right (plotly's add_hline)."""
    return ({"line": color, "type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": y, "y1": y, "yref": "y"},
            {"showarrow": False, "text": text, "x": 1, "xanchor": "right", "xref": "x domain", "y": y,
             "yanchor": "bottom", "yref": "y"})


def colour(seg_id: int) -> str:
    return PALETTE[seg_id % len(PALETTE)]


class MapFigure:
    """The training sample in PCA coordinates, coloured by segment; `with_point` adds one customer.

    Built for phones as much as desktops: no zoom or pan (a swipe over the map scrolls the page and
    the star cannot leave the view), a short legend entry per segment (its id and the head of its
    name; the full name is in the hover), transparent backgrounds (the page's theme shows through)."""

    def __init__(self, sample: pd.DataFrame, segments: Sequence[Segment]):
        traces = []
        for seg in segments:
            part = sample[sample["segment"] == seg.id]
            traces.append({"type": "scatter", "x": part["pc1"].astype(float).tolist(),
                           "y": part["pc2"].astype(float).tolist(), "mode": "markers", "name": legend_name(seg),
                           "marker": {"size": 5, "color": colour(seg.id), "opacity": 0.45},
                           "hovertemplate": f"{_esc(seg.name)}<extra></extra>"})
        # no title: the component's label names the plot (a title would be pushed under it)
        lay = layout(height=460, margin={"l": 40, "r": 10, "t": 10, "b": 40}, dragmode=False,
                     xaxis={"title": {"text": "map axis 1 (PC1)"}, "fixedrange": True},
                     yaxis={"title": {"text": "map axis 2 (PC2)"}, "fixedrange": True})
        self._data = json.dumps(traces, separators=(",", ":"))[1:-1]
        self._layout = json.dumps(lay, separators=(",", ":"))
        self._segments = {s.id: s.name for s in segments}

    def background(self) -> str:
        return '{"data":[' + self._data + '],"layout":' + self._layout + _MAP_CONFIG

    def with_point(self, x: float, y: float, seg_id: int) -> str:
        """Plotly JSON with the customer as a star on top of the background."""
        point = {"type": "scatter", "x": [x], "y": [y], "mode": "markers", "name": "This customer",
                 "marker": {"symbol": "star", "size": 20, "color": colour(seg_id),
                            "line": {"width": 2, "color": "#111"}},
                 "hovertemplate": f"This customer → {_esc(self._segments.get(seg_id, ''))}<extra></extra>"}
        return ('{"data":[' + self._data + "," + json.dumps(point, separators=(",", ":"))
                + '],"layout":' + self._layout + _MAP_CONFIG)


def legend_name(seg: Segment, limit: int = 26) -> str:
    """The segment's id and the head of its name, for a legend (escaped for Plotly)."""
    return _txt(_short_name(seg, limit))


def _short_name(seg: Segment, limit: int = 26) -> str:
    head = seg.name.split(" · ")[0]
    return f"{seg.id} · {head if len(head) <= limit else head[:limit - 1] + '…'}"


def _txt(text: object) -> str:
    """Data-derived text for Plotly, which draws names, tick labels and titles as HTML-like markup
    (<br>, <b>, <a href>…): every tag and entity shown as written."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc(text: str) -> str:
    """`_txt` for a hover template, whose %{…} would otherwise be filled in."""
    return _txt(text).replace("%", "%%").replace("{", "&#123;")


def selection_figure(selection: Selection) -> str:
    """Elbow (inertia) and the other criteria against k, the chosen k marked: a grid of two
    columns, laid out as plotly's make_subplots lays it out."""
    table = [r.as_dict() for r in selection.table]
    ks = [r["k"] for r in table]
    panels = [("inertia", "Inertia (elbow)"), ("silhouette", "Silhouette ↑"),
              ("calinski_harabasz", "Calinski–Harabasz ↑"), ("davies_bouldin", "Davies–Bouldin ↓")]
    panels += [(key, title) for key, title in (("gap", "Gap vs structure-free reference ↑"),
                                               ("stability", "Stability (ARI) ↑"))
               if any(r.get(key) is not None for r in table)]
    rows = (len(panels) + 1) // 2
    gap = 0.12 if rows < 3 else 0.09
    height = (1 - (rows - 1) * gap) / rows
    columns = ([0.0, 0.45], [0.55, 1.0])  # make_subplots' default spacing between two columns: 0.1
    data, shapes, notes, axes = [], [], [], {}
    for i, (key, name) in enumerate(panels):
        row, col, n = i // 2, i % 2, "" if i == 0 else str(i + 1)
        bottom = sum([height + gap] * (rows - 1 - row), 0.0)  # rows from the top, domains summed from the bottom
        top = min(bottom + height, 1.0)  # as plotly does: the same floats
        axes[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": columns[col], "dtick": 1}
        axes[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": [bottom, top]}
        data.append({"line": {"color": PALETTE[0]}, "mode": "lines+markers", "showlegend": False, "x": ks,
                     "y": [r.get(key) for r in table], "type": "scatter", "xaxis": f"x{n}", "yaxis": f"y{n}"})
        shapes.append({"line": DASHED, "type": "line", "x0": selection.k, "x1": selection.k, "xref": f"x{n}",
                       "y0": 0, "y1": 1, "yref": f"y{n} domain"})
        notes.append({"font": {"size": 16}, "showarrow": False, "text": name, "x": sum(columns[col]) / 2,
                      "xanchor": "center", "xref": "paper", "y": top, "yanchor": "bottom", "yref": "paper"})
    return figure(data, layout(**axes, annotations=notes, shapes=shapes, height=260 * rows,
                               title={"text": f"Choosing k: k = {selection.k} (dashed)", "x": 0.01}))


def kdistance_figure(comparison: Comparison | None) -> str | None:
    curve = comparison.k_distance if comparison else None
    if curve is None or not curve.distance:
        return None
    line, note = _hline(curve.eps, f"eps = {curve.eps:.3g}", DASHED)
    data = [{"line": {"color": PALETTE[0]}, "mode": "lines", "name": "k-distance", "x": curve.x,
             "y": curve.distance, "type": "scatter"}]
    return figure(data, layout(shapes=[line], annotations=[note], title=_title("DBSCAN: sorted k-distance curve"),
                               xaxis={"title": {"text": "share of points (sorted by distance)"}},
                               yaxis={"title": {"text": f"distance to neighbour {curve.neighbour}"}}))


def concentration_figure(segments: Sequence[Segment]) -> str | None:
    """Cumulative share of revenue against cumulative share of customers, segments taken from the
    most valuable per customer down (a Lorenz curve by segment); None without a money column."""
    ranked = sorted((s for s in segments if s.value is not None),
                    key=lambda s: (-s.value.revenue_per_customer, s.id))  # type: ignore[union-attr]
    if not ranked:
        return None
    xs, ys, text = [0.0], [0.0], [""]
    for s in ranked:
        xs.append(xs[-1] + s.value.customer_share)  # type: ignore[union-attr]
        ys.append(ys[-1] + s.value.revenue_share)  # type: ignore[union-attr]
        text.append(_esc(f"{_short_name(s)}: {xs[-1]:.1%} of customers hold {ys[-1]:.1%} of revenue"))
    data = [{"type": "scatter", "x": [0, 1], "y": [0, 1], "mode": "lines", "name": "every customer worth the same",
             "line": {"color": PALETTE[9], "dash": "dash"}, "hoverinfo": "skip"},
            {"type": "scatter", "x": xs, "y": ys, "mode": "lines+markers", "name": "segments, most valuable first",
             "line": {"color": PALETTE[0]}, "marker": {"size": 9, "color": [PALETTE[9]] + [colour(s.id) for s in ranked]},
             "text": text, "hovertemplate": "%{text}<extra></extra>"}]
    return figure(data, layout(
        xaxis={"title": {"text": "share of customers (cumulative)"}, "tickformat": ".0%", "range": [0, 1],
               "fixedrange": True},
        yaxis={"title": {"text": "share of revenue (cumulative)"}, "tickformat": ".0%", "range": [0, 1.02],
               "fixedrange": True}, dragmode=False))


def segment_feature_figure(summary: Summary, feature: Feature, segments: Sequence[Segment]) -> str:
    """Box plots by segment for a number; shares by segment for a category."""
    data = []
    numeric = summary.features[feature.name].kind == "numeric"
    for seg in segments:
        stats = summary.by_segment[str(seg.id)]
        if numeric:
            b = stats.numeric[feature.name]
            if not b.n:
                continue
            data.append({"lowerfence": [b.whisker_low], "marker": {"color": colour(seg.id)}, "mean": [b.mean],
                         "median": [b.median], "name": _txt(seg.name), "q1": [b.q1], "q3": [b.q3],
                         "upperfence": [b.whisker_high], "x": [_txt(seg.name)], "type": "box"})
        else:
            counts = stats.categorical[feature.name]
            total = sum(counts.values()) or 1
            data.append({"marker": {"color": colour(seg.id)}, "name": _txt(seg.name), "x": [_txt(c) for c in counts],
                         "y": [v / total for v in counts.values()], "type": "bar"})
    lay = layout(height=460, title=_title(f"{_txt(feature.label)} by segment"), showlegend=True,
                 yaxis={"title": {"text": _txt(feature.label) if numeric else "share of the segment"}})
    if numeric:
        lay["xaxis"] = {"showticklabels": False}
    else:
        lay["barmode"] = "group"
        lay["yaxis"]["tickformat"] = ".0%"
    return figure(data, lay)


def distribution_figure(summary: Summary, feature: Feature) -> str:
    info = summary.features[feature.name]
    if info.kind == "numeric" and info.histogram is not None and info.box is not None:
        edges, counts = info.histogram.edges, info.histogram.counts
        data = [{"marker": {"color": PALETTE[0]}, "name": _txt(feature.label),
                 "width": [b - a for a, b in zip(edges[:-1], edges[1:])],
                 "x": [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])], "y": counts, "type": "bar"}]
        title = f"{_txt(feature.label)}: median {info.box.median:g}, {info.box.outliers} outliers (1.5×IQR)"
    else:
        counts = info.counts or {}
        data = [{"marker": {"color": PALETTE[0]}, "x": [_txt(c) for c in counts], "y": list(counts.values()),
                 "type": "bar"}]
        title = f"{_txt(feature.label)}: customers per level"
    return figure(data, layout(title=_title(title), xaxis={"title": {"text": _txt(feature.label)}},
                               yaxis={"title": {"text": "customers"}}))


def correlation_figure(summary: Summary, labels: dict[str, str]) -> str | None:
    corr = summary.correlation
    if corr is None:
        return None
    cols = [_txt(labels.get(c, c)) for c in corr.columns]
    # the values as text points, each black or white, whichever contrasts more with its cell (Plotly's
    # own pick, dark grey on mid-blue, is 3.2:1; the better of black and white is always above 4.5:1)
    cells = [(x, y, v) for y, row in zip(cols, corr.matrix) for x, v in zip(cols, row) if v is not None]
    data = [{"colorscale": RD_BU, "hovertemplate": "%{x} · %{y}: %{z:.2f}<extra></extra>", "x": cols, "y": cols,
             "z": corr.matrix, "zmax": 1, "zmin": -1, "type": "heatmap"},
            {"mode": "text", "hoverinfo": "skip", "showlegend": False, "x": [c[0] for c in cells],
             "y": [c[1] for c in cells], "text": [f"{c[2]:.2f}" for c in cells],
             "textfont": {"color": [_ink(_sample(RD_BU, (c[2] + 1) / 2)) for c in cells]}, "type": "scatter"}]
    return figure(data, layout(height=420, title=_title("Correlation between numeric features")))


def _sample(scale: Sequence[Sequence[Any]], t: float) -> tuple[float, float, float]:
    """The colour at `t` (0–1) of a colorscale of `[stop, "rgb(r,g,b)"]` pairs, as plotly.js blends it."""
    stops = [(float(s), tuple(float(x) for x in c[c.index("(") + 1:c.index(")")].split(","))) for s, c in scale]
    t = min(max(float(t), 0.0), 1.0)
    for (s0, c0), (s1, c1) in zip(stops, stops[1:]):
        if t <= s1:
            w = 0.0 if s1 == s0 else (t - s0) / (s1 - s0)
            return tuple(a + (b - a) * w for a, b in zip(c0, c1))  # type: ignore[return-value]
    return stops[-1][1]  # type: ignore[return-value]


def _ink(rgb: Sequence[float]) -> str:
    """Black or white, whichever contrasts more (WCAG) with the colour `rgb` (0–255 each)."""
    def lin(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def drift_figures(report: dict, segments: Sequence[Segment]) -> tuple[str, str]:
    """PSI per feature against the thresholds, and segment shares at training and now."""
    feats = report["features"]
    colours = [PALETTE[3] if f["psi"] > 0.25 else PALETTE[1] if f["psi"] >= 0.1 else PALETTE[2] for f in feats]
    lines = [_hline(y, text, {"color": PALETTE[9], "dash": "dash"}) for y, text in ((0.1, "drifting"), (0.25, "re-train"))]
    psi = figure([{"marker": {"color": colours}, "x": [_txt(f["feature"]) for f in feats], "y": [f["psi"] for f in feats],
                   "type": "bar"}],
                 layout(shapes=[s for s, _ in lines], annotations=[a for _, a in lines],
                        title=_title("Population stability index per feature"),
                        yaxis={"title": {"text": "PSI"}}, xaxis={"title": {"text": "feature"}}))
    names = [legend_name(s) for s in segments]
    seg = report["segments"]
    shares = figure([{"marker": {"color": PALETTE[9]}, "name": "training", "x": names, "y": seg["then"], "type": "bar"},
                     {"marker": {"color": PALETTE[0]}, "name": "now", "x": names, "y": seg["now"], "type": "bar"}],
                    layout(barmode="group", yaxis={"tickformat": ".0%", "title": {"text": "share of customers"}},
                           title=_title("Segment shares: training vs now")))
    return psi, shares
