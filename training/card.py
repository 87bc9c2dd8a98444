"""The Hub model card, rendered from the manifest (huggingface_hub ModelCard / ModelCardData)."""
from __future__ import annotations

from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

Customer segmentation: a scikit-learn pipeline (impute → scale / one-hot → KMeans, k = {{ k }})
that assigns a customer to one of {{ k }} named segments, each with marketing offers.
Built with the [customer segments Space](https://huggingface.co/spaces) training tool.

## Intended use
- Assign a customer described by {{ features }} to a segment and pick offers for it.
- Explore how the customer base splits (sizes, profiles, what distinguishes each segment).

Not for decisions about individuals with legal or similarly significant effects (credit, pricing by
protected attributes, eligibility). Segments describe groups, not people.

## How strong is the structure?
**Verdict: {{ verdict }}.** {{ verdict_summary }}

## Limitations
- Trained on {{ rows }} rows ({{ source }}); customers unlike these rows get a segment but are
  flagged as "unlike the training data" by the app.
- KMeans makes round segments of similar spread; {{ comparison_note }}
- Categories unseen in training are rejected, not guessed.

## Segments
| id | name | share | what sets it apart | offers |
|---:|---|---:|---|---|
{% for s in segments -%}
| {{ s.id }} | {{ s.name }} | {{ "%.1f" | format(100 * s.share) }} % | {{ s.description }} | {{ s.offers | map(attribute="title") | join("; ") }} |
{% endfor %}
## Choosing k
{{ selection_reason }}

| k | inertia | silhouette | Calinski–Harabasz | Davies–Bouldin |
|---:|---:|---:|---:|---:|
{% for r in table -%}
| {{ r.k }}{% if r.k == k %} ✔{% endif %} | {{ "%.4g" | format(r.inertia) }} | {{ "%.3f" | format(r.silhouette) }} | {{ "%.4g" | format(r.calinski_harabasz) }} | {{ "%.3f" | format(r.davies_bouldin) }} |
{% endfor %}
{% for p in plots %}
![{{ p }}]({{ p }})
{% endfor %}
{% if algorithms %}## Clustering algorithms compared
{{ comparison_why }}

| algorithm | clusters | noise share | silhouette | stability | assigns new customers |
|---|---:|---:|---:|---:|---|
{% for name, a in algorithms.items() -%}
| {{ name }} | {{ a.n_clusters }} | {{ "%.1f" | format(100 * (a.noise_share or 0)) }} % | {{ "%.3f" | format(a.silhouette) if a.silhouette is not none else "–" }} | {{ "%.2f" | format(a.stability) if a.stability is not none else "–" }} | {{ "yes" if a.assigns_new_points else "no" }} |
{% endfor %}
{% endif %}## Metrics (final model)
{% for name, value in metrics.items() -%}
- {{ name }}: {{ value }}
{% endfor %}
## How to use
```python
>>> from gradio_client import Client
>>> client = Client("OWNER/SPACE")               # the Space that serves this model
>>> print(client.predict({{ example }}, api_name="/predict"))
```

Or load the pipeline directly. `model.skops` loads without executing code from the file:

```python
>>> import skops.io as sio
>>> import pandas as pd
>>> pipe = sio.load("model.skops")                # no untrusted types needed
>>> pipe.predict(pd.DataFrame([{{ example }}]))
```
`sklearn_model.joblib` holds the same pipeline for tools that expect it; only load it from a
source you trust (joblib runs code from the file).

## Training data and versions
- rows used: {{ rows }}; cleaning: {{ cleaning }}
- data fingerprint (sha256 of the cleaned table): `{{ fingerprint }}`
- scikit-learn {{ versions["scikit-learn"] }}, numpy {{ versions.numpy }}, skops {{ versions.skops }}
"""


def render_card(manifest: dict[str, Any], *, versions: dict[str, str], plots: list[str]) -> str:
    """Markdown + YAML front matter for README.md in the bundle. Deterministic for one manifest."""
    metrics = manifest["metrics"]
    title = manifest.get("title", "Customer segments")
    evals = [EvalResult(task_type="clustering", dataset_type="tabular", dataset_name=manifest["training"]["source"],
                        metric_type=m, metric_value=metrics[m])
             for m in ("silhouette", "calinski_harabasz", "davies_bouldin") if metrics.get(m) is not None]
    data = ModelCardData(
        library_name="sklearn", license=manifest.get("license", "mit"), model_name=title,
        tags=["clustering", "kmeans", "customer-segmentation", "tabular", "sklearn", "skops"],
        eval_results=evals or None,
    )
    clus = manifest.get("clusterability", {})
    cmp = manifest.get("comparison") or {}
    c = manifest["cleaning"]
    card = ModelCard.from_template(
        data, template_str=TEMPLATE, title=title, k=manifest["k"],
        features=", ".join(f["label"] for f in manifest["schema"]["features"]),
        verdict=clus.get("verdict", "not assessed"), verdict_summary=clus.get("summary", ""),
        rows=f"{manifest['training']['rows']:,}", source=manifest["training"]["source"],
        comparison_note=cmp.get("why", "density-based methods were not compared for this bundle."),
        segments=manifest["segments"], selection_reason=manifest["selection"]["reason"],
        table=manifest["selection"]["table"], plots=plots, metrics=metrics,
        example=repr(manifest["example"]), fingerprint=manifest["training"]["data_fingerprint"],
        cleaning=(f"{c['rows_in']:,} rows in, {c['duplicates_dropped']:,} exact duplicates dropped, "
                  f"{sum(c['missing'].values()):,} missing cells imputed in the pipeline"),
        versions=versions, algorithms=cmp.get("algorithms") or {}, comparison_why=cmp.get("why", ""),
    )
    return str(card).rstrip() + "\n"
