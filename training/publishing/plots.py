"""PNG figures for the model card: the k-selection evidence and the DBSCAN k-distance curve.

Byte-deterministic: figures are built on ``matplotlib.figure.Figure`` with the Agg canvas (no
pyplot, no global backend switch), under matplotlib's default style whatever the user's
matplotlibrc says, at a fixed size and dpi, and saved without the "Software" metadata entry.
The same input therefore gives the same bytes (for a given matplotlib version and font).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from model.contract.manifest import Comparison, Selection

log = logging.getLogger(__name__)

DPI = 100
PLOT_DIR = "plots"
DATA, REFERENCE, CHOSEN = "#1f77b4", "#7f7f7f", "#d62728"
RC = {"font.size": 9, "axes.titlesize": 10, "axes.grid": True, "grid.alpha": 0.3}


def _mark_k(ax: Axes, k: int) -> None:
    ax.axvline(k, color=CHOSEN, linestyle=":", linewidth=1.2)


def _save(fig: Figure, out_dir: Path, name: str) -> str:
    rel = f"{PLOT_DIR}/{name}"
    path = Path(out_dir) / PLOT_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    log.debug("wrote %s", path)
    return rel


def _column(table: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in table]


def _elbow(table: Sequence[dict[str, Any]], k: int) -> Figure:
    ks = [int(r["k"]) for r in table]
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    ax.plot(ks, _column(table, "inertia"), "o-", color=DATA, label="your data")
    if all("ref_inertia" in r for r in table):
        ax.plot(ks, _column(table, "ref_inertia"), "s--", color=REFERENCE,
                label="same data, columns shuffled (no structure)")
    _mark_k(ax, k)
    ax.set_xticks(ks)
    ax.set_xlabel("number of segments (k)")
    ax.set_ylabel("inertia (sum of squared distances to centre)")
    ax.set_title(f"Spread inside segments - chosen k = {k}")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def _criteria(table: Sequence[dict[str, Any]], k: int) -> Figure:
    ks = [int(r["k"]) for r in table]
    fig = Figure(figsize=(9.6, 5.6))
    axes = fig.subplots(2, 3).ravel()
    panels = [
        ("silhouette", "ref_silhouette", "Silhouette (higher = better separated)"),
        ("silhouette_excess", None, "Silhouette gain over shuffled data"),
        ("gap", None, "Gap statistic (levels off at k)"),
        ("stability", None, "Split-half stability (ARI)"),
        ("calinski_harabasz", None, "Calinski-Harabasz (higher = better)"),
        ("davies_bouldin", None, "Davies-Bouldin (lower = better)"),
    ]
    for ax, (key, ref, title) in zip(axes, panels):
        if key not in table[0]:
            ax.set_visible(False)
            continue
        ax.plot(ks, _column(table, key), "o-", color=DATA, label="your data")
        if ref and ref in table[0]:
            ax.plot(ks, _column(table, ref), "s--", color=REFERENCE, label="shuffled columns")
            ax.legend(loc="best", fontsize=7)
        if key == "silhouette_excess":
            ax.axhline(0.0, color=REFERENCE, linewidth=0.8)
        if key == "stability":
            ax.set_ylim(-0.05, 1.05)
        _mark_k(ax, k)
        ax.set_xticks(ks)
        ax.set_title(title)
        ax.set_xlabel("k")
    fig.suptitle(f"Evidence for the number of segments (chosen k = {k}, dotted line)")
    fig.tight_layout()
    return fig


def _k_distance(curve: dict[str, Any]) -> Figure:
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    ax.plot(curve["x"], curve["distance"], "-", color=DATA, linewidth=1.5)
    eps = float(curve["eps"])
    ax.axhline(eps, color=CHOSEN, linestyle=":", linewidth=1.2)
    ax.plot([curve["knee_x"]], [eps], "o", color=CHOSEN)
    ax.annotate(f"eps = {eps:.3g}", (curve["knee_x"], eps), textcoords="offset points",
                xytext=(-70, 12), color=CHOSEN)
    ax.set_xlabel("share of customers (sorted by distance)")
    ax.set_ylabel(f"distance to nearest neighbour no. {curve['neighbour']}")
    ax.set_title(f"DBSCAN k-distance curve (min_samples = {curve['min_samples']})")
    fig.tight_layout()
    return fig


def render_selection_plots(selection: Selection, comparison: Comparison | None, out_dir: Path) -> list[str]:
    """Write plots/elbow.png, plots/criteria.png (and plots/k_distance.png with a comparison)
    under `out_dir`; return their paths relative to `out_dir`, in that order."""
    table = sorted((r.as_dict() for r in selection.table), key=lambda r: r["k"])
    if not table:
        raise ValueError("selection must hold a non-empty evidence table (training.selection.select_k.select_k)")
    written = []
    with matplotlib.style.context("default"), matplotlib.rc_context(RC):
        written.append(_save(_elbow(table, selection.k), out_dir, "elbow.png"))
        written.append(_save(_criteria(table, selection.k), out_dir, "criteria.png"))
        if comparison is not None and comparison.k_distance is not None:
            written.append(_save(_k_distance(comparison.k_distance.as_dict()), out_dir, "k_distance.png"))
    return written
