"""What each segment means: profile, RFM mix, name, offers, description, how far its members sit
from its centre, and whether it is real (bootstrap stability) — the segments of the manifest."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from model.serving.rfm import rfm_mix, rfm_scores
from model.contract.schema import Schema
from training.description.offers import assign_offers
from training.description.profile import assign_names, describe, profile_segments
from training.selection.stability import segment_stability, stability_reading


def describe_segments(frame: pd.DataFrame, labels: np.ndarray, dist: np.ndarray, *, schema: Schema, k: int,
                      catalogue: Mapping[str, Any], z_fit: np.ndarray, fit_labels: np.ndarray, seed: int,
                      rfm: bool, bootstrap: int, profiles: list[dict[str, Any]] | None = None,
                      distance_p99: list[float | None] | None = None) -> list[dict[str, Any]]:
    """Every segment as the manifest's `Segment` fields (plain data). `profiles` and
    `distance_p99`, when given, come from an engine's aggregates over more rows than `frame`."""
    roles = {f.name: f.role for f in schema.features}
    names = {f.name: f.label for f in schema.features}
    segments = profiles if profiles is not None else profile_segments(
        frame, labels, numeric=[f.name for f in schema.numeric], categorical=[f.name for f in schema.categorical],
        k=k, roles=roles, names=names, log=[f.name for f in schema.numeric if f.transform == "log1p"])
    if rfm:
        col = {f.role: f.name for f in schema.numeric}
        scores = rfm_scores(frame, recency=col["recency"], frequency=col["frequency"], monetary=col["monetary"])
        mix = rfm_mix(labels, scores["rfm_label"].to_numpy())
        for seg in segments:
            seg["rfm_mix"] = mix.get(seg["id"], {})
    assign_names(segments, roles, rfm=rfm)
    for seg, got in zip(segments, assign_offers(segments, catalogue)):
        seg["offers"] = got["offers"]
        seg["offer_note"] = got["note"]
    stability = segment_stability(z_fit, fit_labels, k=k, seed=seed, B=bootstrap) if bootstrap else [None] * k
    for seg, stab in zip(segments, stability):
        seg["description"] = describe(seg, names)
        own = dist[labels == seg["id"]]
        if distance_p99 is not None:
            seg["distance_p99"] = distance_p99[seg["id"]]
        else:
            seg["distance_p99"] = round(float(np.quantile(own, 0.99)), 5) if len(own) else None
        seg["stability"] = None if stab is None else round(float(stab), 4)
        seg["stability_reading"] = None if stab is None else stability_reading(stab)
    return segments
