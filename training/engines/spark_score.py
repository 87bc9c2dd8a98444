"""`score` on Spark: the local scorer's output columns and row errors, partitioned, not collected.

Two passes over the input. The first counts rows per partition (for line numbers), checks what
the local reader refuses as a whole — ragged rows, text that is not UTF-8 — with the local
messages, and finds the numeric columns holding text somewhere (as the local reader, such a
column stays text everywhere and `Schema.check_frame` gives each bad cell its row's error). The
second scores every partition with `mapInPandas`: the bundle's served files are broadcast once,
each Python worker loads them with `Predictor.from_dir` (sha256 checks included) and runs
`Predictor.predict_frame` and `model.tables.batch.output_columns` — the very code and arithmetic (the
compiled serving arrays) of the local scorer — and Spark writes one Parquet (or CSV) part per
partition. The summary (`model.tables.batch.summarise`'s shape) is observed during that write, not by a
third pass.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from model.tables.batch import OUTPUT_COLUMNS, log_options, output_columns, output_names
from training.engines.spark_partitions import size_shuffles
from model.contract.bundle import served_files
from model.contract.files import MANIFEST
from model.tables.export import FORMULA_PREFIXES
from model.contract.errors import echo
from model.serving.predictor import Predictor
from model.orders.customers import FEATURES, ID_COLUMN
from training.engines.spark_read import as_uri, line_of, read_table, scan_lines
from training.engines.spark_tx import SparkTx, customer_features
from training.description.value import scored_value as value_of
from training.score import check_log_bundle, money_column

log = logging.getLogger(__name__)
SHOW_ERRORS = 20  # rejected rows listed in the summary, as model.tables.batch
_LOADED: dict[str, Predictor] = {}  # per executor Python worker: manifest sha → Predictor


def score_table(spark: Any, bundle: Path, data: str | Path, out: str | Path, *,
                data_format: str | None = None, log: bool = False) -> dict[str, Any]:
    """Score `data` with `bundle`; write `out` (Parquet, or CSV when it ends in .csv). With
    `log`, `data` is an order log: one row per customer (`spark_tx`), as the local scorer."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F
    predictor = Predictor.from_dir(bundle)  # refuses a bad bundle before any Spark work
    schema = predictor.schema
    numeric = [f.name for f in schema.numeric]
    target, csv_out = as_uri(out), str(out).lower().rstrip("/").endswith(".csv")
    if "://" not in target and Path(target).exists():
        raise ValueError(f"--out {echo(str(out))} already exists; choose a new path or delete it")
    log_summary, cached = None, None
    if log:
        check_log_bundle(predictor)
        src = read_table(spark, data, fmt=data_format)
        size_shuffles(spark, src.frame)  # an order log is grouped by customer: a shuffle of every line
        cached = customer_features(src, name=str(data).rstrip("/").rsplit("/", 1)[-1],
                                   **log_options(predictor, src.columns))
        inputs, names, log_summary = _customers(cached, predictor)
        numbers, offsets = list(schema.names), None
    else:
        src = read_table(spark, data, fmt=data_format, required=schema.names, numeric=numeric)
        frame = src.frame.withColumn("_mid", F.monotonically_increasing_id())
        offsets, textual = scan_lines(src, frame, numeric)
        numbers = [name for name in numeric if name not in textual]  # read as float64, as the local reader
        inputs, names = frame.select(*src.safe, "_mid"), list(src.columns)
    keep = [(f"c{i}", name) for i, name in enumerate(names) if name not in OUTPUT_COLUMNS]
    files = spark.sparkContext.broadcast(_bundle_files(bundle))
    types = {name: ("double" if name in numbers else "string") for _, name in keep}
    outputs = output_names(predictor)
    out_types = {"segment_id": "int", "margin": "double", "unlike_training": "boolean"}
    out_schema = ", ".join([*(f"{s} {types[n]}" for s, n in keep),
                            *(f"{c} {out_types.get(c, 'string')}" for c in outputs), "_line long"])

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        worker = _predictor(files.value)
        for batch in batches:
            yield _score_batch(worker, batch, names, numbers, keep, offsets, csv_out)

    scored = inputs.mapInPandas(score, out_schema)
    error = F.col("error") != ""
    seg = F.col("segment_id")
    observation = Observation("segments-score")
    metrics = [F.count(F.lit(1)).alias("rows"), F.count_if(error).alias("rejected"),
               F.count_if(F.col("unlike_training")).alias("unlike"),
               F.min_by(F.struct("_line", "error", F.col("c0").cast("string").alias("id")),
                        F.when(error, F.col("_line")), SHOW_ERRORS).alias("errors")]
    money = money_column(predictor)
    key = " ".join((money or "").split()).casefold()
    money_slot = next((slot for slot, name in keep if money and " ".join(name.split()).casefold() == key), None)
    for j in range(predictor.k):
        metrics += [F.count_if(seg == j).alias(f"n{j}"), F.min(F.when(seg == j, F.col("_line"))).alias(f"first{j}")]
        if money_slot is not None:  # what the scored customers are worth (training.description.value)
            metrics.append(F.sum(F.when(seg == j, F.col(money_slot).cast("double"))).alias(f"rev{j}"))
    written = scored.observe(observation, *metrics).drop("_line")
    named = written.select(*[F.col(s).alias(_header(n, csv_out)) for s, n in keep],
                           *[F.col(c).alias(c) for c in outputs])
    writer = named.write.mode("errorifexists")
    try:
        if csv_out:
            writer.options(header=True, quoteAll=True, escape='"').csv(target)
        else:
            writer.parquet(target)
    except Exception as exc:  # noqa: BLE001 - translate Spark's "path exists" only
        if "PATH_ALREADY_EXISTS" in str(exc):
            raise ValueError(f"--out {echo(str(out))} already exists; choose a new path or delete it") from None
        raise
    finally:
        if cached is not None:
            cached.cleaned.frame.unpersist()
    summary = _summary(observation.get, predictor, by_customer=log, money=money if money_slot else None)
    summary["read"] = READ[src.fmt]  # how Spark read it: no sniffing (the local scorer says what it found)
    return summary if log_summary is None else {**summary, "log": log_summary}


# What the Spark engine's reader assumes (the local reader sniffs encoding, delimiter and decimal mark).
READ = {"csv": {"encoding": "UTF-8", "delimiter": "',' (comma) — the Spark engine reads comma-separated files",
                "decimal mark": "'.' — the Spark engine reads numbers with a decimal point"},
        "parquet": {"format": "Parquet (typed columns)"}}


def _customers(got: SparkTx, predictor: Predictor) -> tuple[Any, list[str], dict[str, Any]]:
    """An order log's customers as the scorer's input: customer_id and the bundle's features
    (columns c0…, `_mid` their order), their names, and the summary's `log` part."""
    from pyspark.sql import functions as F
    index = {f: f"f{j}" for j, f in enumerate(FEATURES)}
    names = [ID_COLUMN, *predictor.schema.names]
    frame = got.cleaned.frame.select(F.col(ID_COLUMN).alias("c0"),
                                     *[F.col(index[n]).alias(f"c{i + 1}") for i, n in enumerate(names[1:])],
                                     F.col("_row").alias("_mid"))
    rep = got.report
    return frame, names, {"lines_in": rep["lines_in"], "lines_kept": rep["lines_kept"],
                          "customers": rep["customers"], "dropped": {k: v for k, v in rep["dropped"].items() if v},
                          "as_of": rep["as_of"], "columns": {r: i["column"] for r, i in rep["columns"].items()}}


def _header(name: str, csv_out: bool) -> str:
    return "'" + name if csv_out and name.startswith(FORMULA_PREFIXES) else name


def _bundle_files(bundle: Path) -> dict[str, bytes]:
    """The files a Predictor reads (`model.contract.bundle.served_files`); the workers verify their sha256."""
    return {name: (Path(bundle) / name).read_bytes() for name in served_files(bundle)}


def _predictor(files: dict[str, bytes]) -> Predictor:
    """The bundle as a Predictor in this Python worker, loaded once and verified like any bundle."""
    import hashlib
    key = hashlib.sha256(files[MANIFEST]).hexdigest()
    if key not in _LOADED:
        folder = Path(tempfile.mkdtemp(prefix="segments-bundle-"))
        for name, data in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _LOADED[key] = Predictor.from_dir(folder)
        log.info("worker %d loaded the bundle %s", os.getpid(), key[:12])
    return _LOADED[key]


def _score_batch(predictor: Predictor, batch: pd.DataFrame, names: list[str], numbers: list[str],
                 keep: list[tuple[str, str]], offsets: dict[int, int] | None, csv_out: bool) -> pd.DataFrame:
    """One Arrow batch: the local reader's frame (numeric columns without text float64, the rest
    text as read), scored by `Predictor.predict_frame` and laid out by `model.tables.batch.output_columns`
    (nullable where the local CSV is empty)."""
    mids = batch.pop("_mid").to_numpy(dtype=np.int64)
    frame = batch.set_axis(names, axis=1)
    for name in numbers:
        text = frame[name].astype("string").str.strip()
        frame[name] = pd.to_numeric(text.where(text != ""), errors="raise").astype("float64")
    result = output_columns(predictor, predictor.predict_frame(frame))
    result.index = frame.index
    out = pd.DataFrame(index=frame.index)
    for safe, name in keep:
        col = frame[name]
        if name in numbers:
            out[safe] = pd.array(col.to_numpy(), dtype="Float64")
        else:
            out[safe] = pd.Series([_cell(v, csv_out) for v in col.tolist()], dtype=object, index=frame.index)
    for c in result.columns:
        if c == "segment_id":
            out[c] = result[c].astype("Int32")
        elif c == "margin":
            out[c] = pd.array(result[c].to_numpy(), dtype="Float64")
        elif c == "unlike_training":
            out[c] = result[c].astype(bool)
        else:
            out[c] = [_cell(v, csv_out) for v in result[c].tolist()]
    out["_line"] = mids if offsets is None else line_of(mids, offsets)  # None: customers, in order
    return out


def _cell(value: Any, csv_out: bool) -> str | None:
    """Text as written: missing stays missing; in CSV a formula prefix is neutralised with "'"
    (model.tables.export's rule; the Parquet output keeps the text as it is)."""
    if not isinstance(value, str):
        return None
    return "'" + value if csv_out and value.startswith(FORMULA_PREFIXES) else value


def _summary(get: Any, predictor: Predictor, *, by_customer: bool = False,
             money: str | None = None) -> dict[str, Any]:
    """`model.tables.batch.summarise` from the observed metrics (and, with a money column, the
    local scorer's `value`)."""
    m = get if isinstance(get, dict) else get()
    names = [s.name for s in predictor.segments]
    present = [j for j in range(predictor.k) if m[f"n{j}"]]
    order = sorted(present, key=lambda j: (-m[f"n{j}"], m[f"first{j}"]))
    errors = sorted((e["_line"], e["error"], e["id"]) for e in (m["errors"] or []) if e and e["error"])
    rows, rejected = int(m["rows"]), int(m["rejected"])
    out = {"rows": rows, "scored": rows - rejected, "rejected": rejected,
           "per_segment": {names[j]: int(m[f"n{j}"]) for j in order},
           "errors": [({"customer": ident} if by_customer else {"line": int(line)}) | {"error": text}
                      for line, text, ident in errors[:SHOW_ERRORS]],
           "unlike_training": int(m["unlike"]), "bundle": predictor.bundle_id}
    value = None if money is None else value_of(names, {j: int(m[f"n{j}"]) for j in present},
                                                {j: float(m[f"rev{j}"] or 0.0) for j in present}, feature=money)
    return out if value is None else {**out, "value": value}
