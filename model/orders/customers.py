"""An order/invoice log in, one row per customer out: recency, frequency, monetary, tenure, average
order value — with a report that accounts for every line.

    >>> result = customer_features("online_retail_invoices.csv")      # doctest: +SKIP
    >>> result.frame.columns.tolist()                                  # doctest: +SKIP
    ['customer_id', 'recency_days', 'frequency', 'monetary', 'tenure_days', 'avg_order_value']

The file's dialect (delimiter, decimal mark) is sniffed (`model.tables.sniff`) and the report says
how it was read, which column was taken for each role and how its dates were read, with examples.

Columns are recognised (`model.orders.columns`) unless named. Lines are then set aside, each for the
first reason that applies, in this order: exact duplicate line, no customer (a guest order),
unparseable date, future date (after `as_of`, or after today when `as_of` is not given),
unparseable amount (or quantity/price), and lines of customers whose only lines are returns (those
customers are reported and left out: a customer is never a negative spender). So
``lines_in == lines_kept + sum(dropped.values())``.

Returns and cancellations — a negative amount or quantity, or an invoice number starting with 'C'
followed by a digit (the UCI export's cancelled invoices) — are netted against the customer's
spending and are not orders. A customer whose returns exceed the purchases in the log (bought
before it started) gets monetary 0, and the report counts them.

Features, per customer with at least one purchase line, on whole days:
recency_days = as_of − last purchase day; tenure_days = as_of − first purchase day;
frequency = distinct orders with a purchase (distinct order ids; without an order column, distinct
timestamps); monetary = net spend; avg_order_value = monetary / frequency. A log without money
(customer and date only) gives recency, frequency and tenure (`TIME_FEATURES`). `as_of` defaults to
the day after the last valid purchase. Everything is vectorised over the distinct texts of each
column: a 1 M-line log takes about a second (benchmarks/bench_order_log.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date as Date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.tables.cells import to_numbers
from model.tables.chunks import read_chunks, sniff_file
from model.tables.codes import take
from model.tables.sniff import Dialect
from model.orders.columns import Roles, TransactionsError, recognise_columns
from model.orders.dates import FORMAT_EXAMPLES, parse_dates
from model.orders.lines import Encoded, cancelled, duplicated, encode, id_texts
from model.orders.report import DROP_REASONS, examples, log_report, no_purchases, skew_transforms

log = logging.getLogger(__name__)
FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "avg_order_value")
TIME_FEATURES = ("recency_days", "frequency", "tenure_days")  # a log without money
ID_COLUMN = "customer_id"
_DAY_US = 86_400_000_000
_NAT = np.iinfo(np.int64).min


@dataclass
class TxResult:
    frame: pd.DataFrame  # customer_id + the features, one row per customer, sorted by id
    report: dict[str, Any]
    transforms: dict[str, Any]  # which features to log1p for clustering, and why
    roles: Roles

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns of `frame`: `FEATURES`, or `TIME_FEATURES` for a log without money."""
        return features_of(self.roles.has_money)


def features_of(has_money: bool) -> tuple[str, ...]:
    """The per-customer features of a log with (or without) money."""
    return FEATURES if has_money else TIME_FEATURES


def customer_features(source: str | Path | pd.DataFrame, *, customer: str | None = None,
                      date: str | None = None, amount: str | None = None, quantity: str | None = None,
                      price: str | None = None, order: str | None = None,
                      as_of: str | Date | datetime | None = None, dayfirst: bool | None = None,
                      date_format: str | None = None, read: Dialect | None = None) -> TxResult:
    """Per-customer features of an order log (a CSV path, read strictly, or a frame). Column
    arguments override recognition; `date_format` (a `model.orders.dates.DATE_FORMATS` key) the
    date reading; `read`: how a frame's file was read, for the report. See the module docstring
    for cleaning and definitions."""
    path = None if isinstance(source, pd.DataFrame) else Path(source)
    if path is not None:
        read = sniff_file(path)
    enc = encode([source] if path is None else read_chunks(path, dialect=read))
    roles = recognise_columns(enc.names, enc.sample, customer=customer, date=date, amount=amount,
                              quantity=quantity, price=price, order=order)
    n = enc.rows
    reason = np.zeros(n, dtype=np.int8)  # 0: kept; else 1 + index in DROP_REASONS

    def drop(mask: np.ndarray, why: str) -> None:
        reason[(reason == 0) & mask] = DROP_REASONS.index(why) + 1

    drop(duplicated(enc), "exact_duplicate")
    ccodes, cuniq = enc.column(roles.customer)
    cmap, customers = pd.factorize(id_texts(cuniq))
    cust = take(cmap.astype(np.int64), ccodes, -1)
    drop(cust < 0, "no_customer")
    dcodes, duniq = enc.column(roles.date)
    parsed = parse_dates(duniq, dayfirst=dayfirst, date_format=date_format,
                         weights=np.bincount(dcodes[dcodes >= 0], minlength=len(duniq)))
    ts = take(parsed.values.view(np.int64), dcodes, _NAT)
    drop(ts == _NAT, "unparseable_date")
    cutoff, as_of_day = cutoff_days(as_of)
    drop(ts >= cutoff * _DAY_US, "future_date")
    amt, neg_qty = _amounts(enc, roles)
    drop(~np.isfinite(amt), "unparseable_amount")
    marker, marker_note = np.zeros(n, dtype=bool), None
    if roles.order:
        ocodes, ouniq = enc.column(roles.order)
        omap, orders = pd.factorize(id_texts(ouniq))
        okey = take(omap.astype(np.int64), ocodes, -1)
        marker = take(cancelled(np.asarray(orders, dtype=str)), okey, False)
        live = reason == 0
        if live.any() and marker[live].mean() > 0.5:
            marker_note = (f"most {roles.order} values start with 'C' and a digit: that is their "
                           "numbering, not a cancellation marker, so it was ignored")
            marker = np.zeros(n, dtype=bool)
    ok = reason == 0
    is_ret = ok & ((amt < 0) | neg_qty | marker)
    flipped = is_ret & (amt > 0)
    amt = np.where(flipped, -amt, amt)
    buy = ok & ~is_ret
    nc = len(customers)
    n_buy = np.bincount(cust[buy], minlength=nc)
    only_returns = (np.bincount(cust[ok], minlength=nc) > 0) & (n_buy == 0)
    drop(only_returns[np.maximum(cust, 0)] & (cust >= 0), "only_returns_customer")
    ok, is_ret = reason == 0, is_ret & (reason == 0)
    dropped = {k: int((reason == i + 1).sum()) for i, k in enumerate(DROP_REASONS)}
    where = examples(path, reason, enc)
    seen = {w: where(w, c or "") for w, c in (("unparseable_date", roles.date), ("future_date", roles.date),
                                              ("unparseable_amount", roles.amount or roles.quantity))}
    if not buy.any():
        raise TransactionsError(no_purchases(dropped, seen, roles))
    day = np.floor_divide(ts, _DAY_US)
    if as_of_day is None:
        as_of_day = int(day[buy].max()) + 1
    last = np.full(nc, np.iinfo(np.int64).min)
    first = np.full(nc, np.iinfo(np.int64).max)
    np.maximum.at(last, cust[buy], day[buy])
    np.minimum.at(first, cust[buy], day[buy])
    spend = np.bincount(cust[ok], weights=amt[ok], minlength=nc)
    if roles.order:
        missing = buy & (okey < 0)
        okey = np.where(missing, len(orders) + pd.factorize(ts)[0], okey)
        span = len(orders) + n
    else:
        okey, span = pd.factorize(ts)[0].astype(np.int64), n
    pairs = pd.unique(cust[buy] * np.int64(span) + okey[buy])
    freq = np.bincount(pairs // span, minlength=nc)
    has = n_buy > 0
    clipped = has & (spend < 0)
    monetary = np.round(np.maximum(spend, 0.0), 2)
    columns = {ID_COLUMN: np.asarray(customers, dtype=object)[has],
               "recency_days": (as_of_day - last[has]).astype(np.int64),
               "frequency": freq[has].astype(np.int64),
               "monetary": monetary[has],
               "tenure_days": (as_of_day - first[has]).astype(np.int64),
               "avg_order_value": np.round(monetary[has] / freq[has], 2)}
    frame = pd.DataFrame({c: columns[c] for c in (ID_COLUMN, *features_of(roles.has_money))})
    frame = frame.iloc[_id_order(frame[ID_COLUMN])].reset_index(drop=True)
    fmt = take(parsed.fmt.astype(np.int64), dcodes, -1)[ok]
    report = log_report(
        source=path.name if path else "a data frame", roles=roles, sample=enc.sample,
        read=read.as_report() if read else None, lines_in=n, dropped=dropped,
        counts={"lines_kept": int(ok.sum()), "purchase_lines": int(buy.sum()), "return_lines": int(is_ret.sum()),
                "customers": len(frame), "orders": len(pairs), "clipped": int(clipped.sum())},
        returns={"negative_amount_or_quantity": int((is_ret & ((amt < 0) & ~flipped | neg_qty)).sum()),
                 "cancelled_invoice_marker": int((is_ret & marker).sum()),
                 "marker_with_positive_amount_negated": int((flipped & ok).sum()),
                 "amount_netted": round(float(amt[is_ret].sum()), 2),
                 **({"note": marker_note} if marker_note else {})},
        reading=parsed.reading, format_lines=np.bincount(fmt[fmt >= 0], minlength=len(FORMAT_EXAMPLES)).tolist(),
        where=seen, only_returns=[str(c) for c in np.asarray(customers)[only_returns][:10]],
        only_returns_count=int(only_returns.sum()), as_of_day=as_of_day, as_of_given=as_of is not None,
        cutoff_day=cutoff)
    log.debug("order log: %d lines -> %d customers", n, len(frame))
    return TxResult(frame=frame, report=report, transforms=skew_transforms(frame), roles=roles)


def _amounts(enc: Encoded, roles: Roles) -> tuple[np.ndarray, np.ndarray]:
    """Amount per line (NaN when unparseable; 0 in a log without money) and whether the quantity
    is negative."""
    def numbers(col: str) -> np.ndarray:
        codes, uniq = enc.column(col)
        return take(to_numbers(uniq)[0], codes, np.nan)

    if roles.amount:
        return numbers(roles.amount), np.zeros(enc.rows, dtype=bool)
    if not roles.has_money:
        return np.zeros(enc.rows), np.zeros(enc.rows, dtype=bool)
    qty, unit = numbers(roles.quantity), numbers(roles.price)
    return qty * unit, qty < 0


def cutoff_days(as_of: Any) -> tuple[int, int | None]:
    """(first day counted as future, as_of day or None) as days since 1970-01-01."""
    if as_of is None:
        today = datetime.now(timezone.utc).date()
        return (today - Date(1970, 1, 1)).days + 1, None
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise TransactionsError(f"as_of must be a date like 2011-12-10, got {str(as_of)[:100]!r}")
    day = (stamp.date() - Date(1970, 1, 1)).days
    return day + 1, day


def _id_order(ids: pd.Series) -> np.ndarray:
    """Customers sorted by id: numerically when every id is a whole number, else as text."""
    text = ids.astype(str)
    if text.str.fullmatch(r"\d{1,18}").all():
        return np.argsort(text.astype(np.int64).to_numpy(), kind="stable")
    return np.argsort(text.to_numpy(dtype=object), kind="stable")
