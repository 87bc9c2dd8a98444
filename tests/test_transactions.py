"""Order logs → one row per customer: column recognition, cleaning that accounts for every line,
returns netted, dates in several formats (bad ones named by file line), planted behaviours
recovered, and the features equal to a plain-Python reference computation."""
from __future__ import annotations

import csv
import functools
from collections import defaultdict
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from model.orders import customers as tx
from model.tables.chunks import read_chunks
from training.synthetic.orders import BEHAVIOURS, generate_transactions
from model.orders.customers import FEATURES, TransactionsError, customer_features
from model.orders.report import format_report

COLUMNS = ["customer_id", *FEATURES]


def accounted(report: dict) -> bool:
    return report["lines_in"] == report["lines_kept"] + sum(report["dropped"].values())


@pytest.fixture(scope="module")
def invoices(shared_data):
    return customer_features(shared_data / "online_retail_invoices.csv")


@pytest.fixture(scope="module")
def synth():
    frame, planted = generate_transactions(600, seed=5)
    return frame, planted, customer_features(frame)


def test_shared_invoices_need_no_flags(invoices):
    rep = invoices.report
    assert {r: v["column"] for r, v in rep["columns"].items()} == {
        "customer": "CustomerID", "date": "InvoiceDate", "amount": "TotalPrice", "order": "InvoiceNo"}
    assert all(v["how"] for v in rep["columns"].values())
    assert rep["lines_in"] == 18_532 and accounted(rep)
    assert rep["customers"] == len(invoices.frame) == 4_338
    assert list(invoices.frame.columns) == COLUMNS
    assert rep["as_of"] == "2011-12-10" and rep["as_of_source"].startswith("the day after")
    assert invoices.frame["recency_days"].min() == 1
    assert (invoices.frame["tenure_days"] >= invoices.frame["recency_days"]).all()
    assert rep["orders"] == invoices.frame["frequency"].sum()
    assert "customer" in format_report(rep) and "CustomerID" in format_report(rep)


def test_shared_invoices_match_a_plain_python_computation(invoices, shared_data):
    last, first, spend, orders = {}, {}, defaultdict(float), defaultdict(set)
    with open(shared_data / "online_retail_invoices.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            day = date.fromisoformat(row["InvoiceDate"])
            c = row["CustomerID"]
            last[c], first[c] = max(last.get(c, day), day), min(first.get(c, day), day)
            spend[c] += float(row["TotalPrice"])
            orders[c].add(row["InvoiceNo"])
    as_of = max(last.values()).toordinal() + 1
    got = invoices.frame.set_index("customer_id")
    assert sorted(got.index) == sorted(last)
    want = pd.DataFrame({c: {"recency_days": as_of - last[c].toordinal(), "frequency": len(orders[c]),
                             "monetary": spend[c], "tenure_days": as_of - first[c].toordinal()}
                         for c in last}).T.loc[got.index]
    for col in ("recency_days", "frequency", "tenure_days"):
        assert (got[col].to_numpy() == want[col].to_numpy()).all(), col
    np.testing.assert_allclose(got["monetary"], want["monetary"].astype(float), atol=0.006)
    np.testing.assert_allclose(got["avg_order_value"], got["monetary"] / got["frequency"], atol=0.006)


def test_skewed_money_and_count_features_are_marked_for_log1p(invoices):
    t = invoices.transforms
    assert set(t["log1p"]) == {"frequency", "monetary", "avg_order_value"}
    assert all(t["skewness"][c] > 1 for c in t["log1p"])
    assert "recency_days" not in t["log1p"] and set(t["why"]) == set(FEATURES)
    flat = pd.DataFrame({"customer_id": list("abcdefgh"), "frequency": [3, 4, 3, 4, 3, 4, 3, 4],
                         "monetary": [1, 2, 3, 4, 5, 6, 7, 500]})
    assert tx.skew_transforms(flat)["log1p"] == ["monetary"]


def test_every_synthetic_line_is_accounted_for(synth):
    frame, planted, res = synth
    rep = res.report
    assert rep["lines_in"] == len(frame) and accounted(rep)
    dropped = rep["dropped"]
    assert dropped["exact_duplicate"] == int(frame.duplicated().sum()) >= planted.mess["exact_duplicates"]
    assert dropped["no_customer"] == int((~frame.duplicated() & (frame["CustomerID"] == "")).sum())
    assert 0 < dropped["unparseable_date"] <= planted.mess["bad_dates"]
    assert 0 < dropped["future_date"] <= planted.mess["future_dates"]
    assert rep["dates"]["unparseable"]["count"] == dropped["unparseable_date"]
    assert dropped["unparseable_amount"] == 0
    assert set(rep["dates"]["formats"]) == {"ISO 8601 (2011-12-09 12:50:00)", "numeric month/day/year",
                                            "month name (9 Dec 2011)"}
    assert rep["purchase_lines"] + rep["return_lines"] == rep["lines_kept"]


def test_planted_behaviours_are_recovered(synth):
    frame, planted, res = synth
    got = res.frame.merge(planted.labels, on="customer_id", how="left")
    assert got["behaviour"].notna().all()
    assert "returns_only" not in set(got["behaviour"])
    med = got.groupby("behaviour")[list(FEATURES)].median()
    for name, b in BEHAVIOURS.items():
        part = got[got["behaviour"] == name]
        inside = part["recency_days"].between(b.last_days_ago[0], b.last_days_ago[1] + 30)
        assert inside.mean() > 0.95, name  # a bad date on the last order may push it back
        assert part["frequency"].between(b.orders[0] - 1, b.orders[1]).all(), name
    assert med.loc["champions", "recency_days"] < med.loc["loyal", "recency_days"] \
        < med.loc["occasional", "recency_days"] < med.loc["at_risk_big_spenders", "recency_days"] \
        < med.loc["lost", "recency_days"]
    assert med.loc["at_risk_big_spenders", "monetary"] > 5 * med.loc["occasional", "monetary"]
    assert med.loc["new", "tenure_days"] <= 30 < med.loc["occasional", "tenure_days"]


def test_only_returns_customers_are_reported_and_left_out(synth):
    frame, planted, res = synth
    only = set(planted.labels.loc[planted.labels["behaviour"] == "returns_only", "customer_id"])
    rep = res.report["customers_only_returns"]
    assert rep["count"] == len(only) and set(rep["examples"]) <= only
    assert not only & set(res.frame["customer_id"])
    assert (res.frame["monetary"] >= 0).all()


def _log(rows, columns=("InvoiceNo", "InvoiceDate", "CustomerID", "Amount")):
    return pd.DataFrame(rows, columns=list(columns)).astype(str)


def test_returns_are_netted_and_not_counted_as_orders():
    log = _log([
        ("1", "2024-01-05", "A", "100.00"), ("2", "2024-02-01", "A", "50.00"),
        ("C3", "2024-02-03", "A", "-30.00"),            # cancelled invoice, negative amount
        ("4", "2024-01-10", "B", "80.00"), ("C5", "2024-01-12", "B", "20.00"),  # marker, positive amount
        ("C6", "2024-01-20", "C", "-15.00"),            # only returns
        ("7", "2024-01-02", "D", "10.00"), ("8", "2024-01-09", "D", "-25.00"),  # returns exceed purchases
    ])
    res = customer_features(log, as_of="2024-03-01")
    got = res.frame.set_index("customer_id")
    assert list(got.index) == ["A", "B", "D"]
    assert got.loc["A", "monetary"] == 120.0 and got.loc["A", "frequency"] == 2
    assert got.loc["A", "recency_days"] == (date(2024, 3, 1) - date(2024, 2, 1)).days
    assert got.loc["A", "tenure_days"] == (date(2024, 3, 1) - date(2024, 1, 5)).days
    assert got.loc["B", "monetary"] == 60.0 and got.loc["B", "frequency"] == 1
    assert got.loc["D", "monetary"] == 0.0 and got.loc["D", "avg_order_value"] == 0.0
    rep = res.report
    assert rep["return_lines"] == 3 and rep["returns"]["cancelled_invoice_marker"] == 2  # C6: dropped
    assert rep["returns"]["marker_with_positive_amount_negated"] == 1
    assert rep["returns"]["amount_netted"] == -75.0
    assert rep["customers_only_returns"] == {"count": 1, "examples": ["C"]}
    assert rep["dropped"]["only_returns_customer"] == 1 and accounted(rep)
    assert rep["customers_net_spend_clipped_to_zero"] == 1


def test_quantity_times_price_and_negative_quantities():
    log = _log([("10", "2024-05-01 10:00", "7", "2", "1.50"), ("10", "2024-05-01 10:00", "7", "1", "4.00"),
                ("C11", "2024-05-03 09:00", "7", "-1", "1.50"), ("12", "2024-05-02 12:00", "8", "3", "2.00"),
                ("13", "2024-05-04 12:00", "8", "-1", "2.00")],
               columns=("Invoice", "Date", "Customer", "Qty", "Unit Price"))
    res = customer_features(log)
    cols = {r: v["column"] for r, v in res.report["columns"].items()}
    assert cols == {"customer": "Customer", "date": "Date", "quantity": "Qty", "price": "Unit Price",
                    "order": "Invoice"}
    got = res.frame.set_index("customer_id")
    assert got.loc["7", "monetary"] == 5.5 and got.loc["7", "frequency"] == 1
    assert got.loc["8", "monetary"] == 4.0 and res.report["return_lines"] == 2
    assert res.report["as_of"] == "2024-05-03"  # day after the last purchase, not the last return


def test_without_an_order_column_orders_are_distinct_timestamps():
    log = _log([("2024-01-01 09:00", "A", "5"), ("2024-01-01 09:00", "A", "6"), ("2024-01-01 17:00", "A", "7"),
                ("2024-01-03", "B", "1")], columns=("Date", "Customer", "Amount"))
    res = customer_features(log)
    assert res.frame.set_index("customer_id")["frequency"].to_dict() == {"A": 2, "B": 1}
    assert "no order column" in res.report["order_definition"]


def test_bad_and_mixed_dates_are_reported_by_file_line(tmp_path):
    rows = ["InvoiceNo,InvoiceDate,CustomerID,TotalPrice",
            "1,2011-12-09 08:26,100,10.00",
            "2,13/12/2011 09:00,100,11.00",       # day first: 13 cannot be a month
            "",                                   # a blank line: not a record, still a line
            "3,9 Dec 2011,101,12.00",
            "4,31/02/2011,101,13.00",             # 31 February
            "5,,102,14.00",                       # empty date
            "6,someday,102,15.00",
            '7,"2011-12-10",103,"16.00"',
            "8,05.12.2011,103,17.00",
            "9,2099-01-01,103,1.00"]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    res = customer_features(path)
    dates = res.report["dates"]
    assert dates["unparseable"] == {"count": 3, "examples": [
        {"line": 6, "value": "31/02/2011"}, {"line": 7, "value": ""}, {"line": 8, "value": "someday"}]}
    assert dates["future"]["examples"] == [{"line": 11, "value": "2099-01-01"}]
    assert dates["formats"] == {"ISO 8601 (2011-12-09 12:50:00)": 2, "numeric day/month/year": 2,
                                "month name (9 Dec 2011)": 1}
    got = res.frame.set_index("customer_id")
    assert got.loc["100", "frequency"] == 2 and got.loc["103", "frequency"] == 2
    assert res.report["as_of"] == "2011-12-14" and accounted(res.report)
    assert "line 6: '31/02/2011'" in format_report(res.report)


def test_ambiguous_day_month_is_read_month_first_and_said():
    log = _log([("1", "03/04/2011", "A", "1"), ("2", "04/05/2011", "B", "1")])
    res = customer_features(log)
    assert res.report["dates"]["notes"] and "ambiguous" in res.report["dates"]["notes"][0]
    assert res.report["as_of"] == "2011-04-06"
    assert customer_features(log, dayfirst=True).report["as_of"] == "2011-05-05"


def test_explicit_as_of_makes_later_lines_future():
    log = _log([("1", "2024-01-05", "A", "10"), ("2", "2024-02-05", "A", "10"), ("3", "2024-01-20", "B", "5")])
    res = customer_features(log, as_of=date(2024, 1, 31))
    assert res.report["dropped"]["future_date"] == 1 and res.report["as_of_source"] == "given"
    assert res.frame.set_index("customer_id")["recency_days"].to_dict() == {"A": 26, "B": 11}
    with pytest.raises(TransactionsError, match="as_of must be a date like 2011-12-10, got 'yesterday'"):
        customer_features(log, as_of="yesterday")


def test_unrecognisable_log_names_columns_and_flags():
    log = pd.DataFrame({"alpha": ["x", "y"] * 5, "beta": ["p", "q"] * 5, "gamma": ["1", "2"] * 5})
    with pytest.raises(TransactionsError) as err:
        customer_features(log)
    msg = str(err.value)
    for part in ("customer, date column(s)", "columns found: 'alpha', 'beta', 'gamma'", "--customer COL",
                 "--date COL", "money (optional) with --amount COL", "--quantity COL --price COL", "--order COL"):
        assert part in msg, (part, msg)


def test_partly_recognised_log_says_what_it_found():
    log = pd.DataFrame({"k": ["a", "b"] * 5, "d": ["2024-01-01", "2024-01-02"] * 5, "v": ["1.25", "2.50"] * 5})
    with pytest.raises(TransactionsError) as err:
        customer_features(log)
    assert "log's customer column" in str(err.value)
    assert "recognised date: 'd'; amount: 'v'" in str(err.value)
    res = customer_features(log, customer="K")  # a flag: case-insensitive, and it wins
    assert res.report["columns"]["customer"] == {"column": "k", "how": "given (--customer)", "example": "a"}
    assert res.report["columns"]["date"]["how"] == "the only column whose values are dates"
    assert res.report["columns"]["amount"]["how"] == "the only column of decimal numbers"


def test_flags_override_recognition_and_bad_flags_list_columns():
    log = _log([("1", "2024-01-01", "A", "10", "99")], columns=("InvoiceNo", "InvoiceDate", "CustomerID",
                                                               "Amount", "Net"))
    res = customer_features(log, amount="Net")
    assert res.report["columns"]["amount"]["column"] == "Net" and res.frame["monetary"].iloc[0] == 99
    with pytest.raises(TransactionsError, match=r"--date 'When' is not a column of the log; columns are: "
                                                r"'InvoiceNo', 'InvoiceDate'"):
        customer_features(log, date="When")
    with pytest.raises(TransactionsError, match="either --amount, or --quantity and --price"):
        customer_features(log, amount="Amount", quantity="Net", price="Net")


def test_unparseable_amounts_are_dropped_and_shown():
    log = _log([("1", "2024-01-01", "A", "10"), ("2", "2024-01-02", "A", "ten"), ("3", "2024-01-03", "B", "5")])
    res = customer_features(log, amount="Amount")
    assert res.report["amounts_unparseable"] == {"count": 1, "examples": [{"row": 2, "value": "ten"}]}
    assert res.frame.set_index("customer_id")["frequency"].to_dict() == {"A": 1, "B": 1}


def test_typed_frame_gives_the_same_features_as_its_text(invoices, shared_data):
    text = pd.read_csv(shared_data / "online_retail_invoices.csv", dtype=str)
    typed = text.assign(InvoiceDate=pd.to_datetime(text["InvoiceDate"]),
                        CustomerID=text["CustomerID"].astype(float),  # 17850.0, as spreadsheets export
                        TotalPrice=text["TotalPrice"].astype(float))
    pd.testing.assert_frame_equal(customer_features(typed).frame, invoices.frame)


def test_a_log_read_in_chunks_gives_what_one_read_gives(synth, tmp_path, monkeypatch):
    frame, _, res = synth
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    whole = customer_features(path)
    monkeypatch.setattr(tx, "read_chunks", functools.partial(read_chunks, chunk_bytes=50_000))
    chunked = customer_features(path)
    pd.testing.assert_frame_equal(whole.frame, chunked.frame)
    pd.testing.assert_frame_equal(whole.frame, res.frame)
    assert whole.report["dropped"] == chunked.report["dropped"] == res.report["dropped"]
    assert whole.report["dates"]["unparseable"] == chunked.report["dates"]["unparseable"]
    lines = path.read_text(encoding="utf-8").split("\n")
    for e in whole.report["dates"]["unparseable"]["examples"]:
        assert lines[e["line"] - 1].split(",")[4] == e["value"]


def test_features_equal_a_plain_python_reference_on_a_messy_log(synth):
    frame, _, res = synth
    formats = ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%d %b %Y %H:%M")

    def when(text):
        for f in formats:
            try:
                return datetime.strptime(text, f)
            except ValueError:
                pass
        return None

    seen, lines = set(), []
    for row in frame.itertuples(index=False):
        if row in seen or not row.CustomerID:
            continue
        seen.add(row)
        t = when(row.InvoiceDate)
        if t is None or t.year > 2100 - 50:
            continue
        amount = int(row.Quantity) * float(row.UnitPrice)
        lines.append((row.CustomerID, t, amount, row.InvoiceNo.startswith("C") or amount < 0, row.InvoiceNo))
    buys = [x for x in lines if not x[3]]
    as_of = max(x[1].date() for x in buys).toordinal() + 1
    want = {}
    for c in {x[0] for x in buys}:
        mine = [x for x in lines if x[0] == c]
        days = [x[1].date().toordinal() for x in mine if not x[3]]
        spend = max(0.0, sum(x[2] if not x[3] else -abs(x[2]) for x in mine))
        want[c] = (as_of - max(days), len({x[4] for x in mine if not x[3]}), spend, as_of - min(days))
    got = res.frame.set_index("customer_id")
    assert sorted(got.index) == sorted(want)
    ref = pd.DataFrame(want, index=["recency_days", "frequency", "monetary", "tenure_days"]).T.loc[got.index]
    for col in ("recency_days", "frequency", "tenure_days"):
        assert (got[col].to_numpy() == ref[col].to_numpy()).all(), col
    np.testing.assert_allclose(got["monetary"], ref["monetary"].astype(float), atol=0.006)


def test_superstore_like_header_picks_the_likelier_columns():
    header = ["Row ID", "Ship Date", "Order ID", "Order Date", "Customer Name", "Customer ID", "Sales",
              "Quantity", "Discount", "Notes"]
    rows = [[str(i), "2016-11-20", f"CA-{1000 + i // 2}", f"11/{1 + i}/2016", ["Claire Gute", "Darrin Van Huff"][i % 2],
             ["CG-12520", "DV-13045"][i % 2], f"{100 + i:.2f}", "2", "0.2", None] for i in range(10)]
    rows[4][2] = None  # a line without an order id still counts as an order (its timestamp)
    res = customer_features(pd.DataFrame(rows, columns=header))
    assert {r: v["column"] for r, v in res.report["columns"].items()} == {
        "customer": "Customer ID", "date": "Order Date", "amount": "Sales", "order": "Order ID"}
    assert res.report["column_notes"] == {"not used: Quantity": "a quantity column; the amount column is used instead"}
    got = res.frame.set_index("customer_id")
    assert got["frequency"].to_dict() == {"CG-12520": 5, "DV-13045": 5}
    assert got.loc["CG-12520", "monetary"] == sum(100 + i for i in range(0, 10, 2))
    assert res.report["as_of"] == "2016-11-11"


def test_order_ids_that_all_start_with_c_are_not_cancellations():
    log = _log([(f"C{1000 + i}", f"2024-01-{1 + i:02d}", "AB"[i % 2], "10") for i in range(6)]
               + [("C2000", "2024-01-09", "A", "-4")])
    res = customer_features(log)
    assert res.frame.set_index("customer_id")["frequency"].to_dict() == {"A": 3, "B": 3}
    assert res.report["return_lines"] == 1 and "not a cancellation marker" in res.report["returns"]["note"]
