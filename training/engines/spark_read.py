"""Read a customer table into Spark as text, with the local reader's checks and messages.

CSV or Parquet, a local path or any URI Spark can read (``s3a://``, ``abfss://``, ``hdfs://`` pass
through). Every column arrives as text — the cleaning rules decide what is a number, exactly as
`training.reading.table` does after `model.tables.reading.read_csv_strict`. Column names are kept aside and the frame
uses positional names ``c0, c1, …`` so that any header (dots, spaces, brackets) is safe in Spark.

What the strict CSV reader checks, and how here: the header (delimiter, blank and duplicate names,
required columns) is read from the file's first line and checked by `model.tables.reading` itself; ragged
rows and text that is not UTF-8 are counted in the first pass the caller makes anyway (`problem
_columns`) and reported with examples (`raise_problems`). Spark cannot give line numbers without a
pass of its own, so examples quote the offending record instead.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from model.tables.reading import _check_header, _Layout  # the header rules and messages of the local reader
from model.contract.errors import CSVError, echo

log = logging.getLogger(__name__)

CORRUPT = "_corrupt"
BAD_TEXT = "\ufffd"  # what Spark decodes a byte that is not UTF-8 to
_SAVE_AS = "save it from your spreadsheet as 'CSV UTF-8 (comma delimited)'"
_SHOW = 5
POSITION_BITS = 33  # monotonically_increasing_id = partition << 33 | position in the partition


@dataclass(frozen=True)
class Source:
    """A table in Spark: `frame` has text columns c0..c{n-1} (named `columns[i]` in the file) and,
    for CSV, a `_corrupt` column holding the raw text of rows that did not parse."""
    frame: Any
    columns: list[str]
    fmt: str
    uri: str

    @property
    def safe(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.columns))]

    @property
    def corrupt(self) -> str | None:
        return CORRUPT if self.fmt == "csv" else None


def data_format(uri: str, fmt: str | None = None) -> str:
    """'csv' or 'parquet': as given, else from the name (a folder of Parquet parts ends in
    .parquet by convention), else CSV."""
    if fmt:
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"--data-format must be csv or parquet; got {fmt!r}")
        return fmt
    name = uri.rstrip("/").lower()
    return "parquet" if name.endswith((".parquet", ".pq", ".parq")) else "csv"


def as_uri(source: str | Path) -> str:
    """A local path made absolute (Spark resolves relative paths against its own working folder
    on executors); URIs pass through."""
    text = str(source)
    if "://" in text or text.startswith("file:"):
        return text
    return str(Path(text).expanduser().resolve())


def read_table(spark: Any, source: str | Path, *, fmt: str | None = None,
               required: Sequence[str] = (), numeric: Sequence[str] = (),
               multiline: bool = False) -> Source:
    """The table at `source` as text columns (module docstring). `required` / `numeric` columns
    are matched ignoring case and spaces and come back spelled as given, as in `read_csv_strict`.
    Raises CSVError for a file that cannot be read, a bad header or missing columns."""
    uri = as_uri(source)
    kind = data_format(uri, fmt)
    if "://" not in uri and not uri.startswith("file:") and not Path(uri).exists():
        raise CSVError(f"cannot read {echo(str(source))}: no such file or directory")
    if kind == "parquet":
        return _read_parquet(spark, uri, required, numeric)
    return _read_csv(spark, uri, required, numeric, multiline)


def _read_csv(spark: Any, uri: str, required: Sequence[str], numeric: Sequence[str],
              multiline: bool) -> Source:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType
    lines = _spark_call(lambda: spark.read.text(uri).where(F.trim("value") != "").limit(1).collect(),
                        uri)
    if not lines:
        raise CSVError("the file is empty; it needs a header line and at least one data row")
    first = lines[0]["value"]
    _check_first_line(first)
    header = next(csv.reader(io.StringIO(first.lstrip("\ufeff"), newline="")))
    names = _check_header(_Layout(header, 1, None, None), required, numeric)  # type: ignore[arg-type]
    schema = StructType([StructField(f"c{i}", StringType()) for i in range(len(names))]
                        + [StructField(CORRUPT, StringType())])
    frame = (spark.read.schema(schema)
             .options(header=True, escape='"', mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT,
                      multiLine=multiline, enforceSchema=True)
             .csv(uri))
    return Source(frame=frame, columns=names, fmt="csv", uri=uri)


def _read_parquet(spark: Any, uri: str, required: Sequence[str], numeric: Sequence[str]) -> Source:
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, MapType, StructType
    frame = _spark_call(lambda: spark.read.parquet(uri), uri, what="Parquet")
    fields = frame.schema.fields
    nested = [f.name for f in fields if isinstance(f.dataType, (ArrayType, MapType, StructType))]
    if nested:
        raise CSVError(f"columns {', '.join(map(repr, nested[:5]))} hold nested values (arrays, maps "
                       f"or structs); only numbers and text can be features")
    names = _check_header(_Layout([f.name for f in fields], 1, None, None), required, numeric)  # type: ignore[arg-type]
    cols = [F.col("`" + f.name.replace("`", "``") + "`").cast("string").alias(f"c{i}")
            for i, f in enumerate(fields)]
    return Source(frame=frame.select(*cols), columns=names, fmt="parquet", uri=uri)


def _spark_call(fn: Any, uri: str, *, what: str = "the file") -> Any:
    """Run a Spark read; turn its errors about the path into CSVError."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - Spark raises many kinds; the text tells which
        text = str(exc)
        if "PATH_NOT_FOUND" in text or "FileNotFoundException" in text:
            raise CSVError(f"cannot read {echo(uri)}: no such file or directory") from None
        if "No FileSystem for scheme" in text or "UnsupportedFileSystemException" in text:
            scheme = uri.split("://", 1)[0]
            raise CSVError(f"cannot read {echo(uri)}: this Spark has no filesystem for {scheme!r}:// "
                           f"(for s3a add --packages org.apache.hadoop:hadoop-aws:<Hadoop version>; "
                           f"abfss needs hadoop-azure)") from None
        first = text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
        raise CSVError(f"cannot read {echo(uri)} as {what}: {first}") from None


def _check_first_line(line: str) -> None:
    """The encoding checks of the strict reader that one decoded line can still show."""
    problem = ""
    if line.startswith("PK\x03\x04"):
        problem = "the file is an Excel workbook or a zip archive, not CSV text"
    elif "\x00" in line:
        problem = "the file looks UTF-16 encoded (NUL bytes between letters)"
    elif BAD_TEXT in line:
        problem = "line 1: the file holds bytes that are not UTF-8 (Latin-1 or Windows-1252?)"
    if problem:
        raise CSVError(f"{problem}; the file must be UTF-8 text: {_SAVE_AS}")


def problem_columns(src: Source, frame: Any | None = None, *, weight: Any = None) -> list[Any]:
    """Two aggregate expressions over `frame` (default: the source frame) — rows that did not
    parse, rows with text that is not UTF-8 — for the caller's first pass; `weight` counts a
    row as that many (a deduplicated frame's row count)."""
    from pyspark.sql import functions as F
    w = F.lit(1) if weight is None else weight
    bad_text = F.lit(False)
    for c in src.safe:
        bad_text = bad_text | F.coalesce(F.col(c).contains(BAD_TEXT), F.lit(False))
    ragged = F.col(CORRUPT).isNotNull() if src.corrupt else F.lit(False)
    return [F.sum(F.when(ragged, w).otherwise(0)).alias("_ragged"),
            F.sum(F.when(bad_text & ~ragged, w).otherwise(0)).alias("_bad_text")]


def raise_problems(src: Source, ragged: int, bad_text: int, frame: Any | None = None) -> None:
    """CSVError with examples when the counts of `problem_columns` are not zero."""
    from pyspark.sql import functions as F
    frame = src.frame if frame is None else frame
    width = len(src.columns)
    if ragged:
        rows = frame.where(F.col(CORRUPT).isNotNull()).select(CORRUPT, *src.safe).limit(_SHOW).collect()
        shown = "; ".join(f"{echo(r[CORRUPT])} has {_fields(r[CORRUPT])}" for r in rows)
        raise CSVError(f"every row must have {width} fields like the header, but {ragged:,} "
                       f"row{'s do' if ragged > 1 else ' does'} not (e.g. {shown}); check for missing "
                       f"or extra commas, and quote values that contain commas")
    if bad_text:
        raise CSVError(f"{bad_text:,} rows hold bytes that are not UTF-8 (Latin-1 or Windows-1252?); "
                       f"the file must be UTF-8 text: {_SAVE_AS}")


def _fields(raw: str) -> str:
    try:
        rows = list(csv.reader(io.StringIO(raw, newline="")))
    except csv.Error:
        return "an unclosed quoted field"
    return f"{len(rows[0]) if rows else 0}" if len(rows) <= 1 else "a line break inside quotes"


def scan_lines(src: Source, frame: Any, numeric: Sequence[str] = ()) -> tuple[dict[int, int], set[str]]:
    """One pass over `frame` (`src.frame` with `_mid`, its monotonically_increasing_id): rows per
    partition (→ the row offset of each partition, for line numbers), the whole-file checks
    (CSVError with the local reader's messages) and which `numeric` columns hold text."""
    from pyspark.sql import functions as F
    from training.engines import spark_rules as R
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


def line_of(mids: Any, offsets: dict[int, int]) -> Any:
    """The file line of rows given their `_mid` (header = line 1; records counted, so a file
    with blank lines or line breaks inside quoted fields is off by those)."""
    import numpy as np
    mids = np.asarray(mids, dtype=np.int64)
    pid = mids >> POSITION_BITS
    start = np.array([offsets[int(p)] for p in pid.ravel()], dtype=np.int64).reshape(pid.shape)
    return start + (mids & ((1 << POSITION_BITS) - 1)) + 2
