"""The order-log report: one shape for every engine (`log_report`), its parts — how the file was read,
where the set-aside lines are (file line numbers), which features get a log transform for
clustering — and the report as text for the terminal (`format_report`)."""
from __future__ import annotations

import csv
import io
from datetime import date as Date
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from model.contract.errors import MAX_ECHO, echo
from model.orders.columns import Roles
from model.orders.dates import KNOWN_FORMATS, Reading, format_name, parse_dates

DROP_REASONS = ("exact_duplicate", "no_customer", "unparseable_date", "future_date",
                "unparseable_amount", "only_returns_customer")
DROP_TEXT = {"exact_duplicate": "exact duplicate lines", "no_customer": "no customer (guest orders)",
             "unparseable_date": "unparseable date", "future_date": "future date",
             "unparseable_amount": "unparseable amount", "only_returns_customer":
             "lines of customers with only returns"}
MAX_EXAMPLES = 10
_EPOCH_DAY = Date(1970, 1, 1)
MONEY_COUNT = ("frequency", "monetary", "avg_order_value")  # log1p candidates
SKEW_LIMIT = 1.0


def log_report(*, source: str, roles: Roles, sample: pd.DataFrame, read: Mapping[str, str] | None,
               lines_in: int, dropped: Mapping[str, int], counts: Mapping[str, int], returns: dict[str, Any],
               reading: Reading, format_lines: Sequence[int], where: Mapping[str, dict[str, Any]],
               only_returns: Sequence[str], only_returns_count: int, as_of_day: int, as_of_given: bool,
               cutoff_day: int) -> dict[str, Any]:
    """The report of an order log turned into customers, whichever engine did it. `counts`:
    lines_kept, purchase_lines, return_lines, customers, orders, clipped (customers whose net
    spend was clipped to 0); `format_lines`: kept lines per date format code; `where`: the
    examples of unparseable_date, future_date and unparseable_amount lines."""
    names = {code: format_name(code, reading.dayfirst) for code in range(len(format_lines))}
    return {
        "source": source,
        **({"read": dict(read)} if read else {}),
        "columns": role_examples(roles, sample),
        "column_notes": {k: v for k, v in roles.how.items() if k not in roles.used()},
        "money": roles.has_money,
        "lines_in": int(lines_in),
        "dropped": {k: int(dropped.get(k, 0)) for k in DROP_REASONS},
        "lines_kept": int(counts["lines_kept"]),
        "purchase_lines": int(counts["purchase_lines"]), "return_lines": int(counts["return_lines"]),
        "returns": returns,
        "dates": {"formats": {names[c]: int(n) for c, n in enumerate(format_lines) if n},
                  "examples": date_examples(sample[roles.date], reading) if roles.date in sample else {},
                  "notes": list(reading.notes),
                  **({"date_format": reading.requested} if reading.requested else {}),
                  "unparseable": where["unparseable_date"], "future": where["future_date"],
                  "future_means": f"dated after {day_text(cutoff_day - 1)}"},
        "amounts_unparseable": where["unparseable_amount"],
        "customers_only_returns": {"count": int(only_returns_count), "examples": [str(c) for c in only_returns[:10]]},
        "customers_net_spend_clipped_to_zero": int(counts["clipped"]),
        "customers": int(counts["customers"]),
        "orders": int(counts["orders"]),
        "order_definition": (f"distinct {roles.order} with a purchase line" if roles.order
                             else f"distinct {roles.date} per customer (no order column)"),
        "as_of": day_text(as_of_day),
        "as_of_source": "given" if as_of_given else "the day after the last valid purchase",
    }


def day_text(day: int) -> str:
    """A day counted from 1970-01-01, as ISO text."""
    return str(_EPOCH_DAY + pd.Timedelta(days=int(day)).to_pytimedelta())


def role_examples(roles: Roles, sample: pd.DataFrame) -> dict[str, dict[str, str]]:
    """role → {column, how, example}: the column taken for each role, why, and its first
    non-empty value in the sample."""
    out = roles.as_report()
    for info in out.values():
        column = sample[info["column"]] if info["column"] in sample.columns else pd.Series([], dtype=object)
        present = column.dropna().astype(str).str.strip()
        present = present[present != ""]
        if len(present):
            info["example"] = present.iloc[0][:MAX_ECHO]
    return out


def date_examples(texts: pd.Series, reading: Reading) -> dict[str, str]:
    """format name → "'19970101' → 1997-01-01": the first sample text read in each format."""
    uniques = pd.unique(texts.dropna().astype(str))
    parsed = parse_dates(np.asarray(uniques, dtype=object), reading=reading)
    out: dict[str, str] = {}
    for code, name in parsed.format_names().items():
        hit = np.flatnonzero(parsed.fmt == code)
        if len(hit):
            stamp = pd.Timestamp(parsed.values[hit[0]])
            shown = stamp.date().isoformat() if stamp == stamp.normalize() else str(stamp)
            out[name] = f"{echo(str(uniques[hit[0]]).strip())} → {shown}"
    return out


def no_purchases(dropped: Mapping[str, int], where: Mapping[str, dict[str, Any]], roles: Roles) -> str:
    """Why an order log gives no customer at all: the counts per reason, an example of the main
    one and — for dates — the formats known."""
    main = max(dropped, key=lambda k: dropped[k])
    text = ("no purchase lines are left after cleaning: "
            + ", ".join(f"{DROP_TEXT[k]}: {n:,}" for k, n in dropped.items() if n))
    shown = (where.get(main) or {}).get("examples") or []
    column = {"unparseable_date": roles.date, "future_date": roles.date,
              "unparseable_amount": roles.amount or roles.quantity}.get(main)
    if shown and column:
        first = shown[0]
        at = f"line {first['line']}" if "line" in first else f"row {first['row']}"
        text += f"; e.g. {at}: {echo(first['value'])} in column {echo(column)}"
    if main == "unparseable_date":
        text += f". Dates known: {KNOWN_FORMATS}"
    return text


def examples(path: Path | None, reason: np.ndarray, enc: Any) -> Callable[[str, str], dict[str, Any]]:
    """A function (reason, column) → {count, examples: [{line|row, value}]} for the report.
    Lines are physical file lines (header = line 1); for a frame, rows count from 1."""
    lines: dict[str, np.ndarray | None] = {}

    def where(why: str, column: str) -> dict[str, Any]:
        rows = np.flatnonzero(reason == DROP_REASONS.index(why) + 1)
        out: dict[str, Any] = {"count": int(len(rows)), "examples": []}
        if not len(rows) or not column:
            return out
        rows = rows[:MAX_EXAMPLES]
        codes, uniq = enc.column(column)
        values = [str(uniq[c])[:MAX_ECHO] if c >= 0 else "" for c in codes[rows]]
        if path is not None and "all" not in lines:
            lines["all"] = record_lines(path)
        at = lines.get("all")
        if at is not None and len(at) == len(reason):
            out["examples"] = [{"line": int(at[r]), "value": v} for r, v in zip(rows, values)]
        else:
            out["examples"] = [{"row": int(r) + 1, "value": v} for r, v in zip(rows, values)]
        return out

    return where


def record_lines(path: Path) -> np.ndarray:
    """The physical line on which each data record of a CSV starts, counted as the strict reader
    counts (blank lines skipped, quoted fields may span lines)."""
    body = Path(path).read_bytes()
    if b'"' in body:  # quoted fields may hold line breaks: let the csv module count
        starts, last = [], 0
        reader = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
        for row in reader:
            start, last = last + 1, reader.line_num
            if any(cell.strip() for cell in row) or len(row) > 1:
                starts.append(start)
        return np.array(starts[1:], dtype=np.int64)
    arr = np.frombuffer(body, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(arr)]))
    length = ends - starts - (arr[np.maximum(ends - 1, 0)] == 13)
    blank = length <= 0
    for i in np.flatnonzero(~blank & np.isin(arr[np.minimum(starts, len(arr) - 1)], (32, 9))):
        blank[i] = not body[starts[i]:ends[i]].strip()
    if body.startswith(b"\xef\xbb\xbf"):
        blank[0] = False
    return np.flatnonzero(~blank)[1:] + 1


def skew_transforms(frame: pd.DataFrame) -> dict[str, Any]:
    """Which money/count features are skewed enough (sample skewness > SKEW_LIMIT) to be log1p-
    transformed before clustering, with the reason for each feature. Profiles stay in units."""
    return transforms_from_skew({c: float(frame[c].skew()) if len(frame) > 2 else 0.0
                                 for c in frame.columns if c != "customer_id"})


def transforms_from_skew(skew: dict[str, float]) -> dict[str, Any]:
    """`skew_transforms` from each feature's sample skewness (pandas' adjusted G1), however it
    was computed (the Spark engine aggregates it)."""
    skew = {c: s if np.isfinite(s) else 0.0 for c, s in skew.items()}  # no spread: no skew
    log1p, why = [], {}
    for col, s in skew.items():
        if col in MONEY_COUNT and s > SKEW_LIMIT:
            log1p.append(col)
            why[col] = (f"skewness {s:.1f} > {SKEW_LIMIT:g}: a few customers have far more than the "
                        "rest, so distances would be about them alone; log1p evens the scale")
        elif col in MONEY_COUNT:
            why[col] = f"skewness {s:.1f} <= {SKEW_LIMIT:g}: kept as is"
        else:
            why[col] = f"skewness {s:.1f}; a duration bounded by the log's span: kept as is"
    return {"log1p": log1p, "skewness": {c: round(s, 3) for c, s in skew.items()}, "why": why,
            "rule": f"log1p for money/count features ({', '.join(MONEY_COUNT)}) with skewness > "
                    f"{SKEW_LIMIT:g}; profiles stay in original units"}


def format_report(report: dict[str, Any]) -> str:
    """The order-log report as lines for the terminal."""
    out = [f"order log: {report['source']}"]
    for what, how in report.get("read", {}).items():
        out.append(f"  {what}: {how}")
    for role, got in report["columns"].items():
        example = f"; e.g. {echo(got['example'])}" if got.get("example") else ""
        out.append(f"  {role}: {got['column']} ({got['how']}{example})")
    for what, why in report.get("column_notes", {}).items():
        out.append(f"  {what}: {why}")
    dates = report["dates"]
    for name, n in dates["formats"].items():
        example = dates.get("examples", {}).get(name)
        out.append(f"  dates read as {name}: {n:,} kept lines" + (f" (e.g. {example})" if example else ""))
    out.append(f"lines in: {report['lines_in']:,}")
    for key, n in report["dropped"].items():
        if n:
            out.append(f"  set aside, {DROP_TEXT[key]}: {n:,}")
    out.append(f"lines kept: {report['lines_kept']:,} ({report['purchase_lines']:,} purchase lines, "
               f"{report['return_lines']:,} returns/cancellations netted, not counted as orders)")
    for key in ("unparseable", "future"):
        got = report["dates"][key]
        if got["count"]:
            shown = ", ".join(f"{'line' if 'line' in e else 'row'} {e.get('line', e.get('row'))}: "
                              f"{e['value']!r}" for e in got["examples"])
            out.append(f"  {key} dates: {got['count']:,} (e.g. {shown})")
    for note in report["dates"]["notes"]:
        out.append(f"  note: {note}")
    only = report["customers_only_returns"]
    if only["count"]:
        out.append(f"customers with only returns (left out): {only['count']:,} "
                   f"(e.g. {', '.join(only['examples'][:5])})")
    if report["customers_net_spend_clipped_to_zero"]:
        out.append(f"customers whose returns exceed their purchases in the log (monetary set to 0): "
                   f"{report['customers_net_spend_clipped_to_zero']:,}")
    out.append(f"customers: {report['customers']:,}; orders: {report['orders']:,} "
               f"({report['order_definition']}); as of {report['as_of']} ({report['as_of_source']})")
    return "\n".join(out)
