"""Markdown and tables for the Model and Data tabs: the evidence behind k, each criterion in plain
words, the algorithm comparison, the cleaning and order-log reports, outliers (pure; no gradio)."""
from __future__ import annotations

from typing import Any

from model.contract.manifest import Cleaning, Comparison, LiveSource, Manifest, Summary, TransactionSource
from model.contract.markdown import md_literal as _md
from model.contract.schema import Schema
from space.render.cards import live_source_text

ALGORITHMS = {"kmeans": "KMeans (served)", "dbscan": "DBSCAN", "hdbscan": "HDBSCAN",
              "gaussian_mixture": "Gaussian mixture"}
GLOSSARY = """#### What the numbers mean
- **Inertia (elbow):** the total squared distance of customers to their segment's centre. It always
  falls as k grows; the "elbow" is where extra segments stop buying much.
- **Silhouette** (−1 to 1, higher is better): how much closer a customer is to its own segment than
  to the nearest other one, averaged over customers.
- **Calinski–Harabasz** (higher is better): spread *between* segments against spread *within* them.
- **Davies–Bouldin** (lower is better): how much each segment resembles its most similar neighbour.
- **Gap statistic:** how much tighter the segments are than segments of the same data with its
  columns shuffled (same values, no structure). k is chosen where it stops rising.
- **Split-half stability (ARI, per k):** the data is cut in two, each half is clustered, and both
  models label the same customers; 1 means the same segments, 0 means chance.
- **Prediction strength (per k):** a model fitted on one half assigns the other half; the share of
  pairs of customers it keeps together in the weakest segment. About 0.8 or more supports that k.
- **Reproducible:** prediction strength and split-half stability of about 0.8 or more. When the chosen
  k falls short and a smaller k does not, the reason above names that smaller split.
- **Weights in the distance** (order logs): recency, frequency and money weigh 1, other features
  0.5, so segments differ in what people act on; segments still alike in all three are merged.
- **Stability of a segment** (on the segment cards): refit on 50 bootstrap resamples; for each
  segment, the average best overlap (Jaccard) with a segment of the refit. ≥ 0.85 highly stable,
  ≥ 0.75 stable, 0.6–0.75 a pattern with doubtful membership, < 0.6 dissolved.
- **Stability in the comparison table:** agreement (ARI) of each algorithm with itself on the sample
  and two 80 % subsamples — a third measurement, of the whole clustering rather than one segment.
- **k-distance (DBSCAN):** every customer's distance to its n-th nearest neighbour, sorted; the bend
  of that curve sets DBSCAN's radius (eps).
- **The map (PC1, PC2):** all features squeezed into the two directions along which customers
  differ most (principal components). Nearby points are similar customers; the axes have no units.
"""


def model_overview(manifest: Manifest, source: LiveSource) -> str:
    """Markdown: verdict, choice of k, metrics, the bundle in use and the library versions."""
    sel, tr = manifest.selection, manifest.training
    lines = [f"### Cluster structure: **{_md(manifest.clusterability.verdict)}**", _md(manifest.clusterability.summary),
             "", f"### k = {manifest.k:d}", _md(sel.reason), ""]
    if manifest.edit is not None:  # the reason above is the fit's; say what people changed since
        e = manifest.edit
        lines += [f"**Edited by people** (the fit chose k = {sel.k}; the segments are now "
                  f"{'unions of ' if any(len(g) > 1 for g in e.groups) else ''}the clusters of the k = {e.k} fit): "
                  + "; ".join(_md(c) for c in e.changes) + ".",
                  *(["*Edited, not re-measured:* " + "; ".join(_md(n) for n in e.not_remeasured) + "."]
                    if e.not_remeasured else []), ""]
    if sel.rule:
        lines += [f"*Rule:* {_md(sel.rule)}", ""]
    if sel.weights:
        labels = {f.name: f.label for f in manifest.schema.features}
        lines += ["**Weights in the distance** (" + _md(sel.weight_rule or "") + "): "
                  + ", ".join(f"{_md(labels.get(c, c))} {w:g}" for c, w in sel.weights.items()), ""]
    if manifest.value is not None:
        lines += [f"**Value:** {_md(manifest.value.headline)}", ""]
    if manifest.rules is not None:
        lines += [f"**Segments as rules:** a decision tree of depth {manifest.rules.depth} on the original columns "
                  f"puts {manifest.rules.fidelity:.1%} of training customers in the model's segment (the Segments "
                  f"tab shows them, with the SQL).", ""]
    lines += ["### Final model", "| metric | value |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in manifest.metrics.readable().items()]
    lines += ["", "### Bundle in use", _md(live_source_text(source)), "",
              f"Trained on {tr.rows:,} rows from *{_md(tr.source)}* on {_md(manifest.created_at)}, seed {tr.seed:d}, "
              f"engine {_md(manifest.engine.name)}. Data fingerprint `{_md(tr.data_fingerprint[:16])}…`.", "",
              "Library versions: " + ", ".join(f"{_md(k)} {_md(v)}" for k, v in manifest.library_versions.items())]
    return "\n".join(lines)


def evidence_rows(manifest: Manifest) -> tuple[list[str], list[list[Any]]]:
    """The per-k evidence table: every criterion, the chosen k marked."""
    header = ["k", "inertia", "silhouette", "vs shuffled", "gap", "split-half stability", "prediction strength",
              "Calinski–Harabasz", "Davies–Bouldin", "smallest segment"]
    chosen = manifest.edit.k if manifest.edit is not None else manifest.k  # the clusters the segments are made of
    rows = [[f"{r.k} ✔" if r.k == chosen else str(r.k), f"{r.inertia:.4g}", decimals(r.silhouette),
             decimals(r.silhouette_excess), decimals(r.gap), decimals(r.stability, 2),
             decimals(r.prediction_strength, 2), f"{r.calinski_harabasz:.4g}", decimals(r.davies_bouldin),
             _pct(r.smallest_share)] for r in manifest.selection.table]
    return header, rows


def comparison_rows(comparison: Comparison | None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows for the algorithm-comparison table."""
    header = ["algorithm", "clusters", "noise share", "silhouette", "Calinski–Harabasz",
              "Davies–Bouldin", "stability (ARI)", "assigns new customers"]
    rows = []
    for key, r in (comparison.algorithms.items() if comparison else ()):
        rows.append([ALGORITHMS.get(key, key), r.n_clusters, _pct(r.noise_share), decimals(r.silhouette),
                     decimals(r.calinski_harabasz, 1), decimals(r.davies_bouldin), decimals(r.stability),
                     "yes" if r.assigns_new_points else "no"])
    return header, rows


def cleaning_text(report: Cleaning) -> str:
    return "\n".join(["| step | result |", "|---|---|"] + [f"| {_md(a)} | {_md(b)} |" for a, b in report.rows()])


def transactions_text(tx: TransactionSource) -> str:
    """How an order log became one row per customer."""
    lines = ["### From the order log to customers", "", "| | |", "|---|---|"]
    lines += [f"| {_md(role)} column | {_md(col)} |" for role, col in tx.columns.items()]
    lines += [f"| lines in | {tx.lines_in:,} |", f"| lines kept | {tx.lines_kept:,} |"]
    lines += [f"| set aside: {_md(why.replace('_', ' '))} | {n:,} |" for why, n in tx.dropped.items() if n]
    lines += [f"| customers | {tx.customers:,} |", f"| orders | {tx.orders:,} |",
              f"| recency counted to | {_md(tx.as_of)} |"]
    lines += ["", f"Returns and cancellations are netted against each customer's spending and not counted as "
                  f"orders. Clustering uses log1p of {_md(', '.join(tx.log1p) or 'no feature')} "
                  f"({_md(tx.transform_rule)}); every number shown stays in original units."]
    return "\n".join(lines)


def outlier_rows(summary: Summary, schema: Schema) -> list[list[Any]]:
    """Per numeric feature: median, interquartile range and the 1.5×IQR outlier count."""
    rows = []
    for f in schema.numeric:
        b = summary.features[f.name].box
        if b is not None and b.n:
            rows.append([f.label, b.median, f"{b.q1:g} – {b.q3:g}", b.outliers])
    return rows


def decimals(x: float | None, nd: int = 3) -> str:
    """`x` with `nd` decimals for the evidence tables; a dash when it was not computed."""
    return "–" if x is None else f"{x:.{nd}f}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"
