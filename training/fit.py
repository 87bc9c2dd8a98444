"""`fit`: a customer table or an order log → cleaned features → one pipeline → k chosen from
evidence → segments with meaning → bundle. Each step lives in its own module; this one only
orders them and reports progress.

    inputs.load_input → schema_build.build_schema → clustering.fit_local (or engines.spark)
    → finish.finish (segments, rules, drift reference, manifest, card) → model.contract.writing.write_bundle
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from model.contract.manifest import Manifest
from model.contract.bundle import DEFAULT_BUNDLE_DIR
from training.selection.clustering import fit_local
from training.finish import Provenance, finish
from training.reading.inputs import TxOptions, load_input
from training.description.offers import DEFAULT_CATALOGUE, load_catalogue
from training.reading.schema import build_schema

log = logging.getLogger(__name__)
BOOTSTRAP = 50  # refits for per-segment stability (training.selection.stability)


@dataclass
class FitOptions:
    data: Path | str | None = None  # a customer table (the Spark engine: any URI, as text); None and no
    # transactions: the embedded synthetic data
    out: Path | None = None  # the bundle folder (required)
    rebuild_default: bool = False  # only then may `out` be the committed default bundle
    transactions: Path | str | None = None  # an order log instead of a customer table
    tx: TxOptions = field(default_factory=TxOptions)
    features: Sequence[str] | None = None
    id_column: str | None = None
    roles: Sequence[str] = ()  # --role ROLE=COLUMN flags
    kinds: Mapping[str, str] | None = None  # column → numeric, categorical or excluded (--kind)
    k: int | str = "auto"
    seed: int = 42
    offers: Path = DEFAULT_CATALOGUE
    limits: dict[str, tuple[float, float]] | None = None  # per-column hard limits override
    compare: bool = True
    bootstrap: int = BOOTSTRAP  # 0 skips the per-segment stability
    title: str = "Customer segments"
    license: str = "mit"  # the model card's licence: the data owner's choice (--license)
    space_id: str | None = None  # OWNER/NAME of the Space that will serve the bundle (--space)


def fit_steps(compare: bool) -> int:
    """How many times `fit` calls `step` (a progress bar's total): 8, plus the comparison."""
    return 8 + bool(compare)


def check_destination(opts: FitOptions) -> None:
    """The committed default bundle — the fallback every Space serves — is written only when asked
    for (`rebuild_default`, the CLI's `fit --default`), and only from the embedded synthetic data."""
    if opts.out is None:
        raise ValueError("--out is required: name the folder for the new bundle (the committed default "
                         "bundle is rebuilt only by `python -m training fit --default`)")
    is_default = Path(opts.out).resolve() == DEFAULT_BUNDLE_DIR.resolve()
    if is_default and not opts.rebuild_default:
        raise ValueError(f"--out {opts.out} is the committed default bundle: choose another folder (it is "
                         "rebuilt only by `python -m training fit --default`)")
    if is_default and (opts.data is not None or opts.transactions is not None):
        raise ValueError("--default rebuilds the committed default bundle from the embedded synthetic data only; "
                         "to train on your file, name a new folder with --out")


@dataclass(frozen=True)
class FitResult:
    manifest: Manifest
    seconds: float
    read: dict[str, str] = field(default_factory=dict)  # how the file was read (`model.tables.sniff`)


def fit(opts: FitOptions, *, step: Callable[[str], None] = log.info) -> FitResult:
    """Run the whole fit and write the bundle to `opts.out`. Returns the final manifest."""
    check_destination(opts)
    t0 = time.perf_counter()
    catalogue = load_catalogue(opts.offers)  # a broken catalogue fails before the work
    step("reading and cleaning data")
    data = load_input(data=opts.data, transactions=opts.transactions, tx=opts.tx, features=opts.features,
                      id_column=opts.id_column, role_flags=opts.roles, kinds=opts.kinds)
    step("describing columns")
    schema = build_schema(data.frame, data.numeric, data.categorical, data.id_column, limits=opts.limits,
                          roles=data.roles, log=data.log)
    fitted = fit_local(data.frame, schema, k=opts.k, seed=opts.seed, compare_algorithms=opts.compare, step=step)
    manifest = finish(data, schema, fitted, out=opts.out, catalogue=catalogue, bootstrap=opts.bootstrap, step=step,
                      provenance=Provenance(title=opts.title, license=opts.license, space_id=opts.space_id,
                                            seed=opts.seed, k_requested=str(opts.k), engine={"name": "local"}))
    log.info("fit done in %.1f s", time.perf_counter() - t0)
    return FitResult(manifest=manifest, seconds=round(time.perf_counter() - t0, 2), read=data.read)
