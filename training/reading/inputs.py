"""What `fit` trains on: a customer table (one row per customer) or an order log turned into one.

Either way the result is a cleaned frame of feature columns with its report, the columns' roles
and which features are log-transformed for clustering.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from model.orders.customers import FEATURES, ID_COLUMN, customer_features
from model.tables.chunks import sniff_file
from training.reading import table as data_mod
from training.synthetic import customers as synthetic
from training.reading.roles import FEATURE_ROLES, infer_roles, parse_role_flags


@dataclass
class TxOptions:
    """How to read an order log: the columns named by flags (customer, date, amount, quantity,
    price, order → column; the others are recognised from names, types and cardinality), the day
    recency is counted to, whether numeric dates are day first (None: decided from the data) and
    the date format (`model.orders.dates.DATE_FORMATS`; None: decided from the data)."""
    columns: dict[str, str] = field(default_factory=dict)
    as_of: str | None = None
    dayfirst: bool | None = None
    date_format: str | None = None


@dataclass
class Input:
    frame: pd.DataFrame  # feature columns only
    numeric: list[str]
    categorical: list[str]
    id_column: str | None
    cleaning: dict[str, Any]  # the Cleaning record's fields
    source: str
    roles: dict[str, str | None]
    log: list[str] = field(default_factory=list)
    transactions: dict[str, Any] | None = None  # the TransactionSource record's fields
    read: dict[str, str] = field(default_factory=dict)  # how the file was read (`model.tables.sniff`)
    columns: list[str] = field(default_factory=list)  # a table's columns in file order (an order log: empty)


def load_input(*, data: Path | None, transactions: Path | None, tx: TxOptions, features: Sequence[str] | None,
               id_column: str | None, role_flags: Sequence[str], kinds: Mapping[str, str] | None = None) -> Input:
    """The cleaned training input; `kinds` (column → numeric, categorical, excluded) applies to a table."""
    if transactions is not None:
        return _from_log(transactions, tx, role_flags)
    if data is None:
        frame, _ = synthetic.default_frame()
        cleaned = data_mod.clean(frame.astype("string"), features=features, id_column=id_column, kinds=kinds)
        source = f"synthetic default data (seed {synthetic.DEFAULT_SEED}, {synthetic.DEFAULT_ROWS:,} rows)"
    else:
        dialect = sniff_file(data)
        cleaned = data_mod.clean_file(data, features=features, id_column=id_column, dialect=dialect, kinds=kinds)
        source = Path(data).name
    columns = cleaned.numeric + cleaned.categorical
    roles = infer_roles(columns, parse_role_flags(role_flags, columns))
    return Input(frame=cleaned.frame, numeric=cleaned.numeric, categorical=cleaned.categorical,
                 id_column=cleaned.id_column, cleaning=cleaned.report, source=source, roles=roles,
                 read=dialect.as_report() if data is not None else {}, columns=cleaned.columns)


def _from_log(path: Path, tx: TxOptions, role_flags: Sequence[str]) -> Input:
    result = customer_features(path, **tx.columns, as_of=tx.as_of, dayfirst=tx.dayfirst, date_format=tx.date_format)
    features = list(result.features)
    frame = result.frame[features].reset_index(drop=True)
    cleaning, txs, source = log_records(result.report, result.transforms, Path(path).name, features)
    return Input(frame=frame, numeric=features, categorical=[], id_column=ID_COLUMN, cleaning=cleaning,
                 source=source, roles=log_roles(role_flags, features), log=list(result.transforms["log1p"]),
                 transactions=txs, read=result.report.get("read", {}))


def log_roles(role_flags: Sequence[str], features: Sequence[str] = FEATURES) -> dict[str, str | None]:
    """The roles of an order log's customer features (--role may still override them)."""
    return {**{f: FEATURE_ROLES[f] for f in features}, **parse_role_flags(role_flags, list(features))}


def log_records(rep: dict[str, Any], transforms: dict[str, Any], name: str, features: Sequence[str] = FEATURES
                ) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The Cleaning and TransactionSource records' fields and the source text of a fit on an order
    log, from its report (`model.orders.customers`' shape, whichever engine made it)."""
    n = rep["customers"]
    cleaning = {"rows_in": n, "rows_out": n, "duplicates_dropped": 0, "id_column": ID_COLUMN,
                "numeric": list(features), "categorical": [], "missing": {c: 0 for c in features},
                "rows_dropped": {}}
    used = {role: info["column"] for role, info in rep["columns"].items()}
    txs = {"columns": used, "lines_in": rep["lines_in"], "lines_kept": rep["lines_kept"],
           "dropped": dict(rep["dropped"]), "customers": rep["customers"], "orders": rep["orders"],
           "as_of": rep["as_of"], "log1p": list(transforms["log1p"]),
           "transform_rule": transforms["rule"], "report": rep}
    return cleaning, txs, f"order log {name} ({rep['lines_in']:,} lines → {n:,} customers)"
