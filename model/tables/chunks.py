"""Large CSV files read strictly, piece by piece: memory grows with one piece, not the file.

Each piece is cut at a line end outside quoted fields and parsed by `model.tables.reading.read_csv_strict`
with the header in front; line numbers in error messages are those of the whole file. The file's
dialect (delimiter, decimal mark) is sniffed once from its first bytes and holds for every piece.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pandas as pd

from model.tables.reading import read_csv_strict
from model.tables.sniff import SNIFF_BYTES, Dialect, sniff_head
from model.contract.errors import CSVError

MAX_TRAIN_BYTES = 8 * 1024 ** 3
MAX_TRAIN_ROWS = 50_000_000
CHUNK_BYTES = 64 * 1024 ** 2  # larger files are read and encoded piece by piece
_LINE = re.compile(r"\bline (\d+)")


def read_table(path: Path | str, dialect: Dialect | None = None) -> pd.DataFrame:
    """Read a CSV strictly (encoding, delimiter, ragged rows, duplicate headers) as text."""
    return read_csv_strict(Path(path), max_bytes=MAX_TRAIN_BYTES, max_rows=MAX_TRAIN_ROWS, dialect=dialect)


def sniff_file(path: Path | str) -> Dialect:
    """The dialect of the file at `path`, from its first bytes (`model.tables.sniff`)."""
    with Path(path).open("rb") as handle:
        head = handle.read(SNIFF_BYTES + 1)
    try:
        return sniff_head(head[:SNIFF_BYTES], whole=len(head) <= SNIFF_BYTES)[1]
    except CSVError:  # the reader refuses the file with its line number
        return Dialect()


def read_chunks(path: Path | str, *, chunk_bytes: int = CHUNK_BYTES,
                dialect: Dialect | None = None) -> Iterator[pd.DataFrame]:
    """The CSV as text frames of about `chunk_bytes` each, read strictly (see `read_table`) in
    `dialect` (default: `sniff_file`'s).

    A file of at most `chunk_bytes` is one chunk, read exactly as `read_table` reads it. A larger
    one is cut at line ends outside quoted fields, each piece parsed with the header in front;
    line numbers in error messages are those of the whole file."""
    path = Path(path)
    dialect = dialect or sniff_file(path)
    size = path.stat().st_size
    if size > MAX_TRAIN_BYTES:
        read_table(path)  # raises the reader's own "file too big" message
    if size <= chunk_bytes:
        yield read_table(path, dialect)
        return
    rows = 0
    with path.open("rb") as handle:
        piece, header, line = handle.read(chunk_bytes), b"", 1
        while piece:
            more = handle.read(chunk_bytes)
            cut = len(piece) if not more else _record_end(piece)
            while cut < 0 and more:  # no line end outside quotes yet: read on
                piece += more
                more = handle.read(chunk_bytes)
                cut = len(piece) if not more else _record_end(piece)
            body, rest = (piece, b"") if cut < 0 else (piece[:cut], piece[cut:])
            if header and not body.strip():  # only blank lines left
                break
            if not header:
                header = _first_record(body)
                text, offset = body, 0
            else:
                text, offset = header + body, line - 2  # file line = piece line + offset
            try:
                chunk = read_csv_strict(text, max_bytes=MAX_TRAIN_BYTES,
                                        max_rows=MAX_TRAIN_ROWS - rows, dialect=dialect)
            except CSVError as exc:
                if not offset:
                    raise
                raise CSVError(_LINE.sub(lambda m: f"line {int(m.group(1)) + offset}", str(exc))) from None
            rows += len(chunk)
            line += body.count(b"\n")
            yield chunk
            piece = rest + more


def _first_record(data: bytes) -> bytes:
    """The header line: the first line that is not blank (as the strict reader sees it)."""
    start = 0
    while True:
        end = data.find(b"\n", start)
        line = data[start:] if end < 0 else data[start:end + 1]
        if line.strip(b" \t\r\n\xef\xbb\xbf") or end < 0:
            return line
        start = end + 1


def _record_end(data: bytes) -> int:
    """Offset just after the last line end that lies outside quoted fields, or -1."""
    end, tries = data.rfind(b"\n"), 0
    while end >= 0 and tries < 100:  # quotes are rare: the first try nearly always does
        if data.count(b'"', 0, end) % 2 == 0:
            return end + 1
        end, tries = data.rfind(b"\n", 0, end), tries + 1
    return -1
