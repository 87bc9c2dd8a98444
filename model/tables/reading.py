"""Strict reading of uploaded CSV files, and CSV export that is safe to open in a spreadsheet.

How the file is written — delimiter (comma, semicolon, tab, pipe or columns aligned with spaces),
decimal mark, byte-order mark — is sniffed from its first lines (`model.tables.sniff`) and stated
with its evidence (`CsvTable.dialect`). Uploads are refused as a whole (``CSVError``) wherever
pandas would otherwise guess: encoding, ragged rows (pandas pads short rows and drops or shifts
extra fields), duplicate or blank headers (``age.1``, ``Unnamed: 3``), missing columns, size caps. What a cell holds is not a reason
to refuse a file: `model.contract.schema` judges cells and gives each bad one an error of its own row.
Line numbers are physical lines as an editor shows them: the header is line 1, and blank lines and
quoted fields spanning lines are counted. Field counts come from a vectorised byte scan (numpy);
the stdlib ``csv`` module takes over only when quoting is too irregular for that scan.
"""
from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from model.tables.cells import header_key as _key, to_numbers
from model.tables.rawbytes import check_encoding, check_width, line_at, read_bytes
from model.tables.sniff import LABELS, WHITESPACE, Dialect, aligned_to_tabs, dot_decimals, sniff
from model.tables.export import safe_csv_bytes
from model.contract.errors import CSVError, echo

logger = logging.getLogger(__name__)

_SHOW = 5  # offending lines named per message
_QUOTE, _LF, _CR = 34, 10, 13
_OTHER_DELIMITERS = {";": "';' (semicolon)", "\t": "a tab", "|": "'|' (pipe)"}  # for readers that take commas only (Spark)
_BOOL_TOKEN = re.compile(rb"(?i)\b(?:true|false)\b")
_UNCLOSED = "a quoted field is never closed (unbalanced '\"')"


@dataclass(frozen=True)
class _Layout:
    """Where the records are. Blank lines are not records (pandas skips them too)."""

    header: list[str]
    header_line: int
    fields: np.ndarray  # field count of each data record
    lines: np.ndarray  # physical line on which each data record starts


@dataclass(frozen=True)
class CsvTable:
    frame: pd.DataFrame
    lines: np.ndarray  # physical line on which each row starts (the header is line 1)
    dialect: Dialect = Dialect()  # how the file is written, with the evidence


def read_csv_strict(
    source: bytes | str | Path, *, max_bytes: int, max_rows: int,
    required_columns: Sequence[str] = (), numeric_columns: Sequence[str] = (),
    max_columns: int | None = None, usecols: Sequence[str] | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None, dialect: Dialect | None = None,
) -> pd.DataFrame:
    """`read_csv_table(...).frame`."""
    return read_csv_table(source, max_bytes=max_bytes, max_rows=max_rows, required_columns=required_columns,
                          numeric_columns=numeric_columns, max_columns=max_columns, usecols=usecols,
                          aliases=aliases, dialect=dialect).frame


def read_csv_table(
    source: bytes | str | Path, *, max_bytes: int, max_rows: int,
    required_columns: Sequence[str] = (), numeric_columns: Sequence[str] = (),
    max_columns: int | None = None, usecols: Sequence[str] | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None, dialect: Dialect | None = None,
) -> CsvTable:
    """Read an uploaded CSV, or raise ``CSVError`` when the file as a whole cannot be used.

    ``source`` is the file's bytes, or a path (``str`` is always a path: Gradio hands uploads over
    as temp-file paths). Its dialect is sniffed unless ``dialect`` is given (the pieces of one
    file share the first piece's). Header names are stripped; ``required_columns`` and
    ``numeric_columns`` match them by `model.tables.cells.header_key` — or any of their
    ``aliases`` (name → other spellings, e.g. the label the app shows) — and come back spelled as
    given. Cells written with a decimal comma come back with a dot. Text columns are
    ``str`` with ``""`` read as missing (NaN), never type-guessed. A numeric column present in the
    file is float64 when every cell is empty or a finite number, else it stays text so that
    `model.contract.schema.Schema.check_frame` can give each bad cell its row's error. A numeric column
    absent from the file is only an error if it is also required.

    ``max_columns`` caps the header's field count, checked before anything is parsed (a wide
    header costs memory per column in every later step). ``usecols`` (matched like the required
    columns, spelled as given, absent ones ignored) keeps only those columns: the others are
    checked for shape but never converted.
    """
    raw = read_bytes(source, max_bytes)
    body = check_encoding(raw)
    if not body or body.isspace():
        raise CSVError("the file is empty; it needs a header line and at least one data row")
    dialect = dialect or sniff(body, bom=len(body) < len(raw))
    if dialect.delimiter == WHITESPACE:
        body = aligned_to_tabs(body)
    sep = dialect.sep
    if max_columns is not None:
        check_width(body, max_columns, sep)
    layout = _scan(body, sep) or _scan_with_csv(body, sep)
    names = _check_header(layout, required_columns, numeric_columns, usecols or (), aliases or {})
    _check_records(layout, max_rows, dialect)
    keep = None if usecols is None else [n for n in names if _key(n) in {_key(c) for c in usecols}]
    wanted = {_key(c) for c in numeric_columns}
    floats = [n for n in (names if keep is None else keep) if _key(n) in wanted]
    df = _parse(body, names, floats, layout, keep, dialect)
    logger.debug("read CSV: %d rows x %d columns (%s)", len(df), len(df.columns), dialect.describe())
    return CsvTable(df, layout.lines, dialect)


def to_safe_csv(df: pd.DataFrame, *, text_columns: Sequence[str]) -> bytes:
    """Write ``df`` as UTF-8 CSV bytes that a spreadsheet will not execute.

    Every field is quoted and lines end in ``\\n``. Cells of ``text_columns`` (and of any other
    non-numeric column, and the header) that start with ``= + - @``, tab or CR get a leading ``'``.
    Numeric columns not listed in ``text_columns`` are written as plain numbers (``-5`` stays
    ``-5``), as pandas writes them. The bytes are those of ``DataFrame.to_csv(quoting=QUOTE_ALL)``
    after neutralising; `model.tables.export` builds them from each column's distinct values.
    """
    missing = [c for c in text_columns if c not in df.columns]
    if missing:
        raise ValueError(f"text_columns not in the frame: {missing}")
    return safe_csv_bytes(df, text_columns=text_columns)


def _scan(body: bytes, sep: str = ",") -> _Layout | None:
    """Count fields per record with numpy; None when the quoting is too irregular to trust."""
    delimiter = ord(sep)
    arr = np.frombuffer(body, dtype=np.uint8)
    is_quote = arr == _QUOTE
    quotes = np.flatnonzero(is_quote)
    all_newlines = np.flatnonzero(arr == _LF)
    if len(quotes):
        # Quote parity says "inside a quoted field" exactly when every opening quote starts a
        # field (or continues an escaped ""); a quote in mid-field would invert it.
        openers = quotes[0::2]
        if not np.isin(arr[openers[openers > 0] - 1], (delimiter, _LF, _CR, _QUOTE)).all():
            return None
        if len(quotes) % 2:
            raise CSVError(f"line {line_at(body, int(quotes[-1]))}: {_UNCLOSED}")
        outside = np.bitwise_xor.accumulate(is_quote.view(np.uint8)) == 0
        newlines = np.flatnonzero((arr == _LF) & outside)
        commas = np.flatnonzero((arr == delimiter) & outside)
    else:
        newlines, commas = all_newlines, np.flatnonzero(arr == delimiter)
    if b"\r" in body:
        after = np.flatnonzero(arr == _CR) + 1
        if after[-1] >= len(arr) or (arr[after] != _LF).any():
            return None  # old Mac line endings or a CR inside a value: let the csv module decide
    ends = newlines if body.endswith(b"\n") else np.append(newlines, len(arr))
    starts = np.concatenate(([0], newlines[: len(ends) - 1] + 1))
    fields = np.diff(np.searchsorted(commas, ends), prepend=0) + 1  # records are contiguous
    blank = ends - starts - (arr[np.maximum(ends - 1, 0)] == _CR) <= 0
    maybe_spaces = ~blank & (fields == 1) & np.isin(arr[np.minimum(starts, len(arr) - 1)], (32, 9))
    for i in np.flatnonzero(maybe_spaces):  # pandas skips whitespace-only lines as blank
        blank[i] = not body[starts[i] : ends[i]].strip(b" \t\r")
    keep = np.flatnonzero(~blank)
    header_text = body[starts[keep[0]] : ends[keep[0]]].decode("utf-8")
    header = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=sep))
    if len(header) != fields[keep[0]]:
        return None
    lines = np.searchsorted(all_newlines, starts[keep]) + 1
    return _Layout(header, int(lines[0]), fields[keep[1:]], lines[1:])


def _scan_with_csv(body: bytes, sep: str = ",") -> _Layout:
    """Exact but slower layout from the stdlib csv module (the same dialect as pandas' C parser)."""
    raw = [""]  # the physical line read last

    def physical_lines() -> Iterator[str]:
        for raw[0] in io.StringIO(body.decode("utf-8"), newline=""):
            yield raw[0]

    reader = csv.reader(physical_lines(), strict=True, delimiter=sep)
    header: list[str] = []
    header_line, last, fields, lines = 0, 0, [], []
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if start == last and not raw[0].strip(" \t\r\n"):  # pandas skips whitespace-only lines
                continue
            if header:
                fields.append(len(row))
                lines.append(start)
            else:
                header, header_line = row, start
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise CSVError(f"line {last + 1}: {_UNCLOSED}") from None
        raise CSVError(f"line {reader.line_num}: the file is not valid CSV ({exc})") from None
    return _Layout(header, header_line, np.array(fields, dtype=np.int64), np.array(lines, dtype=np.int64))


def _check_header(layout: _Layout, required: Sequence[str], numeric: Sequence[str],
                  optional: Sequence[str] = (), aliases: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Validate the header; return the column names to use (stripped, requested spellings; a
    requested name matches its own spelling first, then its `aliases`)."""
    aliases = aliases or {}
    header, at = layout.header, f"line {layout.header_line} (header)"
    if len(header) == 1:
        for delimiter, label in _OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                raise CSVError(f"{at}: the delimiter must be a comma (','); the file uses {label}")
    blank = [str(i + 1) for i, name in enumerate(header) if not name.strip()]
    if blank:
        raise CSVError(f"{at}: column {', '.join(blank)} has no name; every column needs a header")
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(_key(name), []).append(i)
    repeated = [f"{echo(header[p[0]].strip())} (columns {', '.join(str(i + 1) for i in p)})"
                for p in positions.values() if len(p) > 1]
    if repeated:
        raise CSVError(f"{at}: duplicate column names: {'; '.join(repeated)}; each name must appear once")

    def position(name: str) -> int | None:
        key = next((k for k in map(_key, (name, *aliases.get(name, ()))) if k in positions), None)
        return None if key is None else positions[key][0]

    missing = ", ".join(repr(name) for name in required if position(name) is None)
    if missing:
        found = ", ".join(echo(h.strip()) for h in header[:20]) + (" ..." if len(header) > 20 else "")
        raise CSVError(f"missing required column(s): {missing}; columns found: {found}")
    names = [h.strip() for h in header]
    for wanted in (*required, *numeric, *optional):
        at = position(wanted)
        if at is not None:
            names[at] = wanted
    return names


def _check_records(layout: _Layout, max_rows: int, dialect: Dialect = Dialect()) -> None:
    n_rows, width = len(layout.fields), len(layout.header)
    if n_rows == 0:
        raise CSVError(f"the file has a header (line {layout.header_line}) but no data rows")
    if n_rows > max_rows:
        raise CSVError(f"the file has {n_rows:,} rows; the limit is {max_rows:,}")
    bad = np.flatnonzero(layout.fields != width)
    if len(bad):
        shown = ", ".join(f"line {layout.lines[i]} has {layout.fields[i]}" for i in bad[:_SHOW])
        more = f" (and {len(bad) - _SHOW} more rows)" if len(bad) > _SHOW else ""
        raise CSVError(
            f"every row must have {width} fields like the header, but {shown}{more}; "
            + ("check for missing or extra commas, and quote values that contain commas" if dialect.sep == ","
               else f"the file was read with {LABELS[dialect.delimiter]} between fields "
                    f"({dialect.evidence.get('delimiter', 'sniffed')}): check for missing or extra ones")
        )


def _parse(body: bytes, names: list[str], float_columns: list[str], layout: _Layout,
           usecols: list[str] | None = None, dialect: Dialect = Dialect()) -> pd.DataFrame:
    """Fast path: the C parser reads numeric columns; any doubt (or decimal commas) and they are
    read as text, and each becomes float64 again when all its cells are numbers."""
    sep = dialect.sep
    if dialect.decimal == ".":
        try:
            df = _read(body, names, float_columns, len(layout.fields), usecols, sep)
            if _floats_trustworthy(df, float_columns, body):
                return df
        except CSVError:
            raise
        except ValueError:  # a numeric cell the C parser refused: the validator reports it per row
            pass
    df = _read(body, names, [], len(layout.fields), usecols, sep)
    if dialect.decimal == ",":
        dot_decimals(df)
    for name in float_columns:
        values, not_number = to_numbers(df[name])
        if not not_number.any():
            df[name] = values
    return df


def _read(body: bytes, names: list[str], float_columns: list[str], n_rows: int,
          usecols: list[str] | None = None, sep: str = ",") -> pd.DataFrame:
    floats = set(float_columns)
    used = names if usecols is None else usecols
    try:
        df = pd.read_csv(
            io.BytesIO(body), engine="c", sep=sep, header=0, names=names, index_col=False, usecols=usecols,
            dtype={n: ("float64" if n in floats else "str") for n in used},
            keep_default_na=False, na_values={n: [""] for n in used}, encoding="utf-8",
        )
    except pd.errors.ParserError as exc:  # the scan found nothing wrong, so this is unexpected
        raise CSVError(f"the file could not be parsed as CSV: {str(exc).strip()[:200]}") from None
    if len(df) != n_rows:  # the scan and the parser disagree: never return a guess
        raise CSVError("the file could not be read consistently; look for stray '\"' characters")
    return df


def _floats_trustworthy(df: pd.DataFrame, float_columns: list[str], body: bytes) -> bool:
    for name in float_columns:
        values = df[name].to_numpy()
        if np.isinf(values).any():
            return False
        present = values[~np.isnan(values)]
        # The C parser reads a column made only of True/False as 1.0/0.0.
        if len(present) and np.isin(present, (0.0, 1.0)).all() and _BOOL_TOKEN.search(body):
            return False
    return True
