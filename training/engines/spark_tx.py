"""`model.orders.customers.customer_features` in Spark: an order log in, one row per customer out —
the same columns, rules, definitions and report, without collecting the lines.

Passes over the log, each distributed:
1. the raw lines: rows per partition (for file line numbers), ragged rows and text that is not
   UTF-8 (the local reader's messages) — `spark_read.scan_lines`;
2. exact duplicates: one group-by over every column (the first occurrence kept, as locally);
   the distinct lines also weigh how the dates are written (`date_evidence` per batch, summed
   over all lines, decided once by `decide_reading` — the local rule);
3. per line, the reason it is set aside (no customer, unparseable or future date, unparseable
   amount), parsed by the local functions in pandas UDFs (`parse_dates` with the decided reading)
   and `spark_rules.number`; counted, with the cancelled-invoice marker test (ignored when it
   marks most lines, as locally);
4. one aggregation per customer (recency, frequency, monetary, tenure, the report's per-line
   counts) and one over the customers (totals, `as_of`, skewness).
On the driver: the recognition sample (`SAMPLE_LINES` lines), the report's examples (≤ 10 per
reason) and totals — bounded, never the lines or the customers. The report is built by the local
engine's `log_report`. A log without money is refused here (the local engine reads it). The customer table is persisted
for the fit, its `_row` increasing in the local engine's customer order (by id).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model.contract.errors import MAX_ECHO
from model.tables.codes import take
from model.orders.customers import FEATURES, ID_COLUMN, cutoff_days
from model.orders.columns import Roles, TransactionsError, recognise_columns
from model.orders.dates import (AMBIGUOUS, DAY_FIRST, FORMAT_EXAMPLES, MONTH_FIRST, NOT_A_DATE, Reading, date_evidence,
                                decide_reading, parse_dates)
from model.orders.lines import SAMPLE_LINES
from model.orders.report import DROP_REASONS, MAX_EXAMPLES, log_report, no_purchases, transforms_from_skew
from training.engines import spark_rules as R
from training.engines.spark_clean import SparkCleaned
from training.engines.spark_read import Source, line_of, scan_lines
from training.reading.inputs import log_records

_DAY_US = 86_400_000_000
_NAT = np.iinfo(np.int64).min
_CODE = {why: i + 1 for i, why in enumerate(DROP_REASONS)}  # 0: kept


@dataclass
class SparkTx:
    """What the log gave: the customers as a `SparkCleaned` (features f0..f4 in `FEATURES`
    order, persisted) with the fit's Cleaning record as its report, the log's report
    (`model.orders.customers`' shape), the log1p choice and the recognised columns."""
    cleaned: SparkCleaned
    report: dict[str, Any]
    transforms: dict[str, Any]
    roles: Roles
    transactions: dict[str, Any]  # the TransactionSource record's fields
    source: str


def customer_features(src: Source, *, name: str, customer: str | None = None, date: str | None = None,
                      amount: str | None = None, quantity: str | None = None, price: str | None = None,
                      order: str | None = None, as_of: Any = None, dayfirst: bool | None = None,
                      date_format: str | None = None) -> SparkTx:
    """Per-customer features of the log in `src` (see the module docstring); `name` is the
    file's name for the report."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    frame = src.frame.withColumn("_mid", F.monotonically_increasing_id())
    offsets, _ = scan_lines(src, frame)
    # the first lines of the file, as the local engine samples (a plain limit takes any lines)
    sample = (frame.orderBy("_mid").select(*src.safe).limit(SAMPLE_LINES).toPandas()
              .set_axis(src.columns, axis=1))
    roles = recognise_columns(src.columns, sample, customer=customer, date=date, amount=amount,
                              quantity=quantity, price=price, order=order)
    if not roles.has_money:
        raise TransactionsError(f"the Spark engine needs a money column; {roles.how['amount']} — or "
                                "fit this log with --engine local, which reads it on recency, frequency and tenure")
    codes = sorted({*FORMAT_EXAMPLES, AMBIGUOUS, DAY_FIRST, MONTH_FIRST})  # every evidence code but NOT_A_DATE
    col = {c: F.col(s) for c, s in zip(src.columns, src.safe)}
    dedup = (frame.groupBy(*src.safe).agg(F.count(F.lit(1)).alias("_n"), F.min("_mid").alias("_row"))
             .persist(StorageLevel.MEMORY_AND_DISK))
    lines = None
    try:
        evidence = F.col("_ev")
        head = dedup.select("_n", F.pandas_udf(_evidence, "byte")(col[roles.date]).alias("_ev")).agg(
            F.sum("_n").alias("lines_in"), F.count(F.lit(1)).alias("distinct"),
            *[F.sum(F.when(evidence == c, F.col("_n"))).alias(f"ev{c}") for c in codes]).first()
        lines_in = int(head["lines_in"] or 0)
        if not lines_in:
            raise TransactionsError("the order log is empty")
        reading = decide_reading({c: float(head[f"ev{c}"] or 0) for c in codes}, dayfirst=dayfirst,
                                 date_format=date_format)
        cutoff, as_of_day = cutoff_days(as_of)
        lines = _lines(dedup, roles, col, reading, cutoff).persist(StorageLevel.MEMORY_AND_DISK)
        counts = lines.agg(*[F.count_if(F.col("_reason") == c).alias(f"r{c}") for c in range(1, 6)],
                           F.count_if(F.col("_reason") == 0).alias("live"),
                           F.count_if((F.col("_reason") == 0) & F.col("_marker")).alias("marked")).first()
        dropped = {why: int(counts[f"r{_CODE[why]}"]) if why not in ("exact_duplicate", "only_returns_customer")
                   else 0 for why in DROP_REASONS}
        dropped["exact_duplicate"] = lines_in - int(head["distinct"])
        marker_note = None
        if roles.order and counts["live"] and counts["marked"] / counts["live"] > 0.5:
            marker_note = (f"most {roles.order} values start with 'C' and a digit: that is their "
                           "numbering, not a cancellation marker, so it was ignored")
        per = _per_customer(lines, use_marker=bool(roles.order) and marker_note is None,
                            by_order=bool(roles.order)).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            tot = _totals(per)
            dropped["only_returns_customer"] = int(tot["only_lines"] or 0)
            where = _examples(lines, offsets, dropped, per_line=src.fmt == "csv")
            seen = {w: where(w, c) for w, c in (("unparseable_date", "_d"), ("future_date", "_d"),
                                                ("unparseable_amount", "_a"))}
            if not tot["buyers"]:
                raise TransactionsError(no_purchases(dropped, seen, roles))
            if as_of_day is None:
                as_of_day = int(tot["last_day"]) + 1
            n = int(tot["buyers"])
            customers = (_customer_table(per, as_of_day, numeric_ids=not tot["text_ids"])
                         .persist(StorageLevel.MEMORY_AND_DISK))
            customers.count()  # materialised before `per` goes
        finally:
            per.unpersist()
        only = [r["_c"] for r in sorted(tot["only_examples"] or [], key=lambda r: r["first_row"])]
        report = log_report(
            source=name, roles=roles, sample=sample, read=None, lines_in=lines_in, dropped=dropped,
            counts={"lines_kept": int(tot["kept"]), "purchase_lines": int(tot["purchase"]),
                    "return_lines": int(tot["returns"]), "customers": n, "orders": int(tot["orders"]),
                    "clipped": int(tot["clipped"])},
            returns={"negative_amount_or_quantity": int(tot["negative"]),
                     "cancelled_invoice_marker": int(tot["marked"]),
                     "marker_with_positive_amount_negated": int(tot["flipped"]),
                     "amount_netted": round(float(tot["netted"] or 0.0), 2),
                     **({"note": marker_note} if marker_note else {})},
            reading=reading, format_lines=[int(tot[f"fmt{i}"] or 0) for i in range(len(FORMAT_EXAMPLES))],
            where=seen, only_returns=only, only_returns_count=int(tot["only"]), as_of_day=as_of_day,
            as_of_given=as_of is not None, cutoff_day=cutoff)
    finally:
        dedup.unpersist()
        if lines is not None:
            lines.unpersist()
    transforms = transforms_from_skew(_skewness(tot, n))
    cleaning, txs, source = log_records(report, transforms, name)
    safe = {f: f"f{j}" for j, f in enumerate(FEATURES)}
    cleaned = SparkCleaned(frame=customers, numeric=list(FEATURES), categorical=[], id_column=ID_COLUMN,
                           report=cleaning, safe=safe, level_counts={}, present={f: int(n) for f in FEATURES},
                           rows=int(n))
    return SparkTx(cleaned=cleaned, report=report, transforms=transforms, roles=roles, transactions=txs,
                   source=source)


def _evidence(texts: pd.Series) -> pd.Series:
    """pandas UDF body: `date_evidence` per line, computed once per distinct text of the batch."""
    codes, uniques = pd.factorize(texts)
    return pd.Series(take(date_evidence(np.asarray(uniques, dtype=object)), codes, np.int8(NOT_A_DATE)))


def _parser(reading: Reading) -> Any:
    """pandas UDF body: `parse_dates` with the log's reading → (microseconds since 1970 or the NaT
    sentinel, format code)."""
    def parse(texts: pd.Series) -> pd.DataFrame:
        codes, uniques = pd.factorize(texts)
        got = parse_dates(np.asarray(uniques, dtype=object), reading=reading)
        return pd.DataFrame({"ts": take(got.values.view(np.int64), codes, _NAT),
                             "fmt": take(got.fmt, codes, np.int8(-1))})
    return parse


def _id_text(column: Any) -> Any:
    """`model.orders.lines.id_texts`: stripped, '17850.0' → '17850', blank → null."""
    from pyspark.sql import functions as F
    s = F.regexp_replace(R.stripped(column), r"^([0-9]+)\.0+$", "$1")
    return F.when(s != "", s)


def _lines(dedup: Any, roles: Roles, col: dict[str, Any], reading: Reading, cutoff: int) -> Any:
    """The distinct lines with what the features need: customer, timestamp (µs), date format,
    amount (null when unparseable), negative quantity, order id, cancelled-invoice marker, the
    raw date and amount texts (for examples), and the first reason that sets the line aside."""
    from pyspark.sql import functions as F
    parsed = F.pandas_udf(_parser(reading), "ts long, fmt byte")(col[roles.date])
    if roles.amount:
        amount, negative, raw = R.number(col[roles.amount]), F.lit(False), col[roles.amount]
    else:
        qty, unit = R.number(col[roles.quantity]), R.number(col[roles.price])
        product = qty * unit
        amount = F.when(F.abs(product) != float("inf"), product)
        negative, raw = F.coalesce(qty < 0, F.lit(False)), col[roles.quantity]
    order = _id_text(col[roles.order]) if roles.order else F.lit(None).cast("string")
    out = dedup.select(_id_text(col[roles.customer]).alias("_c"), parsed.alias("_p"), amount.alias("_amt"),
                       negative.alias("_neg"), order.alias("_o"), col[roles.date].alias("_d"),
                       raw.alias("_a"), "_row")
    ts = F.when(F.col("_p.ts") != F.lit(_NAT), F.col("_p.ts"))
    out = out.select("*", ts.alias("_ts"), F.col("_p.fmt").alias("_fmt")).drop("_p")
    reason = (F.when(F.col("_c").isNull(), _CODE["no_customer"])
              .when(F.col("_ts").isNull(), _CODE["unparseable_date"])
              .when(F.col("_ts") >= F.lit(cutoff * _DAY_US), _CODE["future_date"])
              .when(F.col("_amt").isNull(), _CODE["unparseable_amount"]).otherwise(0))
    marker = F.coalesce(F.col("_o").rlike("^[Cc][0-9]"), F.lit(False))
    return out.select("*", reason.alias("_reason"), marker.alias("_marker"))


def _per_customer(lines: Any, *, use_marker: bool, by_order: bool) -> Any:
    """One row per customer with a kept line: the feature aggregates and the report's counts."""
    from pyspark.sql import functions as F
    amt = F.col("_amt")
    is_ret = (amt < 0) | F.col("_neg") | (F.col("_marker") if use_marker else F.lit(False))
    flipped = is_ret & (amt > 0)
    net = F.when(flipped, -amt).otherwise(amt)
    day = F.expr(f"(_ts - pmod(_ts, {_DAY_US})) div {_DAY_US}")  # floor division, in integers
    stamp = F.col("_ts").cast("string")
    key = F.coalesce(F.col("_o"), F.concat(F.lit("\u0000"), stamp)) if by_order else stamp
    ok = lines.where(F.col("_reason") == 0).select(
        "_c", "_row", "_fmt", is_ret.alias("ret"), flipped.alias("flip"), net.alias("net"), day.alias("day"),
        key.alias("key"), ((amt < 0) | F.col("_neg")).alias("neg"), F.col("_marker").alias("mark"))
    b = ~F.col("ret")
    return ok.groupBy("_c").agg(
        F.count(F.lit(1)).alias("n_ok"), F.count_if(b).alias("n_buy"),
        F.max(F.when(b, F.col("day"))).alias("last"), F.min(F.when(b, F.col("day"))).alias("first"),
        F.sum("net").alias("spend"), F.count_distinct(F.when(b, F.col("key"))).alias("freq"),
        F.count_if(F.col("ret")).alias("n_ret"), F.count_if(F.col("ret") & F.col("neg")).alias("n_neg"),
        F.count_if(F.col("ret") & F.col("mark")).alias("n_mark"), F.count_if(F.col("flip")).alias("n_flip"),
        F.sum(F.when(F.col("ret"), F.col("net"))).alias("netted"),
        *[F.count_if(F.col("_fmt") == i).alias(f"fmt{i}") for i in range(len(FORMAT_EXAMPLES))],
        F.min("_row").alias("first_row"))


def _totals(per: Any) -> Any:
    """The report's totals over the customers (only-returns customers apart)."""
    from pyspark.sql import functions as F
    has = F.col("n_buy") > 0

    def total(c: str) -> Any:
        return F.sum(F.when(has, F.col(c)).otherwise(0))
    return per.agg(
        F.count_if(has).alias("buyers"), F.count_if(~has).alias("only"),
        F.sum(F.when(~has, F.col("n_ok")).otherwise(0)).alias("only_lines"),
        total("n_ok").alias("kept"), total("n_buy").alias("purchase"), total("n_ret").alias("returns"),
        total("n_neg").alias("negative"), total("n_mark").alias("marked"), total("n_flip").alias("flipped"),
        F.sum(F.when(has, F.col("netted"))).alias("netted"), total("freq").alias("orders"),
        F.count_if(has & (F.col("spend") < 0)).alias("clipped"), F.max("last").alias("last_day"),
        F.count_if(has & ~F.col("_c").rlike("^[0-9]{1,18}$")).alias("text_ids"),
        *[total(f"fmt{i}").alias(f"fmt{i}") for i in range(len(FORMAT_EXAMPLES))],
        F.min_by(F.struct("_c", "first_row"), F.when(~has, F.col("first_row")), MAX_EXAMPLES).alias("only_examples"),
        # skewness is unchanged by a shift: the features counted from day 0 (as_of is not known yet)
        *[F.skewness(F.when(has, v)).alias(f"skew_{f}") for f, v in _features(F.lit(0)).items()]).first()


def _features(as_of: Any) -> dict[str, Any]:
    """`FEATURES` of a per-customer row as columns, recency and tenure counted to `as_of` (a day)."""
    from pyspark.sql import functions as F
    monetary = _money(F.greatest(F.col("spend"), F.lit(0.0)))
    return {"recency_days": as_of - F.col("last"), "frequency": F.col("freq"), "monetary": monetary,
            "tenure_days": as_of - F.col("first"), "avg_order_value": _money(monetary / F.col("freq"))}


def _money(value: Any) -> Any:
    """numpy's round(x, 2): x·100 rounded half to even, / 100."""
    from pyspark.sql import functions as F
    return F.rint(value * 100) / 100


def _customer_table(per: Any, as_of_day: int, *, numeric_ids: bool) -> Any:
    """f0..f4 (`FEATURES`) per customer with a purchase, `_row` increasing in the local engine's
    order (by id: numerically when every id is a whole number, else as text) and the id."""
    from pyspark.sql import functions as F
    values = _features(F.lit(as_of_day))
    key = F.col("_c").cast("long") if numeric_ids else F.col("_c")
    return (per.where(F.col("n_buy") > 0)
            .select(*[values[f].cast("double").alias(f"f{j}") for j, f in enumerate(FEATURES)],
                    F.col("_c").alias(ID_COLUMN), key.alias("_key"))
            .orderBy("_key").withColumn("_row", F.monotonically_increasing_id()).drop("_key"))


def _skewness(tot: Any, n: int) -> dict[str, float]:
    """pandas' sample skewness (adjusted Fisher–Pearson G1) of each feature, from Spark's
    population skewness g1 in `tot`: G1 = g1·√(n(n−1))/(n−2); 0 for fewer than 3 customers or no
    spread."""
    out = {}
    for f in FEATURES:
        g1 = tot[f"skew_{f}"]
        ok = n > 2 and g1 is not None and math.isfinite(g1)
        out[f] = float(g1) * math.sqrt(n * (n - 1)) / (n - 2) if ok else 0.0
    return out


def _examples(lines: Any, offsets: dict[int, int], dropped: dict[str, int], *, per_line: bool) -> Any:
    """(reason, raw column) → {count, examples: [{line|row, value}]}: the first lines so set
    aside, in file order, with their file line (CSV) or row number (Parquet) — one job for all."""
    from pyspark.sql import functions as F
    reasons = [_CODE[w] for w in ("unparseable_date", "future_date", "unparseable_amount") if dropped[w]]
    first = {r["_reason"]: r["first"] for r in lines.where(F.col("_reason").isin(reasons)).groupBy("_reason").agg(
        F.min_by(F.struct("_row", "_d", "_a"), "_row", MAX_EXAMPLES).alias("first")).collect()} if reasons else {}

    def where(why: str, column: str) -> dict[str, Any]:
        picked = sorted(first.get(_CODE[why]) or [], key=lambda r: r["_row"])
        at = line_of([r["_row"] for r in picked], offsets)
        shown = [{"line": int(a)} if per_line else {"row": int(a) - 1} for a in at]
        for e, r in zip(shown, picked):
            e["value"] = str(r[column])[:MAX_ECHO] if r[column] is not None else ""
        return {"count": int(dropped[why]), "examples": shown}
    return where
