"""The Spark engine's rule for shuffle partitions (training.engines.spark_partitions), without Spark:
the measured cases and the bounds. tests/test_spark.py checks that a fit on local-cluster applies it."""
from __future__ import annotations

import pytest

from training.engines.spark_partitions import MAX_PARTITIONS, PARTITION_BYTES, UNKNOWN_SIZE, shuffle_partitions


@pytest.mark.parametrize("input_bytes, floor, expected", [
    (460_000_000, 8, 64),  # 10 M rows of CSV: 8 ran 3 GB executors out of memory, 64 worked
    (46_000_000, 8, 8),  # 1 M rows: the local default of 8 worked
    (600_860, 8, 8),  # a small file: the session's own number
    (0, 8, 8),
    (460_000_000, 200, 200),  # a cluster's default of 200 is never lowered
    (10 * 2**30, 200, 2048),  # 10 GiB: 1,280 partitions of 8 MiB, rounded up to a power of two
    (PARTITION_BYTES * 16, 8, 16), (PARTITION_BYTES * 16 + 1, 8, 32),  # the rounding boundary
    (10**15, 8, MAX_PARTITIONS),  # a petabyte is capped
    (None, 8, 8), (UNKNOWN_SIZE, 200, 200), (2**63 - 1, 8, 8),  # no estimate: the session's number
])
def test_partitions_follow_the_tables_size(input_bytes, floor, expected):
    assert shuffle_partitions(input_bytes, floor) == expected
