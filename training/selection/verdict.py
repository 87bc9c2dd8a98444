"""How many segments the evidence supports, in words: a pure rule over the per-k evidence table of
`training.selection.select_k.score_k`, the clusterability verdict, and what to say when a smaller k
is better supported than the chosen one.

Rule of `choose_k` (a pure function of the table):
1. *eligible* ks: stability >= ``STABLE`` and no empty segment (if none is, all are);
2. if no eligible k beats the reference by ``NOISE_EXCESS`` in silhouette, the data has no natural
   clusters: k = the knee of the inertia curve over the eligible ks (a practical grid);
3. otherwise k = the smallest eligible k, with a silhouette excess of at least ``NOISE_EXCESS``,
   after which the gap curve levels off: going to the next k gains less than ``GAP_STEP`` (10 %)
   of the largest gap. If it never levels off, the largest such k (widen the range).
4. the gap curve may level off more than once: groups within groups (three kinds of customer,
   each made of two behaviours) pause it at the coarse level, then it rises again. A later k where
   it levels off again is taken when the gap there exceeds the current choice's by at least
   ``GAP_LEAP`` (15 %) of the largest gap and its segments are reproducible (prediction strength
   and split-half stability >= ``REPRODUCIBLE``); repeated, so the finest such level wins. Without
   prediction strength in the table, step 3 stands.

`clusterability` grades the silhouette excess and the stability at the chosen k (`VERDICTS`), and,
once the table holds each k's prediction strength, says whether the segments are reproducible:
"strong" needs prediction strength >= ``REPRODUCIBLE`` (Tibshirani & Walther's ~0.8). When the
chosen k falls short of 0.8 in prediction strength or split-half stability and a smaller k reaches
both, `smaller_k` names it: the reason and the verdict then say that the evidence prefers it.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

STABLE = 0.6              # split-half ARI a k needs to be eligible
NOISE_EXCESS = 0.03       # silhouette gain over the reference that counts as structure
GAP_STEP = 0.10           # a next-k gap gain below this share of the largest gap = levelled off
GAP_LEAP = 0.15           # a later level-off counts when its gap is higher by this share of the largest gap
VERDICTS = (("strong", 0.15, 0.8), ("moderate", 0.08, 0.6))  # (verdict, min excess, min stability)
REPRODUCIBLE = 0.8  # prediction strength and split-half stability a k needs to be called reproducible
RULE = ("among stable ks (split-half ARI >= 0.6): if none beats shuffled-columns data by 0.03 "
        "in silhouette, the knee of inertia; else the first k after which the gap curve levels "
        "off (next k adds < 10% of the largest gap), or a later k where it levels off again at a gap "
        "higher by >= 15% of the largest gap, when its segments are reproducible (prediction strength "
        "and split-half stability >= 0.8)")
SUMMARIES = {
    "strong": "Customers fall into {k} clearly distinct groups: the segments are well separated "
              "and come out the same when the data is resampled. They can be treated as personas.",
    "moderate": "There is real group structure: the {k} segments are more distinct than chance, "
                "but their borders overlap. Treat borderline customers with care.",
    "weak": "There is only faint group structure: the {k} segments are a little more distinct "
            "than chance, but borders are blurred or shift when the data is resampled. Use them "
            "as a rough guide, not as personas.",
    "none": "These segments split customers into groups of similar size, but the data has no "
            "natural clusters: treat them as a grid, not as personas.",
}


def _sig(x: float, digits: int = 7) -> float:
    """Round to significant digits: a short, stable table in JSON."""
    return float(f"{float(x):.{digits}g}")


def _knee(xs: Sequence[float], ys: Sequence[float]) -> int:
    """Index of the knee of a decreasing curve: farthest point below the chord (Kneedle)."""
    if len(xs) < 3:
        return 0
    x = (np.asarray(xs, float) - xs[0]) / (xs[-1] - xs[0])
    y_span = max(ys) - min(ys)
    y = (np.asarray(ys, float) - min(ys)) / (y_span if y_span > 0 else 1.0)
    return int(np.argmax((1 - x) - y))


def choose_k(table: Sequence[dict[str, Any]]) -> tuple[int, str]:
    """Chosen k and a plain-English reason; pure (see the module docstring for the rule)."""
    rows = sorted(table, key=lambda r: r["k"])
    if not rows:
        raise ValueError("the evidence table is empty")
    eligible = [r for r in rows if r["stability"] >= STABLE and r.get("smallest_share", 1) > 0]
    stable_note = "" if eligible else " (no k was stable, so all were considered)"
    eligible = eligible or rows
    best = max(eligible, key=lambda r: (r["silhouette_excess"], -r["k"]))
    if best["silhouette_excess"] < NOISE_EXCESS:
        r = eligible[_knee([e["k"] for e in eligible], [e["inertia"] for e in eligible])]
        return r["k"], (
            f"No number of segments separates customers better than the same data with its "
            f"columns shuffled (best silhouette gain {best['silhouette_excess']:.3f} < "
            f"{NOISE_EXCESS}), so there are no natural clusters{stable_note}. k={r['k']} is the "
            f"elbow of the inertia curve: a practical grid, after which extra segments reduce "
            f"spread less.")
    gap = {r["k"]: r["gap"] for r in rows}
    step = GAP_STEP * max(gap.values())
    candidates = [r for r in eligible if r["silhouette_excess"] >= NOISE_EXCESS]
    r = candidates[-1]
    for c in candidates:
        nxt, gain = _next_gain(gap, c["k"])
        if gain is None or gain < step:
            r = c
            break
    else:
        nxt, gain = None, None
    level = (f"levels off at {r['k']} segments (k={nxt} adds {gain:.3f}, under {step:.3f})"
             if gain is not None else f"still rises up to k={r['k']}, the end of the range "
             f"(consider trying larger k)")
    if gain is not None:
        first, r = r, _finer_level(r, candidates, gap, step)
        if r is not first:
            nxt, gain = _next_gain(gap, r["k"])
            then = f"k={nxt} adds {gain:.3f}" if gain is not None else "the end of the range"
            level = (f"levels off at {first['k']} segments, then rises again and levels off at {r['k']} "
                     f"({then}); at {r['k']} it is {r['gap'] - first['gap']:.3f} higher than at {first['k']} "
                     f"(at least {GAP_LEAP * max(gap.values()):.3f} counts) and the {r['k']} segments are "
                     f"reproducible (prediction strength {r['prediction_strength']:.2f})")
    return r["k"], (
        f"The gap statistic (how much tighter segments are than in the same data with its "
        f"columns shuffled) {level}; the segments beat the shuffled data by "
        f"{r['silhouette_excess']:.2f} in silhouette and split-half stability is "
        f"{r['stability']:.2f}{stable_note}.")


def decide(table: Sequence[dict[str, Any]], k: int | str) -> tuple[int, str]:
    """(k, reason) of a selection: `choose_k`'s when k is "auto", else the k set, with what the
    evidence alone would choose."""
    auto_k, reason = choose_k(table)
    if k == "auto":
        return auto_k, reason
    return int(k), f"k={int(k)} was set explicitly; the evidence alone would choose k={auto_k}: {reason}"


def _finer_level(r: dict[str, Any], candidates: Sequence[dict[str, Any]], gap: dict[int, float],
                 step: float) -> dict[str, Any]:
    """Step 4 of the rule (module docstring): the finest later k where the gap curve levels off again,
    materially higher, with reproducible segments; `r` when there is none."""
    leap = GAP_LEAP * max(gap.values())
    for c in candidates:
        if c["k"] <= r["k"] or not (_reproducible(c.get("prediction_strength")) and _reproducible(c["stability"])):
            continue
        _, gain = _next_gain(gap, c["k"])
        if (gain is None or gain < step) and c["gap"] - r["gap"] >= leap:
            r = c
    return r


def _next_gain(gap: dict[int, float], k: int) -> tuple[int | None, float | None]:
    """The next k of the table after `k` and what the gap gains there; (None, None) at the end."""
    nxt = min((kk for kk in gap if kk > k), default=None)
    return (None, None) if nxt is None else (nxt, gap[nxt] - gap[k])


def clusterability(table: Sequence[dict[str, Any]], k: int | None = None) -> dict[str, Any]:
    """Verdict strong / moderate / weak / none for segments at k (default: choose_k's k).

    none: no k beats the shuffled-columns reference by max(NOISE_EXCESS, 3 sd of the reference);
    strong / moderate: the silhouette excess and the stability at k reach `VERDICTS`; else weak.
    """
    rows = sorted(table, key=lambda r: r["k"])
    k = choose_k(rows)[0] if k is None else int(k)
    at = next((r for r in rows if r["k"] == k), None)
    if at is None:
        raise ValueError(f"k={k} is not in the evidence table (ks {[r['k'] for r in rows]})")
    best = max(rows, key=lambda r: (r["silhouette_excess"], -r["k"]))
    floor = max(NOISE_EXCESS, 3 * best["ref_silhouette_sd"])
    exc, stab = at["silhouette_excess"], at["stability"]
    verdict = "none" if best["silhouette_excess"] < floor else next(
        (v for v, e_min, s_min in VERDICTS if exc >= e_min and stab >= s_min), "weak")
    ps = at.get("prediction_strength")
    if verdict == "strong" and ps is not None and not _reproducible(ps):
        verdict = "moderate"  # well separated, but a model of half the customers does not reproduce them
    evidence = {"k": k, "silhouette": at["silhouette"], "silhouette_excess": exc,
                "reference_silhouette": at["ref_silhouette"], "gap": at["gap"], "stability": stab,
                "best_silhouette_excess": best["silhouette_excess"], "best_excess_k": best["k"],
                "noise_floor": _sig(floor, 3), "smallest_share": at["smallest_share"]}
    summary = SUMMARIES[verdict].format(k=k)
    if ps is not None and verdict == "moderate":
        evidence["prediction_strength"] = ps
        summary += " " + reproducibility(at)
    if at.get("n_variables", 2) < 2:
        evidence["reference_informative"] = False
        summary += (" Note: with a single variable, shuffling columns changes nothing, so this "
                    "check cannot see groups; look at the variable's histogram instead.")
    return {"verdict": verdict, "evidence": evidence, "summary": summary}


def _reproducible(x: float | None) -> bool:
    """At or above `REPRODUCIBLE` as shown (two decimals): 0.7996 reads, and counts, as 0.80."""
    return x is not None and round(float(x), 2) >= REPRODUCIBLE


def reproducibility(row: dict[str, Any]) -> str:
    """One sentence on whether the segments at this row's k come out again (published ~0.8)."""
    ps, stab = row.get("prediction_strength"), row["stability"]
    if ps is None:
        return ""
    if _reproducible(ps) and _reproducible(stab):
        return (f"They come out again when the data is resampled (prediction strength {ps:.2f}, split-half "
                f"stability {stab:.2f}).")
    return (f"They are only partly reproducible: prediction strength {ps:.2f} and split-half stability "
            f"{stab:.2f}, where about {REPRODUCIBLE} or more supports a k.")


def smaller_k(table: Sequence[dict[str, Any]], k: int) -> dict[str, Any] | None:
    """When the chosen k falls under `REPRODUCIBLE` in prediction strength or split-half
    stability, the largest smaller k that reaches it in both (Tibshirani & Walther: the largest k
    whose prediction strength is above ~0.8): {"k", "prediction_strength", "stability"}; else None."""
    rows = {r["k"]: r for r in table}
    at = rows.get(k)
    if at is None or at.get("prediction_strength") is None:
        return None
    if _reproducible(at["prediction_strength"]) and _reproducible(at["stability"]):
        return None
    good = [r for kk, r in rows.items() if kk < k and _reproducible(r.get("prediction_strength"))
            and _reproducible(r["stability"])]
    if not good:
        return None
    r = max(good, key=lambda r: r["k"])
    return {"k": r["k"], "prediction_strength": r["prediction_strength"], "stability": r["stability"]}


def alternative_text(k: int, alt: dict[str, Any]) -> str:
    """"The customers split cleanly in 2: a and b; 5 is a finer split whose borders overlap (…)." """
    names = [f"“{n}”" for n in alt["segments"]]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return (f"The customers split cleanly in {alt['k']}: {listed} (prediction strength "
            f"{alt['prediction_strength']:.2f}, split-half stability {alt['stability']:.2f}); {k} is a finer split "
            f"whose borders overlap.")
