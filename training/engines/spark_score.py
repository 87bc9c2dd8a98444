"""`score` on Spark: the local scorer's output columns and row errors, partitioned, not collected.

Two passes over the input. The first counts rows per partition (for line numbers), checks what
the local reader refuses as a whole — ragged rows, text that is not UTF-8 — with the local
messages, and finds the numeric columns holding text somewhere (as the local reader, such a
column stays text everywhere and `Schema.check_frame` gives each bad cell its row's error). The
second scores every partition with `mapInPandas`: the bundle's served files are broadcast once,
each Python worker loads them with `Predictor.from_dir` (sha256 checks included) and runs
`Predictor.predict_frame` and `model.batch.output_columns` — the very code and arithmetic (the
compiled serving arrays) of the local scorer — and Spark writes one Parquet (or CSV) part per
partition. The summary (`model.batch.summarise`'s shape) is observed during that write, not by a
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

from model.batch import OUTPUT_COLUMNS, output_columns
from model.bundle import MANIFEST, SERVED
from model.csvexport import FORMULA_PREFIXES
from model.errors import echo
from model.predictor import Predictor
from training.engines import spark_rules as R
from training.engines.spark_read import Source, as_uri, problem_columns, raise_problems, read_table

log = logging.getLogger(__name__)
POSITION_BITS = 33  # monotonically_increasing_id = partition << 33 | position in the partition
SHOW_ERRORS = 20  # rejected rows listed in the summary, as model.batch
_LOADED: dict[str, Predictor] = {}  # per executor Python worker: manifest sha → Predictor


def score_table(spark: Any, bundle: Path, data: str | Path, out: str | Path, *,
                data_format: str | None = None) -> dict[str, Any]:
    """Score `data` with `bundle`; write `out` (Parquet, or CSV when it ends in .csv)."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F
    predictor = Predictor.from_dir(bundle)  # refuses a bad bundle before any Spark work
    schema = predictor.schema
    numeric = [f.name for f in schema.numeric]
    src = read_table(spark, data, fmt=data_format, required=schema.names, numeric=numeric)
    target, csv_out = as_uri(out), str(out).lower().rstrip("/").endswith(".csv")
    if "://" not in target and Path(target).exists():
        raise ValueError(f"--out {echo(str(out))} already exists; choose a new path or delete it")
    frame = src.frame.withColumn("_mid", F.monotonically_increasing_id())
    offsets, textual = _first_pass(src, frame, numeric)
    numbers = [name for name in numeric if name not in textual]  # read as float64, as the local reader
    keep = [(s, name) for s, name in zip(src.safe, src.columns) if name not in OUTPUT_COLUMNS]
    files = spark.sparkContext.broadcast(_bundle_files(bundle))
    types = {name: ("double" if name in numbers else "string") for _, name in keep}
    outputs = [*OUTPUT_COLUMNS, *(["rfm_label"] if predictor.rfm else [])]
    out_types = {"segment_id": "int", "margin": "double", "unlike_training": "boolean"}
    out_schema = ", ".join([*(f"{s} {types[n]}" for s, n in keep),
                            *(f"{c} {out_types.get(c, 'string')}" for c in outputs), "_line long"])
    inputs = frame.select(*src.safe, "_mid")
    names = list(src.columns)  # the closure below is pickled: plain values only

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
               F.min_by(F.struct("_line", "error"), F.when(error, F.col("_line")), SHOW_ERRORS).alias("errors")]
    for j in range(predictor.k):
        metrics += [F.count_if(seg == j).alias(f"n{j}"), F.min(F.when(seg == j, F.col("_line"))).alias(f"first{j}")]
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
    return _summary(observation.get, predictor)


def _first_pass(src: Source, frame: Any, numeric: list[str]) -> tuple[dict[int, int], set[str]]:
    """Rows per partition (→ the row offset of each partition, for line numbers), the whole-file
    checks (CSVError with the local reader's messages) and the numeric columns holding text."""
    from pyspark.sql import functions as F
    index = {name: s for s, name in zip(src.safe, src.columns)}
    aggs = [F.count(F.lit(1)).alias("rows"), *problem_columns(src, frame)]
    for j, name in enumerate(numeric):
        raw = F.col(index[name])
        bad = raw.isNotNull() & ~R.blank(raw) & R.number(raw).isNull()
        aggs.append(F.count_if(bad).alias(f"bad{j}"))
    parts = frame.groupBy(F.spark_partition_id().alias("pid")).agg(*aggs).collect()
    raise_problems(src, sum(r["_ragged"] for r in parts), sum(r["_bad_text"] for r in parts))
    offsets, start = {}, 0
    for r in sorted(parts, key=lambda r: r["pid"]):
        offsets[int(r["pid"])] = start
        start += int(r["rows"])
    return offsets, {name for j, name in enumerate(numeric) if sum(int(r[f"bad{j}"]) for r in parts)}


def _line(mid: int, offsets: dict[int, int]) -> int:
    """The file line of a row (header = line 1, no blank lines between records)."""
    return offsets[mid >> POSITION_BITS] + (mid & ((1 << POSITION_BITS) - 1)) + 2


def _header(name: str, csv_out: bool) -> str:
    return "'" + name if csv_out and name.startswith(FORMULA_PREFIXES) else name


def _bundle_files(bundle: Path) -> dict[str, bytes]:
    """The files a Predictor reads (`model.bundle.SERVED`); the workers verify their sha256."""
    return {name: (Path(bundle) / name).read_bytes() for name in SERVED}


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
                 keep: list[tuple[str, str]], offsets: dict[int, int], csv_out: bool) -> pd.DataFrame:
    """One Arrow batch: the local reader's frame (numeric columns without text float64, the rest
    text as read), scored by `Predictor.predict_frame` and laid out by `model.batch.output_columns`
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
    pid = mids >> POSITION_BITS
    out["_line"] = np.array([offsets[int(p)] for p in pid], dtype=np.int64) + (mids & ((1 << POSITION_BITS) - 1)) + 2
    return out


def _cell(value: Any, csv_out: bool) -> str | None:
    """Text as written: missing stays missing; in CSV a formula prefix is neutralised with "'"
    (model.csvexport's rule; the Parquet output keeps the text as it is)."""
    if not isinstance(value, str):
        return None
    return "'" + value if csv_out and value.startswith(FORMULA_PREFIXES) else value


def _summary(get: Any, predictor: Predictor) -> dict[str, Any]:
    """`model.batch.summarise` from the observed metrics."""
    m = get if isinstance(get, dict) else get()
    names = [s.name for s in predictor.segments]
    present = [j for j in range(predictor.k) if m[f"n{j}"]]
    order = sorted(present, key=lambda j: (-m[f"n{j}"], m[f"first{j}"]))
    errors = sorted((e["_line"], e["error"]) for e in (m["errors"] or []) if e and e["error"])
    rows, rejected = int(m["rows"]), int(m["rejected"])
    return {"rows": rows, "scored": rows - rejected, "rejected": rejected,
            "per_segment": {names[j]: int(m[f"n{j}"]) for j in order},
            "errors": [{"line": int(line), "error": text} for line, text in errors[:SHOW_ERRORS]],
            "unlike_training": int(m["unlike"])}
