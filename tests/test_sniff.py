"""How a file is written is decided from its first lines (model/tables/sniff.py) and said with its
evidence; strictness stays: ragged rows, duplicate headers and binary files are refused with lines."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.contract.errors import CSVError
from model.tables.reading import read_csv_table
from model.tables.sniff import aligned_to_tabs, dot_decimals, read_header, sniff

LIMITS = {"max_bytes": 10**7, "max_rows": 10**6}


@pytest.mark.parametrize("text, delimiter, label", [
    ("a,b,c\n1,2,3\n", ",", "comma"),
    ("a;b;c\n1;2;3\n", ";", "semicolon"),
    ("a\tb\tc\n1\t\t3\n", "\t", "tab"),
    ("a|b|c\n1|2|3\n", "|", "pipe"),
    (" a   b  c\r\n 1   2  3\r\n", " ", "aligned"),
    ('name,note\n"Smith; John","a;b"\n"Doe; Jane","c;d"\n', ",", "comma"),  # semicolons inside quotes
    ("a;b\n1;2,5\n3;4,5\n", ";", "semicolon"),  # the decimal comma is no delimiter
    ("full name\nJohn Smith\nMary Ann Jones\n", ",", "one column"),  # spaces that do not align
])
def test_the_delimiter_is_the_one_the_lines_agree_on(text, delimiter, label):
    dialect = sniff(text.encode())
    assert dialect.delimiter == delimiter
    assert label in dialect.as_report()["delimiter"]


def test_a_decimal_comma_is_decided_from_the_cells_and_said_with_an_example():
    dialect = sniff("id;amount;date\n1;12,5;09.12.2011\n2;1.234,50;10.12.2011\n3;7;11.12.2011\n".encode())
    assert dialect.decimal == ","
    assert "2 numbers in the first 3 lines are written like '12,5'" in dialect.as_report()["decimal mark"]
    assert sniff(b"id;amount\n1;12.5\n2;3.25\n").decimal == "."
    assert sniff(b"id,amount\n1,12.5\n").as_report()["decimal mark"] == "'.' — the delimiter is a comma"


def test_decimal_commas_become_dots_and_nothing_else_changes():
    frame = pd.DataFrame({"x": pd.array(["12,5", "-1.234,50", "1.234", "09.12.2011", "a,b", None, "7"], dtype="str")})
    dot_decimals(frame)
    assert frame["x"].tolist()[:5] == ["12.5", "-1234.50", "1234", "09.12.2011", "a,b"]
    assert pd.isna(frame["x"].iloc[5]) and frame["x"].iloc[6] == "7"


def test_aligned_columns_become_tabs_on_the_same_lines():
    body = b" customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n\n 00002 \"a  b\"  5 1\n"
    out = aligned_to_tabs(body)
    assert out == b'customer_id\tdate\tnumber_of_cds\tdollar_value\r\n00001\t19970101\t1\t11.77\r\n\n00002\t"a  b"\t5\t1\n'
    assert out.count(b"\n") == body.count(b"\n")


def test_an_excel_file_reads_like_its_comma_twin():
    """Excel's European CSV: BOM, semicolons, decimal commas, CRLF."""
    plain = b"id,age,amount\n1,30,12.5\n2,41,1234.5\n3,,7\n"
    excel = "\ufeffid;age;amount\r\n1;30;12,5\r\n2;41;1.234,5\r\n3;;7\r\n".encode("utf-8")
    a = read_csv_table(plain, numeric_columns=["age", "amount"], **LIMITS)
    b = read_csv_table(excel, numeric_columns=["age", "amount"], **LIMITS)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert b.dialect.as_report()["encoding"] == "UTF-8 with a byte-order mark"
    assert b.dialect.delimiter == ";" and b.dialect.decimal == ","


def test_headers_may_be_the_labels_the_app_shows():
    data = b"Id;Spending Score;Days since last order\n1;60;12\n"
    frame = read_csv_table(data, required_columns=["spending_score", "recency_days"],
                           numeric_columns=["spending_score", "recency_days"],
                           aliases={"recency_days": ["Days since last order"]}, **LIMITS).frame
    assert list(frame.columns) == ["Id", "spending_score", "recency_days"]
    assert frame["recency_days"].tolist() == [12.0]
    assert read_header(b"\xef\xbb\xbf a  b   c\n 1  2 3\n") == ["a", "b", "c"]


@pytest.mark.parametrize("data, words", [
    (b"a;b;c\n1;2;3\n4;5\n6;7;8;9\n", ["line 3 has 2", "line 4 has 4", "3 fields", "';' (semicolon)"]),
    (b" a  b  c\n" + b" 1  2  3\n" * 8 + b" 7  8\n", ["line 10 has 2", "3 fields", "runs of spaces"]),
    (b"age;Age;x\n1;2;3\n", ["duplicate column names", "'age'"]),
    (b"a;b\n1;2\n" + bytes(range(256)), ["binary", "line 3"]),
    ("a;b\n1;Fémale\n".encode("latin-1"), ["line 2", "not UTF-8"]),
])
def test_strictness_stays_whatever_the_delimiter(data, words):
    with pytest.raises(CSVError) as info:
        read_csv_table(data, **LIMITS)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_sniffing_a_huge_header_costs_nothing_and_the_cap_still_refuses_it():
    wide = ";".join(f"c{i}" for i in range(200_000)).encode() + b"\n" + b";".join([b"1"] * 200_000) + b"\n"
    assert sniff(wide).delimiter == ";"
    with pytest.raises(CSVError, match="200,000 columns; the limit is 1,000"):
        read_csv_table(wide, max_columns=1_000, **LIMITS)


def test_the_evidence_counts_the_lines_it_saw():
    rows = "\n".join(f"{i};{i},5" for i in range(5000))
    dialect = sniff(f"a;b\n{rows}\n".encode())
    assert "2,000 of the next 2,000 lines" in dialect.evidence["delimiter"]
    assert np.isclose(len(rows.splitlines()), 5000)
