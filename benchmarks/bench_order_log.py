"""order-log: an order log of 1,000,000 lines → one row per customer (recency, frequency, monetary,
tenure, average order value) by `model.orders.customers.customer_features`, cleaning included
(duplicates, guest lines, dates in three formats parsed and bad ones reported per line, future
dates, returns netted, returns-only customers), against a plain pandas ``groupby().agg()`` of the
same aggregates (first and last date, distinct invoices, summed quantity × price) with
``pd.to_datetime(format="ISO8601")`` and ``pd.to_numeric`` and no cleaning, in the same run.

Both start from the same text frame, as the strict CSV reader returns it; the log is the
synthetic UCI-like export of `training.synthetic.orders`. Reading the file is reported beside (strict
reader and plain ``pd.read_csv``), since it is the same cost whatever is computed afterwards.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks.common import CACHE, Result, fmt_s, interleaved, p50

TARGET_RATIO = 1.5
LINES_PER_CUSTOMER = 24.5  # what the generator makes on average


def order_log_csv(lines: int, *, seed: int = 7) -> Path:
    """A synthetic order log of exactly `lines` lines, cached in CACHE."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"orders_{lines}_{seed}.csv"
    if path.exists():
        return path
    from training.synthetic.orders import generate_transactions
    n = max(10, int(lines / LINES_PER_CUSTOMER * 1.1))
    frame, _ = generate_transactions(n, seed=seed)
    while len(frame) < lines:
        n = int(n * 1.2)
        frame, _ = generate_transactions(n, seed=seed)
    tmp = path.with_suffix(".part")
    frame.iloc[:lines].to_csv(tmp, index=False, lineterminator="\n")
    tmp.rename(path)
    return path


def baseline(frame: pd.DataFrame) -> pd.DataFrame:
    """The same aggregates the plain way: no duplicates, guests, returns or bad dates handled."""
    when = pd.to_datetime(frame["InvoiceDate"], format="ISO8601", errors="coerce")
    amount = pd.to_numeric(frame["Quantity"], errors="coerce") * pd.to_numeric(frame["UnitPrice"], errors="coerce")
    table = pd.DataFrame({"customer": frame["CustomerID"], "order": frame["InvoiceNo"], "when": when,
                          "amount": amount})
    out = table.groupby("customer").agg(first=("when", "min"), last=("when", "max"),
                                        frequency=("order", "nunique"), monetary=("amount", "sum"))
    as_of = out["last"].max().normalize() + pd.Timedelta(days=1)
    out["recency_days"] = (as_of - out["last"].dt.normalize()).dt.days
    out["tenure_days"] = (as_of - out["first"].dt.normalize()).dt.days
    out["avg_order_value"] = out["monetary"] / out["frequency"]
    return out


def run(smoke: bool = False) -> list[Result]:
    from model.tables.reading import read_csv_strict
    from model.tables.chunks import MAX_TRAIN_BYTES, MAX_TRAIN_ROWS
    from model.orders.customers import customer_features
    lines = 20_000 if smoke else 1_000_000
    path = order_log_csv(lines)
    t = time.perf_counter()
    text = read_csv_strict(path, max_bytes=MAX_TRAIN_BYTES, max_rows=MAX_TRAIN_ROWS)
    strict_read = time.perf_counter() - t
    t = time.perf_counter()
    pd.read_csv(path)
    plain_read = time.perf_counter() - t
    result = customer_features(text)
    times = interleaved({"ours": lambda: customer_features(text), "baseline": lambda: baseline(text)},
                        rounds=1 if smoke else 5)
    ours, base = p50(times["ours"]), p50(times["baseline"])
    ratio = ours / base
    rep = result.report
    return [Result(
        f"order-log: -> customer features, {lines:,} lines", fmt_s(ours),
        f"pandas groupby().agg() {fmt_s(base)}", f"{ratio:.2f}x", f"<= {TARGET_RATIO}x (cleaning included)",
        None if smoke else ratio <= TARGET_RATIO,
        {"ours_s": times["ours"], "baseline_s": times["baseline"], "customers": rep["customers"],
         "lines_in": rep["lines_in"], "dropped": rep["dropped"], "return_lines": rep["return_lines"],
         "read_strict_s": round(strict_read, 3), "read_plain_pandas_s": round(plain_read, 3),
         "file_bytes": path.stat().st_size})]


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
