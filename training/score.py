"""`score`: a CSV in, the same rows out with their segment (or the reason they got none)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from model.tables.audiences import audience_files, counts
from model.tables.batch import score_log, score_table
from model.serving.predictor import Predictor

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
    if by_segment is not None:
        files = audience_files(payload, predictor.segments)
        Path(by_segment).mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (Path(by_segment) / name).write_bytes(body)
        summary["audiences"] = counts(files)
    return summary


def check_log_bundle(predictor: Predictor) -> None:
    """An order log can only be scored by a bundle trained on one (its features are the log's
    per-customer features)."""
    if predictor.manifest.transactions is None:
        raise ValueError("--transactions: this bundle was trained on a customer table (features "
                         f"{', '.join(predictor.schema.names)}), not on an order log; score a customer "
                         "table with --data")
