"""The Hub model card, rendered from the manifest (huggingface_hub ModelCard / ModelCardData)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from model.contract.files import TRUSTED_TYPES
from model.contract.manifest import Manifest
from model.contract.markdown import md_literal
from model.contract.schema import param_name

LOCAL_URL = "http://127.0.0.1:7860/"  # what `python app.py` serves

TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

Customer segmentation: a scikit-learn pipeline (impute → scale / one-hot → KMeans, k = {{ k }})
that assigns a customer to one of {{ k }} named segments, each with marketing offers.
{% if space_id %}Try it in the Space [{{ space_id }}](https://huggingface.co/spaces/{{ space_id }}).{% else %}Serve it with the customer-segments app (`python app.py`, or a Gradio Space pointed at this repo).{% endif %}

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
{% if value %}**{{ value.headline }}**

| id | name | customers | revenue | revenue per customer | what sets it apart | offers |
|---:|---|---:|---:|---:|---|---|
{% for s in segments -%}
| {{ s.id }} | {{ s.name }} | {{ "%.1f" | format(100 * s.share) }} % | {{ "%.1f" | format(100 * s.value.revenue_share) if s.value else "–" }} % | {{ "{:,.2f}".format(s.value.revenue_per_customer) if s.value else "–" }} | {{ s.description }} | {{ s.offers }} |
{% endfor %}{% else %}| id | name | share | what sets it apart | offers |
|---:|---|---:|---|---|
{% for s in segments -%}
| {{ s.id }} | {{ s.name }} | {{ "%.1f" | format(100 * s.share) }} % | {{ s.description }} | {{ s.offers }} |
{% endfor %}{% endif %}
Every name, trait and offer is a claim checked against the segment's numbers before the bundle
was written (`claims` in manifest.json lists each with its numbers).
{% if edit %}
## Edited by people
People changed these segments after the fit (last on {{ edit.edited_at }}); names marked "named by people" are
their words, the numbers beside them are measured:
{% for c in edit.changes -%}
- {{ c }}
{% endfor -%}
{% for n in edit.not_remeasured -%}
- edited, not re-measured: {{ n }}
{% endfor -%}
- what serves the edit: {{ edit.served }}
{% endif %}
## Choosing k
{{ selection_reason }}
{% if weights %}
Weights in the distance ({{ weight_rule }}): {{ weights }}.
{% endif %}
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
From Python, through the app that serves this model{% if not space_id %} (here a local `python app.py`; use your Space's id, `OWNER/NAME`, once it is published){% endif %}:

```python
from gradio_client import Client
client = Client({{ client_target }})
result = client.predict({{ kwargs }}, api_name="/predict")
print(result["segment_name"], [offer["title"] for offer in result["offers"]])
```

Or load the pipeline itself from this repo's files. `model.skops` loads without executing code
from the file; the types below are the only ones it needs beyond skops' defaults:

```python
import pandas as pd
import skops.io as sio
pipe = sio.load("model.skops", trusted={{ trusted }})
print(pipe.predict(pd.DataFrame([{{ example }}])))
```
`sklearn_model.joblib` holds the same pipeline for tools that expect it; only load it from a
source you trust (joblib runs code from the file).

## Training data and versions
- rows used: {{ rows }}; cleaning: {{ cleaning }}
- data fingerprint (sha256 of the cleaned table): `{{ fingerprint }}`
- scikit-learn {{ versions["scikit-learn"] }}, numpy {{ versions.numpy }}, skops {{ versions.skops }}
{% if engine.name == "spark" -%}
- fitted with the Spark engine: Spark {{ engine.version }} on `{{ engine.master }}` (KMeans on every row)
{% endif -%}
"""


def render_card(manifest: Manifest, *, plots: list[str]) -> str:
    """Markdown + YAML front matter for README.md in the bundle. Deterministic for one manifest."""
    metrics = manifest.metrics.as_dict()
    evals = [EvalResult(task_type="clustering", dataset_type="tabular", dataset_name=manifest.training.source,
                        metric_type=m, metric_value=metrics[m])
             for m in ("silhouette", "calinski_harabasz", "davies_bouldin") if metrics.get(m) is not None]
    data = ModelCardData(
        library_name="sklearn", license=manifest.license, model_name=manifest.title,
        tags=["clustering", "kmeans", "customer-segmentation", "tabular", "sklearn", "skops"],
        eval_results=evals or None,
    )
    clus, cmp, c = manifest.clusterability, manifest.comparison, manifest.cleaning
    example = manifest.schema.example()
    # Every text that comes from the data (levels in names and traits, column labels, the file name)
    # is literal Markdown: a level holding line breaks, links or HTML must not change the Hub page.
    md = md_literal
    segments = [{"id": s.id, "name": md(s.name) + (" (named by people)" if s.named_by == "people" else ""),
                 "share": s.share, "description": md(s.description),
                 "offers": md("; ".join(o.title for o in s.offers)), "value": s.value} for s in manifest.segments]
    card = ModelCard.from_template(
        data, template_str=TEMPLATE, title=md(manifest.title), k=manifest.k,
        features=md(", ".join(f.label for f in manifest.schema.features)),
        verdict=md(clus.verdict), verdict_summary=md(clus.summary),
        rows=f"{manifest.training.rows:,}", source=md(manifest.training.source),
        comparison_note=md(cmp.why if cmp else "density-based methods were not compared for this bundle."),
        segments=segments, selection_reason=md(manifest.selection.reason),
        edit=None if manifest.edit is None else {
            "edited_at": manifest.edit.edited_at, "served": md(manifest.edit.served),
            "changes": [md(c) for c in manifest.edit.changes],
            "not_remeasured": [md(n) for n in manifest.edit.not_remeasured]},
        table=manifest.selection.table, plots=plots,
        metrics={md(k): md(v) for k, v in manifest.metrics.readable().items()},
        example=repr(example), kwargs=", ".join(f"{param_name(k)}={v!r}" for k, v in example.items()),
        trusted=repr(list(TRUSTED_TYPES)), space_id=manifest.space_id,
        client_target=json.dumps(manifest.space_id or LOCAL_URL),
        fingerprint=manifest.training.data_fingerprint,
        cleaning=md("; ".join(f"{a}: {b}" for a, b in c.rows())),
        versions=manifest.library_versions, algorithms=cmp.algorithms if cmp else {},
        comparison_why=md(cmp.why) if cmp else "", engine=manifest.engine,
        value=None if manifest.value is None else {"headline": md(manifest.value.headline)},
        weights=md(", ".join(f"{c} {w:g}" for c, w in (manifest.selection.weights or {}).items())),
        weight_rule=md(manifest.selection.weight_rule or ""),
    )
    return str(card).rstrip() + "\n"


def set_space(bundle_dir: Path, space_id: str) -> Manifest:
    """Record the Space that serves a bundle: the manifest's `space_id` and the card's links and
    snippet name it. Rewrites README.md and manifest.json (with the card's new sha256) in place."""
    from dataclasses import replace

    from model.contract.bundle import dumps_json, read_manifest
    from model.contract.files import CARD, MANIFEST
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    if manifest.space_id == space_id:
        return manifest
    manifest = replace(manifest, space_id=space_id)
    card = render_card(manifest, plots=sorted(n for n in manifest.files if n.startswith("plots/"))).encode()
    manifest = replace(manifest, files={**manifest.files, CARD: hashlib.sha256(card).hexdigest()})
    (bundle_dir / CARD).write_bytes(card)
    (bundle_dir / MANIFEST).write_text(dumps_json(manifest.as_dict()), encoding="utf-8")
    return manifest
