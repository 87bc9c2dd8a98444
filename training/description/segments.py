"""What each segment means: profile, RFM mix, claims, name, offers, value, description, how far its
members sit from its centre, and whether it is real (bootstrap stability) — the segments of the
manifest. Nothing is written until every claim has been checked against the numbers
(`training.description.check.verify`)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from model.serving.rfm import rfm_mix, rfm_scores
from model.contract.schema import Schema
from training.description.check import verify
from training.description.claims import Base, base_of
from training.description.names import assign_names, describe
from training.description.offers import assign_offers
from training.description.profile import profile_segments
from training.description.value import segment_values
from training.selection.stability import segment_stability, stability_reading


def describe_segments(frame: pd.DataFrame, labels: np.ndarray, dist: np.ndarray, *, schema: Schema, k: int,
                      catalogue: Mapping[str, Any], z_fit: np.ndarray, fit_labels: np.ndarray, seed: int,
                      rfm: bool, bootstrap: int, order_log: bool = False,
                      profiles: list[dict[str, Any]] | None = None,
                      distance_p99: list[float | None] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Every segment as the manifest's `Segment` fields (plain data), and the `ValueSummary`
    fields (None without a money column). `profiles` and `distance_p99`, when given, come from an
    engine's aggregates over more rows than `frame`; the base every segment is compared with is
    `frame` (for the Spark engine, its driver sample)."""
    base = base_for(frame, schema, order_log=order_log)
    segments = _named(frame, labels, schema, k, base, rfm=rfm, profiles=profiles)
    for seg, got in zip(segments, assign_offers(segments, catalogue)):
        seg["offers"] = got["offers"]
        seg["offer_note"] = got["note"]
    # each engine's profiles carry their unrounded means: the value is made of them, the manifest keeps the rounded
    values, summary = segment_values(segments, base, {int(s["id"]): s.pop("exact_means", {}) for s in segments})
    stability = segment_stability(z_fit, fit_labels, k=k, seed=seed, B=bootstrap) if bootstrap else [None] * k
    for seg, stab, value in zip(segments, stability, values):
        seg["value"] = value
        seg["description"] = describe(seg, base)
        own = dist[labels == seg["id"]]
        if distance_p99 is not None:
            seg["distance_p99"] = distance_p99[seg["id"]]
        else:
            seg["distance_p99"] = round(float(np.quantile(own, 0.99)), 5) if len(own) else None
        seg["stability"] = None if stab is None else round(float(stab), 4)
        seg["stability_reading"] = None if stab is None else stability_reading(stab)
    verify(segments, base)
    return segments, summary


def name_split(frame: pd.DataFrame, labels: np.ndarray, schema: Schema, k: int, *, rfm: bool,
               order_log: bool) -> list[tuple[str, float]]:
    """(name, share of customers) of each segment of another split of the same customers, largest
    first: what the words say about an alternative k."""
    segments = _named(frame, labels, schema, k, base_for(frame, schema, order_log=order_log), rfm=rfm)
    return [(s["name"], s["share"]) for s in sorted(segments, key=lambda s: (-s["size"], s["id"]))]


def _named(frame: pd.DataFrame, labels: np.ndarray, schema: Schema, k: int, base: Base, *, rfm: bool,
           profiles: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Profiles (given, or of `frame`), RFM mixes, claims and names."""
    segments = profiles if profiles is not None else profile_segments(
        frame, labels, numeric=[f.name for f in schema.numeric], categorical=[f.name for f in schema.categorical],
        k=k, roles={f.name: f.role for f in schema.features}, names={f.name: f.label for f in schema.features},
        log=[f.name for f in schema.numeric if f.transform == "log1p"])
    if rfm:
        col = {f.role: f.name for f in schema.numeric}
        scores = rfm_scores(frame, recency=col["recency"], frequency=col["frequency"], monetary=col["monetary"])
        mix = rfm_mix(labels, scores["rfm_label"].to_numpy())
        for seg in segments:
            seg["rfm_mix"] = mix.get(seg["id"], {})
    assign_names(segments, base, rfm=rfm)
    return segments


def base_for(frame: pd.DataFrame, schema: Schema, *, order_log: bool) -> Base:
    """The base of a cleaned frame, with the schema's roles and labels."""
    return base_of(frame, {f.name: f.role for f in schema.numeric}, labels={f.name: f.label for f in schema.features},
                   order_log=order_log)
