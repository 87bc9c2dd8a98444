"""`score`: a CSV in, the same rows out with their segment (or the reason they got none)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from model.tables.batch import score_log, score_table
from model.serving.predictor import Predictor
from training.description.value import headline

MAX_SCORE_BYTES = 4 * 1024 ** 3
MAX_SCORE_ROWS = 20_000_000


def score_file(bundle: Path, data: Path, out: Path, *, log: bool = False) -> dict[str, Any]:
    """Score `data` (a customer table, or with `log` an order log) with the bundle at `bundle`;
    write `out`. Raises ValueError when the file as a whole is unusable (encoding, header, missing
    columns); bad rows are reported per row."""
    predictor = Predictor.from_dir(bundle)
    if log:
        check_log_bundle(predictor)
        payload, summary = score_log(predictor, Path(data).read_bytes(), max_bytes=MAX_SCORE_BYTES,
                                     max_rows=MAX_SCORE_ROWS)
    else:
        payload, summary = score_table(predictor, Path(data).read_bytes(), max_bytes=MAX_SCORE_BYTES,
                                       max_rows=MAX_SCORE_ROWS, keep_columns="all", max_columns=None)
    Path(out).write_bytes(payload)
    value = scored_value(predictor, Path(out))
    if value is not None:
        summary["value"] = value
    return summary


def scored_value(predictor: Predictor, scored: Path) -> dict[str, Any] | None:
    """What the scored customers are worth per segment — customers, revenue and their shares — from
    the money column of the scored file (a bundle with a monetary role); None without one."""
    money = next((f.name for f in predictor.schema.numeric if f.role == "monetary"), None)
    if money is None:
        return None
    header = pd.read_csv(scored, nrows=0).columns
    key = {" ".join(str(c).split()).casefold(): c for c in header}
    col = key.get(" ".join(money.split()).casefold())
    if col is None:
        return None
    frame = pd.read_csv(scored, usecols=["segment_id", col])
    frame = frame[frame["segment_id"].notna()]
    frame[col] = pd.to_numeric(frame[col], errors="coerce").fillna(0.0)
    by = frame.groupby(frame["segment_id"].astype(int))[col].agg(["size", "sum"])
    n, total = int(by["size"].sum()), float(by["sum"].sum())
    if not n or not total > 0:
        return None
    segments = [{"name": s.name} for s in predictor.segments]
    rows: list[dict[str, Any] | None] = [None] * predictor.k
    for j, r in by.iterrows():
        rows[int(j)] = {"customers": int(r["size"]), "customer_share": round(r["size"] / n, 4),
                        "revenue": round(float(r["sum"]), 2), "revenue_share": round(float(r["sum"]) / total, 4),
                        "revenue_per_customer": round(float(r["sum"]) / r["size"], 2)}
    return {"feature": money, "revenue": round(total, 2), "headline": headline(segments, rows),
            "per_segment": {predictor.segments[j].name: v for j, v in enumerate(rows) if v}}


def check_log_bundle(predictor: Predictor) -> None:
    """An order log can only be scored by a bundle trained on one (its features are the log's
    per-customer features)."""
    if predictor.manifest.transactions is None:
        raise ValueError("--transactions: this bundle was trained on a customer table (features "
                         f"{', '.join(predictor.schema.names)}), not on an order log; score a customer "
                         "table with --data")
