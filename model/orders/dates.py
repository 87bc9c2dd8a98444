"""Dates of an order log, written in any of several formats, parsed per distinct text.

An export may mix formats (ISO from one system, the spreadsheet's month/day/year from another).
Accepted, per text:

1. ISO 8601: ``2011-12-09``, ``2011-12-09 12:50:00``, ``2011-12-09T12:50Z`` (an offset is
   converted to UTC), and ``2011/12/09``;
2. numeric day and month: ``12/9/2011 8:26``, ``09.12.2011``, ``9-12-11 2:30 PM``. Whether the
   first number is the day or the month is decided for the whole log from the texts where only one
   reading is a valid date (a first number above 12 is a day); with no such text it is read as
   month/day (the UCI export's order) and the report says so; `dayfirst` decides explicitly;
3. a month name: ``9 Dec 2011``, ``09-Dec-2011 10:15``, ``Dec 9, 2011``, ``December 9th 2011``.

Anything else, and impossible dates (30 February, 25 o'clock), is unparseable: the caller reports
it per line. Texts are grouped by *shape* (digits → 9, letters → a: ``99/9/9999 9:99``); in one
shape every field sits at the same position, so numbers are read for a whole group at once with
numpy, without a regular expression or strptime per text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ISO, NUMERIC, MONTH_NAME = 0, 1, 2
NOT_NUMERIC, AMBIGUOUS, DAY_FIRST, MONTH_FIRST = -1, 0, 1, 2  # order_evidence codes
MAX_WIDTH = 40  # no date text is longer
_TIME = r"(?:(?P<sep> +|a)(?P<H>9{1,2}):(?P<M>99)(?::(?P<S>99))?(?: ?(?P<ampm>aa))?)?"
_SHAPES = (
    (ISO, re.compile(r"^9999[-/]9{1,2}[-/]9{1,2}(?:$|[ a])")),  # a: the T of 2011-12-09T12:50
    (NUMERIC, re.compile(rf"^(?P<a>9{{1,2}})(?P<s1>[/.\-])(?P<b>9{{1,2}})(?P=s1)(?P<Y>9999|99){_TIME}$")),
    (MONTH_NAME, re.compile(rf"^(?P<d>9{{1,2}})(?:aa)?[ \-](?P<mon>a{{3,9}})\.?[ \-,]+(?P<Y>9999){_TIME}$")),
    (MONTH_NAME, re.compile(rf"^(?P<mon>a{{3,9}})\.?[ \-](?P<d>9{{1,2}})(?:aa)?,?[ \-]+(?P<Y>9999){_TIME}$")),
)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_MONTH_WORDS = {**{m[:3]: i + 1 for i, m in enumerate(_MONTHS)}, **{m: i + 1 for i, m in enumerate(_MONTHS)},
                "sept": 9}


_SHAPE_OF = np.array([57 if chr(c).isdigit() else 97 if chr(c).isalpha() else c for c in range(128)]
                     + [63], dtype=np.uint8)  # digits → '9', letters → 'a', non-ASCII → '?'


@dataclass
class ParsedDates:
    """Per distinct text: the timestamp (NaT when unparseable) and the format that read it (-1)."""
    values: np.ndarray  # datetime64[us]
    fmt: np.ndarray  # int8: ISO, NUMERIC, MONTH_NAME or -1
    dayfirst: bool | None  # how numeric day/month texts were read (None: there were none)
    notes: list[str] = field(default_factory=list)

    def format_names(self) -> dict[int, str]:
        order = "day/month/year" if self.dayfirst else "month/day/year"
        return {ISO: "ISO 8601 (2011-12-09 12:50:00)", NUMERIC: f"numeric {order}",
                MONTH_NAME: "month name (9 Dec 2011)"}


def parse_dates(texts: np.ndarray, *, dayfirst: bool | None = None,
                weights: np.ndarray | None = None) -> ParsedDates:
    """Parse distinct date texts (object array; None/"" are unparseable). `weights` (lines per
    text) only weigh the evidence for the day/month order."""
    text, codes = _prepare(texts)
    n = len(text)
    values = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    fmt = np.full(n, -1, dtype=np.int8)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    numeric: list[tuple[np.ndarray, re.Match[str]]] = []
    for kind, idx, m in _groups(codes):
        if kind == ISO:
            got = pd.to_datetime(pd.Series(np.strings.replace(text[idx], "/", "-")), format="ISO8601",
                                 errors="coerce", utc=True).dt.tz_localize(None)
            _store(values, fmt, idx, got.to_numpy("datetime64[us]"), ISO)
        elif kind == NUMERIC:
            numeric.append((idx, m))
        else:
            month = _month_numbers(text[idx], m.start("mon"), m.end("mon"))
            got = _compose(_num(codes[idx], m, "Y"), month, _num(codes[idx], m, "d"), codes[idx], m)
            _store(values, fmt, idx, got, MONTH_NAME)
    used_dayfirst, notes = None, []
    if numeric:
        evidence = _evidence(codes, numeric, n)
        used_dayfirst, note = decide_order(float(w[evidence == DAY_FIRST].sum()),
                                           float(w[evidence == MONTH_FIRST].sum()), dayfirst)
        notes += [note] if note else []
        for idx, m in numeric:
            first, second = _num(codes[idx], m, "a"), _num(codes[idx], m, "b")
            day, month = (first, second) if used_dayfirst else (second, first)
            year = _num(codes[idx], m, "Y")
            year = np.where(year < 100, 2000 + year, year)
            _store(values, fmt, idx, _compose(year, month, day, codes[idx], m), NUMERIC)
    return ParsedDates(values=values, fmt=fmt, dayfirst=used_dayfirst, notes=notes)


def order_evidence(texts: np.ndarray) -> np.ndarray:
    """Per text (int8): NOT_NUMERIC, or for a numeric day/month text AMBIGUOUS, DAY_FIRST (only
    the day/month reading can be a date: first number above 12) or MONTH_FIRST — what
    `decide_order` weighs. For engines that see the texts in pieces (Spark's batches): sum the
    lines per code over all pieces, decide once, then parse each piece with that `dayfirst`."""
    _, codes = _prepare(texts)
    numeric = [(idx, m) for kind, idx, m in _groups(codes) if kind == NUMERIC]
    return _evidence(codes, numeric, len(codes))


def _prepare(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stripped fixed-width texts (blank for missing and over-long ones) and their code points."""
    n = len(texts)
    filled = np.asarray(texts, dtype=object).copy()
    filled[pd.isna(filled)] = ""
    text = np.strings.strip(filled.astype(str))
    if text.dtype.itemsize // 4 > MAX_WIDTH:
        text = np.where(np.strings.str_len(text) <= MAX_WIDTH, text, "").astype(f"<U{MAX_WIDTH}")
    width = max(text.dtype.itemsize // 4, 1)
    text = text.astype(f"<U{width}")
    return text, text.view(np.uint32).reshape(n, width)


def _groups(codes: np.ndarray) -> list[tuple[int, np.ndarray, re.Match[str]]]:
    """(format, rows, the shape's match) for every shape some format accepts."""
    shape_of, shapes = _shapes(codes)
    out = []
    for s, shape in enumerate(shapes):
        for kind, pattern in _SHAPES:
            m = pattern.match(shape)
            if m:
                out.append((kind, np.flatnonzero(shape_of == s), m))
                break
    return out


def _evidence(codes: np.ndarray, numeric: list[tuple[np.ndarray, re.Match[str]]], n: int) -> np.ndarray:
    out = np.full(n, NOT_NUMERIC, dtype=np.int8)
    for idx, m in numeric:
        a, b = _num(codes[idx], m, "a"), _num(codes[idx], m, "b")
        day_first = (a > 12) & (a <= 31) & (b >= 1) & (b <= 12)
        month_first = (b > 12) & (b <= 31) & (a >= 1) & (a <= 12)
        out[idx] = np.where(day_first, DAY_FIRST, np.where(month_first, MONTH_FIRST, AMBIGUOUS))
    return out


def _shapes(codes: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The shape of every text (digits → '9', ASCII letters → 'a', other characters kept) as an
    id, and the distinct shapes."""
    rows = _SHAPE_OF[np.minimum(codes, 128)].view(f"S{codes.shape[1]}").ravel()
    ids, distinct = pd.factorize(rows)
    return ids, [d.decode("ascii").rstrip("\x00") for d in distinct]


def _num(codes: np.ndarray, m: re.Match[str], group: str) -> np.ndarray:
    """The number written at a group's position in every text of one shape (0 when absent)."""
    start, end = m.start(group), m.end(group)
    out = np.zeros(len(codes), dtype=np.int64)
    for k in range(max(start, 0), end):
        out = out * 10 + (codes[:, k].astype(np.int64) - 48)
    return out


def _month_numbers(text: np.ndarray, start: int, end: int) -> np.ndarray:
    distinct, inverse = np.unique(np.strings.lower(np.strings.slice(text, start, end)), return_inverse=True)
    return np.array([_MONTH_WORDS.get(w, 0) for w in distinct.tolist()], dtype=np.int64)[inverse]


def _compose(year: np.ndarray, month: np.ndarray, day: np.ndarray, codes: np.ndarray,
             m: re.Match[str]) -> np.ndarray:
    """Timestamps from parts; impossible dates and times become NaT."""
    hour, minute, second = _num(codes, m, "H"), _num(codes, m, "M"), _num(codes, m, "S")
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1) & (year <= 9999)
    if m.start("ampm") >= 0:
        pm = (codes[:, m.start("ampm")] | 0x20) == ord("p")
        am = (codes[:, m.start("ampm")] | 0x20) == ord("a")
        ok &= (pm | am) & ((codes[:, m.start("ampm") + 1] | 0x20) == ord("m")) & (hour >= 1) & (hour <= 12)
        hour = np.where(pm & (hour < 12), hour + 12, np.where(am & (hour == 12), 0, hour))
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    months = ((np.where(ok, year, 1970) - 1970) * 12 + np.where(ok, month, 1) - 1).astype("datetime64[M]")
    start = months.astype("datetime64[D]")
    ok &= day <= ((months + 1).astype("datetime64[D]") - start).astype(np.int64)
    stamp = (start + (np.where(ok, day, 1) - 1).astype("timedelta64[D]")).astype("datetime64[us]")
    stamp = stamp + (hour * 3_600_000_000 + minute * 60_000_000 + second * 1_000_000).astype("timedelta64[us]")
    stamp[~ok] = np.datetime64("NaT")
    return stamp


def _store(values: np.ndarray, fmt: np.ndarray, idx: np.ndarray, got: np.ndarray, code: int) -> None:
    ok = ~np.isnat(got)
    values[idx[ok]] = got[ok]
    fmt[idx[ok]] = code


def decide_order(day_first: float, month_first: float, dayfirst: bool | None) -> tuple[bool, str]:
    """Day first or month first, for the whole log, and a note for the report, from the lines
    only valid as day/month (`day_first`) and only as month/day (`month_first`)."""
    if dayfirst is not None:
        return dayfirst, f"numeric dates read as {'day/month' if dayfirst else 'month/day'}/year (as requested)"
    if day_first and month_first:
        chosen = day_first > month_first
        return chosen, (f"numeric dates are written both ways ({day_first:.0f} lines only valid as "
                        f"day/month, {month_first:.0f} only as month/day): read as "
                        f"{'day/month' if chosen else 'month/day'}/year; the other lines are unparseable")
    if day_first:
        return True, ""
    if month_first:
        return False, ""
    return False, ("numeric dates never show a day above 12, so the order is ambiguous: read as "
                   "month/day/year; pass dayfirst=True (--day-first) if they are day/month/year")
