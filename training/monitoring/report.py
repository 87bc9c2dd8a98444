"""Write a drift report (`model.drift.report.drift_report`) as report.json, report.md and PNG plots.

Plots follow `training.publishing.plots`: a `Figure` on the Agg canvas (no pyplot), matplotlib's default
style, fixed size and dpi, no "Software" metadata - the same report gives the same bytes on one
machine.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping

import matplotlib.style
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from model.drift.text import render_markdown
from training.publishing.plots import DPI, RC

log = logging.getLogger(__name__)

PLOT_DIR = "plots"
THEN, NOW = "#7f7f7f", "#1f77b4"
MAX_FEATURE_PLOTS = 6


def write_report(report: Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Write report.json, report.md and plots/*.png into `out_dir` (created); returns the paths."""
    out = Path(out_dir)
    (out / PLOT_DIR).mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json"]
    paths[0].write_text(json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plots = [_features_plot(report, out), _segments_plot(report, out)]
    if report.get("migration"):
        plots.append(_migration_plot(report["migration"], out))
    md = out / "report.md"
    md.write_text(render_markdown(report, plots=[p.relative_to(out).as_posix() for p in plots]), encoding="utf-8")
    log.info("drift report written to %s (verdict %s)", out, report["verdict"])
    return [*paths, md, *plots]


def _save(fig: Figure, out: Path, name: str) -> Path:
    path = out / PLOT_DIR / name
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _bars(ax: Any, labels: list[str], then: list[float], now: list[float], title: str) -> None:
    x = np.arange(len(labels))
    ax.bar(x - 0.2, then, width=0.4, color=THEN, label="training")
    ax.bar(x + 0.2, now, width=0.4, color=NOW, label="now")
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    ax.set_title(title)
    ax.set_ylabel("share")


def _features_plot(report: Mapping[str, Any], out: Path) -> Path:
    feats = report["features"][:MAX_FEATURE_PLOTS]
    cols = min(3, max(len(feats), 1))
    rows = max(1, -(-len(feats) // cols))
    with matplotlib.style.context("default"), matplotlib.rc_context(RC):
        fig = Figure(figsize=(4.2 * cols, 3.4 * rows))
        for i, f in enumerate(feats):
            bins = [b for b in f["bins"] if b["then"] or b["now"]]
            _bars(fig.add_subplot(rows, cols, i + 1), [b["bin"] for b in bins], [b["then"] for b in bins],
                  [b["now"] for b in bins], f"{f['feature']}: PSI {f['psi']:.3f} ({f['verdict']})")
        if feats:
            fig.axes[0].legend(fontsize=7)
        fig.tight_layout()
        return _save(fig, out, "drift_features.png")


def _segments_plot(report: Mapping[str, Any], out: Path) -> Path:
    seg = report["segments"]
    with matplotlib.style.context("default"), matplotlib.rc_context(RC):
        fig = Figure(figsize=(5, 3.2))
        ax = fig.add_subplot()
        _bars(ax, [str(i) for i in range(len(seg["then"]))], seg["then"], seg["now"],
              f"segment shares: PSI {seg['psi']} ({seg['verdict']})")
        ax.set_xlabel("segment")
        ax.legend(fontsize=7)
        fig.tight_layout()
        return _save(fig, out, "drift_segments.png")


def _migration_plot(mig: Mapping[str, Any], out: Path) -> Path:
    m = np.asarray(mig["matrix"], dtype=float)
    with matplotlib.style.context("default"), matplotlib.rc_context({**RC, "axes.grid": False}):
        fig = Figure(figsize=(4.5, 4))
        ax = fig.add_subplot()
        ax.imshow(m, cmap="Blues")
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{int(v):,}", ha="center", va="center", fontsize=7,
                    color="white" if v > m.max() / 2 else "black")
        ax.set_xlabel("segment now")
        ax.set_ylabel("segment before")
        ax.set_title("customers moving between segments")
        fig.tight_layout()
        return _save(fig, out, "migration.png")
