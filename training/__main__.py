"""`python -m training fit|score|monitor|push|edit|synth …` — the command-line front of the build side."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from model.contract.bundle import DEFAULT_BUNDLE_DIR
from training.commands import cmd_fit, cmd_monitor, cmd_push, cmd_score, cmd_synth
from training.edit import add_edit_parser


def _k(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k must be 'auto' or an integer 2..30, got {value!r}") from None
    if not 2 <= k <= 30:
        raise argparse.ArgumentTypeError(f"--k must be between 2 and 30, got {k}") from None
    return k


def _limit(value: str) -> tuple[str, tuple[float, float]]:
    try:
        col, rng = value.rsplit("=", 1)
        lo, hi = (float(x) for x in rng.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--limit must look like COLUMN=LOW:HIGH, got {value!r}") from None
    if not lo < hi:
        raise argparse.ArgumentTypeError(f"--limit {col}: LOW must be below HIGH, got {lo}:{hi}") from None
    return col, (lo, hi)


def _kind(value: str) -> tuple[str, str]:
    from training.reading.table import KINDS
    col, sep, kind = value.rpartition("=")
    if not sep or not col.strip() or kind.strip() not in KINDS:
        raise argparse.ArgumentTypeError(f"--kind must look like COLUMN={'|'.join(KINDS)}, got {value!r}")
    return col.strip(), kind.strip()


def _day(value: str):
    from datetime import date
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--as-of must be a date like 2025-01-01, got {value!r}") from None


def _log_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("order-log columns (recognised from names, types and cardinality when not given)")
    for flag, what in (("customer", "customer id"), ("date", "order date"), ("amount", "line amount"),
                       ("quantity", "quantity (with --price)"), ("price", "unit price (with --quantity)"),
                       ("order", "order/invoice id")):
        g.add_argument(f"--{flag}", metavar="COL", help=f"the {what} column")
    g.add_argument("--as-of", metavar="DATE", help="the day recency is counted to (default: the day after the last order)")
    g.add_argument("--day-first", dest="day_first", action="store_true", default=None,
                   help="read numeric dates as day/month (default: decided from the data)")
    _date_format(g)


def _date_format(g: argparse._ActionsContainer) -> None:
    from model.orders.dates import DATE_FORMATS
    g.add_argument("--date-format", choices=tuple(DATE_FORMATS), metavar="FORMAT",
                   help="read the order log's dates in this format only: " + ", ".join(DATE_FORMATS)
                        + " (default: decided per column from the data; the report says how)")


def _conf(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key.strip().startswith("spark."):
        raise argparse.ArgumentTypeError(f"--spark-conf must look like spark.KEY=VALUE, got {value!r}")
    return key.strip(), val.strip()


def _engine_args(p: argparse.ArgumentParser) -> None:
    """--engine and its Spark options (training.engines.spark; needs requirements-spark.txt + Java)."""
    g = p.add_argument_group("engine (Spark needs requirements-spark.txt and Java 17)")
    g.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: scikit-learn on this machine (default); spark: PySpark MLlib on a cluster")
    g.add_argument("--spark-master", default="local[*]", metavar="URL",
                   help="with --engine spark: local[*] (default), local[N], spark://HOST:PORT, yarn, "
                        "k8s://https://HOST:PORT, or active (under spark-submit: its master)")
    g.add_argument("--data-format", choices=("csv", "parquet"),
                   help="with --engine spark: format of --data (default: from its name; CSV otherwise)")
    g.add_argument("--spark-conf", type=_conf, action="append", metavar="KEY=VALUE",
                   help="with --engine spark: a Spark setting, e.g. spark.executor.memory=8g (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log every step in detail")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="train on a customer CSV or an order log and write a bundle",
                       description="Train on a customer CSV (default: the embedded synthetic data) or on an "
                                   "order log (--transactions) and write a bundle (model, serving arrays, "
                                   "manifest, rules, plots, model card) to the folder --out names. "
                                   "`fit --default` rebuilds the committed default bundle from the embedded "
                                   "synthetic data, and nothing else writes it.")
    src = f.add_mutually_exclusive_group()
    src.add_argument("--data", help="customer CSV, one row per customer (default: embedded synthetic data); with "
                                     "--engine spark also Parquet and any URI Spark reads (s3a://, abfss://, hdfs://)")
    src.add_argument("--transactions", metavar="FILE",
                     help="order/invoice log: one line per order or product; turned into recency, frequency, "
                          "monetary, tenure and average order value per customer (with --engine spark also "
                          "Parquet or a URI)")
    dest = f.add_mutually_exclusive_group()
    dest.add_argument("--out", type=Path, help="bundle folder to write (required, unless --default)")
    dest.add_argument("--default", action="store_true",
                      help="rebuild the committed default bundle (model/artifacts/default) from the embedded "
                           "synthetic data: the fallback every Space serves")
    _log_flags(f)
    f.add_argument("--features", nargs="+", metavar="COL", help="use only these columns")
    f.add_argument("--id-column", metavar="COL", help="column identifying a customer (excluded from features)")
    f.add_argument("--role", action="append", metavar="ROLE=COLUMN",
                   help="what a column means (repeatable): recency, frequency, monetary, tenure, avg_order_value, "
                        "age, income, spend, engagement, support, satisfaction, price_sensitivity, churn_risk; "
                        "none=COLUMN clears one. Names, traits, labels and offers use roles.")
    f.add_argument("--kind", type=_kind, action="append", metavar="COLUMN=KIND",
                   help="read a column as numeric, categorical, or leave it out (excluded), whatever its "
                        "values suggest (repeatable)")
    f.add_argument("--k", type=_k, default="auto", help="number of segments, or 'auto' (default)")
    f.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    f.add_argument("--offers", type=Path, default=None, help="offer catalogue YAML (default: training/description/offers.yaml)")
    f.add_argument("--limit", type=_limit, action="append", metavar="COL=LOW:HIGH",
                   help="hard limits for a numeric column (values outside are rejected when serving)")
    f.add_argument("--no-compare", action="store_true", help="skip the DBSCAN/HDBSCAN/GMM comparison")
    f.add_argument("--bootstrap", type=int, default=50, metavar="B",
                   help="bootstrap refits for per-segment stability (default 50; 0 skips it)")
    f.add_argument("--title", default="Customer segments", help="title of the app and the model card")
    f.add_argument("--license", default="mit", help="licence of the model card (a Hub licence id; default mit)")
    f.add_argument("--space", metavar="OWNER/NAME", help="the Space that will serve this bundle (linked from the card)")
    f.add_argument("--push-to-hub", metavar="OWNER/NAME", help="push the bundle to this Hub model repo")
    f.add_argument("--private", action="store_true", help="create the Hub repo as private")
    _engine_args(f)
    f.set_defaults(func=cmd_fit)

    s = sub.add_parser("score", help="score a CSV (or an order log) with a bundle",
                       description="Score every row of a CSV; invalid rows get an `error` instead of a segment. "
                                   "With --transactions, one row per customer of the log.")
    s.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE_DIR)
    ss = s.add_mutually_exclusive_group(required=True)
    ss.add_argument("--data", help="customer CSV (with --engine spark also Parquet or a URI)")
    ss.add_argument("--transactions", metavar="FILE", help="order log (for a bundle trained on one; with "
                                                            "--engine spark also Parquet or a URI)")
    s.add_argument("--out", help="output CSV (with --engine spark: a Parquet folder, or CSV parts when it ends "
                                 "in .csv); needed unless --by-segment is given")
    s.add_argument("--by-segment", type=Path, metavar="DIR",
                   help="also write one CSV per segment into DIR (id, input columns, segment, offers): audiences "
                        "for campaigns; the files' rows add up to the scored rows")
    _date_format(s)
    _engine_args(s)
    s.set_defaults(func=cmd_score)

    m = sub.add_parser("monitor", help="compare new data with a bundle's training data (drift)",
                       description="Writes report.json, report.md and plots: PSI per feature, segment shares "
                                   "then and now, customers unlike the training data, a verdict (stable / "
                                   "drifting / re-train) and, with --previous, who moved between segments.")
    m.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE_DIR)
    ms = m.add_mutually_exclusive_group(required=True)
    ms.add_argument("--data", type=Path, help="new customer CSV")
    ms.add_argument("--transactions", type=Path, metavar="FILE", help="new order log (for a bundle trained on one)")
    m.add_argument("--out", type=Path, required=True, help="report folder")
    m.add_argument("--previous", type=Path, help="an earlier scored file (from `score`) for the migration matrix")
    m.add_argument("--id-column", metavar="COL", help="the id column to match customers (default: the bundle's)")
    m.set_defaults(func=cmd_monitor)

    u = sub.add_parser("push", help="push a bundle to a Hub model repo",
                       description="create_repo + one upload_folder commit; prints the commit sha to pin. "
                                   "Token: HF_TOKEN or the huggingface_hub login. Endpoint: HF_ENDPOINT.")
    u.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE_DIR)
    u.add_argument("--repo", required=True, metavar="OWNER/NAME")
    u.add_argument("--private", action="store_true")
    u.add_argument("--revision", metavar="BRANCH", help="branch to commit to (default main)")
    u.add_argument("--message", metavar="TEXT", help="commit message")
    u.add_argument("--space", metavar="OWNER/NAME", help="also create/update a Space serving this bundle")
    u.add_argument("--train", action="store_true",
                   help="with --space: let the Space's visitors train on their own files (pushes training/ "
                        "and adds requirements-training.txt to the Space's requirements)")
    u.set_defaults(func=cmd_push)

    add_edit_parser(sub, DEFAULT_BUNDLE_DIR)

    y = sub.add_parser("synth", help="write the synthetic customer table",
                       description="Generate customers with planted segments and real-export mess.")
    y.add_argument("--rows", type=int, default=3000)
    y.add_argument("--out", type=Path, required=True)
    y.add_argument("--seed", type=int, default=7)
    y.add_argument("--labels", type=Path, help="also write the planted segment of every row here")
    y.add_argument("--transactions", action="store_true",
                   help="write an order log (UCI Online Retail-like, one line per product) instead")
    y.add_argument("--customers", type=int, default=2000, help="customers in the order log (default 2000)")
    y.add_argument("--as-of", type=_day, help="the order log ends the day before this date (default 2025-01-01)")
    y.set_defaults(func=cmd_synth)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "offers", 0) is None:
        from training.description.offers import DEFAULT_CATALOGUE
        args.offers = DEFAULT_CATALOGUE
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
