"""The files of a bundle: their names and the size each may have before anything reads it.

Which of them serving reads depends on the bundle's format (`model.contract.formats`).
"""
from __future__ import annotations

MANIFEST = "manifest.json"
SERVING = "serving.npz"
MODEL_SKOPS = "model.skops"
MODEL_JOBLIB = "sklearn_model.joblib"
PCA_SKOPS = "pca.skops"  # format 1 only: the map's PCA, now part of serving.npz
SAMPLE = "pca_sample.csv"
SUMMARY = "summary.json"
CARD = "README.md"
CONFIG = "config.json"
RULES_SQL = "segment_rules.sql"
# What the app may download from a model repo: the current format's data files (never a model file;
# a format-1 bundle's two skops files are fetched on their own, `model.contract.formats.v1`).
SERVED = (MANIFEST, SERVING, SAMPLE, SUMMARY, CARD, RULES_SQL)
# Files are refused above these sizes before they are hashed or parsed: the default bundle's largest
# data file is ~60 kB, and a 171 MB summary.json took 9 s and +470 MB to load. A format-1 model.skops
# holds KMeans' labels_ (4 bytes per training row): 4 MB at 1,000,000 rows.
MAX_DATA_FILE_BYTES = 8 * 2**20
CAPS = {MANIFEST: MAX_DATA_FILE_BYTES, SUMMARY: MAX_DATA_FILE_BYTES, SAMPLE: MAX_DATA_FILE_BYTES,
        CARD: MAX_DATA_FILE_BYTES, RULES_SQL: MAX_DATA_FILE_BYTES, SERVING: 64 * 2**20,
        MODEL_SKOPS: 64 * 2**20, PCA_SKOPS: MAX_DATA_FILE_BYTES}
# Types outside skops' defaults that our pipelines need, listed by hand — never taken from the file.
# numpy.dtype: SimpleImputer records the dtype it was fitted on; numpy.log1p: the "log" branch's
# FunctionTransformer. Neither runs code of the file's choosing. Anything else is refused.
TRUSTED_TYPES: tuple[str, ...] = ("numpy.dtype", "numpy.log1p")
