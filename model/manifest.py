"""The bundle's typed contract: manifest.json and summary.json as records (`model.records`).

Training builds these records and `model.bundle.write_bundle` writes them; the runtime reads
attributes, never string keys. A manifest with wrong types, unknown fields or another format
version is refused with the path of the problem and how to rebuild (`ManifestError`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from model.errors import BundleError
from model.records import Record, RecordError
from model.schema import Schema

FORMAT_VERSION = 2
REBUILD = "rebuild the bundle with `python -m training fit` (this app reads bundle format 2)"
Verdict = Literal["strong", "moderate", "weak", "none"]


class ManifestError(BundleError):
    """manifest.json or summary.json does not match the contract."""


# -- segments ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Offer(Record):
    title: str
    rationale: str
    source: str = ""


@dataclass(frozen=True)
class Trait(Record):
    feature: str
    kind: Literal["numeric", "categorical"]
    text: str
    direction: Literal["high", "low"] | None = None
    z: float | None = None
    level: str | None = None
    share: float | None = None
    lift: float | None = None


@dataclass(frozen=True)
class NumericProfile(Record):
    mean: float | None
    median: float | None
    q25: float | None
    q75: float | None
    overall_mean: float | None
    z: float


@dataclass(frozen=True)
class Profile(Record):
    numeric: dict[str, NumericProfile]
    categorical: dict[str, dict[str, float]]


@dataclass(frozen=True)
class Segment(Record):
    id: int
    name: str
    size: int
    share: float
    description: str
    profile: Profile
    traits: list[Trait]
    offers: list[Offer]
    archetype: str | None = None
    distance_p99: float | None = None  # 99th percentile of training customers' distance to the centre


# -- model selection -----------------------------------------------------------------------------
@dataclass(frozen=True)
class EvidenceRow(Record):
    k: int
    inertia: float
    silhouette: float
    calinski_harabasz: float
    davies_bouldin: float
    ref_inertia: float
    ref_silhouette: float
    ref_silhouette_sd: float
    silhouette_excess: float
    gap: float
    gap_sd: float
    stability: float
    smallest_share: float
    n_rows: int
    n_fit: int
    n_silhouette: int
    n_variables: int
    n_references: int
    n_splits: int


@dataclass(frozen=True)
class Clusterability(Record):
    verdict: Verdict
    summary: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Selection(Record):
    table: list[EvidenceRow]
    k: int
    reason: str
    forced: bool
    rule: str
    sample_sizes: dict[str, int]
    seconds: float
    clusterability: Clusterability | None = None  # the same as Manifest.clusterability (kept for readers)


@dataclass(frozen=True)
class AlgorithmResult(Record):
    n_clusters: int
    noise_share: float
    silhouette: float | None
    calinski_harabasz: float | None
    davies_bouldin: float | None
    agreement_with_kmeans: float
    stability: float
    assigns_new_points: bool
    params: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class KDistance(Record):
    min_samples: int
    neighbour: int
    x: list[float]
    distance: list[float]
    knee_x: float
    eps: float
    rule: str


@dataclass(frozen=True)
class Comparison(Record):
    served: str
    why: str
    algorithms: dict[str, AlgorithmResult]
    k_distance: KDistance | None
    sample_size: int
    n_rows: int
    seed: int
    seconds: float


@dataclass(frozen=True)
class Metrics(Record):
    silhouette: float | None
    calinski_harabasz: float | None
    davies_bouldin: float | None
    inertia: float
    metric_sample_size: int
    fit_sample_size: int | None = None


# -- data and provenance -------------------------------------------------------------------------
@dataclass(frozen=True)
class Training(Record):
    source: str
    rows: int
    seed: int
    features: list[str]
    id_column: str | None
    data_fingerprint: str
    k_requested: str  # "auto" or the forced k


@dataclass(frozen=True)
class Cleaning(Record):
    rows_in: int
    rows_out: int
    duplicates_dropped: int
    id_column: str | None
    numeric: list[str]
    categorical: list[str]
    missing: dict[str, int]
    excluded_columns: dict[str, str] = field(default_factory=dict)
    unparseable_numbers_set_missing: dict[str, int] = field(default_factory=dict)
    category_spellings_unified: dict[str, dict[str, str]] = field(default_factory=dict)
    rows_dropped: dict[str, int] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str]]:
        """The report as (step, result) pairs: the one rendering behind the terminal, the app
        and the model card."""
        out = [("rows in", f"{self.rows_in:,}"), ("exact duplicates dropped", f"{self.duplicates_dropped:,}")]
        if self.id_column:
            out.append(("id column (not a feature)", self.id_column))
        out += [(f"column excluded: {name}", why) for name, why in self.excluded_columns.items()]
        out += [(f"missing {col}", f"{n:,} (filled by the pipeline: median / most frequent)")
                for col, n in self.missing.items() if n]
        out += [(f"{col}: non-numeric cells", f"{n:,} treated as missing")
                for col, n in self.unparseable_numbers_set_missing.items()]
        for col, changes in self.category_spellings_unified.items():
            first = next(iter(changes.items()), None)
            example = f" (e.g. {first[0]!r} → {first[1]!r})" if first else ""
            out.append((f"{col} spellings unified", f"{len(changes)} variants{example}"))
        out += [(f"rows dropped ({why})", f"{n:,}") for why, n in self.rows_dropped.items() if n]
        out.append(("rows used", f"{self.rows_out:,}"))
        return out


@dataclass(frozen=True)
class Engine(Record):
    name: Literal["local", "spark"] = "local"
    version: str | None = None  # Spark's version for the Spark engine


@dataclass(frozen=True)
class Manifest(Record):
    format_version: int
    title: str
    license: str
    created_at: str
    training: Training
    schema: Schema
    example: dict[str, Any]
    k: int
    selection: Selection
    clusterability: Clusterability
    comparison: Comparison | None
    metrics: Metrics
    cleaning: Cleaning
    segments: list[Segment]
    library_versions: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # file → sha256, every other file of the bundle
    engine: Engine = field(default_factory=Engine)
    space_id: str | None = None  # OWNER/NAME of the Space serving this model, when known

    def __post_init__(self) -> None:
        if self.format_version != FORMAT_VERSION:
            raise RecordError(f"format_version: bundle format {self.format_version} is not supported")
        if self.k < 1 or self.k != len(self.segments):
            raise RecordError(f"k: {self.k} does not match the {len(self.segments)} segments")
        if [s.id for s in self.segments] != list(range(self.k)):
            raise RecordError(f"segments: ids must be 0..{self.k - 1} in order, got {[s.id for s in self.segments]}")

    @classmethod
    def read(cls, data: Any, where: str = "manifest.json") -> "Manifest":
        """`from_dict`, with the format version checked first and every problem as ManifestError."""
        version = data.get("format_version") if isinstance(data, dict) else None
        if version != FORMAT_VERSION:
            raise ManifestError(f"{where}: bundle format {version!r} is not supported; {REBUILD}")
        try:
            return cls.from_dict(data, where)
        except RecordError as exc:
            raise ManifestError(f"{exc}; {REBUILD}") from None

    def segment(self, seg_id: int) -> Segment:
        return self.segments[seg_id]


# -- summary.json --------------------------------------------------------------------------------
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


# -- which bundle is live ------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveSource(Record):
    kind: Literal["hub", "local"]
    path: str
    repo: str | None = None
    revision: str | None = None
    commit: str | None = None
    pinned: bool | None = None
    fallback_reason: str | None = None
    hub_seconds: float | None = None
    load_seconds: float | None = None
