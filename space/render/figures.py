"""Plotly figures for the app, built from the bundle's aggregates (pure; no gradio).

The PCA map's background is serialised once; a request only splices the new customer's point into
that JSON, so drawing the map costs microseconds instead of rebuilding thousands of points.
"""
from __future__ import annotations

import json
from typing import Sequence

import pandas as pd
import plotly.graph_objects as go
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
    return f"{seg.id} · {head if len(head) <= limit else head[:limit - 1] + '…'}"


def _esc(text: str) -> str:
    """Plotly renders hover text as HTML; segment names come from user data."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("%", "%%").replace("{", "&#123;"))


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


def concentration_figure(segments: Sequence[Segment]) -> go.Figure | None:
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
        text.append(_esc(f"{legend_name(s)}: {xs[-1]:.1%} of customers hold {ys[-1]:.1%} of revenue"))
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="every customer worth the same",
                                line=dict(color=PALETTE[9], dash="dash"), hoverinfo="skip"),
                     go.Scatter(x=xs, y=ys, mode="lines+markers", name="segments, most valuable first",
                                line=dict(color=PALETTE[0]), marker=dict(size=9, color=[PALETTE[9]] +
                                                                         [colour(s.id) for s in ranked]),
                                text=text, hovertemplate="%{text}<extra></extra>")])
    fig.update_layout(**_LAYOUT, xaxis=dict(title="share of customers (cumulative)", tickformat=".0%",
                                            range=[0, 1], fixedrange=True),
                      yaxis=dict(title="share of revenue (cumulative)", tickformat=".0%", range=[0, 1.02],
                                 fixedrange=True), dragmode=False)
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
            fig.add_trace(go.Box(name=seg.name, q1=[b.q1], median=[b.median], q3=[b.q3],
                                 lowerfence=[b.whisker_low], upperfence=[b.whisker_high],
                                 mean=[b.mean], marker_color=colour(seg.id), x=[seg.name]))
        else:
            counts = stats.categorical[feature.name]
            total = sum(counts.values()) or 1
            fig.add_trace(go.Bar(name=seg.name, x=list(counts), y=[v / total for v in counts.values()],
                                 marker_color=colour(seg.id)))
    fig.update_layout(**{**_LAYOUT, "height": 460}, title=dict(text=f"{feature.label} by segment", x=0.01),
                      showlegend=True, yaxis_title=feature.label if numeric else "share of the segment")
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
        fig = go.Figure(go.Bar(x=mids, y=counts, width=widths, marker_color=PALETTE[0], name=feature.label))
        fig.update_layout(**_LAYOUT, title=dict(
            text=f"{feature.label}: median {info.box.median:g}, {info.box.outliers} outliers (1.5×IQR)", x=0.01),
            xaxis_title=feature.label, yaxis_title="customers")
    else:
        counts = info.counts or {}
        fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), marker_color=PALETTE[0]))
        fig.update_layout(**_LAYOUT, title=dict(text=f"{feature.label}: customers per level", x=0.01),
                          xaxis_title=feature.label, yaxis_title="customers")
    return fig


def correlation_figure(summary: Summary, labels: dict[str, str]) -> go.Figure | None:
    corr = summary.correlation
    if corr is None:
        return None
    cols = [labels.get(c, c) for c in corr.columns]
    fig = go.Figure(go.Heatmap(z=corr.matrix, x=cols, y=cols, zmin=-1, zmax=1, colorscale="RdBu",
                               text=[[("" if v is None else f"{v:.2f}") for v in row] for row in corr.matrix],
                               texttemplate="%{text}"))
    fig.update_layout(**{**_LAYOUT, "height": 420}, title=dict(text="Correlation between numeric features", x=0.01))
    return fig


def drift_figures(report: dict, segments: Sequence[Segment]) -> tuple[go.Figure, go.Figure]:
    """PSI per feature against the thresholds, and segment shares at training and now."""
    feats = report["features"]
    psi = go.Figure(go.Bar(x=[f["feature"] for f in feats], y=[f["psi"] for f in feats],
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
