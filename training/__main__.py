"""`python -m training fit|score|push|synth …` — the command-line front of the build side."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from model.settings import DEFAULT_BUNDLE_DIR


def _progress(total: int):
    """A progress bar on a terminal, plain timestamped lines otherwise."""
    start = time.perf_counter()
    if sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=total, file=sys.stderr, bar_format="{l_bar}{bar}| {n}/{total} [{elapsed}]")

        def step(msg: str) -> None:
            bar.set_description(msg)
            bar.update(1)
        return step, bar.close
    counter = {"n": 0}

    def step(msg: str) -> None:
        counter["n"] += 1
        print(f"[{counter['n']}/{total} {time.perf_counter() - start:6.1f}s] {msg}", file=sys.stderr, flush=True)
    return step, lambda: None


def _k(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k must be 'auto' or an integer 2..30, got {value!r}")
    if not 2 <= k <= 30:
        raise argparse.ArgumentTypeError(f"--k must be between 2 and 30, got {k}")
    return k


def _limit(value: str) -> tuple[str, tuple[float, float]]:
    try:
        col, rng = value.rsplit("=", 1)
        lo, hi = (float(x) for x in rng.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--limit must look like COLUMN=LOW:HIGH, got {value!r}")
    if not lo < hi:
        raise argparse.ArgumentTypeError(f"--limit {col}: LOW must be below HIGH, got {lo}:{hi}")
    return col, (lo, hi)


def cmd_fit(args: argparse.Namespace) -> int:
    from training.data import format_report
    from training.fit import FitOptions, fit
    spark = args.engine == "spark"
    step, done = _progress((7 if spark else 9) - bool(args.no_compare))
    data = args.data if spark or args.data is None else Path(args.data)  # Spark: URIs stay text
    opts = FitOptions(data=data, out=args.out, features=args.features, id_column=args.id_column,
                      k=args.k, seed=args.seed, offers=args.offers, limits=dict(args.limit or []),
                      compare=not args.no_compare)
    if spark:
        from training.engines import spark as spark_engine
        manifest = spark_engine.fit(opts, master=args.spark_master, step=step,
                                    data_format=args.data_format, conf=dict(args.spark_conf or []))
    else:
        manifest = fit(opts, step=step)
    done()
    print(format_report(manifest["cleaning"]))
    sel, clus = manifest["selection"], manifest.get("clusterability") or {}
    print(f"\nk = {manifest['k']}: {sel['reason']}")
    if clus:
        print(f"cluster structure: {clus.get('verdict')} — {clus.get('summary', '')}")
    m = manifest["metrics"]
    print(f"silhouette {m['silhouette']}, Calinski–Harabasz {m['calinski_harabasz']}, "
          f"Davies–Bouldin {m['davies_bouldin']}")
    if "silhouette_full_spark" in m:
        agree = m["engine_agreement"]
        print(f"Spark: silhouette on all {m['silhouette_full_rows']:,} rows {m['silhouette_full_spark']} "
              f"(squared Euclidean); Spark and the bundle agree on {agree['same']:,} of "
              f"{agree['rows']:,} rows ({agree['ties']} ties)")
    for s in manifest["segments"]:
        print(f"  [{s['id']}] {s['name']} — {s['share']:.1%} — offers: "
              + "; ".join(o["title"] for o in s["offers"]))
    print(f"\nbundle written to {opts.out} in {manifest['_seconds']} s")
    if args.push_to_hub:
        return _push(opts.out, args.push_to_hub, private=args.private, revision=None, message=None)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    if args.engine == "spark":
        from training.engines import spark as spark_engine
        summary = spark_engine.score(args.bundle, args.data, args.out, master=args.spark_master,
                                     data_format=args.data_format, conf=dict(args.spark_conf or []))
    else:
        from training.score import score_file
        summary = score_file(args.bundle, Path(args.data), Path(args.out))
    print(f"scored {summary['scored']:,} rows, rejected {summary['rejected']:,}; wrote {args.out}")
    for name, n in summary["per_segment"].items():
        print(f"  {name}: {n:,}")
    return 0


def _push(bundle: Path, repo: str, *, private: bool, revision: str | None, message: str | None,
          space: str | None = None) -> int:
    from training.publish import pin_instructions, push_bundle
    result = push_bundle(bundle, repo, private=private, revision=revision, commit_message=message)
    print(f"pushed {bundle} to {result.url} at commit {result.commit_sha}")
    print(pin_instructions(result))
    if space:
        from training.publish import push_app_space
        print(push_app_space(space, model_repo=repo, model_revision=result.commit_sha))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    return _push(args.bundle, args.repo, private=args.private, revision=args.revision,
                 message=args.message, space=args.space)


def cmd_synth(args: argparse.Namespace) -> int:
    from training.synthetic import generate
    frame, labels = generate(args.rows, seed=args.seed)
    frame.to_csv(args.out, index=False)
    if args.labels:
        import pandas as pd
        pd.DataFrame({"planted_segment": labels}).to_csv(args.labels, index=False)
    print(f"wrote {len(frame):,} rows to {args.out}" + (f" and planted labels to {args.labels}" if args.labels else ""))
    return 0


def _conf(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key.strip().startswith("spark."):
        raise argparse.ArgumentTypeError(f"--spark-conf must look like spark.KEY=VALUE, got {value!r}")
    return key.strip(), val.strip()


def _engine_args(p: argparse.ArgumentParser) -> None:
    """--engine and its Spark options (training.engines.spark; needs requirements-spark.txt + Java)."""
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: scikit-learn on this machine (default); spark: PySpark MLlib on a cluster")
    p.add_argument("--spark-master", default="local[*]", metavar="URL",
                   help="with --engine spark: local[*] (default), local[N], spark://HOST:PORT, yarn, "
                        "k8s://https://HOST:PORT, or active (under spark-submit: its master)")
    p.add_argument("--data-format", choices=("csv", "parquet"),
                   help="with --engine spark: format of --data (default: from its name; CSV otherwise)")
    p.add_argument("--spark-conf", type=_conf, action="append", metavar="KEY=VALUE",
                   help="with --engine spark: a Spark setting, e.g. spark.executor.memory=8g (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log every step in detail")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="train on a CSV and write a bundle",
                       description="Train on a customer CSV (default: the embedded synthetic data) and "
                                   "write a bundle (model, manifest, plots, model card).")
    f.add_argument("--data", help="customer CSV (default: embedded synthetic data); with --engine "
                                   "spark also Parquet, and any URI Spark reads (s3a://, abfss://, hdfs://)")
    f.add_argument("--out", type=Path, default=DEFAULT_BUNDLE_DIR, help=f"bundle folder (default: {DEFAULT_BUNDLE_DIR})")
    f.add_argument("--features", nargs="+", metavar="COL", help="use only these columns")
    f.add_argument("--id-column", metavar="COL", help="column identifying a customer (excluded from features)")
    f.add_argument("--k", type=_k, default="auto", help="number of segments, or 'auto' (default)")
    f.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    f.add_argument("--offers", type=Path, default=None, help="offer catalogue YAML (default: training/offers.yaml)")
    f.add_argument("--limit", type=_limit, action="append", metavar="COL=LOW:HIGH",
                   help="hard limits for a numeric column (values outside are rejected when serving)")
    f.add_argument("--no-compare", action="store_true", help="skip the DBSCAN/HDBSCAN/GMM comparison")
    f.add_argument("--push-to-hub", metavar="OWNER/NAME", help="push the bundle to this Hub model repo")
    _engine_args(f)
    f.add_argument("--private", action="store_true", help="create the Hub repo as private")
    f.set_defaults(func=cmd_fit)

    s = sub.add_parser("score", help="score a CSV with a bundle",
                       description="Score every row of a CSV; invalid rows get an `error` instead of a segment.")
    s.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE_DIR)
    s.add_argument("--data", required=True, help="CSV to score (with --engine spark also Parquet or a URI)")
    s.add_argument("--out", required=True, help="output CSV (with --engine spark: a Parquet folder, or "
                                                 "CSV parts when it ends in .csv)")
    _engine_args(s)
    s.set_defaults(func=cmd_score)

    u = sub.add_parser("push", help="push a bundle to a Hub model repo",
                       description="create_repo + one upload_folder commit; prints the commit sha to pin. "
                                   "Token: HF_TOKEN or the huggingface_hub login. Endpoint: HF_ENDPOINT.")
    u.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE_DIR)
    u.add_argument("--repo", required=True, metavar="OWNER/NAME")
    u.add_argument("--private", action="store_true")
    u.add_argument("--revision", metavar="BRANCH", help="branch to commit to (default main)")
    u.add_argument("--message", metavar="TEXT", help="commit message")
    u.add_argument("--space", metavar="OWNER/NAME", help="also create/update a Space serving this bundle")
    u.set_defaults(func=cmd_push)

    y = sub.add_parser("synth", help="write the synthetic customer table",
                       description="Generate customers with planted segments and real-export mess.")
    y.add_argument("--rows", type=int, default=3000)
    y.add_argument("--out", type=Path, required=True)
    y.add_argument("--seed", type=int, default=7)
    y.add_argument("--labels", type=Path, help="also write the planted segment of every row here")
    y.set_defaults(func=cmd_synth)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "offers", 0) is None:
        from training.offers import DEFAULT_CATALOGUE
        args.offers = DEFAULT_CATALOGUE
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
