"""An edited bundle on disk: a normal bundle (every file listed with its sha256, the card and
segment_rules.sql rendered again from the new manifest), written to a new folder.

What an edit changes: manifest.json, serving.npz, pca_sample.csv, summary.json, README.md and
segment_rules.sql. What it carries unchanged: segment_stats.json (the next edit starts from it),
config.json, plots/, and model.skops / sklearn_model.joblib — the scikit-learn pipeline as
trained, which the manifest's `edit.served` says does not include the edit (serving reads
serving.npz). A file the manifest lists but the source folder lacks (a Space's copy from the Hub
holds only what serving reads) stays listed with its sha256: it is still in the model repo.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from model.contract.bundle import dumps_json
from model.contract.files import CARD, MANIFEST, RULES_SQL, SAMPLE, SERVING, SUMMARY
from model.contract.errors import BundleError
from model.contract.manifest import Manifest
from model.derived.card import render_card
from model.derived.sql import rules_sql
from model.editing.apply import Edited
from model.serving.arrays import save_arrays
from model.tables.audiences import zip_files

REWRITTEN = (MANIFEST, SERVING, SAMPLE, SUMMARY, CARD, RULES_SQL)


def edited_files(edited: Edited) -> dict[str, bytes]:
    """The bytes of every file an edit rewrites except manifest.json (`write_edited` adds it)."""
    m = edited.manifest
    files = {
        SERVING: save_arrays(edited.compiled.as_arrays()),
        SAMPLE: edited.sample.to_csv(index=False, float_format="%.5g", lineterminator="\n").encode(),
        SUMMARY: dumps_json(edited.summary.as_dict()).encode(),
        CARD: render_card(m, plots=sorted(n for n in m.files if n.startswith("plots/"))).encode(),
    }
    if m.rules is not None:
        files[RULES_SQL] = rules_sql(m.rules, m.schema, names=[s.name for s in m.segments]).encode()
    return files


def write_edited(edited: Edited, source: Path | str, out: Path | str) -> Manifest:
    """Write the edited bundle to the new or empty folder `out`, copying from the bundle folder
    `source` what the edit leaves unchanged; returns the final manifest (every file's sha256)."""
    source, out = Path(source), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} is not empty: write an edited bundle to a new folder")
    if out.resolve() == source.resolve():
        raise BundleError("write the edited bundle to a new folder, not over the bundle it comes from")
    files = edited_files(edited)
    hashes = {}
    out.mkdir(parents=True, exist_ok=True)
    try:
        for name, expected in edited.manifest.files.items():
            if name in files or name in REWRITTEN:
                continue
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise BundleError(f"the manifest lists a file outside the bundle: {name[:80]!r}")
            src = source / name
            hashes[name] = expected
            if src.is_file():
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, out / name)
        for name, data in files.items():
            (out / name).write_bytes(data)
            hashes[name] = hashlib.sha256(data).hexdigest()
        final = Manifest.read({**edited.manifest.as_dict(), "files": dict(sorted(hashes.items()))})
        (out / MANIFEST).write_text(dumps_json(final.as_dict()), encoding="utf-8")
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return final


def zip_folder(folder: Path | str, *, top: str = "bundle") -> bytes:
    """A bundle folder as zip bytes, under one top folder (unzipped, `MODEL_DIR=…` serves it);
    entries in name order with a fixed timestamp: the same bundle gives the same bytes."""
    folder = Path(folder)
    top = re.sub(r"[^A-Za-z0-9._-]+", "_", top).strip("._") or "bundle"
    return zip_files({f"{top}/{p.relative_to(folder).as_posix()}": p.read_bytes()
                      for p in folder.rglob("*") if p.is_file() and not p.is_symlink()})
