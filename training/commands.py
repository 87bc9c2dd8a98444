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
    from training.fit import FitOptions, fit
    from training.reading.inputs import TxOptions
    spark = _engine(args) == "spark"
    # both engines: read, describe/preprocess, choose k, fit, [compare], profile (Spark: twice, its
    # aggregations then the segments), rules, write — the local engine describes columns as a step
    step, done = progress(9 - bool(args.no_compare))
    flags = ("customer", "date", "amount", "quantity", "price", "order")
    tx = TxOptions(columns={f: getattr(args, f) for f in flags if getattr(args, f)}, as_of=args.as_of,
                   dayfirst=args.day_first)
    data, log = args.data, args.transactions
    if not spark:  # Spark: URIs stay text
        data, log = (None if data is None else Path(data)), (None if log is None else Path(log))
    opts = FitOptions(data=data, transactions=log, tx=tx, out=args.out, features=args.features,
                      id_column=args.id_column, roles=args.role or (), k=args.k, seed=args.seed, offers=args.offers,
                      limits=dict(args.limit or []), compare=not args.no_compare, bootstrap=args.bootstrap,
                      title=args.title, license=args.license, space_id=args.space)
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
    print(format_report(m.cleaning))
    roles = {f.name: f.role for f in m.schema.features if f.role}
    print("roles: " + (", ".join(f"{c} → {r}" for c, r in roles.items()) or "none recognised (set them with --role)"))
    print(f"\nk = {m.k}: {m.selection.reason}")
    print(f"cluster structure: {m.clusterability.verdict} — {m.clusterability.summary}")
    print(f"silhouette {m.metrics.silhouette}, Calinski–Harabasz {m.metrics.calinski_harabasz}, "
          f"Davies–Bouldin {m.metrics.davies_bouldin}")
    if m.metrics.engine_agreement is not None:
        agree = m.metrics.engine_agreement
        print(f"Spark {m.engine.version} ({m.engine.master}): silhouette on all {m.metrics.silhouette_full_rows:,} "
              f"rows {m.metrics.silhouette_full_spark} (squared Euclidean); Spark and the bundle agree on "
              f"{agree.same:,} of {agree.rows:,} rows ({agree.ties} ties)")
    for s in m.segments:
        stab = "" if s.stability is None else f" — stability {s.stability:.2f} ({s.stability_reading})"
        print(f"  [{s.id}] {s.name} — {s.share:.1%}{stab} — offers: " + "; ".join(o.title for o in s.offers))
        if s.offer_note:
            print(f"       note: {s.offer_note}")
    if m.rules is not None:
        print(f"rules (segment_rules.sql): fidelity {m.rules.fidelity:.1%} at depth {m.rules.depth}")
    print(f"\nbundle written to {opts.out} in {result.seconds} s")
    if args.push_to_hub:
        return push(opts.out, args.push_to_hub, private=args.private, revision=None, message=None)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    if _engine(args) == "spark":
        from training.engines import spark as spark_engine
        summary = spark_engine.score(args.bundle, args.data or args.transactions, args.out,
                                     master=args.spark_master, data_format=args.data_format,
                                     conf=dict(args.spark_conf or []), log=args.transactions is not None)
    else:
        from training.score import score_file
        summary = score_file(args.bundle, Path(args.data or args.transactions), Path(args.out),
                             log=args.transactions is not None)
    if "log" in summary:
        log = summary["log"]
        print(f"order log: {log['lines_in']:,} lines, {log['lines_kept']:,} kept → {log['customers']:,} customers"
              + (f"; set aside: {', '.join(f'{k} {v:,}' for k, v in log['dropped'].items())}" if log["dropped"] else ""))
    print(f"scored {summary['scored']:,} rows, rejected {summary['rejected']:,}; wrote {args.out}")
    for name, n in summary["per_segment"].items():
        print(f"  {name}: {n:,}")
    if summary["errors"]:
        print(f"rejected rows (first {len(summary['errors'])}; every one has its reason in the `error` column):")
        for e in summary["errors"]:
            print(f"  {'line ' + str(e['line']) if 'line' in e else 'customer ' + e['customer']}: {e['error']}")
    return 0


def push(bundle: Path, repo: str, *, private: bool, revision: str | None, message: str | None,
          space: str | None = None) -> int:
    from training.publishing.push import pin_instructions, push_bundle
    if space:  # the card links to the Space and its snippet calls it
        from training.publishing.card import set_space
        set_space(bundle, space)
    result = push_bundle(bundle, repo, private=private, revision=revision, commit_message=message)
    print(f"pushed {bundle} to {result.url} at commit {result.commit_sha}")
    print(pin_instructions(result))
    if space:
        from training.publishing.push import push_app_space
        print(push_app_space(space, model_repo=repo, model_revision=result.commit_sha))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    return push(args.bundle, args.repo, private=args.private, revision=args.revision,
                 message=args.message, space=args.space)


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
                            max_bytes=MAX_TRAIN_BYTES, max_rows=MAX_TRAIN_ROWS, id_column=args.id_column)
    paths = write_report(report, args.out)
    print(f"verdict: {report['verdict']} ({report['rows']:,} rows, {report['rows_scored']:,} scored)")
    for reason in report["reasons"] or ["nothing moved beyond the thresholds"]:
        print(f"  - {reason}")
    if report.get("migration"):
        mig = report["migration"]
        print(f"migration: {mig['stayed']:,} stayed, {mig['moved']:,} moved")
    print("wrote " + ", ".join(str(p) for p in paths[:2]) + f" and {len(paths) - 2} plots")
    return 0
