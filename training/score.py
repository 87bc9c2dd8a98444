"""`score`: a CSV in, the same rows out with their segment (or the reason they got none)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import io

import pandas as pd

from model.tables.audiences import audience_files, counts
from model.tables.batch import score_log, score_table
from model.serving.predictor import Predictor
from training.description.value import scored_value as value_of

MAX_SCORE_BYTES = 4 * 1024 ** 3
MAX_SCORE_ROWS = 20_000_000


def score_file(bundle: Path, data: Path, out: Path | None, *, log: bool = False,
               date_format: str | None = None, by_segment: Path | None = None) -> dict[str, Any]:
    """Score `data` (a customer table, or with `log` an order log, its dates read as
    `date_format` when given) with the bundle at `bundle`; write `out`, and with `by_segment` one
    CSV per segment into that folder (`model.tables.audiences`; the summary's "audiences" counts
    their rows). Raises ValueError when the file as a whole is unusable (encoding, header, missing
    columns); bad rows are reported per row."""
    predictor = Predictor.from_dir(bundle)
    if log:
        check_log_bundle(predictor)
        payload, summary = score_log(predictor, Path(data).read_bytes(), max_bytes=MAX_SCORE_BYTES,
                                     max_rows=MAX_SCORE_ROWS, date_format=date_format)
    else:
        payload, summary = score_table(predictor, Path(data).read_bytes(), max_bytes=MAX_SCORE_BYTES,
                                       max_rows=MAX_SCORE_ROWS, keep_columns="all", max_columns=None)
    if out is not None:
        Path(out).write_bytes(payload)
    value = scored_value(predictor, payload)
    if value is not None:
        summary["value"] = value
    if by_segment is not None:
        files = audience_files(payload, predictor.segments)
        Path(by_segment).mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (Path(by_segment) / name).write_bytes(body)
        summary["audiences"] = counts(files)
    return summary


def scored_value(predictor: Predictor, scored: Path | bytes) -> dict[str, Any] | None:
    """What the scored customers are worth per segment, from the money column of the scored file
    (a bundle with a monetary role); None without one (`training.description.value.scored_value`)."""
    money = money_column(predictor)
    if money is None:
        return None
    source = (lambda: io.BytesIO(scored)) if isinstance(scored, bytes) else (lambda: scored)
    key = {" ".join(str(c).split()).casefold(): c for c in pd.read_csv(source(), nrows=0).columns}
    col = key.get(" ".join(money.split()).casefold())
    if col is None:
        return None
    frame = pd.read_csv(source(), usecols=["segment_id", col])
    frame = frame[frame["segment_id"].notna()]
    by = pd.to_numeric(frame[col], errors="coerce").fillna(0.0).groupby(frame["segment_id"].astype(int))
    return value_of([s.name for s in predictor.segments], by.size().to_dict(), by.sum().to_dict(), feature=money)


def money_column(predictor: Predictor) -> str | None:
    """The bundle's feature with the monetary role, if any."""
    return next((f.name for f in predictor.schema.numeric if f.role == "monetary"), None)


def check_log_bundle(predictor: Predictor) -> None:
    """An order log can only be scored by a bundle trained on one (its features are the log's
    per-customer features)."""
    if predictor.manifest.transactions is None:
        raise ValueError("--transactions: this bundle was trained on a customer table (features "
                         f"{', '.join(predictor.schema.names)}), not on an order log; score a customer "
                         "table with --data")
