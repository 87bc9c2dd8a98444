"""A drift report (`model.drift.report.drift_report`) as Markdown: the Monitor tab and report.md."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from model.contract.constraints import number_text
from model.contract.markdown import md_literal


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def render_markdown(report: Mapping[str, Any], *, plots: list[str] = ()) -> str:
    """The report as Markdown (also what the app's Monitor tab can render)."""
    seg, unlike, err = report["segments"], report["unlike_training"], report["errors"]
    lines = [f"# Drift report: **{report['verdict']}**", "",
             f"{report['rows']:,} new rows ({report['rows_scored']:,} scored, {err['rows']:,} with errors) "
             f"compared with {report['reference_rows']:,} training rows.", ""]
    lines += [f"- {r}" for r in report["reasons"]] or ["- nothing moved beyond the thresholds"]
    lines += ["", "Thresholds: " + "; ".join(f"{k}: {v}" for k, v in report["thresholds"].items()), "",
              "## Features", "",
              "| feature | PSI | verdict | noise level (typical / 1 in 100) | what moved | median then → now |",
              "|---|---:|---|---:|---|---|"]
    for f in report["features"]:
        g = f["gained_most"]
        med = (f"{_num(f['median_then'])} → {_num(f['median_now'])}"
               if f.get("median_then") is not None and f.get("median_now") is not None else "")
        lines.append(f"| {_cell(f['feature'])} | {f['psi']:.3f} | {f['verdict']} | {f['psi_noise']:.3f} / {f.get('psi_chance', f['psi_noise']):.3f} | "
                     f"{_cell(g['bin'])}: {_pct(g['then'])} → {_pct(g['now'])} | {med} |")
    lines += ["", f"## Segments (PSI {seg['psi']}, {seg['verdict']})", "", "| segment | training | now |",
              "|---|---:|---:|"]
    lines += [f"| {i} | {_pct(a)} | {_pct(b)} |" for i, (a, b) in enumerate(zip(seg["then"], seg["now"]))]
    lines += ["", f"Customers unlike the training data: {_pct(unlike['then'])} at training, "
                  f"{_pct(unlike['now'])} now.", ""]
    if err["rows"]:
        lines += ["## Rows with errors", ""] + [f"- row {e['row']}: {_cell(e['error'])}" for e in err["examples"]] + [""]
    mig = report.get("migration")
    if mig:
        k = len(mig["segments"])
        lines += [f"## Migration (by {_cell(mig['id_column'])}): {mig['stayed']:,} stayed, {mig['moved']:,} moved", "",
                  "| before \\ now | " + " | ".join(map(str, range(k))) + " | left | now in error |",
                  "|---|" + "---:|" * (k + 2)]
        for i, row in enumerate(mig["matrix"]):
            lines.append(f"| {i} | " + " | ".join(f"{c:,}" for c in row)
                         + f" | {mig['left'][i]:,} | {mig['now_in_error'][i]:,} |")
        lines += ["| new | " + " | ".join(f"{c:,}" for c in mig["new"]) + " | | |", ""]
    lines += [f"![{Path(p).stem}]({p})" for p in plots]
    return "\n".join(lines).rstrip() + "\n"


def _num(x: float) -> str:
    """4 significant digits, thousands separated: 58730 → '58,730', 162.63 → '162.6'."""
    return number_text(float(f"{x:.4g}"))


def _cell(text: Any) -> str:
    """Text from data as literal Markdown: a cell can render neither a link, an image nor a table break."""
    return md_literal(text)
