"""How a text table is written — delimiter, decimal mark, byte-order mark — decided from its first lines.

Real exports come as they come: commas, Excel's semicolons with decimal commas (its default in much
of Europe), tabs, pipes, or columns aligned with spaces (CDNOW's ``customer_id  date …``). The
first `SNIFF_LINES` lines (at most `SNIFF_BYTES`) decide, and the decision is stated with its
evidence so that the reader's report can say how the file was read:

* **delimiter** — among ``,`` ``;`` tab ``|``, the one that splits the header into two or more
  fields and gives the most lines the header's field count (ties: that order). When none does,
  columns aligned with spaces: the header and the sampled lines split on runs of spaces into the
  same number (≥ 2) of fields (at least `ALIGNED_AGREE` of the lines: a few ragged ones are
  refused by the reader with their line numbers). Otherwise a single column. Ragged rows are not a reason to pick
  another delimiter: the strict reader refuses them afterwards, with their line numbers.
* **decimal mark** — ``.``, unless the delimiter is not a comma and more sampled cells are written
  ``12,5`` / ``1.234,5`` than ``12.5``. Then every cell written that way is rewritten to ``12.5`` /
  ``1234.5`` (`dot_decimals`) before anything reads it as a number.

Quoted fields are honoured while sniffing when the sample holds a quote (the stdlib csv module);
otherwise fields are counted with `bytes.count`, so a 400,000-column header costs nothing here.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.tables.rawbytes import check_encoding

SNIFF_LINES = 2_000
SNIFF_BYTES = 1 << 20
WHITESPACE = " "  # `Dialect.delimiter` of columns aligned with spaces (tabs count as spaces too)
LABELS = {",": "',' (comma)", ";": "';' (semicolon)", "\t": "a tab", "|": "'|' (pipe)",
          WHITESPACE: "runs of spaces (aligned columns)"}
_CANDIDATES = (",", ";", "\t", "|")
ALIGNED_AGREE = 0.8  # share of lines that must split like the header for aligned columns
_MAX_CELL = 40  # longer cells are no numbers: not looked at
_COMMA_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+")
_DOT_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")
_DOT_NUMBER = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")


@dataclass(frozen=True)
class Dialect:
    """How a file is written, and the evidence for each choice (sentences for the report)."""
    delimiter: str = ","
    decimal: str = "."
    bom: bool = False
    evidence: dict[str, str] = field(default_factory=dict)

    @property
    def sep(self) -> str:
        """The delimiter the parser sees: aligned columns are rewritten with tabs (`aligned_to_tabs`)."""
        return "\t" if self.delimiter == WHITESPACE else self.delimiter

    def as_report(self) -> dict[str, str]:
        """encoding, delimiter and decimal mark, each with its evidence."""
        return {"encoding": "UTF-8" + (" with a byte-order mark" if self.bom else ""),
                "delimiter": LABELS[self.delimiter] + _why(self.evidence.get("delimiter")),
                "decimal mark": f"'{self.decimal}'" + _why(self.evidence.get("decimal"))}

    def describe(self) -> str:
        """One line: 'read as UTF-8, delimiter ';' (semicolon), decimal mark ','.'"""
        return (f"read as UTF-8{' (byte-order mark)' if self.bom else ''}, delimiter {LABELS[self.delimiter]}, "
                f"decimal mark '{self.decimal}'")


def _why(evidence: str | None) -> str:
    return f" — {evidence}" if evidence else ""


def sniff(body: bytes, *, bom: bool = False) -> Dialect:
    """The dialect of a table's text (UTF-8, without its byte-order mark; `bom` says whether it had one)."""
    head = _head(body)
    lines = [ln for ln in head.split(b"\n") if ln.strip(b" \t\r")][: SNIFF_LINES + 1]
    if not lines:
        return Dialect(bom=bom)
    quoted = b'"' in head
    best, score, n = None, (-1.0, 0), len(lines) - 1
    for d in _CANDIDATES:
        widths = _widths(lines, d, quoted)
        if widths[0] < 2:
            continue
        same = int((widths[1:] == widths[0]).sum())
        if same / max(n, 1) > score[0]:
            best, score = d, (same / max(n, 1), same)
    if best is not None:
        width = _widths(lines[:1], best, quoted)[0]
        evidence = f"the header splits into {width} fields on it" + (
            f", and {score[1]:,} of the next {n:,} lines do too" if n else "")
        return _with_decimal(Dialect(delimiter=best, bom=bom, evidence={"delimiter": evidence}),
                             _cells(lines[1:], best, quoted))
    aligned = [ln.split() for ln in lines] if not quoted else []
    same = sum(len(r) == len(aligned[0]) for r in aligned[1:]) if aligned else 0
    if aligned and len(aligned[0]) >= 2 and same >= ALIGNED_AGREE * n:
        evidence = (f"no ',', ';', tab or '|' splits the header; on runs of spaces it splits into "
                    f"{len(aligned[0])} fields, and {same:,} of the next {n:,} lines do too")
        cells = [[w.decode("utf-8", "replace") for w in r] for r in aligned[1:]]
        return _with_decimal(Dialect(delimiter=WHITESPACE, bom=bom, evidence={"delimiter": evidence}), cells)
    return Dialect(bom=bom, evidence={"delimiter": "one column: no ',', ';', tab, '|' or aligned spaces "
                                                   "split the header"})


def _head(body: bytes) -> bytes:
    """The first `SNIFF_BYTES` of the text, cut after a line end when there is one."""
    if len(body) <= SNIFF_BYTES:
        return body
    cut = body.rfind(b"\n", 0, SNIFF_BYTES)
    return body[: cut if cut > 0 else SNIFF_BYTES]


def _widths(lines: list[bytes], delimiter: str, quoted: bool) -> np.ndarray:
    """Fields per sampled line on `delimiter`: counted with `bytes.count`, or — when the sample
    holds a quote — by the csv module (quoted delimiters and line breaks)."""
    if not quoted:
        d = delimiter.encode()
        return np.array([ln.count(d) + 1 for ln in lines])
    return np.array([len(r) for r in _parsed(lines, delimiter)] or [1])


def _parsed(lines: list[bytes], delimiter: str) -> list[list[str]]:
    text = b"\n".join(lines).decode("utf-8", "replace")
    try:
        return [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    except csv.Error:  # the strict reader names the problem with its line
        return [ln.decode("utf-8", "replace").split(delimiter) for ln in lines]


def _cells(lines: list[bytes], delimiter: str, quoted: bool) -> list[list[str]]:
    """The sampled data lines' cells (at most 200 per line: enough to see how numbers are written)."""
    if quoted:
        return [r[:200] for r in _parsed(lines, delimiter)]
    return [ln.decode("utf-8", "replace").split(delimiter, 200) for ln in lines]


def _with_decimal(dialect: Dialect, rows: list[list[str]]) -> Dialect:
    """`dialect` with its decimal mark decided from the sampled cells (see the module docstring)."""
    if dialect.delimiter == ",":
        return Dialect(",", ".", dialect.bom, {**dialect.evidence, "decimal": "the delimiter is a comma"})
    comma = dot = 0
    seen = {",": "", ".": ""}
    for row in rows:
        for cell in row:
            cell = cell.strip()
            if not cell or len(cell) > _MAX_CELL or not cell[-1].isdigit():
                continue
            if _COMMA_NUMBER.fullmatch(cell):
                comma += 1
                seen[","] = seen[","] or cell
            elif _DOT_NUMBER.fullmatch(cell) and not _DOT_THOUSANDS.fullmatch(cell):
                dot += 1
                seen["."] = seen["."] or cell
    where = f"in the first {len(rows):,} lines"
    mark = "," if comma > dot else "."
    counts = {",": comma, ".": dot}
    other = "." if mark == "," else ","
    if not counts[mark]:
        why = f"no number {where} is written with a decimal comma"
    else:
        why = (f"{counts[mark]:,} numbers {where} are written like {seen[mark]!r}, "
               + (f"{counts[other]:,} like {seen[other]!r}" if counts[other] else f"none with a decimal '{other}'"))
    return Dialect(dialect.delimiter, mark, dialect.bom, {**dialect.evidence, "decimal": why})


def aligned_to_tabs(body: bytes) -> bytes:
    """Columns aligned with spaces as tab-separated text: leading and trailing blanks of each line
    dropped, every inner run of spaces/tabs one tab. Line breaks stay where they were (line
    numbers do not change); a quoted field keeps its spaces."""
    arr = np.frombuffer(body, dtype=np.uint8)
    blank = (arr == 32) | (arr == 9)
    if (arr == 34).any():  # quotes: blanks inside a quoted field are text
        blank &= np.bitwise_xor.accumulate((arr == 34).view(np.uint8)) == 0
    if not blank.any():
        return body
    starts = np.flatnonzero(blank & ~np.concatenate(([False], blank[:-1])))
    ends = np.flatnonzero(blank & ~np.concatenate((blank[1:], [False]))) + 1  # one past each run
    before = np.where(starts > 0, arr[np.maximum(starts - 1, 0)], 10)
    after = np.where(ends < len(arr), arr[np.minimum(ends, len(arr) - 1)], 10)
    inner = (before != 10) & (after != 10) & (after != 13)
    keep = ~blank
    keep[starts[inner]] = True  # the first blank of an inner run becomes the tab
    out = arr.copy()
    out[starts[inner]] = 9
    return out[keep].tobytes()


def dot_decimals(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell written with a decimal comma (``12,5``, ``-1.234,50``, ``1.234``) rewritten with
    a dot (``12.5``, ``-1234.50``, ``1234``); other cells untouched. Each distinct text once."""
    for j in range(frame.shape[1]):
        column = frame.iloc[:, j]
        if pd.api.types.is_numeric_dtype(column.dtype):
            continue
        codes, uniques = pd.factorize(column)
        texts = pd.Series(np.asarray(uniques, dtype=object), dtype="string")
        stripped = texts.str.strip()
        comma = stripped.str.fullmatch(_COMMA_NUMBER.pattern).fillna(False).astype(bool)
        thousands = stripped.str.fullmatch(_DOT_THOUSANDS.pattern).fillna(False).astype(bool)
        change = (comma | thousands).to_numpy()
        if not change.any():
            continue
        fixed = stripped.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        values = np.asarray(uniques, dtype=object).copy()
        values[change] = fixed.to_numpy(dtype=object)[change]
        out = np.append(values, None)[codes]  # code -1 (missing) picks the None
        frame.isetitem(j, pd.Series(out, index=frame.index, dtype=column.dtype))
    return frame


def sniff_head(head: bytes, *, whole: bool) -> tuple[bytes, Dialect]:
    """(text, dialect) of a file's first bytes (`whole`: they are the whole file; else the text
    ends at the last line end). Raises `CSVError` for text that is not UTF-8."""
    cut = len(head) if whole else head.rfind(b"\n")
    body = check_encoding(head[: cut if cut > 0 else len(head)])
    return body, sniff(body, bom=len(body) < len(head[: cut if cut > 0 else len(head)]))


def read_header(data: bytes) -> list[str]:
    """The header fields of a file's text, read in its sniffed dialect from its first bytes only."""
    body, dialect = sniff_head(data[:SNIFF_BYTES], whole=len(data) <= SNIFF_BYTES)
    line = body.lstrip(b" \t\r\n").split(b"\n", 1)[0]
    if dialect.delimiter == WHITESPACE:
        line = aligned_to_tabs(line)
    return [h.strip() for h in next(csv.reader(io.StringIO(line.decode("utf-8")), delimiter=dialect.sep), [])]
