"""The jobs `training.worker` runs for the Space: how a file is read (`inspect_job`) and the fit
(`fit_job`), each checking the Space's caps first. A job is a plain dict (JSON from the server):

    file, source (auto | table | log), lines (counted by the server before parsing), caps
    {max_rows, max_log_lines, max_columns}, id_column, kinds {column: kind}, roles [ROLE=COLUMN],
    log_columns {customer|date|amount|quantity|price|order: column}, k (auto | 2..10), seed,
    out (bundle folder), zip (the bundle as a zip), title

A table over `max_rows` rows, a log over `max_log_lines` lines, or a header over `max_columns`
columns is refused once the first lines tell which it is, before the rest of the file is parsed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from model.contract.archive import zip_bundle
from model.contract.errors import CSVError
from training.reading.describe import describe, guess_source, header_and_sample
from training.reading.inputs import TxOptions

K_CHOICES = ("auto", *map(str, range(2, 11)))


def inspect_job(job: dict[str, Any]) -> dict[str, Any]:
    """How `fit` would read the file with the job's choices."""
    source, why = _source(job)
    out = describe(job["file"], source=source, id_column=job.get("id_column") or None, kinds=job.get("kinds") or {},
                   role_flags=job.get("roles") or (), tx=_tx(job))
    return {**out, "why_source": why}


def fit_job(job: dict[str, Any], step: Callable[[str], None]) -> dict[str, Any]:
    """Fit the file, write the bundle to `out` and its zip to `zip`; returns a summary."""
    source, _ = _source(job)  # the caps first: a file over one is refused before scikit-learn loads
    from training.fit import FitOptions, fit
    k = str(job.get("k") or "auto")
    if k not in K_CHOICES:
        raise ValueError(f"k must be one of {', '.join(K_CHOICES)}; got {k[:20]!r}")
    path = Path(job["file"])
    opts = FitOptions(data=path if source == "table" else None, transactions=path if source == "log" else None,
                      tx=_tx(job), out=Path(job["out"]), id_column=job.get("id_column") or None,
                      roles=job.get("roles") or (), kinds=job.get("kinds") or None,
                      k="auto" if k == "auto" else int(k), seed=int(job.get("seed", 42)),
                      title=str(job.get("title") or "Customer segments")[:80])
    manifest = fit(opts, step=step).manifest
    zip_bundle(opts.out, job["zip"], top=Path(job["zip"]).stem)
    return {"source": source, "summary": summary_of(manifest)}


def summary_of(m: Any) -> dict[str, Any]:
    """What a visitor or a program reads first about a fitted bundle (plain JSON)."""
    return {
        "k": m.k, "k_reason": m.selection.reason, "rows": m.training.rows, "trained_on": m.training.source,
        "structure": m.clusterability.verdict, "structure_summary": m.clusterability.summary,
        "silhouette": m.metrics.silhouette,
        "features": [{"name": f.name, "label": f.label, "kind": f.kind, "role": f.role} for f in m.schema.features],
        "segments": [{"id": s.id, "name": s.name, "size": s.size, "share": s.share,
                      "stability": s.stability, "offers": [o.title for o in s.offers]} for s in m.segments],
    }


def _source(job: dict[str, Any]) -> tuple[str, str]:
    """table or log (guessed from the first lines when auto), after the caps that apply to it."""
    path, caps = job["file"], job.get("caps", {})
    header, _ = header_and_sample(path)
    max_columns = int(caps.get("max_columns") or 0)
    if max_columns and len(header) > max_columns:
        raise CSVError(f"the file has {len(header):,} columns; training takes at most {max_columns:,}. "
                       "Keep the columns that describe customers (and an id) and upload again")
    source = job.get("source") or "auto"
    why = "chosen by you"
    if source == "auto":
        source, why = guess_source(path)
    elif source not in ("table", "log"):
        raise ValueError(f"source must be auto, table or log; got {str(source)[:20]!r}")
    lines = int(job.get("lines") or 0)
    cap = int(caps.get("max_log_lines" if source == "log" else "max_rows") or 0)
    if cap and lines - 1 > cap:
        what = "an order log takes at most {:,} lines" if source == "log" else "a customer table takes at most {:,} rows"
        raise CSVError(f"the file has {lines - 1:,} data lines; training here: {what.format(cap)}. Upload a "
                       "random sample of it, or fit the whole file on your machine with: python -m training fit")
    return source, why


def _tx(job: dict[str, Any]) -> TxOptions:
    columns = {r: c for r, c in (job.get("log_columns") or {}).items() if c}
    return TxOptions(columns=columns)
