"""Real order exports read as they are: CDNOW as shipped, dates in every common format (decided per
column from the evidence, or named with --date-format), plain column names, logs without money,
Excel's semicolons — and the report says how each was read, with the evidence and an example."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from model.orders.columns import TransactionsError
from model.orders.customers import TIME_FEATURES, customer_features
from model.orders.report import format_report
from tests.conftest import ROOT
from tests.realdata import cdnow_path, example_transactions_path


@pytest.fixture(scope="module")
def cdnow():
    return customer_features(cdnow_path())


def test_cdnow_as_shipped_needs_no_flags(cdnow):
    rep = cdnow.report
    assert rep["lines_in"] == 69_659 and rep["customers"] == 23_570 == len(cdnow.frame)
    assert rep["read"]["delimiter"].startswith("runs of spaces (aligned columns)")
    assert "2,000 of the next 2,000 lines" in rep["read"]["delimiter"]
    assert rep["read"]["decimal mark"].startswith("'.' — 2,000 numbers in the first 2,000 lines are written like '11.77'")
    assert {r: c["column"] for r, c in rep["columns"].items()} == {
        "customer": "customer_id", "date": "date", "amount": "dollar_value"}
    assert rep["columns"]["date"] == {"column": "date", "how": "recognised by its name", "example": "19970101"}
    assert rep["dates"]["formats"] == {"yyyymmdd (20111209)": rep["lines_kept"]}
    assert rep["dates"]["examples"] == {"yyyymmdd (20111209)": "'19970101' → 1997-01-01"}
    assert rep["as_of"] == "1998-07-01" and rep["dropped"]["unparseable_date"] == 0
    # every customer's first purchase is in Q1 1997 (the data set's definition)
    first = pd.Timestamp("1998-07-01") - pd.to_timedelta(cdnow.frame["tenure_days"], unit="D")
    assert first.min() >= pd.Timestamp("1997-01-01") and first.max() < pd.Timestamp("1997-04-01")


def test_cdnow_spend_matches_a_plain_reading_of_the_file(cdnow):
    raw = pd.read_csv(cdnow_path(), sep=r"\s+", dtype=str).drop_duplicates()
    spend = raw.assign(v=raw["dollar_value"].astype(float)).groupby(raw["customer_id"].str.lstrip("0"))["v"].sum()
    ours = cdnow.frame.set_index(cdnow.frame["customer_id"].str.lstrip("0"))["monetary"]
    assert len(ours) == len(spend)
    assert (ours - spend.reindex(ours.index).round(2)).abs().max() < 0.006


def test_fit_on_cdnow_prints_how_the_file_was_read(tmp_path):
    """`python -m training fit --transactions CDNOW_master.txt` with no reading flag (the two
    flags here only skip the slow model comparison and bootstrap)."""
    out = subprocess.run([sys.executable, "-m", "training", "fit", "--transactions", str(cdnow_path()),
                          "--out", str(tmp_path / "b"), "--no-compare", "--bootstrap", "0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    for line in ("  delimiter: runs of spaces (aligned columns)", "  date: date (recognised by its name; e.g. '19970101')",
                 "  amount: dollar_value (recognised by its name; e.g. '11.77')",
                 "  dates read as yyyymmdd (20111209): 69,404 kept lines (e.g. '19970101' → 1997-01-01)",
                 "customers: 23,570"):
        assert line in out.stdout, (line, out.stdout[:3000])
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["transactions"]["report"]["read"]["decimal mark"].startswith("'.'")


def _log(rows: list[tuple[str, ...]], columns: tuple[str, ...] = ("customer", "date", "amount")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


# each: dates as written, the format the report names, the day the last line is
FORMATS = [
    ("yyyymmdd", ["20240105", "20240301", "20231231"], "yyyymmdd (20111209)", "2024-03-01"),
    ("dd/mm/yyyy", ["05/01/2024", "01/03/2024", "31/12/2023"], "numeric day/month/year", "2024-03-01"),
    ("mm/dd/yyyy", ["01/05/2024", "03/01/2024", "12/31/2023"], "numeric month/day/year", "2024-03-01"),
    ("iso_time", ["2024-01-05T10:00:00", "2024-03-01 23:59:59", "2023-12-31T08:00Z"],
     "ISO 8601 (2011-12-09 12:50:00)", "2024-03-01"),
    ("excel", ["45296", "45352", "45291"], "Excel serial day numbers (40886)", "2024-03-01"),
    ("epoch", ["1704448800", "1709330400", "1704009600"], "epoch seconds (1323388800)", "2024-03-01"),
]


@pytest.mark.parametrize("name, dates, label, last", FORMATS, ids=[f[0] for f in FORMATS])
def test_each_date_format_is_decided_from_the_column(name, dates, label, last):
    log = _log([("A", dates[0], "10"), ("A", dates[1], "5"), ("B", dates[2], "7")])
    rep = customer_features(log).report
    assert rep["dates"]["formats"] == {label: 3}
    assert rep["as_of"] == str(pd.Timestamp(last) + pd.Timedelta(days=1))[:10]
    assert rep["dates"]["examples"][label].startswith(f"'{dates[0]}' → ")


def test_date_format_overrides_the_evidence():
    log = _log([("A", "01/02/2024", "10"), ("B", "03/04/2024", "5")])  # ambiguous: read month first
    assert customer_features(log).report["as_of"] == "2024-03-05"
    rep = customer_features(log, date_format="dd/mm/yyyy").report
    assert rep["as_of"] == "2024-04-04" and "dates read as dd/mm/yyyy (as requested)" in rep["dates"]["notes"]
    assert rep["dates"]["date_format"] == "dd/mm/yyyy"


def test_unreadable_dates_are_refused_with_an_example_and_the_formats_known():
    log = _log([("A", "1st of May", "10"), ("B", "2024-13-45", "5")])
    with pytest.raises(TransactionsError) as err:
        customer_features(log)
    msg = str(err.value)
    for part in ("date: its name suggests the date, but only 0% of its sample values are dates (e.g. '1st of May')",
                 "yyyymmdd (20111209)", "Excel serial days", "epoch seconds", "--date-format (iso, yyyymmdd, dd/mm/yyyy"):
        assert part in msg, (part, msg)
    log = _log([("A", "20240105", "1"), ("B", "2024-01-05", "2")])  # recognised, but not excel serials
    with pytest.raises(TransactionsError) as err:
        customer_features(log, date_format="excel")
    msg = str(err.value)
    assert "unparseable date: 2; e.g. row 1: '20240105' in column 'date'. Dates known: ISO 8601" in msg, msg


def test_a_few_bare_numbers_among_text_dates_are_not_dates():
    log = _log([("A", "2024-01-05", "10"), ("A", "2024-01-06", "1"), ("B", "2024-02-01", "5"), ("B", "45296", "5")])
    rep = customer_features(log).report
    assert rep["dropped"]["unparseable_date"] == 1
    assert any("too few dates are bare numbers" in n for n in rep["dates"]["notes"])


@pytest.mark.parametrize("money", ["amount", "dollar_value", "sales", "revenue", "value", "total"])
def test_plain_column_names_are_recognised(money):
    log = _log([("A", "2024-01-05", "10"), ("B", "2024-01-06", "5")], columns=("customer_id", "date", money))
    rep = customer_features(log).report
    assert {r: c["column"] for r, c in rep["columns"].items()} == {"customer": "customer_id", "date": "date",
                                                                   "amount": money}
    assert all(c["how"] == "recognised by its name" for c in rep["columns"].values())


def test_a_log_without_money_gives_recency_frequency_and_tenure():
    result = customer_features(example_transactions_path())
    assert list(result.frame.columns) == ["customer_id", *TIME_FEATURES]
    rep = result.report
    assert rep["money"] is False and rep["customers"] == 5_000
    assert "no column holds what customers spent" in rep["column_notes"]["amount"]
    assert "amount: none:" in format_report(rep)


def test_fit_score_and_monitor_work_on_a_log_without_money(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        out = subprocess.run([sys.executable, "-m", "training", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        return out

    log = example_transactions_path()
    run("fit", "--transactions", str(log), "--out", str(tmp_path / "b"), "--no-compare", "--bootstrap", "0")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert [f["name"] for f in manifest["schema"]["features"]] == list(TIME_FEATURES)
    run("score", "--bundle", str(tmp_path / "b"), "--transactions", str(log), "--out", str(tmp_path / "s.csv"))
    scored = pd.read_csv(tmp_path / "s.csv", dtype=str)
    assert len(scored) == 5_000 and scored["error"].isna().all()
    assert list(scored.columns[:4]) == ["customer_id", *TIME_FEATURES]
    run("monitor", "--bundle", str(tmp_path / "b"), "--transactions", str(log), "--out", str(tmp_path / "m"))
    assert json.loads((tmp_path / "m" / "report.json").read_text())["rows_scored"] == 5_000


def test_an_excel_order_log_reads_like_its_comma_twin(tmp_path, shared_data):
    plain = shared_data / "online_retail_invoices.csv"
    frame = pd.read_csv(plain, dtype=str, keep_default_na=False).head(3000)
    frame.to_csv(tmp_path / "plain.csv", index=False)
    excel = frame.assign(TotalPrice=frame["TotalPrice"].str.replace(".", ",", regex=False))
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf" + excel.to_csv(sep=";", index=False, lineterminator="\r\n").encode())
    a, b = customer_features(tmp_path / "plain.csv"), customer_features(tmp_path / "excel.csv")
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert b.report["read"]["delimiter"].startswith("';' (semicolon)")
    assert b.report["read"]["decimal mark"].startswith("',' — ")
    assert b.report["read"]["encoding"] == "UTF-8 with a byte-order mark"
