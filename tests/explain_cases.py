"""Real tables with a real model for the explain and monitor tests, built once per test process.

* ``default``: the synthetic default data (`training.synthetic.customers.default_frame`, with its mess) and
  the committed default bundle;
* ``mall``: Mall Customers, income + spending score, a bundle fitted here;
* ``csd``: the shared 1,000-row customer_segmentation_data.csv, a bundle fitted here.

Each case holds the CSV text as it would be uploaded, the table read from it (text cells), the
cleaned training frame, the predictor, the model's segment of every training row, its exact fills
and the preprocessed matrix z.
"""
from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.tables.reading import read_csv_strict
from model.serving.predictor import Predictor
from training.reading import table as data_mod
from training.synthetic import customers as synthetic

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


@functools.lru_cache(maxsize=None)
def _tmp() -> Path:
    """One folder for the bundles fitted here, removed when the test process ends."""
    path = Path(tempfile.mkdtemp(prefix="explain-cases-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@dataclass
class Case:
    name: str
    csv: bytes
    raw: pd.DataFrame  # as read from the CSV: text cells, "" → missing
    cleaned: Any  # training.reading.table.Cleaned
    predictor: Predictor
    labels: np.ndarray  # the model's segment of every cleaned row
    unlike: np.ndarray
    fills: dict[str, Any]
    z: np.ndarray

    @property
    def frame(self) -> pd.DataFrame:
        return self.cleaned.frame

    @property
    def k(self) -> int:
        return self.predictor.k

    @property
    def schema(self) -> Any:
        return self.predictor.schema

    def training_rows(self) -> np.ndarray:
        """Rows of `raw` that training kept: exact duplicates and rows without any feature value
        are dropped by `training.reading.table.clean`."""
        keep = ~self.raw.duplicated().to_numpy()
        feats = self.raw[self.schema.names].astype("string").apply(lambda c: c.str.strip())
        keep &= ~(feats.isna() | (feats == "")).all(axis=1).to_numpy()
        return keep


def _read(csv: bytes) -> pd.DataFrame:
    return read_csv_strict(csv, max_bytes=10 ** 9, max_rows=10 ** 7)


def _fit(csv_path: Path, out: Path, features: list[str] | None) -> Path:
    from training.fit import FitOptions, fit
    fit(FitOptions(data=csv_path, out=out, features=features, seed=42, compare=False, bootstrap=0))
    return out


@functools.lru_cache(maxsize=None)
def case(name: str) -> Case:
    if name == "default":
        frame, _ = synthetic.default_frame()
        csv = frame.to_csv(index=False).encode()
        bundle = ROOT / "model" / "artifacts" / "default"
        features = None
    elif name in ("mall", "csd"):
        path = SHARED / ("Mall_Customers.csv" if name == "mall" else "customer_segmentation_data.csv")
        csv = path.read_bytes()
        features = MALL_FEATURES if name == "mall" else None
        bundle = _fit(path, _tmp() / name, features)
    else:
        raise KeyError(name)
    raw = _read(csv)
    cleaned = data_mod.clean(raw, features=features)
    predictor = Predictor.from_dir(bundle)
    scored = predictor.predict_frame(cleaned.frame)
    assert (scored["error"] == "").all(), "training rows must all be valid"
    c = predictor.compiled
    fills: dict[str, Any] = dict(zip([f.name for f in predictor.schema.numeric], c.num_fill.tolist()))
    fills.update({f.name: f.levels[i] for f, i in zip(predictor.schema.categorical, c.cat_fill.tolist())})
    check = predictor.schema.check_frame(cleaned.frame)
    return Case(name, csv, raw, cleaned, predictor, scored["segment_id"].to_numpy(dtype=np.int64),
                scored["unlike_training"].to_numpy(dtype=bool), fills, c.transform(check.num, check.codes))


def bootstrap(raw: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A resample of `raw` (rows with replacement, same size): an unshifted sample."""
    rng = np.random.default_rng(seed)
    return raw.iloc[rng.integers(0, len(raw), len(raw))].reset_index(drop=True)
