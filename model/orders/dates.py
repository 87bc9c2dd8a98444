"""Dates of an order log, written in any of several formats, read per distinct text — the column's
reading decided once, from the evidence of all its lines.

Accepted, per text (`FORMAT_EXAMPLES`):

1. ISO 8601: ``2011-12-09``, ``2011-12-09 12:50:00``, ``2011-12-09T12:50Z`` (an offset is
   converted to UTC), and ``2011/12/09``;
2. numeric day and month: ``12/9/2011 8:26``, ``09.12.2011``, ``9-12-11 2:30 PM``. Whether the
   first number is the day or the month is decided for the whole column from the texts where only
   one reading is a valid date (a first number above 12 is a day); with no such text it is read as
   month/day (the UCI export's order) and the report says so;
3. a month name: ``9 Dec 2011``, ``09-Dec-2011 10:15``, ``Dec 9, 2011``, ``December 9th 2011``;
4. a bare number, one kind per column: ``yyyymmdd`` (``19970101``, CDNOW's), Excel serial days
   (``35431``) or epoch seconds (``852076800``). The kind written on the most lines is read when
   bare numbers are at least half the column's dates; the others are unparseable and said so.

`date_format` (``--date-format``) overrides the decision: only that format is read. Anything
else, and impossible dates (30 February, 25 o'clock), is unparseable: the caller reports it per
line, with the formats known (`KNOWN_FORMATS`).

Engines that see the texts in pieces (Spark's batches) compute `date_evidence` per text, sum the
lines per evidence code over all pieces, `decide_reading` once, and parse each piece with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from model.orders.dateshapes import EPOCH, ISO, MONTH_NAME, NUMERIC, SERIAL, YMD8, groups, num, parse_group, prepare

__all__ = ["DATE_FORMATS", "EPOCH", "ISO", "KNOWN_FORMATS", "MONTH_NAME", "NUMERIC", "SERIAL", "YMD8",
           "ParsedDates", "Reading", "date_evidence", "decide_reading", "format_name", "parse_dates"]

# evidence codes (`date_evidence`): a format's own code, or for numeric day/month texts one of these
AMBIGUOUS, DAY_FIRST, MONTH_FIRST = 10, 11, 12
NOT_A_DATE = -1
BARE_NUMBERS = (YMD8, SERIAL, EPOCH)
FORMAT_EXAMPLES = {ISO: "ISO 8601 (2011-12-09 12:50:00)", NUMERIC: "numeric day/month",
                   MONTH_NAME: "month name (9 Dec 2011)", YMD8: "yyyymmdd (20111209)",
                   SERIAL: "Excel serial day numbers (40886)", EPOCH: "epoch seconds (1323388800)"}
# --date-format values → (format, day first)
DATE_FORMATS: dict[str, tuple[int, bool | None]] = {
    "iso": (ISO, None), "yyyymmdd": (YMD8, None), "dd/mm/yyyy": (NUMERIC, True),
    "mm/dd/yyyy": (NUMERIC, False), "month-name": (MONTH_NAME, None), "excel": (SERIAL, None),
    "epoch": (EPOCH, None)}
KNOWN_FORMATS = ("ISO 8601 (2011-12-09, 2011-12-09 12:50:00, 2011-12-09T12:50Z), dd/mm/yyyy or "
                 "mm/dd/yyyy (9/12/2011 8:26, 09.12.2011), month names (9 Dec 2011), yyyymmdd (20111209), "
                 "Excel serial days (40886) and epoch seconds (1323388800); name one with --date-format "
                 f"({', '.join(DATE_FORMATS)})")


@dataclass(frozen=True)
class Reading:
    """How a date column is read: the formats accepted, day or month first, and why (notes)."""
    formats: tuple[int, ...]
    dayfirst: bool | None = None  # None: no numeric day/month text (or not accepted)
    notes: tuple[str, ...] = ()
    requested: str | None = None  # the --date-format that decided it, if any


@dataclass
class ParsedDates:
    """Per distinct text: the timestamp (NaT when unparseable) and the format that read it (-1)."""
    values: np.ndarray  # datetime64[us]
    fmt: np.ndarray  # int8 format code or -1
    reading: Reading = field(default_factory=lambda: Reading(formats=()))

    @property
    def dayfirst(self) -> bool | None:
        return self.reading.dayfirst

    @property
    def notes(self) -> list[str]:
        return list(self.reading.notes)

    def format_names(self) -> dict[int, str]:
        """format code → its name in the report."""
        return {code: format_name(code, self.reading.dayfirst) for code in FORMAT_EXAMPLES}


def format_name(code: int, dayfirst: bool | None = None) -> str:
    """A format's name for people ('numeric day/month/year', 'yyyymmdd (20111209)')."""
    if code == NUMERIC:
        return f"numeric {'day/month/year' if dayfirst else 'month/day/year'}"
    return FORMAT_EXAMPLES[code]


def parse_dates(texts: np.ndarray, *, dayfirst: bool | None = None, weights: np.ndarray | None = None,
                date_format: str | None = None, reading: Reading | None = None) -> ParsedDates:
    """Parse distinct date texts (object array; None/"" are unparseable). Without a `reading`,
    one is decided from these texts (`weights`: lines per text) with `dayfirst` / `date_format`."""
    text, codes = prepare(texts)
    if reading is None:
        evidence = _evidence(text, codes)
        w = np.ones(len(text)) if weights is None else np.asarray(weights, dtype=float)
        counts = {int(c): float(w[evidence == c].sum()) for c in np.unique(evidence)}
        reading = decide_reading(counts, dayfirst=dayfirst, date_format=date_format)
    values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    fmt = np.full(len(text), -1, dtype=np.int8)
    for kind, idx, m in groups(codes):
        if kind in reading.formats:
            got = parse_group(kind, text[idx], codes[idx], m, bool(reading.dayfirst))
            ok = ~np.isnat(got)
            values[idx[ok]] = got[ok]
            fmt[idx[ok]] = kind
    return ParsedDates(values=values, fmt=fmt, reading=reading)


def date_evidence(texts: np.ndarray) -> np.ndarray:
    """Per text (int8): the format its shape can be read in (for a bare yyyymmdd number, only when
    it is a valid date), `AMBIGUOUS` / `DAY_FIRST` / `MONTH_FIRST` for a numeric day/month text
    (first number above 12: only the day/month reading is a date), `NOT_A_DATE` otherwise."""
    return _evidence(*prepare(texts))


def _evidence(text: np.ndarray, codes: np.ndarray) -> np.ndarray:
    out = np.full(len(text), NOT_A_DATE, dtype=np.int8)
    for kind, idx, m in groups(codes):
        if kind == NUMERIC:
            a, b = num(codes[idx], m, "a"), num(codes[idx], m, "b")
            day_first = (a > 12) & (a <= 31) & (b >= 1) & (b <= 12)
            month_first = (b > 12) & (b <= 31) & (a >= 1) & (a <= 12)
            out[idx] = np.where(day_first, DAY_FIRST, np.where(month_first, MONTH_FIRST, AMBIGUOUS))
        elif kind == YMD8:
            out[idx[~np.isnat(parse_group(YMD8, text[idx], codes[idx], m, False))]] = YMD8
        else:
            out[idx] = kind
    return out


def decide_reading(lines: Mapping[int, float], *, dayfirst: bool | None = None,
                   date_format: str | None = None) -> Reading:
    """The column's `Reading` from the lines per evidence code (`date_evidence`), unless
    `date_format` (a `DATE_FORMATS` key) or `dayfirst` says."""
    if date_format is not None:
        if date_format not in DATE_FORMATS:
            raise ValueError(f"--date-format must be one of {', '.join(DATE_FORMATS)}; got {date_format!r}")
        kind, first = DATE_FORMATS[date_format]
        return Reading(formats=(kind,), dayfirst=first, notes=(f"dates read as {date_format} (as requested)",),
                       requested=date_format)
    numeric = sum(lines.get(c, 0.0) for c in (AMBIGUOUS, DAY_FIRST, MONTH_FIRST))
    bare = {k: lines.get(k, 0.0) for k in BARE_NUMBERS if lines.get(k, 0.0)}
    dated = sum(v for c, v in lines.items() if c != NOT_A_DATE)
    formats, notes = [ISO, NUMERIC, MONTH_NAME], []
    if bare:
        kind = max(bare, key=lambda k: bare[k])
        if bare[kind] * 2 >= dated:
            formats.append(kind)
        others = [f"{bare[k]:,.0f} lines look like {FORMAT_EXAMPLES[k]}" for k in bare if k not in formats]
        if others:
            notes.append(f"dates written as bare numbers are read as {FORMAT_EXAMPLES[kind]}" if kind in formats
                         else "too few dates are bare numbers to read them as dates")
            notes[-1] += f"; {'; '.join(others)} and are unparseable (name the format with --date-format)"
    used = None
    if numeric:
        used, note = decide_order(lines.get(DAY_FIRST, 0.0), lines.get(MONTH_FIRST, 0.0), dayfirst)
        notes += [note] if note else []
    return Reading(formats=tuple(formats), dayfirst=used, notes=tuple(notes))


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
                   "month/day/year; pass --date-format dd/mm/yyyy (or --day-first) if they are day/month/year")
