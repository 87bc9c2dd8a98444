"""Which column identifies a customer: `training.reading.table._id_column`'s rule on Spark.

An explicit --id-column; else the first column named like an id; else the first column with at
least 20 rows, no empty cell, a different text on every (distinct) row, and either some text that
is not a number or whole numbers that never decrease in file order — a row number, not a
measurement. What the first passes of `spark_clean` counted decides most of it; only the "never
decrease" test needs a pass of its own.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from model.tables.cells import to_numbers
from training.reading.table import _ID_NAME
from training.engines import spark_rules as R

if TYPE_CHECKING:
    from training.engines.spark_clean import _Column

ID_MIN_ROWS = 20


def named_id(names: list[str], explicit: str | None) -> str | None:
    """The explicit --id-column (checked), else the first column named like an id, else None."""
    if explicit:
        if explicit not in names:
            raise ValueError(f"--id-column {explicit!r} is not a column; columns are: "
                             f"{', '.join(names)}")
        return explicit
    return next((n for n in names if _ID_NAME.match(str(n).strip())), None)


def id_column(names: list[str], cols: dict[str, Any], dedup: Any, rows: int,
              explicit: str | None) -> str | None:
    """The id column (or None); `cols` holds `spark_clean._Column` facts per column name."""
    named = named_id(names, explicit)
    if named:
        return named
    return next((n for n in names if _is_identifier(cols[n], dedup, rows)), None)


def _is_identifier(c: _Column, dedup: Any, rows: int) -> bool:
    if rows < ID_MIN_ROWS or c.nulls:
        return False
    if c.texts is not None:
        if len(c.texts) != rows:  # some text repeats
            return False
        nums, not_number = to_numbers(c.texts)
        if not_number.any():
            return True
        if np.isnan(nums).any() or (nums % 1 != 0).any():
            return False
    else:
        if c.distinct != rows:
            return False
        if c.bad:
            return True
        if c.blank or c.fractional:
            return False
    return _non_decreasing(dedup, c.safe)


def _non_decreasing(dedup: Any, column: str, buckets: int = 16) -> bool:
    """Whether the column's numbers never decrease in file order (the `_row` of each distinct
    row): ranges of rows are checked in parallel (a window per range), then the ranges' ends."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    ranged = (dedup.select("_row", R.number(F.col(column)).alias("v"))
              .repartitionByRange(buckets, "_row").withColumn("_b", F.spark_partition_id()))
    previous = F.lag("v").over(Window.partitionBy("_b").orderBy("_row"))
    parts = sorted(ranged.withColumn("_prev", previous).groupBy("_b").agg(
        F.min("_row").alias("start"), F.count_if(F.col("v") < F.col("_prev")).alias("down"),
        F.min_by("v", "_row").alias("first"), F.max_by("v", "_row").alias("last")).collect(),
        key=lambda r: r["start"])
    return (all(r["down"] == 0 for r in parts)
            and all(a["last"] <= b["first"] for a, b in zip(parts, parts[1:])))
