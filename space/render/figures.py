"""Plotly figures for the app, built from the bundle's aggregates (pure; no gradio).

The PCA map's background is serialised once; a request only splices the new customer's point into
that JSON, so drawing the map costs microseconds instead of rebuilding thousands of points.
"""
from __future__ import annotations

import json
from typing import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from model.contract.manifest import Comparison, Segment, Selection, Summary
from model.contract.schema import Feature

PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B",
           "#9D755D", "#FF9DA6", "#79706E", "#1F77B4", "#BCBD22")
_LAYOUT = dict(template="plotly_white", margin=dict(l=40, r=10, t=40, b=40), height=380,
               font=dict(size=12), legend=dict(orientation="h", yanchor="top", y=-0.15, x=0),
               paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")


def colour(seg_id: int) -> str:
    return PALETTE[seg_id % len(PALETTE)]


class MapFigure:
    """The training sample in PCA coordinates, coloured by segment; `with_point` adds one customer.

    Built for phones as much as desktops: no zoom or pan (a swipe over the map scrolls the page and
    the star cannot leave the view), a short legend entry per segment (its id and the head of its
    name; the full name is in the hover), transparent backgrounds (the page's theme shows through)."""

    def __init__(self, sample: pd.DataFrame, segments: Sequence[Segment]):
        # The traces as plain Plotly JSON: plotly's objects validate every point (0.4 s of start-up
        # for a few thousand points); the layout, small, goes through plotly for its template.
        traces = []
        for seg in segments:
            part = sample[sample["segment"] == seg.id]
            traces.append({"type": "scatter", "x": part["pc1"].astype(float).tolist(),
                           "y": part["pc2"].astype(float).tolist(), "mode": "markers", "name": legend_name(seg),
                           "marker": {"size": 5, "color": colour(seg.id), "opacity": 0.45},
                           "hovertemplate": f"{_esc(seg.name)}<extra></extra>"})
        fig = go.Figure()
        # no title: the component's label names the plot (a title would be pushed under it)
        fig.update_layout(**{**_LAYOUT, "height": 460, "margin": dict(l=40, r=10, t=10, b=40)},
                          xaxis=dict(title="map axis 1 (PC1)", fixedrange=True),
                          yaxis=dict(title="map axis 2 (PC2)", fixedrange=True), dragmode=False)
        self._data = json.dumps(traces, separators=(",", ":"))[1:-1]
        self._layout = json.dumps(json.loads(fig.to_json())["layout"], separators=(",", ":"))
        self._segments = {s.id: s.name for s in segments}

    _CONFIG = (',"config":{"displayModeBar":false,"scrollZoom":false,"doubleClick":false,'
               '"showTips":false,"responsive":true}}')

    def background(self) -> str:
        return '{"data":[' + self._data + '],"layout":' + self._layout + self._CONFIG

    def with_point(self, x: float, y: float, seg_id: int) -> str:
        """Plotly JSON with the customer as a star on top of the background."""
        point = {"type": "scatter", "x": [x], "y": [y], "mode": "markers", "name": "This customer",
                 "marker": {"symbol": "star", "size": 20, "color": colour(seg_id),
                            "line": {"width": 2, "color": "#111"}},
                 "hovertemplate": f"This customer → {_esc(self._segments.get(seg_id, ''))}<extra></extra>"}
        return ('{"data":[' + self._data + "," + json.dumps(point, separators=(",", ":"))
                + '],"layout":' + self._layout + self._CONFIG)


def legend_name(seg: Segment, limit: int = 26) -> str:
    head = seg.name.split(" · ")[0]
    return _txt(f"{seg.id} · {head if len(head) <= limit else head[:limit - 1] + '…'}")


def _txt(text: object) -> str:
    """Data-derived text for Plotly, which draws names, tick labels and titles as HTML-like markup
    (<br>, <b>, <a href>…): every tag and entity shown as written."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc(text: str) -> str:
    """`_txt` for a hover template, whose %{…} would otherwise be filled in."""
    return _txt(text).replace("%", "%%").replace("{", "&#123;")


def selection_figure(selection: Selection) -> go.Figure:
    """Elbow (inertia) and the other criteria against k, the chosen k marked."""
    table = [r.as_dict() for r in selection.table]
    ks = [r["k"] for r in table]
    panels = [("inertia", "Inertia (elbow)"), ("silhouette", "Silhouette ↑"),
              ("calinski_harabasz", "Calinski–Harabasz ↑"), ("davies_bouldin", "Davies–Bouldin ↓")]
    extra = [(key, title) for key, title in (("gap", "Gap vs structure-free reference ↑"),
                                             ("stability", "Stability (ARI) ↑"))
             if any(r.get(key) is not None for r in table)]
    panels += extra
    rows = (len(panels) + 1) // 2
    fig = make_subplots(rows=rows, cols=2, subplot_titles=[t for _, t in panels],
                        vertical_spacing=0.12 if rows < 3 else 0.09)
    for i, (key, _) in enumerate(panels):
        r, c = i // 2 + 1, i % 2 + 1
        fig.add_trace(go.Scatter(x=ks, y=[row.get(key) for row in table], mode="lines+markers",
                                 showlegend=False, line=dict(color=PALETTE[0])), row=r, col=c)
        fig.add_vline(x=selection.k, line_dash="dash", line_color=PALETTE[3], row=r, col=c)
    fig.update_layout(**{**_LAYOUT, "height": 260 * rows},
                      title=dict(text=f"Choosing k: k = {selection.k} (dashed)", x=0.01))
    fig.update_xaxes(dtick=1)
    return fig


def kdistance_figure(comparison: Comparison | None) -> go.Figure | None:
    curve = comparison.k_distance if comparison else None
    if curve is None or not curve.distance:
        return None
    fig = go.Figure(go.Scatter(x=curve.x, y=curve.distance, mode="lines", name="k-distance",
                               line=dict(color=PALETTE[0])))
    fig.add_hline(y=curve.eps, line_dash="dash", line_color=PALETTE[3], annotation_text=f"eps = {curve.eps:.3g}")
    fig.update_layout(**_LAYOUT, title=dict(text="DBSCAN: sorted k-distance curve", x=0.01),
                      xaxis_title="share of points (sorted by distance)",
                      yaxis_title=f"distance to neighbour {curve.neighbour}")
    return fig


def segment_feature_figure(summary: Summary, feature: Feature, segments: Sequence[Segment]) -> go.Figure:
    """Box plots by segment for a number; shares by segment for a category."""
    fig = go.Figure()
    numeric = summary.features[feature.name].kind == "numeric"
    for seg in segments:
        stats = summary.by_segment[str(seg.id)]
        if numeric:
            b = stats.numeric[feature.name]
            if not b.n:
                continue
            fig.add_trace(go.Box(name=_txt(seg.name), q1=[b.q1], median=[b.median], q3=[b.q3],
                                 lowerfence=[b.whisker_low], upperfence=[b.whisker_high],
                                 mean=[b.mean], marker_color=colour(seg.id), x=[_txt(seg.name)]))
        else:
            counts = stats.categorical[feature.name]
            total = sum(counts.values()) or 1
            fig.add_trace(go.Bar(name=_txt(seg.name), x=[_txt(c) for c in counts], y=[v / total for v in counts.values()],
                                 marker_color=colour(seg.id)))
    fig.update_layout(**{**_LAYOUT, "height": 460}, title=dict(text=f"{_txt(feature.label)} by segment", x=0.01),
                      showlegend=True, yaxis_title=_txt(feature.label) if numeric else "share of the segment")
    if not numeric:
        fig.update_layout(barmode="group", yaxis_tickformat=".0%")
    else:
        fig.update_xaxes(showticklabels=False)
    return fig


def distribution_figure(summary: Summary, feature: Feature) -> go.Figure:
    info = summary.features[feature.name]
    if info.kind == "numeric" and info.histogram is not None and info.box is not None:
        edges, counts = info.histogram.edges, info.histogram.counts
        mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
        widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
        fig = go.Figure(go.Bar(x=mids, y=counts, width=widths, marker_color=PALETTE[0], name=_txt(feature.label)))
        fig.update_layout(**_LAYOUT, title=dict(
            text=f"{_txt(feature.label)}: median {info.box.median:g}, {info.box.outliers} outliers (1.5×IQR)", x=0.01),
            xaxis_title=_txt(feature.label), yaxis_title="customers")
    else:
        counts = info.counts or {}
        fig = go.Figure(go.Bar(x=[_txt(c) for c in counts], y=list(counts.values()), marker_color=PALETTE[0]))
        fig.update_layout(**_LAYOUT, title=dict(text=f"{_txt(feature.label)}: customers per level", x=0.01),
                          xaxis_title=_txt(feature.label), yaxis_title="customers")
    return fig


def correlation_figure(summary: Summary, labels: dict[str, str]) -> go.Figure | None:
    corr = summary.correlation
    if corr is None:
        return None
    cols = [_txt(labels.get(c, c)) for c in corr.columns]
    fig = go.Figure(go.Heatmap(z=corr.matrix, x=cols, y=cols, zmin=-1, zmax=1, colorscale="RdBu",
                               hovertemplate="%{x} · %{y}: %{z:.2f}<extra></extra>"))
    # the values as text points, each black or white, whichever contrasts more with its cell (Plotly's
    # own pick, dark grey on mid-blue, is 3.2:1; the better of black and white is always above 4.5:1)
    cells = [(x, y, v) for y, row in zip(cols, corr.matrix) for x, v in zip(cols, row) if v is not None]
    fig.add_trace(go.Scatter(x=[c[0] for c in cells], y=[c[1] for c in cells], mode="text", hoverinfo="skip",
                             text=[f"{c[2]:.2f}" for c in cells], showlegend=False,
                             textfont=dict(color=[_ink(sample_colorscale("RdBu", (c[2] + 1) / 2)[0]) for c in cells])))
    fig.update_layout(**{**_LAYOUT, "height": 420}, title=dict(text="Correlation between numeric features", x=0.01))
    return fig


def _ink(rgb: str) -> str:
    """Black or white, whichever contrasts more (WCAG) with the colour `rgb(r, g, b)`."""
    def lin(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (float(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(","))
    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def drift_figures(report: dict, segments: Sequence[Segment]) -> tuple[go.Figure, go.Figure]:
    """PSI per feature against the thresholds, and segment shares at training and now."""
    feats = report["features"]
    psi = go.Figure(go.Bar(x=[_txt(f["feature"]) for f in feats], y=[f["psi"] for f in feats],
                           marker_color=[PALETTE[3] if f["psi"] > 0.25 else PALETTE[1] if f["psi"] >= 0.1
                                         else PALETTE[2] for f in feats]))
    for y, text in ((0.1, "drifting"), (0.25, "re-train")):
        psi.add_hline(y=y, line_dash="dash", line_color=PALETTE[9], annotation_text=text)
    psi.update_layout(**_LAYOUT, title=dict(text="Population stability index per feature", x=0.01),
                      yaxis_title="PSI", xaxis_title="feature")
    names = [legend_name(s) for s in segments]
    seg = report["segments"]
    shares = go.Figure([go.Bar(name="training", x=names, y=seg["then"], marker_color=PALETTE[9]),
                        go.Bar(name="now", x=names, y=seg["now"], marker_color=PALETTE[0])])
    shares.update_layout(**_LAYOUT, barmode="group", yaxis_tickformat=".0%", yaxis_title="share of customers",
                         title=dict(text="Segment shares: training vs now", x=0.01))
    return psi, shares
