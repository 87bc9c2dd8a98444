"""Date texts read by their *shape*, with numpy: the machinery under `model.orders.dates`.

Every text's shape is its characters with digits → '9' and letters → 'a' (``12/9/2011 8:26`` →
``99/9/9999 9:99``). In one shape every field sits at the same position, so the numbers of a
whole group of texts are read at once, without a regular expression or strptime per text.
Texts are capped *before* they become a fixed-width array (`prepare`): a 150,000-character cell
costs its own bytes, never (distinct texts × longest text).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

ISO, NUMERIC, MONTH_NAME, YMD8, SERIAL, EPOCH = range(6)  # format codes
MAX_WIDTH = 40  # no date text is longer
_TIME = r"(?:(?P<sep> +|a)(?P<H>9{1,2}):(?P<M>99)(?::(?P<S>99))?(?: ?(?P<ampm>aa))?)?"
SHAPES = (
    (ISO, re.compile(r"^9999[-/]9{1,2}[-/]9{1,2}(?:$|[ a])")),  # a: the T of 2011-12-09T12:50
    (NUMERIC, re.compile(rf"^(?P<a>9{{1,2}})(?P<s1>[/.\-])(?P<b>9{{1,2}})(?P=s1)(?P<Y>9999|99){_TIME}$")),
    (MONTH_NAME, re.compile(rf"^(?P<d>9{{1,2}})(?:aa)?[ \-](?P<mon>a{{3,9}})\.?[ \-,]+(?P<Y>9999){_TIME}$")),
    (MONTH_NAME, re.compile(rf"^(?P<mon>a{{3,9}})\.?[ \-](?P<d>9{{1,2}})(?:aa)?,?[ \-]+(?P<Y>9999){_TIME}$")),
    (YMD8, re.compile(r"^(?P<Y>9999)(?P<m>99)(?P<d>99)$")),  # 19970101
    (SERIAL, re.compile(r"^99999(?:\.9+)?$")),  # Excel's day number: 35431 is 1997-01-01
    (EPOCH, re.compile(r"^9{9,10}(?:\.9+)?$")),  # seconds since 1970-01-01 UTC
)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_MONTH_WORDS = {**{m[:3]: i + 1 for i, m in enumerate(_MONTHS)}, **{m: i + 1 for i, m in enumerate(_MONTHS)},
                "sept": 9}
_SHAPE_OF = np.array([57 if chr(c).isdigit() else 97 if chr(c).isalpha() else c for c in range(128)]
                     + [63], dtype=np.uint8)  # digits → '9', letters → 'a', non-ASCII → '?'
_EXCEL_EPOCH = np.datetime64("1899-12-30", "us")  # serial 1 = 1900-01-01 (after Excel's 29 Feb 1900)
_DAY_US = 86_400_000_000


def prepare(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stripped fixed-width texts (blank for missing and over-long ones) and their code points.
    Over-long texts are blanked while still Python strings: the array is never wider than
    `MAX_WIDTH` characters."""
    s = pd.Series(np.asarray(texts, dtype=object), dtype=object)
    s = s.where(s.notna(), "").astype(str).str.strip()
    lengths = s.str.len()
    s = s.where(lengths <= MAX_WIDTH, "")
    width = max(int(lengths.where(lengths <= MAX_WIDTH, 0).max()) if len(s) else 1, 1)
    text = s.to_numpy(dtype=f"<U{width}")
    return text, text.view(np.uint32).reshape(len(text), width)


def groups(codes: np.ndarray) -> list[tuple[int, np.ndarray, re.Match[str]]]:
    """(format, rows, the shape's match) for every shape some format accepts."""
    rows = _SHAPE_OF[np.minimum(codes, 128)].view(f"S{codes.shape[1]}").ravel()
    shape_of, distinct = pd.factorize(rows)
    out = []
    for s, shape in enumerate(d.decode("ascii").rstrip("\x00") for d in distinct):
        for kind, pattern in SHAPES:
            m = pattern.match(shape)
            if m:
                out.append((kind, np.flatnonzero(shape_of == s), m))
                break
    return out


def num(codes: np.ndarray, m: re.Match[str], group: str) -> np.ndarray:
    """The number written at a group's position in every text of one shape (0 when absent)."""
    start, end = (m.start(group), m.end(group)) if group in m.re.groupindex else (-1, -1)
    out = np.zeros(len(codes), dtype=np.int64)
    for k in range(max(start, 0), end):
        out = out * 10 + (codes[:, k].astype(np.int64) - 48)
    return out


def month_numbers(text: np.ndarray, m: re.Match[str]) -> np.ndarray:
    """1–12 for the month word of each text of one shape (0 when it is no month)."""
    words = np.strings.lower(np.strings.slice(text, m.start("mon"), m.end("mon")))
    distinct, inverse = np.unique(words, return_inverse=True)
    return np.array([_MONTH_WORDS.get(w, 0) for w in distinct.tolist()], dtype=np.int64)[inverse]


def clock(codes: np.ndarray, m: re.Match[str]) -> tuple[np.ndarray, np.ndarray]:
    """(microseconds into the day, valid) of the time written in each text of one shape."""
    hour, minute, second = num(codes, m, "H"), num(codes, m, "M"), num(codes, m, "S")
    ok = np.ones(len(codes), dtype=bool)
    at = m.start("ampm") if "ampm" in m.re.groupindex else -1
    if at >= 0:
        pm = (codes[:, at] | 0x20) == ord("p")
        am = (codes[:, at] | 0x20) == ord("a")
        ok &= (pm | am) & ((codes[:, at + 1] | 0x20) == ord("m")) & (hour >= 1) & (hour <= 12)
        hour = np.where(pm & (hour < 12), hour + 12, np.where(am & (hour == 12), 0, hour))
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    return hour * 3_600_000_000 + minute * 60_000_000 + second * 1_000_000, ok


def compose(year: np.ndarray, month: np.ndarray, day: np.ndarray, time_us: np.ndarray | int = 0,
            ok: np.ndarray | bool = True) -> np.ndarray:
    """Timestamps (datetime64[us]) from parts; impossible dates become NaT."""
    ok = ok & (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1) & (year <= 9999)
    months = ((np.where(ok, year, 1970) - 1970) * 12 + np.where(ok, month, 1) - 1).astype("datetime64[M]")
    start = months.astype("datetime64[D]")
    ok &= day <= ((months + 1).astype("datetime64[D]") - start).astype(np.int64)
    stamp = (start + (np.where(ok, day, 1) - 1).astype("timedelta64[D]")).astype("datetime64[us]")
    stamp = stamp + np.asarray(time_us, dtype=np.int64).astype("timedelta64[us]")
    stamp[~ok] = np.datetime64("NaT")
    return stamp


def from_number(text: np.ndarray, kind: int) -> np.ndarray:
    """Excel serial days (`SERIAL`) or epoch seconds (`EPOCH`) → timestamps."""
    value = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=float)
    unit = _DAY_US if kind == SERIAL else 1_000_000
    us = np.round(value * unit)
    ok = np.isfinite(us)
    start = _EXCEL_EPOCH if kind == SERIAL else np.datetime64("1970-01-01", "us")
    stamp = start + np.where(ok, us, 0).astype(np.int64).astype("timedelta64[us]")
    stamp[~ok] = np.datetime64("NaT")
    return stamp


def parse_group(kind: int, text: np.ndarray, codes: np.ndarray, m: re.Match[str],
                dayfirst: bool) -> np.ndarray:
    """The timestamps of one shape's texts read in format `kind` (NaT where impossible)."""
    if kind == ISO:
        got = pd.to_datetime(pd.Series(np.strings.replace(text, "/", "-")), format="ISO8601",
                             errors="coerce", utc=True).dt.tz_localize(None)
        return got.to_numpy("datetime64[us]")
    if kind in (SERIAL, EPOCH):
        return from_number(text, kind)
    time_us, ok = clock(codes, m)
    if kind == MONTH_NAME:
        return compose(num(codes, m, "Y"), month_numbers(text, m), num(codes, m, "d"), time_us, ok)
    if kind == YMD8:
        year = num(codes, m, "Y")
        return compose(year, num(codes, m, "m"), num(codes, m, "d"), 0, (year >= 1900) & (year <= 2199))
    first, second = num(codes, m, "a"), num(codes, m, "b")
    day, month = (first, second) if dayfirst else (second, first)
    year = num(codes, m, "Y")
    return compose(np.where(year < 100, 2000 + year, year), month, day, time_us, ok)
