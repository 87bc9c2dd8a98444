"""Column roles: what a customer column *means*, so that names, traits, labels and offer rules speak
of "big spenders" and "many support calls" instead of regular expressions on column names.

A role has a human label, a good direction (higher is better, lower is better, or neither) and a
trait phrase for each direction. Roles are inferred from obvious names (`infer_roles`), set or
cleared with ``--role ROLE=COLUMN`` (`parse_role_flags`; ROLE ``none`` clears), and every column —
with or without a role — gets a readable label (`readable_label`): the column's own words when it
has them ("Annual income (k$)", "Customer service calls"), the role's label for a cryptic name
with a role ("Orders (x)"), and "Column t_x" as the last resort, never a mangled "T x".

    >>> infer_roles(["age", "Annual Income (k$)", "t_x"])
    {'age': 'age', 'Annual Income (k$)': 'income', 't_x': None}
    >>> trait_text("support", "high"), readable_label("CustServ Calls", "support")
    ('many support calls', 'Customer service calls')
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from model.contract.errors import echo
from model.tables.cells import header_key


@dataclass(frozen=True)
class Role:
    name: str
    label: str  # how a form asks for it
    good: str | None  # "higher", "lower" or None (neither direction is better)
    high: str  # trait phrase of a segment above average
    low: str


ROLES: dict[str, Role] = {r.name: r for r in (
    Role("recency", "Time since last order", "lower", "gone quiet", "recent customers"),
    Role("frequency", "Orders", "higher", "frequent buyers", "infrequent buyers"),
    Role("monetary", "Total spent", "higher", "big spenders", "small spenders"),
    Role("tenure", "Time as a customer", "higher", "long-standing customers", "newer customers"),
    Role("avg_order_value", "Average order value", "higher", "large baskets", "small baskets"),
    Role("age", "Age", None, "older", "younger"),
    Role("income", "Income", "higher", "high income", "low income"),
    Role("spend", "Spending score", "higher", "high spending", "low spending"),
    Role("engagement", "Engagement", "higher", "highly engaged", "disengaged"),
    Role("support", "Support contacts", "lower", "many support calls", "few support calls"),
    Role("satisfaction", "Satisfaction", "higher", "satisfied", "dissatisfied"),
    Role("price_sensitivity", "Price sensitivity", "lower", "deal seekers", "full-price buyers"),
    Role("churn_risk", "Churn risk", "lower", "high churn risk", "low churn risk"),
)}
NO_ROLE = "none"
# The per-customer features of an order log (model.orders.customers): their role and how to ask.
FEATURE_ROLES = {"recency_days": "recency", "frequency": "frequency", "monetary": "monetary",
                 "tenure_days": "tenure", "avg_order_value": "avg_order_value"}
FEATURE_LABELS = {"recency_days": "Days since last order", "frequency": "Orders",
                  "monetary": "Total spent", "tenure_days": "Days as a customer",
                  "avg_order_value": "Average order value"}
_ABBREV = {"cust": "customer", "serv": "service", "custserv": "customer service", "avg": "average",
           "qty": "quantity", "amt": "amount", "num": "number", "nr": "number", "cnt": "count",
           "pct": "percent", "yrs": "years", "mins": "minutes", "intl": "international",
           "vmail": "voicemail", "freq": "frequency", "txn": "transactions", "acct": "account",
           "aov": "average order value", "ltv": "lifetime value", "clv": "lifetime value",
           "msgs": "messages", "eve": "evening", "tel": "telephone", "addr": "address"}
_AFTER_NUMBER = {"d": "days", "w": "weeks", "m": "months", "y": "years", "yr": "years", "h": "hours"}
_ACRONYMS = {"id", "nps", "csat", "sku", "vip", "uk", "us", "eu", "url", "q1", "q2", "q3", "q4"}
_SHORT_WORDS = {"id", "no", "of", "in", "on", "at", "to", "by", "per", "k", "vs", "or", "and", "a",
                "day", "age", "nps", "net", "new", "old", "sum", "top", "eve", "tv", "web", "app"}
_NOTATION = re.compile(r"^[a-z](?:bar|hat|dot|star|sq|tilde)$")  # zbar, xhat: maths, not words
_WORD = re.compile(r"[Qq][1-4](?!\d)|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|\$")
_CHUNK = re.compile(r"[A-Za-z]+")
_UNITS = re.compile(r"\s*(\([^)]*\)|\[[^\]]*\])\s*")


class RoleError(ValueError):
    """A --role flag names an unknown role or column."""


def tokens(column: str) -> list[str]:
    """Lower-case words of a column name, abbreviations expanded ('CustServ Calls' → customer,
    service, calls). Units in brackets are left out."""
    text = _UNITS.sub(" ", str(column)).replace("'", "")
    text = _CHUNK.sub(lambda m: f" {_ABBREV[m.group().lower()]} " if m.group().lower() in _ABBREV
                      else m.group(), text)  # 'VMail' is one abbreviation, not V + Mail
    out: list[str] = []
    for w in _WORD.findall(text):
        w = w.lower()
        if out and out[-1].isdigit() and w in _AFTER_NUMBER:  # sessions_30d
            w = _AFTER_NUMBER[w]
        elif out and w == "no":  # InvoiceNo
            w = "number"
        out += _ABBREV.get(w, w).split()
    return out


def is_cryptic(column: str) -> bool:
    """A name that is not made of words: 't_x', 'x', 'T', 'zbar', 'f1'."""
    words = [w for w in tokens(column) if not w.isdigit()]
    if not words:
        return True
    return any((len(w) <= 2 and w not in _SHORT_WORDS and w not in _ACRONYMS) or _NOTATION.match(w)
               or (len(w) == 3 and not re.search(r"[aeiouy]", w) and w not in _SHORT_WORDS)
               for w in words)


def _role_from_name(column: str) -> str | None:
    t = set(tokens(column))
    p = " ".join(tokens(column))
    if t & {"churn", "churned", "attrition"}:
        return "churn_risk"
    if "recency" in t or "days since" in p or ("since" in t and "last" in t) or (
            "last" in t and t & {"purchase", "order", "visit", "transaction", "login"}
            and t & {"days", "weeks", "months", "ago"}):
        return "recency"
    if t & {"support", "complaint", "complaints", "ticket", "tickets", "helpdesk"} or (
            "service" in t and t & {"calls", "call", "contacts", "requests"}):
        return "support"
    if t & {"satisfaction", "csat", "nps", "rating", "ratings", "review", "reviews", "feedback"}:
        return "satisfaction"
    if t & {"discount", "discounts", "coupon", "coupons", "promo", "promotion", "promotions",
            "voucher", "vouchers", "deal", "deals"} or {"price", "sensitivity"} <= t:
        return "price_sensitivity"
    if t & {"tenure", "membership", "seniority"} or ("account" in t and t & {"length", "age"}) or (
            t & {"years", "months", "days"} and t & {"member", "customer", "loyalty", "subscription"}):
        return "tenure"
    if "age" in t:
        return "age"
    if t & {"income", "salary", "earnings", "wage", "wages"}:
        return "income"
    if "score" in t and t & {"spending", "spend"}:
        return "spend"
    if (t & {"average", "mean"} and t & {"order", "basket", "purchase", "transaction", "spend", "cart",
                                         "value", "ticket"}) or ("last" in t and t & {"purchase", "order"}
                                                                 and t & {"amount", "value"}) or (
            "basket" in t and t & {"size", "value"}):
        return "avg_order_value"
    if t & {"monetary", "revenue", "turnover"} or {"lifetime", "value"} <= t or (
            t & {"total", "sum"} and t & {"spend", "spent", "spending", "amount", "sales", "purchases",
                                          "charges", "charge", "revenue"}):
        return "monetary"
    if t & {"spend", "spent", "spending", "charge", "charges"}:
        return "spend"
    if t & {"frequency", "orders", "purchases", "transactions"} or (
            "number" in t and t & {"order", "purchase", "transaction"}):
        return "frequency"
    if t & {"engagement", "visits", "sessions", "logins", "clicks", "opens", "pageviews", "views",
            "usage", "activity", "minutes", "calls", "messages"}:
        return "engagement"
    return None


def infer_roles(columns: Iterable[str], overrides: Mapping[str, str | None] | None = None
                ) -> dict[str, str | None]:
    """Role of every column (None: no role), from its name; `overrides` (column → role or None,
    as `parse_role_flags` returns) win. Cryptic names ('t_x', 'zbar', 'x') never get a role
    from their name: a guess there would name segments wrongly."""
    overrides = dict(overrides or {})
    out: dict[str, str | None] = {}
    for col in columns:
        if col in overrides:
            out[col] = overrides[col]
        elif is_cryptic(col):
            out[col] = None
        else:
            out[col] = _role_from_name(col)
    return out


def parse_role_flags(flags: Sequence[str], columns: Sequence[str]) -> dict[str, str | None]:
    """``--role ROLE=COLUMN`` values → {column: role} (role None for ``none=COLUMN``). Column
    names match ignoring case and surrounding spaces. Raises `RoleError` with the valid roles or
    the columns."""
    by_key = {header_key(c): c for c in columns}
    out: dict[str, str | None] = {}
    valid = ", ".join([*ROLES, NO_ROLE])
    for flag in flags:
        role, sep, column = str(flag).partition("=")
        role = role.strip().lower().replace("-", "_").replace(" ", "_")
        if not sep or not role or not column.strip():
            raise RoleError(f"--role must look like ROLE=COLUMN (e.g. income=Salary), got {echo(flag)}")
        if role not in ROLES and role != NO_ROLE:
            near = difflib.get_close_matches(role, [*ROLES, NO_ROLE], n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise RoleError(f"--role {echo(flag)}: unknown role {role!r}{hint}; roles are: {valid}")
        col = by_key.get(header_key(column))
        if col is None:
            shown = ", ".join(echo(c) for c in list(columns)[:30])
            raise RoleError(f"--role {echo(flag)}: no column named {echo(column.strip())}; columns are: {shown}")
        new = None if role == NO_ROLE else role
        if col in out and out[col] != new:
            raise RoleError(f"--role: column {col!r} is given two roles ({out[col] or NO_ROLE} and "
                            f"{new or NO_ROLE}); a column has one role")
        out[col] = new
    return out


def readable_label(column: str, role: str | None = None) -> str:
    """How a person reads the column: its own words in sentence case with units kept ('Annual
    income (k$)'); for a cryptic name the role's label with the name ('Orders (x)'), or
    'Column t_x' when it has no role."""
    if column in FEATURE_LABELS and role in (None, FEATURE_ROLES[column]):
        return FEATURE_LABELS[column]
    if not is_cryptic(column):
        units = " ".join(m.strip() for m in _UNITS.findall(str(column)))
        words = tokens(column)
        words = [w.upper() if w in _ACRONYMS else w for w in words]
        for i in range(len(words) - 1, 0, -1):  # 'number orders' → 'number of orders'
            if words[i - 1] == "number" and words[i] != "of" and words[i].endswith("s"):
                words.insert(i, "of")
        text = " ".join(words)
        return f"{text[:1].upper() + text[1:]} {units}".strip()
    if role in ROLES:
        return f"{ROLES[role].label} ({column})"
    return f"Column {column}"


def trait_text(role_or_label: str, direction: str) -> str:
    """A segment trait in plain words: trait_text('frequency', 'high') → 'frequent buyers';
    for a label without a role, 'high annual income' (units dropped), 'low column t_x'."""
    if direction not in ("high", "low"):
        raise ValueError(f"direction must be 'high' or 'low', got {echo(direction)}")
    if role_or_label in ROLES:
        role = ROLES[role_or_label]
        return role.high if direction == "high" else role.low
    text = _UNITS.sub(" ", role_or_label).strip()
    return f"{direction} {text[:1].lower() + text[1:]}"


def role_direction_text(role: str) -> str:
    """'higher is better' etc., for the card and the form's help."""
    good = ROLES[role].good
    return {"higher": "higher is better", "lower": "lower is better"}.get(good or "", "neither direction is better")

