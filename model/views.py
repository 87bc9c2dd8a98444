"""HTML and table data for the app's cards and panels (pure; no gradio).

Everything shown comes from the manifest or a prediction, and every string from data is escaped:
segment names and category levels come from a user's CSV.
"""
from __future__ import annotations

import json
import re
from html import escape
from typing import Any, Callable, Sequence

from model.figures import colour

VERDICT_WORDS = {
    "strong": "The data has clear, stable groups: the segments are real personas.",
    "moderate": "The data has real but overlapping groups: the segments are useful, with fuzzy edges.",
    "weak": "The data has little group structure: read the segments as a convenient grid, not as personas.",
    "none": "These segments split customers into groups of similar size, but the data has no natural "
            "clusters: treat them as a grid, not as personas.",
}


_MD_SPECIAL = re.compile(r"[!-/:-@\[-`{-~]")  # every ASCII punctuation character


def _e(x: Any) -> str:
    return escape(str(x), quote=True)


def verdict_text(manifest: dict[str, Any]) -> tuple[str, str]:
    clus = manifest.get("clusterability") or {}
    verdict = clus.get("verdict", "unknown")
    return verdict, clus.get("summary") or VERDICT_WORDS.get(verdict, "")


def offer_cards(offers: Sequence[dict[str, str]], seg_id: int) -> str:
    items = "".join(
        f'<div class="offer-card" style="border-left-color:{colour(seg_id)}">'
        f'<div class="offer-title">{_e(o["title"])}</div><div class="offer-why">{_e(o["rationale"])}</div></div>'
        for o in offers)
    return f'<div class="offers" data-testid="offers"><h3>Offers for this segment</h3>{items}</div>'


def result_card(result: dict[str, Any], manifest: dict[str, Any]) -> str:
    """Segment name, share, confidence, what distinguishes it, flags."""
    seg_id = result["segment_id"]
    conf = result["confidence"]
    conf_word = "clear" if conf >= 0.4 else "moderate" if conf >= 0.15 else "borderline"
    flags = ""
    if result["unlike_training"]:
        reasons = "; ".join(_e(r) for r in result["unlike_reasons"])
        flags += f'<div class="flag warn">⚠ Unlike the training data: {reasons}. Treat this segment with care.</div>'
    if result.get("imputed"):
        flags += (f'<div class="flag info">Filled in from training data (not given): '
                  f'{_e(", ".join(result["imputed"]))}.</div>')
    verdict, words = verdict_text(manifest)
    if verdict in ("weak", "none"):  # the honest caveat first: these segments are not personas
        flags += f'<div class="flag warn">Cluster structure: {_e(verdict)}. {_e(words)}</div>'
    elif verdict != "unknown":
        flags += f'<div class="flag info verdict">Cluster structure: {_e(verdict)}. {_e(words)}</div>'
    return (
        f'<div class="result-card" data-testid="result-card" style="border-top-color:{colour(seg_id)}">'
        f'<div class="result-kicker">Segment {seg_id}</div>'
        f'<div class="result-name" data-testid="segment-name">{_e(result["segment_name"])}</div>'
        f'<div class="result-stats"><span><b>{result["share"]:.0%}</b> of customers</span>'
        f'<span>confidence <b>{conf:.0%}</b> ({conf_word})</span></div>'
        f'<div class="conf-bar"><div style="width:{conf * 100:.0f}%;background:{colour(seg_id)}"></div></div>'
        f'<p class="result-desc">{_e(result.get("description", ""))}</p>{flags}</div>'
    )


def empty_result() -> str:
    return ('<div class="result-card placeholder" data-testid="result-card">'
            '<div class="result-name">Enter a customer and press “Find segment”.</div></div>')


def segment_cards(segments: Sequence[dict[str, Any]], labels: dict[str, str]) -> str:
    cards = []
    for s in segments:
        prof = s["profile"]
        nums = "".join(f"<tr><td>{_e(labels.get(c, c))}</td><td>{_num(p['mean'])}</td>"
                       f"<td>{_num(p['overall_mean'])}</td></tr>" for c, p in prof["numeric"].items())
        cats = "".join(
            f"<tr><td>{_e(labels.get(c, c))}</td><td colspan=2>"
            + ", ".join(f"{_e(lv)} {v:.0%}" for lv, v in sorted(shares.items(), key=lambda t: -t[1])[:3])
            + "</td></tr>" for c, shares in prof["categorical"].items())
        offers = "".join(f"<li><b>{_e(o['title'])}</b> — {_e(o['rationale'])}</li>" for o in s["offers"])
        cards.append(
            f'<div class="segment-card" style="border-top-color:{colour(s["id"])}">'
            f'<div class="result-kicker">Segment {s["id"]} · {s["size"]:,} customers · {s["share"]:.0%}</div>'
            f'<div class="segment-name">{_e(s["name"])}</div><p>{_e(s.get("description", ""))}</p>'
            f'<table class="profile"><tr><th>feature</th><th>segment</th><th>overall</th></tr>{nums}{cats}</table>'
            f'<ul class="offer-list">{offers}</ul></div>')
    return f'<div class="segment-grid">{"".join(cards)}</div>'


def _num(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.1f}"


def model_overview(manifest: dict[str, Any], source: dict[str, Any]) -> str:
    """Markdown: verdict, choice of k, metrics, the bundle in use and the library versions."""
    verdict, words = verdict_text(manifest)
    sel = manifest["selection"]
    m = manifest["metrics"]
    tr = manifest["training"]
    lines = [f"### Cluster structure: **{verdict}**", words, "",
             f"### k = {_md(manifest['k'])}", sel.get("reason", ""), ""]
    if sel.get("rule"):
        lines += [f"*Rule:* {sel['rule']}", ""]
    lines += ["### Final model", "| metric | value |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in m.items()]
    lines += ["", "### Bundle in use", live_source_text(source), "",
              f"Trained on {tr['rows']:,} rows from *{tr['source']}* on {manifest.get('created_at', '?')}, "
              f"seed {tr['seed']}. Data fingerprint `{tr['data_fingerprint'][:16]}…`.", "",
              "Library versions: " + ", ".join(f"{k} {v}" for k, v in manifest["library_versions"].items())]
    return "\n".join(lines)


def live_source_text(source: dict[str, Any]) -> str:
    if source.get("kind") == "hub":
        rev = source["revision"]
        pin = "pinned commit" if source.get("pinned") else "⚠ branch, not pinned"
        return (f"Hub model [{source['repo']}](https://huggingface.co/{source['repo']}/tree/{rev}) "
                f"at `{rev}` ({pin}).")
    text = "Local bundle (the default shipped with the app)" if source.get("kind") == "local" else "Unknown"
    if source.get("fallback_reason"):
        text += f". ⚠ {source['fallback_reason']}"
    return text + "."


def cleaning_text(report: dict[str, Any]) -> str:
    lines = ["| step | result |", "|---|---|", f"| rows in | {report['rows_in']:,} |",
             f"| exact duplicates dropped | {report['duplicates_dropped']:,} |"]
    if report.get("id_column"):
        lines.append(f"| id column (not a feature) | {report['id_column']} |")
    for name, why in report.get("excluded_columns", {}).items():
        lines.append(f"| column excluded: {name} | {why} |")
    for col, n in report.get("missing", {}).items():
        if n:
            lines.append(f"| missing {col} | {n:,} (filled by the pipeline) |")
    for col, changes in report.get("category_spellings_unified", {}).items():
        lines.append(f"| {col} spellings unified | {len(changes)} variants |")
    lines.append(f"| rows used | {report['rows_out']:,} |")
    return "\n".join(lines)


def comparison_rows(comparison: dict[str, Any] | None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows for the algorithm-comparison table."""
    header = ["algorithm", "clusters", "noise share", "silhouette", "Calinski–Harabasz",
              "Davies–Bouldin", "stability (ARI)", "assigns new customers"]
    rows = []
    names = {"kmeans": "KMeans (served)", "dbscan": "DBSCAN", "hdbscan": "HDBSCAN",
             "gaussian_mixture": "Gaussian mixture"}
    for key, r in ((comparison or {}).get("algorithms") or {}).items():
        rows.append([names.get(key, key), r.get("n_clusters"), _pct(r.get("noise_share")),
                     _f(r.get("silhouette")), _f(r.get("calinski_harabasz"), 1), _f(r.get("davies_bouldin")),
                     _f(r.get("stability")), "yes" if r.get("assigns_new_points") else "no"])
    return header, rows


def _f(x: Any, nd: int = 3) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def _pct(x: Any) -> str:
    return "–" if x is None else f"{x:.1%}"


def batch_summary(summary: dict[str, Any]) -> str:
    lines = [f"**{summary['scored']:,}** rows scored, **{summary['rejected']:,}** rejected "
             f"(of {summary['rows']:,}); {summary['unlike_training']:,} flagged as unlike the training data."]
    if summary["per_segment"]:
        lines += ["", "| segment | customers |", "|---|---:|"]
        lines += [f"| {_md(name)} | {n:,} |" for name, n in summary["per_segment"].items()]
    if summary["errors"]:
        lines += ["", "**Rejected rows** (first 20):", ""]
        lines += [f"- line {e['line']}: {_md(e['error'])}" for e in summary["errors"]]
    return "\n".join(lines)


def _md(text: str) -> str:
    """User text as literal Markdown text: line breaks become spaces and every ASCII punctuation
    character is backslash-escaped (CommonMark allows it for all of them), so a cell cannot make a
    link, an image, code, emphasis, HTML, a table cell or a bare-URL autolink."""
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\g<0>", flat)


def example_rows(p: Any) -> list[list[Any]]:
    """One typical customer per segment: numeric medians and the most common level."""
    rows = []
    for s in p.segments:
        prof = s["profile"]
        row = []
        for f in p.schema.features:
            if f.name in prof["numeric"]:
                v = prof["numeric"][f.name]["median"]
                row.append(round(v) if f.integer and v is not None else v)
            else:
                shares = prof["categorical"].get(f.name) or {f.mode: 1}
                row.append(max(shares, key=shares.get))
        rows.append(row)
    return rows


def outlier_rows(summary: dict[str, Any]) -> list[list[Any]]:
    """Per numeric feature: median, interquartile range and the 1.5×IQR outlier count."""
    rows = []
    for name, info in summary["features"].items():
        if info["kind"] == "numeric":
            b = info["box"]
            rows.append([name, b["median"], f"{b['q1']:g} – {b['q3']:g}", b["outliers"]])
    return rows


def api_help(schema: Any, param_name: Callable[[str], str]) -> str:
    """The API tab: gradio_client and curl examples filled with a typical customer."""
    example = schema.example()
    kwargs = ", ".join(f"{param_name(k)}={v!r}" for k, v in example.items())
    return f"""### Python (`gradio_client`)
```python
>>> from gradio_client import Client
>>> client = Client("http://127.0.0.1:7860/")      # or "OWNER/SPACE"
>>> client.predict({kwargs}, api_name="/predict")
>>> client.predict(api_name="/segments")
```
### HTTP (JSON)
```bash
curl -s -X POST http://127.0.0.1:7860/predict -H 'Content-Type: application/json' \\
  -d '{json.dumps(example)}'
```
`GET /segments` lists every segment with its offers; `GET /health` says which bundle is live;
`GET /openapi.json` (and `/docs`) describe the JSON routes. Errors are `422` with one entry per field.
"""
