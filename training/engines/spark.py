"""The Spark engine's front door: `fit` and `score` on any Spark master, same bundle, same output.

    from training.engines import spark
    result = spark.fit(FitOptions(data="s3a://bucket/customers.parquet", out=Path("bundle")),
                       master="spark://10.0.0.5:7077")  # result.manifest: model.contract.manifest.Manifest
    summary = spark.score(Path("bundle"), "s3a://bucket/new.csv", "s3a://bucket/scored.parquet",
                          master="yarn")

Each call starts a session (`spark_session`) and stops it afterwards, unless one is passed in.
Modules: `spark_session` (masters, bounded start), `spark_read` (CSV/Parquet as text, header
checks), `spark_rules` (cell rules as Spark expressions), `spark_clean` (cleaning + report),
`spark_model` (Spark ML stages, KMeans, the scikit-learn pipeline from their numbers),
`spark_stats` / `spark_views` (aggregates → profile/summary/schema dicts, driver samples),
`spark_fit` (the fit, ending in `training.finish.finish`, the local engine's bundle writer),
`spark_score` (batch scoring).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from training.engines.spark_session import SparkEngineError, ship_code, spark_session
from training.fit import FitOptions, FitResult

log = logging.getLogger(__name__)
__all__ = ["SparkEngineError", "fit", "score", "spark_session"]


def _session(spark: Any, master: str, timeout_s: float, conf: Mapping[str, str] | None) -> tuple[Any, bool]:
    """(session, whether this call started it and so must stop it)."""
    if spark is not None:
        ship_code(spark)
        return spark, False
    running = _running()  # a notebook's or the caller's: not ours to stop
    session = spark_session(master, timeout_s=timeout_s, conf=conf)
    ship_code(session)
    return session, not running and master.strip() != "active"


def _running() -> bool:
    try:
        from pyspark import SparkContext
    except ImportError:
        return False  # spark_session says what to install
    return SparkContext._active_spark_context is not None


def fit(opts: FitOptions, *, master: str = "local[*]", spark: Any = None,
        step: Callable[[str], None] = log.info, data_format: str | None = None,
        timeout_s: float = 120.0, conf: Mapping[str, str] | None = None) -> FitResult:
    """`training.fit.fit` on Spark: writes the bundle to `opts.out`, returns the manifest."""
    from training.engines.spark_fit import run_fit
    from training.fit import check_destination
    check_destination(opts)  # the committed default bundle is written only when asked for
    session, owned = _session(spark, master, timeout_s, conf)
    try:
        done = run_fit(session, opts, step=step, data_format=data_format)
        return FitResult(manifest=done.manifest, seconds=done.seconds)
    finally:
        if owned:
            session.stop()


def score(bundle: Path | str, data: str | Path, out: str | Path, *, master: str = "local[*]",
          spark: Any = None, data_format: str | None = None, timeout_s: float = 120.0,
          conf: Mapping[str, str] | None = None, log: bool = False) -> dict[str, Any]:
    """`training.score.score_file` on Spark: writes Parquet (CSV when `out` ends in .csv), one
    part per input partition (with `log`, `data` is an order log: one row per customer);
    returns the summary (`model.tables.batch._summary`'s shape)."""
    from training.engines.spark_score import score_table
    session, owned = _session(spark, master, timeout_s, conf)
    try:
        return score_table(session, Path(bundle), data, out, data_format=data_format, log=log)
    finally:
        if owned:
            session.stop()
