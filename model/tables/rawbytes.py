"""Checks on an uploaded CSV's raw bytes, before it is scanned or parsed: size, encoding, width."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from model.contract.errors import CSVError

SAVE_AS = "save it from your spreadsheet as 'CSV UTF-8 (comma delimited)'"


def read_bytes(source: bytes | str | Path, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        path = Path(source)
        size = path.stat().st_size
        if size > max_bytes:  # refuse before reading anything
            raise CSVError(_too_big(size, max_bytes))
        with path.open("rb") as handle:
            data = handle.read(size + 1)
            if len(data) > size:  # it grew since stat(): read on, but never past the limit
                data += handle.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise CSVError(_too_big(len(data), max_bytes))
    return data


def _too_big(size: int, limit: int) -> str:
    def show(n: int) -> str:
        return f"{n:,} bytes" + (f" ({n / 1e6:.1f} MB)" if n >= 100_000 else "")

    return f"the file is {show(size)}; the limit is {show(limit)}"


def check_encoding(data: bytes) -> bytes:
    """Return the body without a UTF-8 byte-order mark, or refuse anything that is not UTF-8 text."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    problem = ""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16, and UTF-32 little-endian
        problem = "the file is UTF-16 encoded (byte-order mark)"
    elif body.startswith(b"PK\x03\x04"):
        problem = "the file is an Excel workbook or a zip archive, not CSV text"
    elif (nul := body.find(b"\x00")) >= 0:
        head = body[:4096]  # ASCII stored as UTF-16 has a NUL byte next to every letter
        utf16 = head.count(b"\x00") * 3 >= len(head)
        problem = ("the file looks UTF-16 encoded (NUL bytes between letters)" if utf16
                   else f"line {line_at(body, nul)}: the file contains binary data (a NUL byte)")
    elif not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            where, byte = line_at(body, exc.start), f"0x{body[exc.start]:02x}"
            problem = f"line {where}: byte {byte} is not UTF-8 (Latin-1 or Windows-1252?)"
    if problem:
        raise CSVError(f"{problem}; the file must be UTF-8 text: {SAVE_AS}")
    return body


def check_width(body: bytes, max_columns: int, sep: str = ",") -> None:
    """Refuse a header with more than `max_columns` fields (split on `sep`), before the file is
    scanned or parsed."""
    head = body.lstrip(b" \t\r\n")  # pandas skips blank lines before the header
    end = head.find(b"\n")
    line = head if end < 0 else head[:end]
    width = line.count(sep.encode()) + 1
    if width <= max_columns:
        return
    if b'"' in line:  # quoted delimiters (or a header spanning lines): count the real fields
        width = len(next(csv.reader(io.StringIO(head.decode("utf-8"), newline=""), delimiter=sep)))
        if width <= max_columns:
            return
    where = line_at(body, len(body) - len(head))
    raise CSVError(f"line {where} (header): the file has {width:,} columns; the limit is {max_columns:,}. "
                   "Keep the columns the model needs (and an id column) and upload again")


def line_at(body: bytes, offset: int) -> int:
    return body.count(b"\n", 0, offset) + 1
