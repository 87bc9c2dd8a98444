"""The embedded default dataset: the original service's schema with planted segments.

Five segments of unequal size, realistic ranges, and the mess real exports have (exact duplicate
rows, empty cells, category spelling variants). Deterministic per seed; the planted segment of every
row is returned separately so tests can measure recovery (it is never written into the CSV).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

GENDERS = ("Female", "Male", "Other")
CATEGORIES = ("Clothing", "Electronics", "Groceries", "Home & Garden", "Sports")
COLUMNS = ("id", "age", "gender", "income", "spending_score", "membership_years",
           "purchase_frequency", "preferred_category", "last_purchase_amount")
# (low, high) for each numeric column: what a real customer table of this shop can hold.
BOUNDS = {"age": (18, 80), "income": (15_000, 200_000), "spending_score": (1, 100),
          "membership_years": (0, 10), "purchase_frequency": (1, 50),
          "last_purchase_amount": (5.0, 1_000.0)}
INTEGER = {"age", "income", "spending_score", "membership_years", "purchase_frequency"}


@dataclass(frozen=True)
class Planted:
    name: str
    share: float
    mean: dict[str, float]
    sd: dict[str, float]
    gender: tuple[float, float, float]
    category: tuple[float, float, float, float, float]


SEGMENTS = (
    Planted("young trend shoppers", 0.30,
            {"age": 24, "income": 32_000, "spending_score": 78, "membership_years": 1.5,
             "purchase_frequency": 34, "last_purchase_amount": 60},
            {"age": 3, "income": 6_000, "spending_score": 8, "membership_years": 1,
             "purchase_frequency": 5, "last_purchase_amount": 25},
            (0.55, 0.38, 0.07), (0.55, 0.30, 0.05, 0.02, 0.08)),
    Planted("affluent loyalists", 0.12,
            {"age": 54, "income": 150_000, "spending_score": 82, "membership_years": 8.5,
             "purchase_frequency": 40, "last_purchase_amount": 780},
            {"age": 5, "income": 15_000, "spending_score": 7, "membership_years": 1,
             "purchase_frequency": 5, "last_purchase_amount": 100},
            (0.50, 0.47, 0.03), (0.15, 0.10, 0.05, 0.65, 0.05)),
    Planted("budget families", 0.25,
            {"age": 41, "income": 52_000, "spending_score": 32, "membership_years": 4.5,
             "purchase_frequency": 18, "last_purchase_amount": 140},
            {"age": 4, "income": 8_000, "spending_score": 8, "membership_years": 1.2,
             "purchase_frequency": 4, "last_purchase_amount": 40},
            (0.52, 0.44, 0.04), (0.07, 0.05, 0.75, 0.10, 0.03)),
    Planted("dormant high earners", 0.10,
            {"age": 47, "income": 118_000, "spending_score": 14, "membership_years": 2.5,
             "purchase_frequency": 4, "last_purchase_amount": 420},
            {"age": 5, "income": 12_000, "spending_score": 6, "membership_years": 1,
             "purchase_frequency": 2, "last_purchase_amount": 90},
            (0.35, 0.60, 0.05), (0.10, 0.60, 0.10, 0.15, 0.05)),
    Planted("active sports fans", 0.23,
            {"age": 31, "income": 78_000, "spending_score": 58, "membership_years": 5.5,
             "purchase_frequency": 26, "last_purchase_amount": 230},
            {"age": 3.5, "income": 9_000, "spending_score": 7, "membership_years": 1.2,
             "purchase_frequency": 4, "last_purchase_amount": 50},
            (0.42, 0.52, 0.06), (0.08, 0.07, 0.05, 0.05, 0.75)),
)


def generate(rows: int, *, seed: int = 7, mess: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """Return (customer table, planted segment index per row). With `mess`, ~1 % of rows are exact
    duplicates of earlier rows (their planted label repeated), ~1 % of cells are empty and ~3 % of
    category cells carry a spelling variant."""
    if rows < 10:
        raise ValueError(f"rows must be at least 10, got {rows}")
    rng = np.random.default_rng(seed)
    n_dup = max(1, rows // 100) if mess else 0
    n_base = rows - n_dup
    shares = np.array([s.share for s in SEGMENTS])
    labels = rng.choice(len(SEGMENTS), size=n_base, p=shares / shares.sum())
    data: dict[str, np.ndarray] = {}
    for col, (lo, hi) in BOUNDS.items():
        mean = np.array([s.mean[col] for s in SEGMENTS])[labels]
        sd = np.array([s.sd[col] for s in SEGMENTS])[labels]
        vals = np.clip(rng.normal(mean, sd), lo, hi)
        data[col] = np.round(vals) if col in INTEGER else np.round(vals, 2)
    gender_p = np.array([s.gender for s in SEGMENTS])[labels]
    cat_p = np.array([s.category for s in SEGMENTS])[labels]
    gender = np.array(GENDERS)[_draw(rng, gender_p)]
    category = np.array(CATEGORIES)[_draw(rng, cat_p)]
    frame = pd.DataFrame({
        "age": data["age"].astype(int), "gender": gender.astype(object),
        "income": data["income"].astype(int), "spending_score": data["spending_score"].astype(int),
        "membership_years": data["membership_years"].astype(int),
        "purchase_frequency": data["purchase_frequency"].astype(int),
        "preferred_category": category.astype(object),
        "last_purchase_amount": data["last_purchase_amount"],
    })
    if mess:
        frame, labels = _add_mess(frame, labels, rng, n_dup)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    # Exact duplicates keep their id too: a re-exported row, not a new customer.
    if mess:
        dup_of = frame.attrs.pop("dup_of")
        frame.loc[frame.index[-n_dup:], "id"] = frame["id"].to_numpy()[dup_of]
    return frame[list(COLUMNS)], labels


def _draw(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row from per-row probability vectors."""
    cum = probs.cumsum(axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return (u > cum).sum(axis=1)


def _add_mess(frame: pd.DataFrame, labels: np.ndarray, rng: np.random.Generator,
              n_dup: int) -> tuple[pd.DataFrame, np.ndarray]:
    n = len(frame)
    frame = frame.astype({c: object for c in frame.columns})
    variants = {"gender": lambda s: rng.choice([f" {s.lower()}", s.upper(), f"{s} "]),
                "preferred_category": lambda s: rng.choice([s.upper(), f" {s.lower()}",
                                                            s.replace("&", "and")])}
    for col, make in variants.items():
        idx = rng.choice(n, size=max(1, n * 3 // 100), replace=False)
        for i in idx:
            frame.iat[i, frame.columns.get_loc(col)] = make(frame.iat[i, frame.columns.get_loc(col)])
    for col in frame.columns:
        idx = rng.choice(n, size=max(1, n // 100), replace=False)
        frame.loc[idx, col] = None
    dup_of = rng.choice(n, size=n_dup, replace=False)
    frame = pd.concat([frame, frame.iloc[dup_of]], ignore_index=True)
    frame.attrs["dup_of"] = dup_of
    return frame, np.concatenate([labels, labels[dup_of]])


def default_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """The table the committed default bundle is trained on."""
    return generate(DEFAULT_ROWS, seed=DEFAULT_SEED)


DEFAULT_ROWS = 3_000
DEFAULT_SEED = 7
