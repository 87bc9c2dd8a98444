"""segment_stats.json: what an edit needs to re-derive segments later, without customer rows.

People edit the segments a fit proposed (`model.editing`): rename them, change their offers, merge
two, or pick another k from the evidence table. Re-deriving a segment needs numbers about its
customers, and a bundle never holds customer rows, so training stores here, per candidate k of the
evidence table, the *sufficient statistics* of each KMeans cluster (an "atom"):

* counts, sums and the standardised mean (z) of every numeric column: a union's size, mean,
  revenue and z are exact;
* a quantile sketch of every numeric column and of the distance to the centre (the values at
  `QUANTILES`): a union's median, quartiles and 99th percentile are re-read from the mixture of
  its parts' sketches, within one grid step of each part (honestly approximate);
* the count of every category level and RFM label: a union's shares are exact;
* per rule of the surrogate tree, how many training customers of each atom it selects: a union's
  rule fidelity is exact.

And what each candidate k needs to be served without a refit: its centres (in the serving layout
of `model.serving.compiled`, the preprocessing being shared by every k), the segment of every row
of pca_sample.csv, its segments as training described them (names, claims, offers), its rules,
its per-segment box plots, its verdict. Bounded by the evidence table's ks (2..10 by default).
The served app never reads this file at start-up; an edit does (`model.editing.apply`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.contract.aggregates import SegmentSummary
from model.contract.errors import REBUILD, BundleError, ManifestError
from model.contract.evidence import Clusterability, Metrics, Rules
from model.contract.manifest import Segment, ValueSummary
from model.contract.records import Record, RecordError

STATS = "segment_stats.json"
FORMAT = 1
# 0.02, 0.04, …, 0.98: not 0 and 1, which would be one customer's own smallest and largest values
QUANTILES: tuple[float, ...] = tuple(round(i / 50, 2) for i in range(1, 50))
MAX_STATS_BYTES = 16 * 2**20  # refused above this before parsing (9 candidates × 50 columns ≈ 2 MB)


@dataclass(frozen=True)
class ColumnStats(Record):
    """One numeric column among one atom's customers."""
    n: int  # members with a value
    sum: float  # the sum of their values (original units)
    z: float  # the standardised mean on the clustering scale (`Profile.numeric[col].z`)
    quantiles: list[float]  # the values at `QUANTILES` (empty when n is 0)


@dataclass(frozen=True)
class AtomStats(Record):
    """One KMeans cluster of one candidate k: the sufficient statistics of its customers."""
    size: int
    numeric: dict[str, ColumnStats]
    categorical: dict[str, dict[str, int]]  # column → level → members (missing cells not counted)
    distance: list[float]  # distance to its centre at `QUANTILES`
    rfm: dict[str, int] | None = None  # RFM label → members (order logs)


@dataclass(frozen=True)
class Candidate(Record):
    """Everything one k of the evidence table needs to be served and edited without a refit."""
    k: int
    fit: str  # how its centres were fitted, in words
    centres: list[list[float]]  # (k, d) in the serving layout
    sample: list[int]  # segment of each row of pca_sample.csv at this k
    atoms: list[AtomStats]
    segments: list[Segment]  # as training described them at this k (stability only at the fitted k)
    clusterability: Clusterability
    metrics: Metrics
    by_segment: dict[str, SegmentSummary]  # summary.json's per-segment boxes at this k
    drift_segments: list[float]  # share of training customers per segment (the drift reference's)
    rules: Rules | None = None
    rule_atoms: list[list[int]] | None = None  # per rule of `rules`: training customers of each atom it selects
    unlike_training: float | None = None
    value: ValueSummary | None = None  # the revenue headline at this k (a money column)

    def __post_init__(self) -> None:
        if not (len(self.centres) == len(self.atoms) == len(self.segments) == len(self.drift_segments) == self.k):
            raise RecordError(f"candidate k={self.k}: centres, atoms, segments and shares must all have {self.k} entries")
        if self.sample and not 0 <= min(self.sample) <= max(self.sample) < self.k:
            raise RecordError(f"candidate k={self.k}: sample segments must lie in 0..{self.k - 1}")
        if self.rules is not None and (self.rule_atoms is None or len(self.rule_atoms) != len(self.rules.rules)
                                       or any(len(r) != self.k for r in self.rule_atoms)):
            raise RecordError(f"candidate k={self.k}: rule_atoms needs one count per atom for every rule")


@dataclass(frozen=True)
class SegmentStats(Record):
    format: int
    quantiles: list[float]
    trained_k: int  # the k the bundle was fitted and described at
    rows: int  # training customers
    candidates: list[Candidate]

    def __post_init__(self) -> None:
        if self.format != FORMAT:
            raise RecordError(f"format: segment statistics format {self.format} is not supported")
        if [round(q, 6) for q in self.quantiles] != [round(q, 6) for q in QUANTILES]:
            raise RecordError("quantiles: not the grid this app reads")
        ks = [c.k for c in self.candidates]
        if len(set(ks)) != len(ks) or self.trained_k not in ks:
            raise RecordError(f"candidates: ks {ks} must be distinct and include the trained k={self.trained_k}")

    @property
    def ks(self) -> list[int]:
        return sorted(c.k for c in self.candidates)

    def candidate(self, k: int) -> Candidate:
        for c in self.candidates:
            if c.k == k:
                return c
        raise KeyError(k)


def dumps_stats(stats: SegmentStats) -> bytes:
    """Compact, deterministic JSON (sorted keys, no NaN): a few hundred kB, read only by edits."""
    return json.dumps(stats.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def read_stats(path: Path | str, *, expected_sha256: str | None = None) -> SegmentStats:
    """segment_stats.json of a bundle folder, size-capped, checked against the manifest's sha256
    (`expected_sha256`) and against its types; BundleError / ManifestError naming what is wrong."""
    import hashlib
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"{path.parent.name or path.parent}: {STATS} is missing: this bundle was written before "
                          "edits were possible (re-run `python -m training fit`), or by the Spark engine")
    size = path.stat().st_size
    if size > MAX_STATS_BYTES:
        raise BundleError(f"{STATS} is {size:,} bytes; at most {MAX_STATS_BYTES:,} are read")
    data = path.read_bytes()
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise BundleError(f"{STATS} does not match the manifest's sha256: the file was modified; refusing to use it")
    try:
        raw: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(f"{STATS} is not valid JSON: {str(exc)[:200]}") from None
    try:
        return SegmentStats.from_dict(raw, STATS)
    except RecordError as exc:
        raise ManifestError(f"{exc}; {REBUILD}") from None
