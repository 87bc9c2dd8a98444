"""Typed records of the model-selection evidence: the per-k table, the verdict, the algorithm
comparison, the final metrics and the segments as readable rules."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from model.contract.records import Record

Verdict = Literal["strong", "moderate", "weak", "none"]


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
    prediction_strength: float | None = None  # Tibshirani & Walther (2005), next to the gap


@dataclass(frozen=True)
class Clusterability(Record):
    verdict: Verdict
    summary: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Alternative(Record):
    """A smaller k the evidence prefers to the chosen one (prediction strength and split-half
    stability at or above the published ~0.8 where the chosen k falls short), and what it is."""
    k: int
    prediction_strength: float | None
    stability: float
    segments: list[str]  # the names its segments would get, largest first
    shares: list[float]  # their shares of the customers


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
    weights: dict[str, float] | None = None  # feature → weight in the distance (None: all 1)
    weight_rule: str | None = None  # why those weights
    merged_from: int | None = None  # the k of the evidence, when segments alike in R/F/M made it smaller
    alternative: Alternative | None = None  # a smaller k the evidence prefers (see Alternative)


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
class EngineAgreement(Record):
    """The Spark engine's check: Spark's own `transform` against the bundle on up to 100,000 rows."""
    rows: int
    same: int  # rows both put in the same segment
    ties: int  # rows whose two nearest centres are equally near (either segment is right)
    differ_outside_ties: int
    share: float | None


@dataclass(frozen=True)
class Metrics(Record):
    silhouette: float | None
    calinski_harabasz: float | None
    davies_bouldin: float | None
    inertia: float
    metric_sample_size: int
    fit_sample_size: int | None = None
    # the Spark engine only: silhouette (squared Euclidean) of Spark's ClusteringEvaluator on every row,
    # KMeans iterations and seeded k-means|| starts, and the agreement of Spark with the bundle
    silhouette_full_spark: float | None = None
    silhouette_full_rows: int | None = None
    kmeans_iterations: int | None = None
    kmeans_starts: int | None = None
    engine_agreement: EngineAgreement | None = None

    def as_dict(self) -> dict[str, Any]:
        """The Spark-only fields are left out when unset: a local bundle's manifest is unchanged."""
        out = super().as_dict()
        return {k: v for k, v in out.items() if v is not None or k not in SPARK_METRICS}

    def readable(self) -> dict[str, Any]:
        """The metrics that are set, the engine agreement as a sentence (the card, the Model tab)."""
        out = {k: v for k, v in self.as_dict().items() if v is not None}
        if self.engine_agreement is not None:
            a = self.engine_agreement
            out["engine_agreement"] = (f"Spark's transform and the bundle agree on {a.same:,} of {a.rows:,} rows "
                                       f"({a.ties:,} ties, {a.differ_outside_ties:,} other differences)")
        return out


SPARK_METRICS = ("silhouette_full_spark", "silhouette_full_rows", "kmeans_iterations", "kmeans_starts",
                 "engine_agreement")


@dataclass(frozen=True)
class RuleCondition(Record):
    """``lower <= x < upper`` on a numeric column (either end may be None), or ``x in levels``."""
    feature: str
    lower: float | None = None
    upper: float | None = None
    levels: list[str] | None = None


@dataclass(frozen=True)
class SegmentRule(Record):
    segment: int
    text: str
    rows: int  # training customers the rule selects
    agree: int  # of those, customers the model puts in `segment`
    conditions: list[RuleCondition]


@dataclass(frozen=True)
class RulesForSegment(Record):
    id: int
    rules: list[str]
    rows_selected: int
    rows_agreeing: int


@dataclass(frozen=True)
class Rules(Record):
    """A shallow surrogate of the model in original units (`training.rules.tree`); `fidelity` is the
    share of training customers the rules put in the model's segment."""
    method: str
    fidelity: float
    max_depth: int
    depth: int
    rows: int
    fit_rows: int
    k: int
    fills: dict[str, Any]
    segments: list[RulesForSegment]
    rules: list[SegmentRule]
