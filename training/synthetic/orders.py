"""A synthetic order log shaped like the UCI "Online Retail" export, with planted buying behaviours.

One line per product per invoice: InvoiceNo, StockCode, Description, Quantity, InvoiceDate,
UnitPrice, CustomerID, Country. Each customer follows one planted behaviour (`BEHAVIOURS`: how many
orders, when the first and the last one were, how much goes in a basket); the planted behaviour of
every customer is returned separately so tests can check that the features recover it.

The mess real exports have, each counted in `Planted.mess`: exact duplicate lines, guest orders
(no CustomerID), returns as cancelled invoices ('C' + number, negative quantity), customers whose
only lines in the window are returns, a few unparseable and future-dated dates, and dates written
in three formats (ISO, the UCI export's month/day/year, and '05 Mar 2024 14:02'). Deterministic
per seed; nothing is random at import.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
           "CustomerID", "Country")
DEFAULT_AS_OF = date(2025, 1, 1)
WINDOW_DAYS = 365  # the log covers the year before as_of
FIRST_INVOICE = 536_365


@dataclass(frozen=True)
class Behaviour:
    share: float
    orders: tuple[int, int]  # inclusive range of purchase orders in the window
    first_days_ago: tuple[int, int]  # first order, days before as_of
    last_days_ago: tuple[int, int]  # last order, days before as_of
    basket: float  # quantity multiplier


BEHAVIOURS: dict[str, Behaviour] = {
    "champions": Behaviour(0.12, (12, 30), (250, 360), (1, 14), 3.0),
    "loyal": Behaviour(0.18, (6, 12), (200, 360), (5, 45), 1.5),
    "new": Behaviour(0.12, (1, 2), (2, 30), (1, 30), 1.0),
    "at_risk_big_spenders": Behaviour(0.10, (8, 20), (280, 360), (130, 200), 3.0),
    "occasional": Behaviour(0.28, (2, 4), (100, 360), (30, 150), 0.7),
    "lost": Behaviour(0.20, (1, 2), (250, 360), (240, 360), 0.6),
}
RETURNS_ONLY = "returns_only"  # extra customers whose only lines are returns (reported, excluded)
_ADJ = ("WHITE", "RED", "VINTAGE", "SET OF 3", "JUMBO", "PINK", "REGENCY", "HEART", "PAPER", "GLASS")
_NOUN = ("MUG", "LANTERN", "BAG", "CAKESTAND", "BUNTING", "CANDLE", "TIN", "CLOCK", "NAPKINS", "FRAME")
_COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands")
_COUNTRY_P = (0.88, 0.03, 0.03, 0.03, 0.015, 0.015)


@dataclass
class Planted:
    """The planted behaviour per customer id, and how many lines of each kind of mess were made."""
    labels: pd.DataFrame  # customer_id (str), behaviour
    as_of: date
    mess: dict[str, int] = field(default_factory=dict)


def generate_transactions(n_customers: int, *, seed: int = 7, as_of: date = DEFAULT_AS_OF,
                          ) -> tuple[pd.DataFrame, Planted]:
    """Return (order log as text columns like the UCI export, planted behaviours and mess counts).

    `as_of` is the day the log is read: every valid line is dated before it, so the default
    `as_of` of `model.orders.customers` (the day after the last valid order) lands on or before it."""
    if n_customers < len(BEHAVIOURS):
        raise ValueError(f"n_customers must be at least {len(BEHAVIOURS)}, got {n_customers}")
    rng = np.random.default_rng(seed)
    names = list(BEHAVIOURS)
    beh = _assign(rng, n_customers, [BEHAVIOURS[n].share for n in names])
    ids = rng.permutation(np.arange(12_346, 12_346 + n_customers + n_customers // 100 + 1))
    cust_ids, extra_ids = ids[:n_customers], ids[n_customers:]
    orders = _orders(rng, beh, names)  # customer, minutes before as_of
    n_guest = max(1, len(orders["cust"]) // 50)
    orders["cust"] = np.concatenate([orders["cust"], np.full(n_guest, -1)])
    orders["ago"] = np.concatenate([orders["ago"], _minutes(rng, rng.integers(1, WINDOW_DAYS, n_guest))])
    orders["basket"] = np.concatenate([orders["basket"], np.ones(n_guest)])
    lines = _lines(rng, orders)
    lines = _add_returns(rng, lines, extra_ids)
    frame, mess = _to_text(rng, lines, cust_ids, extra_ids, as_of)
    mess.update({"guest_orders": int(n_guest), "returns_only_customers": int(len(extra_ids))})
    labels = pd.DataFrame({"customer_id": np.concatenate([cust_ids, extra_ids]).astype(str),
                           "behaviour": np.concatenate([np.array(names, dtype=object)[beh],
                                                        np.full(len(extra_ids), RETURNS_ONLY, dtype=object)])})
    return frame, Planted(labels=labels, as_of=as_of, mess=mess)


def _assign(rng: np.random.Generator, n: int, shares: list[float]) -> np.ndarray:
    """Exactly round(share * n) customers per behaviour (at least one each), shuffled."""
    counts = np.maximum(1, np.floor(np.array(shares) / sum(shares) * n).astype(int))
    counts[int(np.argmax(counts))] += n - counts.sum()
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


def _minutes(rng: np.random.Generator, days_ago: np.ndarray) -> np.ndarray:
    """Minutes before as_of midnight for a time between 08:00 and 18:00 on `days_ago` days before."""
    return days_ago * 1440 - rng.integers(8 * 60, 18 * 60, len(days_ago))


def _orders(rng: np.random.Generator, beh: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    spec = [BEHAVIOURS[n] for n in names]
    pick = lambda attr: np.array([getattr(s, attr) for s in spec])[beh]  # noqa: E731
    lo_hi = pick("orders")
    n_orders = rng.integers(lo_hi[:, 0], lo_hi[:, 1] + 1)
    first_r, last_r = pick("first_days_ago"), pick("last_days_ago")
    last = rng.integers(last_r[:, 0], last_r[:, 1] + 1)
    first = np.maximum(rng.integers(first_r[:, 0], first_r[:, 1] + 1), last)
    first = np.where(n_orders == 1, last, first)
    cust = np.repeat(np.arange(len(beh)), n_orders)
    pos = np.arange(len(cust)) - np.repeat(np.cumsum(n_orders) - n_orders, n_orders)
    u = rng.random(len(cust))
    u = np.where(pos == 0, 0.0, np.where(pos == n_orders[cust] - 1, 1.0, u))
    days = np.round(first[cust] - (first[cust] - last[cust]) * u).astype(np.int64)
    return {"cust": cust, "ago": _minutes(rng, days), "basket": pick("basket")[cust]}


def _lines(rng: np.random.Generator, orders: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    n_lines = 1 + np.minimum(rng.poisson(2.5, len(orders["cust"])), 12)
    order = np.repeat(np.arange(len(n_lines)), n_lines)
    n_products = 400
    prices = np.round(np.exp(rng.normal(1.0, 0.7, n_products)), 2).clip(0.19, 60)
    product = rng.integers(0, n_products, len(order))
    qty = np.maximum(1, np.round(rng.geometric(0.35, len(order)) * orders["basket"][order])).astype(np.int64)
    return {"event": order, "cust": orders["cust"][order], "ago": orders["ago"][order],
            "product": product, "price": prices[product], "qty": qty}


def _add_returns(rng: np.random.Generator, lines: dict[str, np.ndarray], extra: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """~3 % of customers' purchase lines are partly returned a few days later (each return its own
    'C' invoice); each `extra` customer gets one or two return lines and nothing else."""
    n_events = int(lines["event"].max()) + 1
    bought = np.flatnonzero((lines["cust"] >= 0) & (rng.random(len(lines["cust"])) < 0.03))
    back = np.maximum(lines["ago"][bought] - rng.integers(1, 20, len(bought)) * 1440, 60)
    n_only = np.repeat(np.arange(len(extra)), rng.integers(1, 3, len(extra)))
    only_products = rng.integers(0, 400, len(n_only))
    price_of = dict(zip(lines["product"].tolist(), lines["price"].tolist()))
    ret = {
        "event": n_events + np.arange(len(bought) + len(n_only)),
        "cust": np.concatenate([lines["cust"][bought], -2 - n_only]),  # -2-i: i-th returns-only customer
        "ago": np.concatenate([back, _minutes(rng, rng.integers(1, WINDOW_DAYS, len(n_only)))]),
        "product": np.concatenate([lines["product"][bought], only_products]),
        "price": np.concatenate([lines["price"][bought],
                                 [price_of.get(p, 1.25) for p in only_products.tolist()]]),
        "qty": -np.concatenate([rng.integers(1, lines["qty"][bought] + 1), rng.integers(1, 6, len(n_only))]),
    }
    return {k: np.concatenate([lines[k], ret[k]]) for k in lines}


def _to_text(rng: np.random.Generator, lines: dict[str, np.ndarray], cust_ids: np.ndarray,
             extra_ids: np.ndarray, as_of: date) -> tuple[pd.DataFrame, dict[str, int]]:
    n = len(lines["event"])
    # invoices numbered in time order, as the shop's till numbered them
    ev_ago = np.zeros(int(lines["event"].max()) + 1, dtype=np.int64)
    ev_ago[lines["event"]] = lines["ago"]
    rank = np.empty(len(ev_ago), dtype=np.int64)
    rank[np.argsort(-ev_ago, kind="stable")] = np.arange(len(ev_ago))
    is_return = lines["qty"] < 0
    number = (FIRST_INVOICE + rank[lines["event"]]).astype(str).astype(object)
    invoice = np.where(is_return, "C" + number, number)
    when = pd.Timestamp(as_of) - pd.to_timedelta(lines["ago"], unit="min")
    style = rng.choice(3, size=len(ev_ago), p=(0.7, 0.25, 0.05))[lines["event"]]  # per invoice
    text = np.empty(n, dtype=object)
    for s, fmt in enumerate(("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%d %b %Y %H:%M")):
        idx = np.flatnonzero(style == s)
        text[idx] = when[idx].strftime(fmt).to_numpy(dtype=object)
    cust = lines["cust"]
    cid = np.where(cust >= 0, cust_ids[np.maximum(cust, 0)].astype(str),
                   np.where(cust == -1, "", extra_ids[np.maximum(-2 - cust, 0)].astype(str)))
    prod = lines["product"]
    frame = pd.DataFrame({
        "InvoiceNo": invoice, "StockCode": (20_000 + prod).astype(str),
        "Description": (np.array(_ADJ, dtype=object)[prod % 10] + " "
                        + np.array(_NOUN, dtype=object)[(prod // 10) % 10]),
        "Quantity": lines["qty"].astype(str), "InvoiceDate": text,
        "UnitPrice": np.char.mod("%.2f", lines["price"]).astype(object),
        "CustomerID": cid.astype(object),
        "Country": np.array(_COUNTRIES, dtype=object)[rng.choice(6, len(ev_ago), p=_COUNTRY_P)[lines["event"]]],
    })
    order = np.lexsort((np.arange(n), rank[lines["event"]]))
    frame = frame.iloc[order].reset_index(drop=True)
    mess = {"return_lines": int(is_return.sum())}
    n_bad, n_future = max(3, n // 2000), max(2, n // 5000)
    pick = rng.choice(n, size=n_bad + n_future, replace=False)
    bad, future = pick[:n_bad], pick[n_bad:]
    frame.loc[bad, "InvoiceDate"] = rng.choice(["2024-02-30 10:00:00", "N/A", "13/45/2024 10:00", "soon"],
                                               size=n_bad)
    stamps = pd.to_datetime(frame.loc[future, "InvoiceDate"], format="mixed")
    frame.loc[future, "InvoiceDate"] = (stamps + pd.DateOffset(years=90)).dt.strftime("%Y-%m-%d %H:%M:%S")
    mess.update({"bad_dates": int(n_bad), "future_dates": int(n_future)})
    dup = np.sort(rng.choice(n, size=max(1, n // 100), replace=False))
    frame = frame.iloc[np.sort(np.concatenate([np.arange(n), dup]), kind="stable")].reset_index(drop=True)
    mess["exact_duplicates"] = int(len(dup))
    return frame[list(COLUMNS)], mess


def planted_summary(planted: Planted) -> dict[str, Any]:
    """Customers per planted behaviour (for the CLI and the demo)."""
    return planted.labels["behaviour"].value_counts().sort_index().to_dict()
