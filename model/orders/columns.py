"""Which column of an order log is the customer, the date, the amount (or quantity × price) and
the order id — recognised by name, checked by the values, overridden by the caller.

Names are split into lower-case words (``InvoiceDate`` → invoice, date; ``dollar_value`` →
dollar, value) and matched against small vocabularies; a named candidate must also look right in
the sample (a date column must parse as dates, money must be numbers). Where no name matches, the
values decide for the date (the one column that parses as dates) and the amount (the one column of
decimal numbers), and cardinality for the customer (the one id-like column whose values repeat).
Only the columns a step needs are looked at, and sample cells longer than `MAX_CELL` characters
are text without being parsed: a huge note in an unused column costs nothing here. Every choice is
recorded with the reason, for the report. A log whose customer or date cannot be found raises
`TransactionsError` naming the columns found and the flags to use; a log without money (no amount,
nor quantity and price) is read on recency, frequency and tenure, and the report says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from model.contract.errors import echo
from model.tables.cells import find_column, to_numbers
from model.orders.dates import BARE_NUMBERS, KNOWN_FORMATS, parse_dates

ROLES = ("customer", "date", "amount", "quantity", "price", "order")
FLAGS = {r: f"--{r}" for r in ROLES}
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_CUSTOMER = {"customer", "customers", "client", "cust", "member", "user", "account", "buyer",
             "shopper", "consumer", "subscriber", "household", "patron", "guest"}
_DATE = {"date", "datetime", "timestamp", "time", "ts", "dt", "day", "created", "placed", "purchased"}
MAX_CELL = 64  # longer sample cells are no id, date or number: not parsed
_ORDER = {"invoice", "order", "transaction", "txn", "trans", "receipt", "basket", "ticket", "bill",
          "purchase", "checkout", "sale"}
_QUANTITY = {"quantity", "qty", "units", "pieces", "pcs", "items", "count"}
_AMOUNT = {"total", "amount", "amt", "revenue", "sales", "spend", "spent", "value", "net", "gross",
           "subtotal", "sum", "paid", "payment", "turnover", "monetary", "line", "dollar", "dollars", "money"}
_PRICE = {"price", "unitprice", "rate", "cost"}
_IDISH = {"id", "no", "nr", "num", "number", "code", "key", "ref", "reference"}


class TransactionsError(ValueError):
    """The order log cannot be read as one (columns missing, a flag naming no column)."""


@dataclass(frozen=True)
class Roles:
    """The column taken for each role (None: not used), and why it was taken."""
    customer: str | None = None
    date: str | None = None
    amount: str | None = None
    quantity: str | None = None
    price: str | None = None
    order: str | None = None
    how: dict[str, str] = field(default_factory=dict)

    def used(self) -> dict[str, str]:
        """role → column, for the roles that have one."""
        return {r: getattr(self, r) for r in ROLES if getattr(self, r)}

    @property
    def has_money(self) -> bool:
        """An amount, or quantity and price: the log says what customers spent."""
        return bool(self.amount or (self.quantity and self.price))

    def as_report(self) -> dict[str, dict[str, str]]:
        return {r: {"column": c, "how": self.how.get(r, "")} for r, c in self.used().items()}


def words(name: str) -> list[str]:
    """'InvoiceDate' → ['invoice', 'date']; 'Annual Income (k$)' → ['annual', 'income', 'k']."""
    return [w.lower() for w in _WORD.findall(str(name))]


def _name_role(name: str) -> str | None:
    """The role a column's name suggests, or None. Order of the tests settles mixed names:
    'InvoiceDate' is a date, 'order_total' an amount, 'TotalPrice' an amount, 'UnitPrice' a price."""
    w = set(words(name))
    joined = "".join(words(name))
    if w & _DATE and not w & (_AMOUNT | _QUANTITY | _PRICE | _IDISH):
        return "date"
    if w & _CUSTOMER or joined in ("custid", "customerid", "clientid"):
        return "customer"
    if w & _QUANTITY:
        return "quantity"
    if w & _AMOUNT - {"line"} or (w & {"line"} and w & (_PRICE | {"total", "amount"})):
        return "amount"
    if w & _PRICE:
        return "price"
    if w & _ORDER:
        return "order"
    return None


def _preference(name: str, role: str | None) -> int:
    """Among columns named for the same role, the likelier one: the order's date over the ship
    date, the customer's id over their name, a total over a net value."""
    w = set(words(name))
    if role == "date":
        return int(bool(w & (_ORDER | {"invoice"})))
    if role == "customer":
        return int(bool(w & _IDISH))
    if role == "amount":
        return int(bool(w & {"total", "amount", "sales", "revenue"}))
    return 0


def recognise_columns(header: Sequence[str], sample: pd.DataFrame, **overrides: str | None) -> Roles:
    """Roles for the columns of an order log. `sample` holds the first lines as text (or typed
    values); `overrides` (customer=, date=, amount=, quantity=, price=, order=) name columns
    explicitly and win over recognition. Raises `TransactionsError` when the customer or the date
    cannot be found; without money (amount, or quantity and price) the roles say so (`has_money`)."""
    header = [str(h) for h in header]
    unknown = [k for k in overrides if k not in ROLES]
    if unknown:
        raise TypeError(f"unknown role(s) {unknown}; roles are {', '.join(ROLES)}")
    chosen: dict[str, str] = {}
    how: dict[str, str] = {}
    for role, col in overrides.items():
        if col is not None:
            chosen[role] = _match(col, header, role)
            how[role] = f"given ({FLAGS[role]})"
    if "amount" in chosen and ("quantity" in chosen or "price" in chosen):
        raise TransactionsError("give either --amount, or --quantity and --price, not both")
    facts = _Facts(sample)  # each column's facts computed when a step first asks
    taken = set(chosen.values())
    named = [(col, _name_role(col)) for col in header]
    named.sort(key=lambda t: -_preference(t[0], t[1]))  # stable: header order among equals
    for col, role in named:  # by name, checked against the values
        if role is None or role in chosen or col in taken:
            continue
        ok, why = _fits(role, facts[col])
        if ok:
            chosen[role], how[role] = col, "recognised by its name"
            taken.add(col)
        else:
            how.setdefault(f"skipped {col}", f"its name suggests the {role}, but {why}")
    _by_values(header, facts, chosen, how, taken)
    if "amount" not in chosen and "price" in chosen and "quantity" not in chosen:
        chosen["amount"] = chosen.pop("price")
        how["amount"] = how.pop("price") + "; no quantity column, so it is taken as the line amount"
    if "amount" in chosen:  # an amount makes quantity × price unnecessary
        for r in ("quantity", "price"):
            if r in chosen and overrides.get(r) is None:
                how.pop(r, None)
                how[f"not used: {chosen.pop(r)}"] = f"a {r} column; the amount column is used instead"
    missing = [r for r in ("customer", "date") if r not in chosen]
    if missing:
        skipped = [f"{k[len('skipped '):]}: {v}" for k, v in how.items() if k.startswith("skipped ")]
        raise TransactionsError(missing_message(missing, header, chosen) + "".join(f"; {s}" for s in skipped)
                                + (f". Dates known: {KNOWN_FORMATS}" if "date" in missing else ""))
    roles = Roles(**{r: chosen.get(r) for r in ROLES}, how=how)
    if not roles.has_money:
        have = next((r for r in ("quantity", "price") if r in chosen), None)
        how["amount"] = ("none: " + (f"{chosen[have]} is a {have} column, which is no money without a "
                                     f"{'price' if have == 'quantity' else 'quantity'}; " if have else "")
                         + "no column holds what customers spent, so the segments use recency, frequency "
                           "and tenure (name a money column with --amount COL)")
    return roles


def missing_message(missing: list[str], header: Sequence[str], chosen: dict[str, str]) -> str:
    found = ", ".join(echo(h) for h in header[:30]) + (" ..." if len(header) > 30 else "")
    got = "; ".join(f"{r}: {c!r}" for r, c in chosen.items())
    return (f"could not recognise the order log's {', '.join(missing)} column(s); columns found: "
            f"{found}" + (f" (recognised {got})" if got else "") + ". Name them with "
            "--customer COL and --date COL, and money (optional) with --amount COL (or --quantity COL "
            "--price COL), optionally --order COL")


def _match(col: str, header: list[str], role: str) -> str:
    found = find_column(header, col)
    if found is None:
        raise TransactionsError(f"{FLAGS[role]} {echo(col)} is not a column of the log; columns are: "
                                + ", ".join(echo(h) for h in header[:30]))
    return found


class _Facts(dict):
    """column → what its sample values look like, computed the first time a step asks."""

    def __init__(self, sample: pd.DataFrame):
        super().__init__()
        self.sample = sample

    def __missing__(self, column: str) -> dict[str, Any]:
        self[column] = facts(self.sample[column]) if column in self.sample.columns else {}
        return self[column]


def facts(column: pd.Series) -> dict[str, Any]:
    """What the sample values of a column look like: shares of numbers, dates (any format, and
    written as text rather than bare numbers), decimals; distinct values; whether they repeat.
    Cells longer than `MAX_CELL` are counted as text, unparsed."""
    codes, uniques = pd.factorize(column)
    present = codes >= 0
    n = int(present.sum())
    if not n:
        return {"n": 0}
    uniques = np.asarray(pd.Series(np.asarray(uniques, dtype=object)).astype(str), dtype=object)
    long = pd.Series(uniques).str.len().to_numpy() > MAX_CELL
    if long.any():
        uniques = np.where(long, "-", uniques)  # no number, no date: what a long cell is
    weights = np.bincount(codes[present], minlength=len(uniques))
    nums, _ = to_numbers(uniques)
    is_num = ~np.isnan(nums)
    fmt = parse_dates(uniques, weights=weights).fmt
    whole = is_num & (np.nan_to_num(nums) % 1 == 0)
    return {"n": n, "example": str(uniques[0])[:MAX_CELL], "numeric": float(weights[is_num].sum() / n),
            "date": float(weights[fmt >= 0].sum() / n),
            "text_date": float(weights[(fmt >= 0) & ~np.isin(fmt, BARE_NUMBERS)].sum() / n),
            "decimal": float(weights[is_num & ~whole].sum() / n),
            "distinct": len(uniques), "repeats": len(uniques) < n}


def _fits(role: str, f: dict[str, Any]) -> tuple[bool, str]:
    if not f or not f.get("n"):
        return role in ("order",), "it is empty in the sample"
    example = f" (e.g. {echo(f['example'])})"
    if role == "date":
        return (f["date"] >= 0.5, "" if f["date"] >= 0.5 else
                f"only {f['date']:.0%} of its sample values are dates{example}")
    if role in ("amount", "quantity", "price"):
        return (f["numeric"] >= 0.9, "" if f["numeric"] >= 0.9 else
                f"only {f['numeric']:.0%} of its sample values are numbers{example}")
    if role == "customer":  # ids may be numbers that would read as dates (35431): only text dates count
        return (f["text_date"] < 0.5 and f["decimal"] < 0.5,
                "" if f["text_date"] < 0.5 and f["decimal"] < 0.5 else "its values are dates or decimals")
    return True, ""


def _by_values(header: list[str], facts: dict[str, dict[str, Any]], chosen: dict[str, str],
               how: dict[str, str], taken: set[str]) -> None:
    """Fill date, amount and customer from the values alone, when exactly one column fits."""
    if "date" in chosen and "customer" in chosen and ("amount" in chosen or "quantity" in chosen
                                                      and "price" in chosen):
        return  # every role that values can fill is filled: no other column is looked at
    free = [c for c in header if c not in taken and facts[c].get("n")]
    if "date" not in chosen:  # bare numbers (ids, amounts) are no evidence of a date without a name
        cands = [c for c in free if facts[c]["text_date"] >= 0.9]
        if len(cands) == 1:
            chosen["date"], how["date"] = cands[0], "the only column whose values are dates"
            taken.add(cands[0])
    if "amount" not in chosen and not ("quantity" in chosen and "price" in chosen):
        cands = [c for c in free if c not in taken and facts[c]["numeric"] >= 0.98
                 and facts[c]["decimal"] >= 0.2]
        if len(cands) == 1:
            chosen["amount"], how["amount"] = cands[0], "the only column of decimal numbers"
            taken.add(cands[0])
    if "customer" not in chosen:
        cands = [c for c in free if c not in taken and facts[c]["repeats"]
                 and facts[c]["decimal"] < 0.5 and facts[c]["text_date"] < 0.5
                 and set(words(c)) & _IDISH and not set(words(c)) & _ORDER]
        if len(cands) == 1:
            chosen["customer"], how["customer"] = cands[0], "the only id-like column whose values repeat"
            taken.add(cands[0])
