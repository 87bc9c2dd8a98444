"""The bundle's typed contract: manifest.json as records (`model.contract.records`).

Training builds these records and `model.contract.writing.write_bundle` writes them; the runtime reads
attributes, never string keys. A manifest of an earlier format is read by its format's reader
(`model.contract.formats`); one with wrong types, unknown fields or an unknown format is refused
with the path of the problem and how to rebuild (`ManifestError`). The evidence records live in `model.contract.evidence`, the aggregates (summary.json, drift reference) in
`model.contract.aggregates`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from model.contract.aggregates import (Box, CategoricalDrift, Correlation, DriftReference, FeatureSummary,  # noqa: F401
                              Histogram, NumericDrift, SegmentSummary, Summary)
from model.contract.errors import REBUILD, ManifestError  # noqa: F401  (re-exported)
from model.contract.evidence import (AlgorithmResult, Alternative, Clusterability, Comparison,  # noqa: F401
                                     EvidenceRow, KDistance, Metrics, Rules, Selection, Verdict)
from model.contract.records import Record, RecordError
from model.contract.schema import Schema

FORMAT_VERSION = 2


# -- segments ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OfferBasis(Record):
    """A trait an offer was chosen for: a numeric feature above/below average, or a category level."""
    feature: str
    direction: Literal["high", "low"] | None = None
    level: str | None = None


@dataclass(frozen=True)
class Offer(Record):
    title: str
    rationale: str
    source: str = ""
    basis: list[OfferBasis] = field(default_factory=list)  # the traits that earned it, to check a customer against
    requires: list[str] = field(default_factory=list)  # the claims (ids) its words make about the segment


@dataclass(frozen=True)
class Claim(Record):
    """Something the product says about a segment, with the numbers that make it true
    (training.description.claims): "gone quiet 16 months" — median 494 days since the last order >
    2 × the 82-day buying cycle."""
    id: str  # "lapsed", "monetary_high", "rfm_label", "archetype", "median:frequency", …
    text: str  # the words shown
    rule: str  # the rule with the numbers
    feature: str | None = None  # the column it is about
    value: float | None = None  # the segment's number (a median, or a share)
    reference: float | None = None  # what it was compared with


@dataclass(frozen=True)
class SegmentValue(Record):
    """A segment's worth: its customers against its revenue (the money column's sum)."""
    customers: int
    customer_share: float
    revenue: float
    revenue_share: float
    revenue_per_customer: float
    orders: float | None = None  # order logs: the segment's orders
    orders_per_customer: float | None = None


@dataclass(frozen=True)
class ValueSummary(Record):
    """The whole base's revenue, and the sentence a marketer reads first."""
    feature: str  # the money column (monetary role)
    revenue: float
    customers: int
    headline: str  # "13.6 % of customers (segment 4, …) hold 56 % of the revenue."
    orders: float | None = None


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
    role: str | None = None  # the column's role (training.reading.roles), None when it has none


@dataclass(frozen=True)
class NumericProfile(Record):
    mean: float | None
    median: float | None
    q25: float | None
    q75: float | None
    overall_mean: float | None
    z: float
    overall_median: float | None = None


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
    stability: float | None = None  # mean best Jaccard over bootstrap refits (Hennig's clusterboot)
    stability_reading: str | None = None  # the published reading of that number
    rfm_mix: dict[str, float] | None = None  # share of each RFM label among members (order logs)
    offer_note: str | None = None  # why this segment shares its offer list with another one
    claims: list[Claim] = field(default_factory=list)  # everything said about it, with its numbers
    name_claims: list[str] = field(default_factory=list)  # the claims (ids) its name is made of
    value: SegmentValue | None = None  # None without a money column
    named_by: Literal["model", "people"] = "model"  # "people": the name is a marketer's words (model.editing)
    parts: list[int] | None = None  # the clusters of the edit's k it merges (`Edit.groups`), when merged

    def rfm_top(self, shown: int = 3) -> list[tuple[str, float]]:
        """The RFM mix, largest labels first (ties by name), the rest summed as "other labels"."""
        mix = sorted((self.rfm_mix or {}).items(), key=lambda t: (-t[1], t[0]))
        rest = round(sum(v for _, v in mix[shown:]), 4)
        return mix[:shown] + ([("other labels", rest)] if rest > 0 else [])

    def as_dict(self) -> dict[str, Any]:
        """The edit fields are left out when unset: a fitted bundle's manifest is unchanged."""
        out = super().as_dict()
        if self.named_by == "model":
            del out["named_by"]
        if self.parts is None:
            del out["parts"]
        return out


@dataclass(frozen=True)
class Edit(Record):
    """People's changes to the segments a fit proposed (`model.editing`): the segments are unions of
    the clusters ("atoms") of the k=`k` fit of the evidence table, `groups[i]` those of segment i."""
    trained_k: int  # the k the bundle was fitted and described at
    k: int  # the k whose clusters make up the segments
    groups: list[list[int]]
    changes: list[str]  # what people changed, in words, oldest first
    not_remeasured: list[str]  # what the edit could not measure again (stability, indices)
    served: str  # what serves this edit (serving.npz), and what model.skops is
    edited_at: str


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
class TransactionSource(Record):
    """A bundle trained on an order log (`model.orders.customers`): how it was read and cleaned."""
    columns: dict[str, str]  # customer / date / amount or quantity+price / order → the column used
    lines_in: int
    lines_kept: int
    dropped: dict[str, int]
    customers: int
    orders: int
    as_of: str
    log1p: list[str]  # features log-transformed for clustering (profiles stay in original units)
    transform_rule: str
    report: dict[str, Any]  # the whole cleaning report (dates, returns, examples)


@dataclass(frozen=True)
class RfmField(Record):
    column: str
    better: Literal["higher", "lower"]
    edges: list[float | None]


@dataclass(frozen=True)
class RfmModel(Record):
    """The R/F/M quintile edges (`model.serving.rfm.rfm_edges`): a new customer is scored from these."""
    method: str
    customers: int
    rules: str
    recency: RfmField
    frequency: RfmField
    monetary: RfmField


@dataclass(frozen=True)
class Engine(Record):
    name: Literal["local", "spark"] = "local"
    version: str | None = None  # Spark's version for the Spark engine
    master: str | None = None  # the Spark master the fit ran on (local[*], spark://…, yarn, k8s://…)
    shuffle_partitions: int | None = None  # Spark: the shuffles' partitions (training.engines.spark_partitions)
    shuffle_basis: str | None = None  # … and why that many

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        return {k: v for k, v in out.items() if v is not None or k in ("name", "version")}


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
    rules: Rules | None = None  # the segments as readable rules (segment_rules.sql in the bundle)
    drift_reference: DriftReference | None = None  # what `monitor` compares new data with
    transactions: TransactionSource | None = None  # set when trained on an order log
    rfm: RfmModel | None = None  # set when the features are recency / frequency / monetary
    value: ValueSummary | None = None  # set when a column has the monetary role
    edit: Edit | None = None  # set when people edited the segments after the fit

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        return out if self.edit is not None else {k: v for k, v in out.items() if k != "edit"}

    def __post_init__(self) -> None:
        if self.format_version != FORMAT_VERSION:
            raise RecordError(f"format_version: bundle format {self.format_version} is not supported")
        if self.k < 1 or self.k != len(self.segments):
            raise RecordError(f"k: {self.k} does not match the {len(self.segments)} segments")
        if [s.id for s in self.segments] != list(range(self.k)):
            raise RecordError(f"segments: ids must be 0..{self.k - 1} in order, got {[s.id for s in self.segments]}")

    @classmethod
    def read(cls, data: Any, where: str = "manifest.json") -> "Manifest":
        """`from_dict` of a manifest of any format this app reads (`model.contract.formats`: an
        earlier format is read as the current one), every problem as ManifestError."""
        from model.contract.formats import reader  # its readers build on this module
        data = reader(data, where).manifest_data(data)
        try:
            return cls.from_dict(data, where)
        except RecordError as exc:
            raise ManifestError(f"{exc}; {REBUILD}") from None

    def segment(self, seg_id: int) -> Segment:
        return self.segments[seg_id]


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
