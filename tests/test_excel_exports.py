"""What Excel writes in much of Europe — a byte-order mark, ';' between fields, decimal commas, CRLF —
and headers written as the app labels its features ("Spending Score" for spending_score) are read
by every door: training (fit --data), batch scoring, the Monitor and score_csv; scored files write
numbers as people do (24, not 24.0; money with at most 2 decimals)."""
from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from model.drift.check import monitor_upload
from model.tables.batch import score_upload
from training.reading.table import clean_file

LIMITS = {"max_bytes": 10**8, "max_rows": 10**6}


def excel_bytes(frame: pd.DataFrame, labels: dict[str, str] | None = None) -> bytes:
    """`frame` as Excel's European CSV, its headers renamed to `labels` in title case."""
    renamed = frame.rename(columns={k: v.title() for k, v in (labels or {}).items()})
    return b"\xef\xbb\xbf" + renamed.to_csv(sep=";", decimal=",", index=False, lineterminator="\r\n").encode()


@pytest.fixture(scope="module")
def customers(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "customer_segmentation_data.csv").head(300)


@pytest.fixture(scope="module")
def labels(predictor) -> dict[str, str]:
    return {f.name: f.label for f in predictor.schema.features}


def test_training_reads_an_excel_file_like_its_comma_twin(customers, tmp_path):
    customers.to_csv(tmp_path / "plain.csv", index=False)
    (tmp_path / "excel.csv").write_bytes(excel_bytes(customers))
    a, b = clean_file(tmp_path / "plain.csv"), clean_file(tmp_path / "excel.csv")
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.numeric == b.numeric and "last_purchase_amount" in b.numeric


def test_fit_says_how_the_file_was_read(customers, tmp_path):
    from training.fit import FitOptions, fit
    (tmp_path / "excel.csv").write_bytes(excel_bytes(customers))
    result = fit(FitOptions(data=tmp_path / "excel.csv", out=tmp_path / "b", compare=False, bootstrap=0, k=3))
    assert result.read["encoding"] == "UTF-8 with a byte-order mark"
    assert result.read["delimiter"].startswith("';' (semicolon) — the header splits into 9 fields")
    assert result.read["decimal mark"].startswith("',' — ")


def test_batch_scores_an_excel_file_with_the_apps_labels_like_its_comma_twin(predictor, customers, labels):
    plain, _ = score_upload(predictor, customers.to_csv(index=False).encode(), **LIMITS)
    excel, summary = score_upload(predictor, excel_bytes(customers, labels), **LIMITS)
    assert excel == plain
    assert summary["read"]["delimiter"].startswith("';' (semicolon)")


def test_the_monitor_reads_an_excel_file_like_its_comma_twin(predictor, customers, labels):
    plain = monitor_upload(predictor, customers.to_csv(index=False).encode(), **LIMITS)
    excel = monitor_upload(predictor, excel_bytes(customers, labels), **LIMITS)
    assert excel == plain


def test_score_csv_reads_an_excel_file(gradio, customers, labels):
    text = excel_bytes(customers.head(20), labels).decode("utf-8")
    got = gradio.predict(text, api_name="/score_csv")
    assert got["summary"]["scored"] == 20 and got["summary"]["read"]["decimal mark"].startswith("','")
    assert got["rows"][0][got["columns"].index("last_purchase_amount")] == str(customers["last_purchase_amount"][0])


def test_scored_files_write_whole_numbers_as_integers_and_money_with_two_decimals(predictor, customers):
    data = customers.head(5).assign(last_purchase_amount=[43.345, 12.0, 7.1, 99.999, 5]).to_csv(index=False)
    payload, _ = score_upload(predictor, data.encode(), **LIMITS)
    rows = list(csv.DictReader(io.StringIO(payload.decode())))
    assert [r["age"] for r in rows] == [str(a) for a in customers["age"].head(5)]  # 38, not 38.0
    assert [r["last_purchase_amount"] for r in rows] == ["43.34", "12", "7.1", "100", "5"]
    assert all(len(r["margin"].partition(".")[2]) <= 4 for r in rows)
