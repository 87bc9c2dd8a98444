"""Audiences for campaigns: a scored file split into one CSV per segment.

Each file holds the scored rows of one segment — the id and the input columns, the segment, the
RFM label (order logs) and the offers — without the per-row diagnostics (margin, runner-up, why,
notes); rows that got no segment are in no file, so the files' rows add up to the scored rows.
Rows are copied from the scored file as written (same quoting, same neutralised cells), in order.
File names are made of safe characters only: `segment_03_deal-seekers-younger.csv`.
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import Any, Sequence

import pandas as pd

from model.tables.reading import to_safe_csv

DROPPED = ("margin", "runner_up", "why", "unlike_training", "notes", "error")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def file_name(seg_id: int, name: str) -> str:
    """`segment_<id>_<name in lower-case ASCII letters, digits and dashes>.csv` (at most ~60 characters)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].rstrip("-") or "segment"
    return f"segment_{seg_id:02d}_{slug}.csv"


def audience_files(scored: bytes, segments: Sequence[Any]) -> dict[str, bytes]:
    """{file name: CSV bytes} of every segment (`segments`: id and name each), from a scored file
    (`model.tables.batch`), in segment order; a segment with no rows gets its header only."""
    frame = pd.read_csv(io.BytesIO(scored), dtype=str, keep_default_na=False, na_values=[])
    keep = [c for c in frame.columns if c not in DROPPED]
    out = {}
    for seg in segments:
        part = frame.loc[frame["segment_id"] == str(seg.id), keep]
        out[file_name(seg.id, seg.name)] = to_safe_csv(part, text_columns=keep)
    return out


def counts(files: dict[str, bytes]) -> dict[str, int]:
    """Rows per file (header excluded)."""
    return {name: len(pd.read_csv(io.BytesIO(data), dtype=str)) for name, data in files.items()}


def zip_files(files: dict[str, bytes]) -> bytes:
    """The files as one zip (names in order, fixed timestamps: the same files give the same bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buf.getvalue()
