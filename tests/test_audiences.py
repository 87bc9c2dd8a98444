"""Audiences for campaigns: a scored file split into one CSV per segment (model/tables/audiences.py),
from the command line (`score --by-segment`) as from the Batch tab."""
from __future__ import annotations

import io
import re
import zipfile

import pandas as pd

from model.tables.audiences import DROPPED, audience_files, file_name, zip_files
from model.tables.batch import score_upload
from tests.test_cli import run


def _customers(predictor, n=400):
    from training.synthetic.customers import generate
    frame, _ = generate(n, seed=21)
    frame.loc[3, "age"] = "-4"  # rows that get no segment are in no audience
    frame.loc[7, "gender"] = "Martian"
    return frame


def test_audiences_add_up_to_the_scored_rows_and_copy_them(predictor):
    payload, summary = score_upload(predictor, _customers(predictor).to_csv(index=False).encode(),
                                    max_bytes=10**7, max_rows=10**5)
    files = audience_files(payload, predictor.segments)
    assert len(files) == predictor.k and summary["rejected"] == 2
    scored = pd.read_csv(io.BytesIO(payload), dtype=str, keep_default_na=False)
    total = 0
    for seg in predictor.segments:
        name = file_name(seg.id, seg.name)
        assert re.fullmatch(r"segment_\d{2}_[a-z0-9-]+\.csv", name)
        part = pd.read_csv(io.BytesIO(files[name]), dtype=str, keep_default_na=False)
        expect = scored[scored["segment_id"] == str(seg.id)].drop(columns=list(DROPPED)).reset_index(drop=True)
        pd.testing.assert_frame_equal(part, expect)
        assert {"id", "segment_id", "segment_name", "offers"} <= set(part.columns)
        total += len(part)
    assert total == summary["scored"] == len(scored) - 2
    with zipfile.ZipFile(io.BytesIO(zip_files(files))) as zf:
        assert sorted(zf.namelist()) == sorted(files)
    assert zip_files(files) == zip_files(dict(reversed(list(files.items()))))  # same files, same bytes


def test_file_names_are_safe_whatever_the_segment_is_called():
    assert file_name(3, "../../etc/passwd <script>") == "segment_03_etc-passwd-script.csv"
    assert file_name(0, "Größe · Kunden") == "segment_00_gr-e-kunden.csv"
    assert file_name(12, "  ") == "segment_12_segment.csv"
    assert len(file_name(1, "x" * 500)) <= 60


def test_score_by_segment_from_the_command_line(tmp_path, predictor, default_bundle):
    data = tmp_path / "customers.csv"
    _customers(predictor).to_csv(data, index=False)
    res = run("score", "--bundle", str(default_bundle), "--data", str(data), "--by-segment", str(tmp_path / "aud"))
    files = sorted((tmp_path / "aud").iterdir())
    assert len(files) == predictor.k
    rows = sum(len(pd.read_csv(f)) for f in files)
    assert rows == 398 and "audiences in" in res.stdout and "398 rows" in res.stdout
    res = run("score", "--bundle", str(default_bundle), "--data", str(data), check=False)
    assert res.returncode == 2 and "--by-segment DIR" in res.stderr
