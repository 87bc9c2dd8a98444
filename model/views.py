"""HTML, Markdown and table data for the app's cards and panels (pure; no gradio).

Everything shown comes from the typed manifest or a prediction, and every string from data is
escaped: segment names, category levels and column names come from a user's CSV.
"""
from __future__ import annotations

import json
from html import escape
from typing import Any, Sequence

from model.constraints import display_number
from model.figures import colour
from model.markdown import md_literal
from model.manifest import Cleaning, Comparison, LiveSource, Manifest, Segment, Summary
from model.schema import NumericFeature, Schema, param_name

DEFAULT_SHOWN = "model/artifacts/default"  # how model.loader shows the embedded default bundle
ALGORITHMS = {"kmeans": "KMeans (served)", "dbscan": "DBSCAN", "hdbscan": "HDBSCAN",
              "gaussian_mixture": "Gaussian mixture"}




def _e(x: Any) -> str:
    return escape(str(x), quote=True)


def offer_cards(offers: Sequence[dict[str, str]], seg_id: int) -> str:
    items = "".join(
        f'<div class="offer-card" style="border-left-color:{colour(seg_id)}">'
        f'<div class="offer-title">{_e(o["title"])}</div><div class="offer-why">{_e(o["rationale"])}</div></div>'
        for o in offers)
    return f'<div class="offers" data-testid="offers"><h3>Offers for this segment</h3>{items}</div>'


def margin_words(m: float) -> str:
    return "clearly" if m >= 0.4 else "fairly clearly" if m >= 0.15 else "only just (a borderline customer)"


def result_card(result: dict[str, Any], manifest: Manifest) -> str:
    """Segment name, share, margin over the runner-up, why, flags and the structure verdict."""
    seg_id, m = result["segment_id"], result["margin"]
    runner = result["runner_up"]["segment_name"]
    flags = ""
    if result["unlike_training"]:
        reasons = "; ".join(_e(r) for r in result["unlike_reasons"])
        flags += f'<div class="flag warn">⚠ Unlike the training data: {reasons}. Treat this segment with care.</div>'
    if result.get("imputed"):
        flags += (f'<div class="flag info">Filled in from training data (not given): '
                  f'{_e(", ".join(result["imputed"]))}.</div>')
    verdict = manifest.clusterability
    kind = "warn" if verdict.verdict in ("weak", "none") else "info verdict"
    flags += f'<div class="flag {kind}">Cluster structure: {_e(verdict.verdict)}. {_e(verdict.summary)}</div>'
    why = "".join(f"<li>{_e(w['text'])}</li>" for w in result.get("why", []))
    why_html = (f'<div class="why" data-testid="why"><b>Why this segment and not {_e(runner)}:</b>'
                f'<ul>{why}</ul></div>') if why else ""
    return (
        f'<div class="result-card" data-testid="result-card" style="border-top-color:{colour(seg_id)}">'
        f'<div class="result-kicker">Segment {seg_id}</div>'
        f'<div class="result-name" data-testid="segment-name">{_e(result["segment_name"])}</div>'
        f'<div class="result-stats"><span><b>{result["share"]:.0%}</b> of customers</span>'
        f'<span title="1 − distance to this segment ÷ distance to the runner-up: 0 on the border, '
        f'1 at the centre. Not a probability.">closer to this segment than to {_e(runner)} '
        f'by a margin of <b>{m:.2f}</b> ({margin_words(m)})</span></div>'
        f'<div class="conf-bar"><div style="width:{m * 100:.0f}%;background:{colour(seg_id)}"></div></div>'
        f'<p class="result-desc">{_e(result.get("description", ""))}</p>{why_html}{flags}</div>')


def empty_result() -> str:
    return ('<div class="result-card placeholder" data-testid="result-card">'
            '<div class="result-name">Enter a customer and press “Find segment”.</div></div>')


def segment_cards(segments: Sequence[Segment], schema: Schema) -> str:
    labels = {f.name: f.label for f in schema.features}
    cards = []
    for s in segments:
        nums = "".join(f"<tr><td>{_e(labels.get(c, c))}</td><td>{display_number(p.mean)}</td>"
                       f"<td>{display_number(p.overall_mean)}</td></tr>" for c, p in s.profile.numeric.items())
        cats = "".join(
            f"<tr><td>{_e(labels.get(c, c))}</td><td colspan=2>"
            + ", ".join(f"{_e(lv)} {v:.0%}" for lv, v in sorted(shares.items(), key=lambda t: -t[1])[:3])
            + "</td></tr>" for c, shares in s.profile.categorical.items())
        offers = "".join(f"<li><b>{_e(o.title)}</b> — {_e(o.rationale)}</li>" for o in s.offers)
        cards.append(
            f'<div class="segment-card" style="border-top-color:{colour(s.id)}">'
            f'<div class="result-kicker">Segment {s.id} · {s.size:,} customers · {s.share:.0%}</div>'
            f'<div class="segment-name">{_e(s.name)}</div><p>{_e(s.description)}</p>'
            f'<table class="profile"><tr><th>feature</th><th>segment</th><th>overall</th></tr>{nums}{cats}</table>'
            f'<ul class="offer-list">{offers}</ul></div>')
    return f'<div class="segment-grid">{"".join(cards)}</div>'


def header(manifest: Manifest, rows: int) -> str:
    return (f'<div class="app-header"><h1>{_e(manifest.title)}</h1>'
            f"<p>Find a customer's segment, see where they sit among {rows:,} customers, and what to offer "
            f"them. {manifest.k:d} segments · structure: <b>{_e(manifest.clusterability.verdict)}</b></p></div>")


def model_overview(manifest: Manifest, source: LiveSource) -> str:
    """Markdown: verdict, choice of k, metrics, the bundle in use and the library versions."""
    sel, tr = manifest.selection, manifest.training
    lines = [f"### Cluster structure: **{_md(manifest.clusterability.verdict)}**", _md(manifest.clusterability.summary),
             "", f"### k = {manifest.k:d}", _md(sel.reason), ""]
    if sel.rule:
        lines += [f"*Rule:* {_md(sel.rule)}", ""]
    lines += ["### Final model", "| metric | value |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in manifest.metrics.as_dict().items() if v is not None]
    lines += ["", "### Bundle in use", _md(live_source_text(source)), "",
              f"Trained on {tr.rows:,} rows from *{_md(tr.source)}* on {_md(manifest.created_at)}, seed {tr.seed:d}, "
              f"engine {_md(manifest.engine.name)}. Data fingerprint `{_md(tr.data_fingerprint[:16])}…`.", "",
              "Library versions: " + ", ".join(f"{_md(k)} {_md(v)}" for k, v in manifest.library_versions.items())]
    return "\n".join(lines)


def live_source_text(source: LiveSource) -> str:
    """Which bundle is live and why, as plain text (callers escape it for HTML or Markdown)."""
    if source.kind == "hub":
        pin = "pinned commit" if source.pinned else "branch, not pinned"
        return f"Hub model {source.repo} at {source.revision} ({pin})."
    text = "Local bundle (the default shipped with the app)" if source.path == DEFAULT_SHOWN else \
        f"Local bundle {source.path}"
    if source.fallback_reason:
        text += f". ⚠ {source.fallback_reason}"
    return text + "."


def cleaning_text(report: Cleaning) -> str:
    return "\n".join(["| step | result |", "|---|---|"] + [f"| {_md(a)} | {_md(b)} |" for a, b in report.rows()])


def comparison_rows(comparison: Comparison | None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows for the algorithm-comparison table."""
    header_ = ["algorithm", "clusters", "noise share", "silhouette", "Calinski–Harabasz",
               "Davies–Bouldin", "stability (ARI)", "assigns new customers"]
    rows = []
    for key, r in (comparison.algorithms.items() if comparison else ()):
        rows.append([ALGORITHMS.get(key, key), r.n_clusters, _pct(r.noise_share), _f(r.silhouette),
                     _f(r.calinski_harabasz, 1), _f(r.davies_bouldin), _f(r.stability),
                     "yes" if r.assigns_new_points else "no"])
    return header_, rows


def _f(x: float | None, nd: int = 3) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def batch_summary(summary: dict[str, Any]) -> str:
    lines = [f"**{summary['scored']:,}** rows scored, **{summary['rejected']:,}** rejected "
             f"(of {summary['rows']:,}); {summary['unlike_training']:,} flagged as unlike the training data."]
    if summary["per_segment"]:
        lines += ["", "| segment | customers |", "|---|---:|"]
        lines += [f"| {_md(name)} | {n:,} |" for name, n in summary["per_segment"].items()]
    if summary["errors"]:
        lines += ["", "**Rejected rows** (first 20):", ""]
        lines += [f"- {'line ' + str(e['line']) if 'line' in e else 'customer ' + _md(e['customer'])}: "
                  f"{_md(e['error'])}" for e in summary["errors"]]
    return "\n".join(lines)


_md = md_literal


def example_rows(segments: Sequence[Segment], schema: Schema) -> list[list[Any]]:
    """One typical customer per segment: numeric medians and the most common level."""
    rows = []
    for s in segments:
        row: list[Any] = []
        for f in schema.features:
            if isinstance(f, NumericFeature):
                v = s.profile.numeric[f.name].median
                row.append(round(v) if f.integer and v is not None else v)
            else:
                shares = s.profile.categorical.get(f.name) or {f.mode: 1.0}
                row.append(max(shares, key=shares.__getitem__))
        rows.append(row)
    return rows


def outlier_rows(summary: Summary, schema: Schema) -> list[list[Any]]:
    """Per numeric feature: median, interquartile range and the 1.5×IQR outlier count."""
    rows = []
    for f in schema.numeric:
        b = summary.features[f.name].box
        if b is not None and b.n:
            rows.append([f.label, b.median, f"{b.q1:g} – {b.q3:g}", b.outliers])
    return rows


def api_help(schema: Schema, base_url: str) -> str:
    """The API tab: gradio_client and curl examples filled with a typical customer."""
    example = schema.example()
    kwargs = ", ".join(f"{param_name(k)}={v!r}" for k, v in example.items())
    return f"""### Python (`gradio_client`)
```python
>>> from gradio_client import Client
>>> client = Client("{base_url}")
>>> result = client.predict({kwargs}, api_name="/predict")
>>> segments = client.predict(api_name="/segments")
```
### HTTP (JSON)
```bash
curl -s -X POST {base_url}predict -H 'Content-Type: application/json' \\
  -d '{json.dumps(example)}'
```
`GET /segments` lists every segment with its offers; `GET /health` says which bundle is live;
`GET /openapi.json` (and `/docs`) describe the JSON routes. Errors are `422` with one entry per field.
"""
