"""How many partitions the engine's shuffles use: from the table's size, unless someone chose.

Spark's `spark.sql.shuffle.partitions` is fixed per session (8 for this engine's local masters,
Spark's 200 on a cluster), whatever the table. Measured on `local-cluster[2,1,3072]`: 10 M rows
(0.46 GB of CSV) with 8 partitions ran the 3 GB executors out of memory while the cleaning's first
shuffle was cached; with 64 (and adaptive coalescing off, which would merge them back) they fitted;
1 M rows (46 MB) ran with 8. So: one partition per `PARTITION_BYTES` of input, rounded up to a
power of two, never fewer than the session's own number — set before the first shuffle, from
Spark's own estimate of the input's size (the files' bytes for CSV and Parquet: no extra pass). A
number given with `--spark-conf`, by spark-submit or by the cluster's configuration is left alone.
"""
from __future__ import annotations

import logging
import math
from typing import Any, Mapping

log = logging.getLogger(__name__)

SHUFFLE = "spark.sql.shuffle.partitions"
COALESCE = "spark.sql.adaptive.coalescePartitions.enabled"
PARTITION_BYTES = 8 * 2**20
MAX_PARTITIONS = 16_384
UNKNOWN_SIZE = 2**62  # Spark's estimate for a source without statistics is Long.MaxValue
_FIXED: dict[str, str] = {}  # applicationId → who set the shuffle partitions (then left alone)
_BASE: dict[str, tuple[int, str]] = {}  # applicationId → the session's own (partitions, coalescing)


def shuffle_partitions(input_bytes: int | None, floor: int) -> int:
    """Shuffle partitions for a table of `input_bytes` bytes: one per `PARTITION_BYTES`, rounded up
    to a power of two, never fewer than `floor` (the session's own setting) nor more than
    `MAX_PARTITIONS`; `floor` when the size is unknown."""
    if input_bytes is None or input_bytes >= UNKNOWN_SIZE:
        return floor
    need = max(1, math.ceil(input_bytes / PARTITION_BYTES))
    return max(floor, min(MAX_PARTITIONS, 1 << (need - 1).bit_length()))


def note_fixed_partitions(spark: Any, *, conf: Mapping[str, str] | None, cluster: bool) -> None:
    """Remember that the shuffle partitions of this session were chosen by someone: in `conf`
    (`--spark-conf`), or — on a cluster or under spark-submit — in Spark's configuration."""
    app = spark.sparkContext.applicationId
    if conf and SHUFFLE in conf:
        _FIXED[app] = f"--spark-conf {SHUFFLE}={conf[SHUFFLE]}"
    elif cluster and spark.sparkContext.getConf().contains(SHUFFLE):
        _FIXED[app] = "the cluster's Spark configuration"


def size_shuffles(spark: Any, frame: Any) -> dict[str, Any]:
    """Set the session's shuffle partitions for the table `frame` reads (call it before the first
    shuffle) unless someone chose them; returns the choice for the report:
    ``{"partitions": n, "basis": "…"}``."""
    app = spark.sparkContext.applicationId
    if app in _FIXED:
        return {"partitions": int(spark.conf.get(SHUFFLE)), "basis": f"set by {_FIXED[app]}"}
    base, coalesce = _BASE.setdefault(app, (int(spark.conf.get(SHUFFLE)), spark.conf.get(COALESCE, "true")))
    try:
        size: int | None = int(frame._jdf.queryExecution().optimizedPlan().stats().sizeInBytes())
    except Exception:  # noqa: BLE001 - no estimate: the session's own setting
        log.debug("no size estimate for the input", exc_info=True)
        size = None
    n = shuffle_partitions(size, base)
    spark.conf.set(SHUFFLE, str(n))
    spark.conf.set(COALESCE, "false" if n > base else coalesce)  # a later, smaller table: as the session was
    if size is None or size >= UNKNOWN_SIZE:
        basis = f"the session's {base}: the input's size is unknown"
    else:
        basis = (f"{size / 2**20:,.1f} MiB of input, one partition per {PARTITION_BYTES // 2**20} MiB"
                 + (f", at least {base}" if n == base else ", not coalesced"))
    log.info("shuffle partitions: %d (%s)", n, basis)
    return {"partitions": n, "basis": basis}
