"""Has the customer base changed since training? A drift report from stored aggregates.

The reference a bundle stores, and how numeric features are binned: `model.drift.bins`.

`drift_report` compares a new table (and its scores from `model.serving.predictor.Predictor.predict_frame`:
columns ``segment_id``, ``unlike_training``, ``error``) with that reference:

* per feature, the population stability index PSI = sum (now - then) x ln(now / then) over the
  bins (empty cells and, in new data, cells that are no number / no trained level are bins of
  their own; shares are floored at `EPS`), and what moved (median then / now, the bin or level
  that gained most);
* segment shares then / now (rows the model scored) and their PSI; rows with errors are counted;
* the share of customers unlike the training data, then / now;
* a verdict with the thresholds stated (`THRESHOLDS`): PSI < 0.1 stable, 0.1-0.25 drifting,
  > 0.25 re-train, for every feature and for the segment shares; the share unlike the training
  data rising by > 5 points drifting, > 15 points re-train. The worst of these is the verdict.
* with an earlier scored file and an id column, the migration matrix: customers from each old
  segment to each new one, plus new customers, customers who left and rows now in error.

PSI has a noise floor: two samples of one population differ by about (bins - 1) x (1/n_then +
1/n_now) (``psi_noise`` in the report), so on a few hundred rows small PSIs mean little; n x PSI
is about chi-squared with bins - 1 degrees of freedom, so chance alone passes ``psi_chance`` (its
99th percentile) once in a hundred samples. A verdict needs a signal above its own noise: a PSI
past a threshold counts only above ``psi_chance``, and "stable" only when ``psi_noise`` is below
the drift threshold (drift could have been seen); otherwise that signal is "not enough data to
tell" (`NOT_ENOUGH`), as is any signal with fewer than 5 new rows a bin, and so is the overall
verdict when no signal can tell. The share unlike the training data counts the same way, its noise
being two standard errors of the difference of two shares.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from model.contract.constraints import number_text
from model.drift.bins import BINS, FORMAT, bin_shares, rounded_share
from model.tables.cells import MISSING, UNKNOWN, category_codes, category_key, to_numbers
from model.drift.moves import migration_matrix

EPS = 1e-4
PSI_DRIFT, PSI_RETRAIN = 0.1, 0.25
UNLIKE_DRIFT, UNLIKE_RETRAIN = 0.05, 0.15
VERDICTS = ("stable", "drifting", "re-train")
NOT_ENOUGH = "not enough data to tell"  # every signal is within its noise level
MIN_ROWS_PER_BIN = 5  # new rows per bin on average before a PSI means anything (as for chi-squared)
SCORED_COLUMNS = ("segment_id", "unlike_training", "error")
THRESHOLDS = {
    "psi": f"PSI < {PSI_DRIFT} stable, {PSI_DRIFT}-{PSI_RETRAIN} drifting, > {PSI_RETRAIN} re-train "
           f"(each feature, and the segment shares)",
    "unlike_training": f"share of customers unlike the training data up by more than "
                       f"{UNLIKE_DRIFT * 100:g} percentage points: drifting; more than {UNLIKE_RETRAIN * 100:g}: re-train",
    "noise": "a signal counts only above its noise level (PSI: (bins - 1) x (1/rows then + 1/rows now))",
    "overall": f"the worst of the signals that count; {NOT_ENOUGH} when none can",
}


class MonitorError(ValueError):
    """The new data or the scores cannot be compared with the reference."""


def _psi_verdict(psi: float, noise: float = 0.0, chance: float = 0.0, *, rows: int | None = None,
                 bins: int = 0) -> str:
    """The threshold verdict of a PSI, or NOT_ENOUGH when chance could make it (or hide drift), or
    when there are fewer than `MIN_ROWS_PER_BIN` rows a bin (the chi-squared reading fails there)."""
    verdict = VERDICTS[0] if psi < PSI_DRIFT else VERDICTS[1] if psi <= PSI_RETRAIN else VERDICTS[2]
    if rows is not None and rows < MIN_ROWS_PER_BIN * bins:
        return NOT_ENOUGH
    if (verdict == VERDICTS[0] and noise >= PSI_DRIFT) or (verdict != VERDICTS[0] and psi <= chance):
        return NOT_ENOUGH
    return verdict


def psi_noise(bins: int, n_ref: int, n: int) -> tuple[float, float]:
    """(typical PSI of two samples of one population, the PSI chance passes once in 100): n x PSI
    ~ chi-squared(bins - 1); its 99th percentile by Wilson-Hilferty (no scipy at serving time)."""
    dof = max(bins - 1, 0)
    scale = 1 / n_ref + 1 / max(n, 1)
    if not dof:
        return 0.0, 0.0
    q99 = dof * (1 - 2 / (9 * dof) + 2.326 * (2 / (9 * dof)) ** 0.5) ** 3
    return dof * scale, q99 * scale


def rows_to_tell(n_ref: int, bins: int) -> int | None:
    """New rows needed for a PSI noise level under the drift threshold (None: the reference is too small)."""
    room = PSI_DRIFT - (bins - 1) / n_ref
    return None if room <= 0 else max(int((bins - 1) / room) + 1, MIN_ROWS_PER_BIN * bins)


def psi(now: Any, then: Any) -> float:
    """Population stability index of two share vectors (each summing to 1), shares floored at EPS."""
    p = np.maximum(np.asarray(now, dtype=float), EPS)
    q = np.maximum(np.asarray(then, dtype=float), EPS)
    return float(((p - q) * np.log(p / q)).sum())


def _check_inputs(reference: Mapping[str, Any], new_frame: pd.DataFrame, new_scored: pd.DataFrame) -> None:
    if not isinstance(reference, Mapping) or reference.get("format") != FORMAT:
        raise MonitorError(f"the drift reference must be a mapping with format {FORMAT} "
                           f"(from training.monitoring.reference.drift_reference; re-fit the bundle to store one)")
    names = [*reference["numeric"], *reference["categorical"]]
    missing = [c for c in names if c not in new_frame.columns]
    if missing:
        raise MonitorError(f"the new data has no column {', '.join(map(repr, missing))}; the model needs "
                           f"{', '.join(names)}; found: {', '.join(map(str, new_frame.columns))[:200]}")
    gone = [c for c in SCORED_COLUMNS if c not in new_scored.columns]
    if gone:
        raise MonitorError(f"the scores have no column {', '.join(map(repr, gone))}: pass the output of "
                           f"Predictor.predict_frame (columns {', '.join(SCORED_COLUMNS)})")
    if len(new_scored) != len(new_frame):
        raise MonitorError(f"the scores have {len(new_scored)} rows but the new data has {len(new_frame)}; "
                           f"score exactly the rows being compared")
    if not len(new_frame):
        raise MonitorError("the new data has no rows")


def _bin_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all values"]
    t = [number_text(e) for e in edges]
    return [f"≤ {t[0]}", *[f"{a} – {b}" for a, b in zip(t, t[1:])], f"> {t[-1]}"]


def _numeric_entry(name: str, ref: Mapping[str, Any], col: pd.Series, n_ref: int) -> dict[str, Any]:
    vals, bad = to_numbers(col)
    n = len(col)
    x = vals[~np.isnan(vals)]
    edges = np.asarray(ref["edges"], dtype=float)
    now = np.append(bin_shares(x, edges) * (len(x) / n), [np.isnan(vals).sum() / n - bad.mean(), bad.mean()])
    then = np.append(np.asarray(ref["shares"]), [ref["missing"], 0.0])
    labels = [*_bin_labels(ref["edges"]), "empty", "not a number"]
    entry = _entry(name, "numeric", now, then, labels, n_ref, n)
    median_now = float(np.median(x)) if len(x) else None
    entry.update({"median_then": ref["median"], "median_now": median_now})
    return entry


def _categorical_entry(name: str, ref: Mapping[str, Any], col: pd.Series, n_ref: int) -> dict[str, Any]:
    levels = ref["levels"]
    codes = category_codes(col, {category_key(lv): i for i, lv in enumerate(levels)})
    n = len(col)
    now = np.append(np.bincount(codes[codes >= 0], minlength=len(levels)) / n,
                    [(codes == MISSING).mean(), (codes == UNKNOWN).mean()])
    then = np.append(np.asarray(ref["shares"]), [ref["missing"], 0.0])
    return _entry(name, "categorical", now, then, [*levels, "empty", "not a trained level"], n_ref, n)


def _entry(name: str, kind: str, now: np.ndarray, then: np.ndarray, labels: list[str], n_ref: int,
           n: int) -> dict[str, Any]:
    value = psi(now, then)
    gain = now - then
    up, down = int(np.argmax(gain)), int(np.argmin(gain))
    used = int(((now > 0) | (then > 0)).sum())
    noise, chance = psi_noise(used, n_ref, n)
    return {"feature": name, "kind": kind, "psi": round(value, 4), "verdict": _psi_verdict(value, noise, chance, rows=n, bins=used),
            "psi_noise": round(noise, 4), "psi_chance": round(chance, 4), "bins_used": used,
            "gained_most": {"bin": labels[up], "then": rounded_share(then[up]), "now": rounded_share(now[up])},
            "lost_most": {"bin": labels[down], "then": rounded_share(then[down]), "now": rounded_share(now[down])},
            "bins": [{"bin": b, "then": rounded_share(t), "now": rounded_share(w)} for b, t, w in zip(labels, then, now)]}


def drift_report(reference: Mapping[str, Any], new_frame: pd.DataFrame, new_scored: pd.DataFrame, *,
                 previous_scored: pd.DataFrame | None = None, id_column: str | None = None) -> dict[str, Any]:
    """The drift report of `new_frame` (module docstring). Every row counts: rows the model
    rejected are reported (`errors`), never dropped from the feature comparison."""
    _check_inputs(reference, new_frame, new_scored)
    n, n_ref = len(new_frame), int(reference["rows"])
    features = [_numeric_entry(c, r, new_frame[c], n_ref) for c, r in reference["numeric"].items()]
    features += [_categorical_entry(c, r, new_frame[c], n_ref) for c, r in reference["categorical"].items()]
    seg = pd.array(new_scored["segment_id"], dtype="Int64").to_numpy(dtype=float, na_value=np.nan)
    err = new_scored["error"].fillna("").astype(str).str.strip().to_numpy() != ""
    scored = ~np.isnan(seg) & ~err
    k = len(reference["segments"])
    if scored.any() and (seg[scored].min() < 0 or seg[scored].max() >= k):
        raise MonitorError(f"segment_id must lie in 0..{k - 1} (the reference's k), got "
                           f"{int(seg[scored].min())}..{int(seg[scored].max())}: were the scores made by this bundle?")
    now_seg = np.bincount(seg[scored].astype(np.int64), minlength=k) / max(int(scored.sum()), 1)
    seg_psi = psi(now_seg, reference["segments"]) if scored.any() else float("nan")
    unlike_now = float(new_scored["unlike_training"].fillna(False).astype(bool).to_numpy()[scored].mean()) \
        if scored.any() else None
    unlike_then = reference.get("unlike_training")
    bad_rows = np.flatnonzero(~scored)
    seg_noise, seg_chance = psi_noise(k, n_ref, int(scored.sum()))
    report: dict[str, Any] = {
        "rows": n, "rows_scored": int(scored.sum()), "reference_rows": n_ref,
        "errors": {"rows": int(len(bad_rows)), "share": rounded_share(len(bad_rows) / n),
                   "examples": [{"row": int(i) + 1, "error": str(new_scored["error"].iloc[i])[:200]}
                                for i in bad_rows[:5]]},
        "features": sorted(features, key=lambda e: -e["psi"]),
        "segments": {"then": list(reference["segments"]), "now": [rounded_share(s) for s in now_seg],
                     "psi": round(seg_psi, 4) if scored.any() else None,
                     "psi_noise": round(seg_noise, 4), "psi_chance": round(seg_chance, 4),
                     "verdict": _psi_verdict(seg_psi, seg_noise, seg_chance, rows=int(scored.sum()), bins=k)
                     if scored.any() else NOT_ENOUGH},
        "unlike_training": {"then": unlike_then, "now": None if unlike_now is None else rounded_share(unlike_now)},
        "thresholds": THRESHOLDS,
    }
    report["verdict"], report["reasons"] = _verdict(report)
    id_column = id_column or reference.get("id_column")
    if previous_scored is not None:
        report["migration"] = migration_matrix(previous_scored, new_frame, seg, scored, id_column=id_column, k=k)
    return report


def _verdict(report: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The worst signal that counts, with its reasons; NOT_ENOUGH when no signal can tell."""
    level, reasons, unsure = 0, [], []
    for f in report["features"]:
        if f["verdict"] == NOT_ENOUGH:
            unsure.append(f)
            continue
        v = VERDICTS.index(f["verdict"])
        if v:
            reasons.append(f"{f['feature']}: PSI {f['psi']:.3f} ({f['verdict']}); "
                           f"'{f['gained_most']['bin']}' {f['gained_most']['then']:.1%} → {f['gained_most']['now']:.1%}")
        level = max(level, v)
    s = report["segments"]
    if s["verdict"] != NOT_ENOUGH:
        v = VERDICTS.index(s["verdict"])
        if v:
            reasons.append(f"segment shares: PSI {s['psi']} ({s['verdict']})")
        level = max(level, v)
    u, n = report["unlike_training"], report["rows_scored"]
    if u["then"] is not None and u["now"] is not None and n:
        rise, p = u["now"] - u["then"], max(u["then"], 1 / report["reference_rows"])
        noise = 2 * (p * (1 - p) * (1 / n + 1 / report["reference_rows"])) ** 0.5
        v = 2 if rise > UNLIKE_RETRAIN else 1 if rise > UNLIKE_DRIFT else 0
        if v and rise > noise:
            reasons.append(f"customers unlike the training data: {u['then']:.1%} → {u['now']:.1%}")
            level = max(level, v)
    if level or not unsure:
        return VERDICTS[level], reasons
    worst = max(unsure, key=lambda f: f["psi_noise"])
    need = rows_to_tell(report["reference_rows"], worst.get("bins_used", BINS))
    reasons.append(f"{report['rows']:,} rows are too few: two samples of the same customers typically differ by PSI "
                   f"{worst['psi_noise']:.2f} on {worst['feature']} (chance passes {worst['psi_chance']:.2f} once in "
                   f"100), against a drift threshold of {PSI_DRIFT}" + (f"; about {need:,} rows can tell" if need else ""))
    return NOT_ENOUGH, reasons
