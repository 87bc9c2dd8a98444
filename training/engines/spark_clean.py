"""`training.reading.table.clean` in Spark: the same rules, the same report, without collecting the rows.

Exact duplicate rows are one group-by; one aggregation over the distinct rows then counts rows,
ragged records and text that is not UTF-8; a second group-by counts the rows of every (column,
distinct text), and per column the cells present, numbers and non-numbers (`spark_rules`) are
summed over that table — each distinct text is parsed once, not once per row. A column with
few distinct texts (`LOW_CARD`) — every categorical one and most numeric ones — is decided on the
driver by the local engine's own functions (`to_numbers`, `unify_spellings`, the id test) over its
(distinct text, rows) pairs, which is what the local engine works on too (`training.reading.codes`); a
column with more is decided from the Spark counts. What reaches the driver is bounded by
`LOW_CARD` texts per column, never by the row count.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from model.tables.cells import to_numbers
from training.reading.codes import unify_spellings
from training.reading.table import not_a_category
from training.engines import spark_rules as R
from training.engines.spark_model import concurrently
from training.engines.spark_ids import id_column as _id_column
from training.engines.spark_ids import named_id
from training.engines.spark_read import CORRUPT, Source, problem_columns, raise_problems

log = logging.getLogger(__name__)

LOW_CARD = 10_000  # distinct texts at or below which a column is decided on the driver
MAX_DISTINCT = 1_000_000  # a categorical column (asked for with --features) with more is refused


@dataclass
class SparkCleaned:
    """As `training.reading.table.Cleaned`; `frame` is a persisted Spark frame with one column per feature
    (`safe[name]`: numeric double, categorical the canonical text, null = missing) and `_row`,
    the position of the row's first occurrence in the file (increasing, not contiguous)."""
    frame: Any
    numeric: list[str]
    categorical: list[str]
    id_column: str | None
    report: dict[str, Any] = field(default_factory=dict)
    safe: dict[str, str] = field(default_factory=dict)
    level_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)  # numeric: rows holding a number
    rows: int = 0

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical


@dataclass
class _Column:
    """What the first passes learned about one text column (over distinct rows)."""
    name: str
    safe: str
    nulls: int  # missing cells (distinct rows)
    distinct: int  # distinct texts (exact)
    present: int  # finite numbers
    bad: int  # present, not blank, not a finite number
    blank: int
    fractional: int  # numbers that are not whole
    exotic: int  # texts Spark's plain cast reads differently from the rule (see _column_facts)
    texts: np.ndarray | None = None  # low-cardinality: the distinct texts …
    rows: np.ndarray | None = None  # … and the rows holding each


def clean(src: Source, *, features: Sequence[str] | None = None,
          id_column: str | None = None, low_card: int = LOW_CARD) -> SparkCleaned:
    """Select, type and clean the columns of `src`; see the module docstring."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    keys = src.safe + ([CORRUPT] if src.corrupt else [])
    dedup = (src.frame.withColumn("_row", F.monotonically_increasing_id())
             .groupBy(*keys).agg(F.count(F.lit(1)).alias("_n"), F.min("_row").alias("_row"))
             .persist(StorageLevel.MEMORY_AND_DISK))
    counts = None
    try:
        named = named_id(src.columns, id_column)
        if features:
            missing = [f for f in features if f not in src.columns]
            if missing:
                raise ValueError(f"--features: no column named {', '.join(map(repr, missing))}; "
                                 f"columns are: {', '.join(src.columns)}")
        # only the columns that can matter are counted (an unnamed id needs every column's facts)
        wanted = (list(features) if features else [c for c in src.columns if c != named]
                  ) if named else list(src.columns)
        counts = _value_counts(src, dedup, wanted).persist(StorageLevel.MEMORY_AND_DISK)
        head, cols = concurrently(lambda: _first_pass(src, dedup), lambda: _column_facts(src, counts))
        raise_problems(src, head["_ragged"], head["_bad_text"], frame=dedup)
        for c in cols.values():
            c.nulls = head["_distinct"] - c.nulls  # _column_facts counted the cells present
        _pull_distinct(counts, [c for c in cols.values() if c.distinct <= low_card])
        return _clean(src, dedup, counts, cols, head, features, id_column)
    finally:
        dedup.unpersist()
        if counts is not None:
            counts.unpersist()


def _clean(src: Source, dedup: Any, counts: Any, cols: dict[str, _Column], head: dict[str, int],
           features: Sequence[str] | None, id_column: str | None) -> SparkCleaned:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    rows_in, distinct = int(head["_rows_in"]), int(head["_distinct"])
    report: dict[str, Any] = {"rows_in": rows_in, "duplicates_dropped": rows_in - distinct}
    idc = _id_column(src.columns, cols, dedup, distinct, id_column)
    report["id_column"] = idc
    if features:
        chosen = list(features)
    else:
        chosen = [c for c in src.columns if c != idc]
    numeric, categorical, excluded = [], [], {}
    exprs: dict[str, Any] = {}
    unparsed: dict[str, int] = {}
    fixes: dict[str, dict[str, str]] = {}
    level_counts: dict[str, dict[str, int]] = {}
    present_of: dict[str, int] = {}
    for name in chosen:
        c = cols[name]
        present, bad = _numbers(c)
        if present and bad <= max(1, 0.02 * (present + bad)):
            numeric.append(name)
            # no text Spark's cast reads differently from pandas (the usual case): the cast alone
            exprs[name] = F.col(c.safe).try_cast("double") if not c.exotic else R.number(F.col(c.safe))
            present_of[name] = present
            if bad:
                unparsed[name] = bad
            continue
        levels = _level_count(counts, c)
        why = not_a_category(levels, chosen=bool(features))
        if why:
            excluded[name] = why
            continue
        if c.texts is None:
            _pull_distinct(counts, [c], limit=MAX_DISTINCT)
        canon, changed, _ = unify_spellings(c.texts, c.rows)
        categorical.append(name)
        exprs[name] = _mapped(F.col(c.safe), c.texts, canon)
        level_counts[name] = _counts_per_level(canon, c.rows)
        if changed:
            fixes[name] = changed
    if not exprs:
        raise ValueError("no usable feature columns: " + "; ".join(f"{k}: {v}" for k, v in excluded.items()))
    order = numeric + categorical
    safe = {name: f"f{j}" for j, name in enumerate(order)}
    anything = F.lit(False)
    for name in order:
        anything = anything | exprs[name].isNotNull()
    frame = (dedup.select(*[exprs[n].alias(safe[n]) for n in order], "_row").where(anything)
             .persist(StorageLevel.MEMORY_AND_DISK))
    rows_out = frame.count()
    missing = {n: rows_out - present_of[n] for n in numeric}
    missing.update({n: rows_out - sum(level_counts[n].values()) for n in categorical})
    report.update({
        "excluded_columns": excluded, "numeric": numeric, "categorical": categorical,
        "missing": missing, "unparseable_numbers_set_missing": unparsed,
        "category_spellings_unified": fixes,
        "rows_dropped": {"exact duplicate": rows_in - distinct, "no feature values": distinct - rows_out},
        "rows_out": int(rows_out),
    })
    if rows_out < 10:
        frame.unpersist()
        raise ValueError(f"only {rows_out} usable rows after cleaning; at least 10 are needed")
    return SparkCleaned(frame=frame, numeric=numeric, categorical=categorical, id_column=idc,
                        report=report, safe=safe, level_counts=level_counts, present=present_of,
                        rows=int(rows_out))


def _first_pass(src: Source, dedup: Any) -> dict[str, int]:
    """One aggregation over the distinct rows: rows in, distinct rows, the reader's problems."""
    from pyspark.sql import functions as F
    aggs = [F.sum("_n").alias("_rows_in"), F.count(F.lit(1)).alias("_distinct"),
            *problem_columns(src, dedup, weight=F.col("_n"))]
    row = dedup.agg(*aggs).first().asDict()
    return {k: int(row[k] or 0) for k in ("_rows_in", "_distinct", "_ragged", "_bad_text")}


def _column_facts(src: Source, counts: Any) -> dict[str, _Column]:
    """Per column, from the (j, v, n) table — each distinct text parsed once, weighted by its
    rows: distinct texts, cells present, numbers, non-numbers, blanks, fractions, and texts that
    Spark's plain cast reads differently from the rule (`exotic`: 1d, Infinity, NBSP-padded…)."""
    from pyspark.sql import functions as F
    num = R.number(F.col("v"))
    cast = F.col("v").try_cast("double")
    n = F.col("n")
    got = {r["j"]: r for r in counts.groupBy("j").agg(
        F.count(F.lit(1)).alias("distinct"), F.sum(n).alias("cells"),
        F.sum(F.when(num.isNotNull(), n).otherwise(0)).alias("present"),
        F.sum(F.when(~R.blank(F.col("v")) & num.isNull(), n).otherwise(0)).alias("bad"),
        F.sum(F.when(R.blank(F.col("v")), n).otherwise(0)).alias("blank"),
        F.sum(F.when(num % 1 != 0, n).otherwise(0)).alias("fractional"),
        F.count_if(~F.equal_null(num, cast)).alias("exotic")).collect()}
    out = {}
    for j, (name, safe) in enumerate(zip(src.columns, src.safe)):
        r = got.get(j)
        value = (lambda key: int(r[key] or 0)) if r else (lambda key: 0)
        out[name] = _Column(name=name, safe=safe, nulls=value("cells"), distinct=value("distinct"),
                            present=value("present"), bad=value("bad"), blank=value("blank"),
                            fractional=value("fractional"), exotic=value("exotic"))
    return out


def _value_counts(src: Source, dedup: Any, wanted: Sequence[str]) -> Any:
    """(j, v, n): the distinct rows holding text v in column j, for each `wanted` column, in one
    shuffle."""
    from pyspark.sql import functions as F
    index = {name: j for j, name in enumerate(src.columns)}
    pairs = F.explode(F.array(*[F.struct(F.lit(index[w]).alias("j"), F.col(src.safe[index[w]]).alias("v"))
                                for w in wanted]))
    return (dedup.select(pairs.alias("p")).select("p.j", "p.v").where(F.col("v").isNotNull())
            .groupBy("j", "v").agg(F.count(F.lit(1)).alias("n")))


def _pull_distinct(counts: Any, columns: list[_Column], *, limit: int | None = None) -> None:
    """Fill `texts`/`rows` of each column from the (j, v, n) table: its distinct texts and the
    distinct rows holding each (refused above `limit` texts)."""
    from pyspark.sql import functions as F
    if not columns:
        return
    for c in columns:
        if limit is not None and c.distinct > limit:
            raise ValueError(f"column {c.name!r} has {c.distinct:,} distinct values; a categorical "
                             f"feature may have at most {limit:,}: leave it out of --features")
    index = {int(c.safe[1:]): c for c in columns}
    per: dict[int, list[tuple[str, int]]] = {j: [] for j in index}
    for r in counts.where(F.col("j").isin(list(index))).collect():
        per[r["j"]].append((r["v"], r["n"]))
    for j, c in index.items():
        items = sorted(per[j])  # a fixed order: results never depend on partitioning
        c.texts = np.array([v for v, _ in items], dtype=object)
        c.rows = np.array([n for _, n in items], dtype=np.int64)


def _numbers(c: _Column) -> tuple[int, int]:
    """(rows holding a finite number, rows holding text that is not one)."""
    if c.texts is None:
        return int(c.present), int(c.bad)
    nums, not_number = to_numbers(c.texts)
    return int(c.rows[~np.isnan(nums)].sum()), int(c.rows[not_number].sum())


def _level_count(counts: Any, c: _Column) -> int:
    """Distinct category keys (spelling variants counted once)."""
    if c.texts is not None:
        return unify_spellings(c.texts, c.rows)[2]
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf
    keys = pandas_udf(R.category_keys, "string")
    s = R.stripped(F.col("v"))
    return int(counts.where(F.col("j") == int(c.safe[1:])).select(s.alias("s"))
               .where(F.col("s") != "").distinct()
               .select(keys("s").alias("k")).agg(F.count_distinct("k")).first()[0])


def _mapped(column: Any, texts: np.ndarray, canon: np.ndarray) -> Any:
    """The canonical level of each raw text (null for blank texts and missing cells)."""
    from pyspark.sql import functions as F
    pairs = [(t, c) for t, c in zip(texts.tolist(), canon.tolist()) if isinstance(c, str)]
    if not pairs:
        return F.lit(None).cast("string")
    table = F.create_map(*[F.lit(x) for pair in pairs for x in pair])
    return F.try_element_at(table, column)


def _counts_per_level(canon: np.ndarray, rows: np.ndarray) -> dict[str, int]:
    out: dict[str, int] = {}
    for level, n in zip(canon.tolist(), rows.tolist()):
        if isinstance(level, str):
            out[level] = out.get(level, 0) + int(n)
    return dict(sorted(out.items()))
