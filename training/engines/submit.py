"""spark-submit entry point: the training CLI under spark-submit (which needs a file, not -m).

    spark-submit --master yarn --py-files segments_code.zip training/engines/submit.py \\
        fit --engine spark --spark-master active --data s3a://bucket/customers.parquet --out bundle

`--spark-master active` takes the session spark-submit configured (master, executors, memory).
`segments_code.zip` holds the `model` and `training` packages (docs/spark.md shows how to build it).
"""
from __future__ import annotations

import sys

if __name__ == "__main__":
    from training.__main__ import main
    sys.exit(main())
