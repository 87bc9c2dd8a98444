"""The commands behind `python -m training …` (the parser is in `training.__main__`)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def progress(total: int):
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


def _engine(args: argparse.Namespace) -> str:
    """The engine; Spark-only options given without --engine spark are refused, not ignored."""
    engine = getattr(args, "engine", "local")
    if engine != "spark":
        given = [flag for flag, value in (("--spark-master", args.spark_master != "local[*]"),
                                          ("--spark-conf", bool(args.spark_conf)),
                                          ("--data-format", args.data_format is not None)) if value]
        if given:
            raise ValueError(f"{', '.join(given)} only apply with --engine spark (got --engine {engine})")
    return engine


def cmd_fit(args: argparse.Namespace) -> int:
    from training.reading.table import format_report
    from model.contract.bundle import DEFAULT_BUNDLE_DIR
    from training.fit import FitOptions, check_destination, fit, fit_steps
    from training.reading.inputs import TxOptions
    spark = _engine(args) == "spark"
    if spark and args.kind:
        raise ValueError("--kind applies to the local engine only (the Spark engine infers kinds)")
    step, done = progress(9 - bool(args.no_compare) if spark else fit_steps(not args.no_compare))
    flags = ("customer", "date", "amount", "quantity", "price", "order")
    tx = TxOptions(columns={f: getattr(args, f) for f in flags if getattr(args, f)}, as_of=args.as_of,
                   dayfirst=args.day_first, date_format=args.date_format)
    data, log = args.data, args.transactions
    if not spark:  # Spark: URIs stay text
        data, log = (None if data is None else Path(data)), (None if log is None else Path(log))
    opts = FitOptions(data=data, transactions=log, tx=tx, out=DEFAULT_BUNDLE_DIR if args.default else args.out,
                      rebuild_default=args.default, features=args.features,
                      id_column=args.id_column, roles=args.role or (), kinds=dict(args.kind or []), k=args.k,
                      seed=args.seed, offers=args.offers,
                      limits=dict(args.limit or []), compare=not args.no_compare, bootstrap=args.bootstrap,
                      title=args.title, license=args.license, space_id=args.space)
    check_destination(opts)  # before any work, for either engine
    if spark:
        from training.engines import spark as spark_engine
        result = spark_engine.fit(opts, master=args.spark_master, step=step, data_format=args.data_format,
                                  conf=dict(args.spark_conf or []))
    else:
        result = fit(opts, step=step)
    done()
    m = result.manifest
    if m.transactions is not None:
        from model.orders.report import format_report as tx_report
        print(tx_report(m.transactions.report))
        print(f"log1p for clustering: {', '.join(m.transactions.log1p) or 'none'} ({m.transactions.transform_rule})\n")
    else:
        for what, how in result.read.items():
            print(f"{what}: {how}")
    print(format_report(m.cleaning))
    roles = {f.name: f.role for f in m.schema.features if f.role}
    print("roles: " + (", ".join(f"{c} → {r}" for c, r in roles.items()) or "none recognised (set them with --role)"))
    if m.selection.weights:
        print("weights in the distance: " + ", ".join(f"{c} {w:g}" for c, w in m.selection.weights.items())
              + f" ({m.selection.weight_rule})")
    print(f"\nk = {m.k}: {m.selection.reason}")
    print(f"cluster structure: {m.clusterability.verdict} — {m.clusterability.summary}")
    print(f"silhouette {m.metrics.silhouette}, Calinski–Harabasz {m.metrics.calinski_harabasz}, "
          f"Davies–Bouldin {m.metrics.davies_bouldin}")
    if m.metrics.engine_agreement is not None:
        agree = m.metrics.engine_agreement
        print(f"Spark {m.engine.version} ({m.engine.master}): silhouette on all {m.metrics.silhouette_full_rows:,} "
              f"rows {m.metrics.silhouette_full_spark} (squared Euclidean); Spark and the bundle agree on "
              f"{agree.same:,} of {agree.rows:,} rows ({agree.ties} ties)")
        if m.engine.shuffle_partitions is not None:
            print(f"shuffle partitions: {m.engine.shuffle_partitions} ({m.engine.shuffle_basis})")
    if m.value is not None:
        print(m.value.headline)
    for s in m.segments:
        stab = "" if s.stability is None else f" — stability {s.stability:.2f} ({s.stability_reading})"
        worth = "" if s.value is None else f" of customers, {s.value.revenue_share:.1%} of revenue"
        print(f"  [{s.id}] {s.name} — {s.share:.1%}{worth}{stab} — offers: " + "; ".join(o.title for o in s.offers))
        if s.offer_note:
            print(f"       note: {s.offer_note}")
    if m.rules is not None:
        print(f"rules (segment_rules.sql): fidelity {m.rules.fidelity:.1%} at depth {m.rules.depth}")
    print(f"\nbundle written to {opts.out} in {result.seconds} s")
    if args.push_to_hub:
        return push(opts.out, args.push_to_hub, private=args.private, revision=None, message=None)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    if args.out is None and args.by_segment is None:
        raise ValueError("score needs --out FILE, --by-segment DIR, or both")
    if _engine(args) == "spark":
        if args.by_segment is not None:
            raise ValueError("--by-segment works with the local engine; score with --engine spark, then split "
                             "the result by its segment_id column")
        from training.engines import spark as spark_engine
        summary = spark_engine.score(args.bundle, args.data or args.transactions, args.out,
                                     master=args.spark_master, data_format=args.data_format,
                                     conf=dict(args.spark_conf or []), log=args.transactions is not None)
    else:
        from training.score import score_file
        summary = score_file(args.bundle, Path(args.data or args.transactions), args.out and Path(args.out),
                             log=args.transactions is not None, date_format=args.date_format,
                             by_segment=args.by_segment)
    for what, how in summary.get("read", {}).items():
        print(f"{what}: {how}")
    if "log" in summary:
        log = summary["log"]
        print(f"order log: {log['lines_in']:,} lines, {log['lines_kept']:,} kept → {log['customers']:,} customers"
              + (f"; set aside: {', '.join(f'{k} {v:,}' for k, v in log['dropped'].items())}" if log["dropped"] else ""))
    print(f"scored {summary['scored']:,} rows, rejected {summary['rejected']:,}"
          + (f"; wrote {args.out}" if args.out else ""))
    value = summary.get("value")
    if value:
        print(value["headline"])
    for name, n in summary["per_segment"].items():
        v = (value or {}).get("per_segment", {}).get(name)
        worth = f" ({v['customer_share']:.1%} of customers, {v['revenue_share']:.1%} of revenue)" if v else ""
        print(f"  {name}: {n:,}{worth}")
    if summary.get("audiences"):
        print(f"audiences in {args.by_segment} (one file per segment, {sum(summary['audiences'].values()):,} rows):")
        for name, n in summary["audiences"].items():
            print(f"  {name}: {n:,} rows")
    if summary["errors"]:
        print(f"rejected rows (first {len(summary['errors'])}; every one has its reason in the `error` column):")
        for e in summary["errors"]:
            print(f"  {'line ' + str(e['line']) if 'line' in e else 'customer ' + e['customer']}: {e['error']}")
    return 0


def push(bundle: Path, repo: str, *, private: bool, revision: str | None, message: str | None,
          space: str | None = None, train: bool = False) -> int:
    from training.publishing.push import pin_instructions, push_bundle
    if space:  # the card links to the Space and its snippet calls it
        from model.derived.card import set_space
        set_space(bundle, space)
    result = push_bundle(bundle, repo, private=private, revision=revision, commit_message=message)
    print(f"pushed {bundle} to {result.url} at commit {result.commit_sha}")
    print(pin_instructions(result))
    if space:
        from training.publishing.push import push_app_space
        print(push_app_space(space, model_repo=repo, model_revision=result.commit_sha, train=train))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    if args.train and not args.space:
        raise ValueError("--train applies to the Space: give --space OWNER/NAME too")
    return push(args.bundle, args.repo, private=args.private, revision=args.revision,
                 message=args.message, space=args.space, train=args.train)


def cmd_synth(args: argparse.Namespace) -> int:
    if args.transactions:
        return _synth_transactions(args)
    from training.synthetic.customers import generate
    frame, labels = generate(args.rows, seed=args.seed)
    frame.to_csv(args.out, index=False)
    if args.labels:
        import pandas as pd
        pd.DataFrame({"planted_segment": labels}).to_csv(args.labels, index=False)
    print(f"wrote {len(frame):,} rows to {args.out}" + (f" and planted labels to {args.labels}" if args.labels else ""))
    return 0


def _synth_transactions(args: argparse.Namespace) -> int:
    from training.synthetic.orders import DEFAULT_AS_OF, generate_transactions, planted_summary
    frame, planted = generate_transactions(args.customers, seed=args.seed, as_of=args.as_of or DEFAULT_AS_OF)
    frame.to_csv(args.out, index=False)
    if args.labels:
        planted.labels.to_csv(args.labels, index=False)
    print(f"wrote {len(frame):,} order lines of {args.customers:,} customers to {args.out}"
          + (f" and their planted behaviours to {args.labels}" if args.labels else ""))
    print("planted: " + ", ".join(f"{k} {v:,}" for k, v in planted_summary(planted).items()))
    print("mess: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in planted.mess.items()))
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    from model.tables.chunks import MAX_TRAIN_BYTES, MAX_TRAIN_ROWS
    from model.drift.check import monitor_upload
    from model.serving.predictor import Predictor
    from training.monitoring.report import write_report
    predictor = Predictor.from_dir(args.bundle)
    source = args.data or args.transactions
    report = monitor_upload(predictor, Path(source).read_bytes(),
                            previous=args.previous.read_bytes() if args.previous else None,
                            max_bytes=MAX_TRAIN_BYTES, max_rows=MAX_TRAIN_ROWS, id_column=args.id_column,
                            max_columns=None)  # your own file on your machine: no width cap, as `score`
    paths = write_report(report, args.out)
    print(f"verdict: {report['verdict']} ({report['rows']:,} rows, {report['rows_scored']:,} scored)")
    for reason in report["reasons"] or ["nothing moved beyond the thresholds"]:
        print(f"  - {reason}")
    if report.get("migration"):
        mig = report["migration"]
        print(f"migration: {mig['stayed']:,} stayed, {mig['moved']:,} moved")
    print("wrote " + ", ".join(str(p) for p in paths[:2]) + f" and {len(paths) - 2} plots")
    return 0
