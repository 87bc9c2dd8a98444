"""Typed aggregates of the training data: summary.json (the Data and Segments tabs) and the drift
reference stored in the manifest. Aggregates only — never customer rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from model.contract.errors import REBUILD, ManifestError
from model.contract.records import Record, RecordError


@dataclass(frozen=True)
class Box(Record):
    n: int
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    whisker_low: float | None = None
    whisker_high: float | None = None
    outliers: int | None = None
    mean: float | None = None


@dataclass(frozen=True)
class Histogram(Record):
    counts: list[int]
    edges: list[float | None]


@dataclass(frozen=True)
class FeatureSummary(Record):
    kind: Literal["numeric", "categorical"]
    missing: int
    histogram: Histogram | None = None
    quantiles: dict[str, float | None] | None = None
    mean: float | None = None
    std: float | None = None
    box: Box | None = None
    counts: dict[str, int] | None = None


@dataclass(frozen=True)
class Correlation(Record):
    columns: list[str]
    matrix: list[list[float | None]]


@dataclass(frozen=True)
class SegmentSummary(Record):
    numeric: dict[str, Box]
    categorical: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Summary(Record):
    rows: int
    features: dict[str, FeatureSummary]
    correlation: Correlation | None
    by_segment: dict[str, SegmentSummary]

    @classmethod
    def read(cls, data: Any, where: str = "summary.json") -> "Summary":
        try:
            return cls.from_dict(data, where)
        except RecordError as exc:
            raise ManifestError(f"{exc}; {REBUILD}") from None


# -- drift reference (training.monitoring.reference.drift_reference; bins: model.drift.bins) -------
@dataclass(frozen=True)
class NumericDrift(Record):
    edges: list[float]
    shares: list[float]
    missing: float
    median: float | None


@dataclass(frozen=True)
class CategoricalDrift(Record):
    levels: list[str]
    shares: list[float]
    missing: float


@dataclass(frozen=True)
class DriftReference(Record):
    format: int
    rows: int
    numeric: dict[str, NumericDrift]
    categorical: dict[str, CategoricalDrift]
    segments: list[float]
    unlike_training: float | None
    id_column: str | None
