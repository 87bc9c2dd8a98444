"""Training engines: the local one (`training.fit`, scikit-learn on one machine) and Spark
(`training.engines.spark`, PySpark MLlib on a cluster). Both write the same bundle.

Nothing here imports pyspark at import time: `make run` and the app never need Spark.
"""
from __future__ import annotations

ENGINES = ("local", "spark")
