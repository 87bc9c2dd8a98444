"""Tests for model.tables.reading: every hostile upload is refused with a message naming what and where;
clean files come back exactly; exports cannot run formulas in a spreadsheet."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.tables.reading import read_csv_strict, to_safe_csv
from model.contract.errors import CSVError

LIMITS = {"max_bytes": 1_000_000, "max_rows": 1_000}


def read(data: bytes | str | Path, **kwargs) -> pd.DataFrame:
    return read_csv_strict(data, **{**LIMITS, **kwargs})


def refused(data: bytes, **kwargs) -> str:
    with pytest.raises(CSVError) as info:
        read(data, **kwargs)
    return str(info.value)


# --- caps ---------------------------------------------------------------------------------------


def test_over_max_bytes_is_refused_with_size_and_limit():
    message = refused(b"a,b\n" + b"1,2\n" * 100, max_bytes=50)
    assert "404 bytes" in message and "limit is 50 bytes" in message


def test_over_max_bytes_on_disk_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 100)

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened although it is over the limit")

    monkeypatch.setattr(Path, "open", no_reading)
    assert "limit is 50 bytes" in refused(path, max_bytes=50)


@pytest.mark.parametrize("data, width", [
    (b"a,b,c,d,e,f\n1,2,3,4,5,6\n", 6),
    (b"\n\n  \na,b,c,d,e,f\n1,2,3,4,5,6\n", 6),  # blank lines before the header do not hide it
    (b'"a,x",b,c,d,e,f\n1,2,3,4,5,6\n', 6),
])
def test_over_max_columns_is_refused_before_parsing(data, width, monkeypatch):
    import model.tables.reading
    monkeypatch.setattr(model.tables.reading, "_scan", lambda body: pytest.fail("scanned a file that is too wide"))
    message = refused(data, max_columns=5)
    assert f"{width} columns; the limit is 5" in message and "(header)" in message


def test_quoted_commas_do_not_count_as_columns():
    frame = read(b'"a,1,2,3,4,5,6",b\n1,2\n', max_columns=2)
    assert list(frame.columns) == ["a,1,2,3,4,5,6", "b"]


def test_usecols_keeps_only_those_columns_spelled_as_asked():
    data = b" ID ,Age,notes,Secret\n7,31,hi,pw1\n8,,yo,pw2\n"
    frame = read(data, required_columns=["age"], numeric_columns=["age"], usecols=["id", "age", "absent"])
    assert list(frame.columns) == ["id", "age"] and frame["id"].tolist() == ["7", "8"]
    assert frame["age"].tolist()[0] == 31.0 and math.isnan(frame["age"].tolist()[1])


def test_usecols_still_checks_the_shape_of_every_column():
    assert "line 3 has 5" in refused(b"id,age,x,y\n1,2,3,4\n1,2,3,4,5\n", usecols=["id", "age"])
    df = read(b"id,age,x\n1,old,3\n", numeric_columns=["age"], usecols=["age"])
    assert list(df.columns) == ["age"] and df["age"].tolist() == ["old"]  # a row error for model.contract.schema


def test_over_max_rows_gives_count_and_limit():
    message = refused(b"a,b\n1,2\n3,4\n\n5,6\n", max_rows=2)
    assert message == "the file has 3 rows; the limit is 2"


# --- encoding -----------------------------------------------------------------------------------


def test_utf16_with_bom_is_refused():
    message = refused("age,income\n30,100\n".encode("utf-16"))
    assert "UTF-16" in message and "UTF-8" in message


def test_utf16_without_bom_is_refused():
    message = refused("age,income\n30,100\n".encode("utf-16-le"))
    assert "UTF-16" in message and "UTF-8" in message


def test_binary_content_is_refused_with_line():
    message = refused(b"a,b\n1,2\n3,\x00\x01\x02\n")
    assert message.startswith("line 3:") and "binary" in message and "UTF-8" in message


def test_latin1_text_is_refused_with_line_and_byte():
    message = refused("name,city\nAnn,Paris\nJos\u00e9,M\u00e1laga\n".encode("latin-1"))
    assert message.startswith("line 3:") and "0xe9" in message and "UTF-8" in message


def test_excel_workbook_is_refused():
    assert "Excel" in refused(b"PK\x03\x04\x14\x00\x06\x00 rest of a zip")


# --- empty, header only, delimiter --------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\r\n  \n"])
def test_empty_file_is_refused(data):
    assert "empty" in refused(data)


def test_header_only_file_is_refused():
    assert refused(b"age,income\r\n\r\n") == "the file has a header (line 1) but no data rows"


@pytest.mark.parametrize(
    ("data", "named"), [(b"age;income\n30;100\n", "';'"), (b"age\tincome\n30\t100\n", "tab"),
                        (b"age|income\n30|100\n", "'|'"), (b" age  income\n 30   100\n", "spaces")]
)
def test_other_delimiters_are_read_and_named(data, named):
    from model.tables.reading import read_csv_table
    table = read_csv_table(data, required_columns=["age"], numeric_columns=["income"], **LIMITS)
    assert table.frame.to_dict("list") == {"age": ["30"], "income": [100.0]}
    assert named in table.dialect.as_report()["delimiter"]


# --- ragged rows --------------------------------------------------------------------------------


def test_short_row_is_refused_with_line_and_counts():
    message = refused(b"a,b,c\n1,2,3\n4,5\n6,7,8\n")
    assert "every row must have 3 fields" in message and "line 3 has 2" in message


def test_long_first_row_is_refused():
    # pandas with index_col=False silently drops the extra field of the first data row.
    assert "line 2 has 4" in refused(b"a,b,c\n1,2,3,4\n5,6,7\n")


def test_ragged_line_numbers_count_blank_lines_and_multiline_fields():
    data = b'id,note,score\n1,"two\nlines, and a comma",5\n\n2,"ok"\n3,x,4\n4,y,5,6\n'
    message = refused(data)
    assert "line 5 has 2" in message and "line 7 has 4" in message


def test_many_ragged_rows_name_the_first_few():
    data = b"a,b\n" + b"1\n" * 12
    message = refused(data)
    assert "line 2 has 1" in message and "line 6 has 1" in message
    assert "line 7" not in message and "and 7 more rows" in message


def test_unclosed_quote_is_refused_with_line():
    message = refused(b'a,b\n1,2\n"3,4\n5,6\n')
    assert message.startswith("line 3:") and "never closed" in message


# --- header names -------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [b"id,age,Age", b"id,age, AGE "])
def test_duplicate_headers_are_refused(header):
    message = refused(header + b"\n1,2,3\n")
    assert "duplicate column names" in message and "columns 2, 3" in message


def test_blank_header_name_is_refused():
    message = refused(b"id,age,\n1,2,3\n")
    assert "column 3 has no name" in message and "line 1" in message


def test_missing_required_columns_are_named_with_columns_found():
    message = refused(b"id,Age\n1,2\n", required_columns=["age", "income", "region"])
    assert "'income', 'region'" in message and "'id', 'Age'" in message
    assert "'age'" not in message.split(";")[0]


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cells", [["100", "12k", None], ["100", "nan", "7"], ["1", "-inf", "2"],
                                   ["True", "False", "True"], ["1", "1e999", "2"], ["1", "1,000", "2"]])
def test_a_numeric_column_with_a_bad_cell_stays_text(cells):
    """The file is fine; its cells are judged by model.contract.schema, per row (tests/test_schema.py)."""
    rows = "".join(f"{i},{_csv_cell(c)}\n" for i, c in enumerate(cells))
    df = read(f"id,income\n{rows}".encode(), numeric_columns=["income"])
    assert str(df["income"].dtype) == "str"
    assert [None if pd.isna(v) else v for v in df["income"]] == cells


def _csv_cell(text):
    return "" if text is None else f'"{text}"' if "," in text else text


def test_line_numbers_count_physical_lines():
    from model.tables.reading import read_csv_table
    table = read_csv_table(b'id,note\n1,"a\nb"\n\n2,x\n3,y\n', **LIMITS)
    assert table.lines.tolist() == [2, 5, 6]


def test_empty_and_blank_numeric_cells_are_missing():
    df = read(b"id,income\n1,\n2,  \n3, 7.5 \n", numeric_columns=["income"])
    assert df["income"].dtype == np.float64
    assert df["income"].isna().tolist() == [True, True, False] and df["income"][2] == 7.5


def test_optional_numeric_column_may_be_absent():
    df = read(b"id,age\n1,30\n", numeric_columns=["age", "income"])
    assert list(df.columns) == ["id", "age"] and df["age"].tolist() == [30.0]


# --- happy paths --------------------------------------------------------------------------------


def test_happy_path_bom_crlf_quotes_and_header_spelling():
    data = '\ufeffID , Age,Income,City\r\n007,30,"1000.5","Paris, FR"\r\n008,,2e3,NA\r\n'.encode()
    df = read(data, required_columns=["age", "income", "id"], numeric_columns=["age", "income"])
    assert list(df.columns) == ["id", "age", "income", "City"]
    assert df["id"].tolist() == ["007", "008"]  # text is never type-guessed
    assert df["City"].tolist() == ["Paris, FR", "NA"]  # "NA" is a value, not a missing marker
    assert df["age"].dtype == np.float64 and df["age"][0] == 30 and math.isnan(df["age"][1])
    assert df["income"].tolist() == [1000.5, 2000.0]


def test_empty_text_cells_are_missing_and_multiline_values_survive():
    df = read(b'id,note\n1,\n2,"a\r\nb"\n')
    assert pd.isna(df["note"][0]) and df["note"][1] == "a\r\nb"
    assert str(df["note"].dtype) == "str"


def test_path_and_bytes_read_the_same(tmp_path):
    data = b"a,b\n1,x\n2,y\n"
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    pd.testing.assert_frame_equal(read(path), read(data))
    pd.testing.assert_frame_equal(read(str(path)), read(data))


@pytest.mark.parametrize(
    "data",
    [b'id,size\n1,12" screen\n2,"a ""b"""\n', b"id,size\r1,x\r2,y\r"],  # stray quote; old Mac endings
)
def test_irregular_but_valid_files_use_the_exact_fallback(data):
    df = read(data)
    assert len(df) == 2 and df["id"].tolist() == ["1", "2"]


def test_ten_thousand_rows_match_plain_pandas():
    rng = np.random.default_rng(0)
    n = 10_000
    frame = pd.DataFrame({"id": [f"c{i}" for i in range(n)], "age": rng.integers(18, 90, n),
                          "income": rng.normal(5e4, 1e4, n).round(2),
                          "region": rng.choice(["N", "S"], n)})
    data = frame.to_csv(index=False).encode()
    df = read(data, max_rows=10_000, numeric_columns=["age", "income"])
    expected = pd.read_csv(io.BytesIO(data), dtype={"id": "str", "region": "str", "age": "float64"})
    pd.testing.assert_frame_equal(df, expected)


cells = st.text(st.sampled_from(list('ab ,"\n\r=-é')), max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(
    lambda n: st.lists(st.lists(cells, min_size=n, max_size=n), min_size=1, max_size=8)))
def test_any_well_formed_table_reads_back_exactly(rows):
    width = len(rows[0])
    header = [f"c{i}" for i in range(width)]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    # A one-field row of spaces is written unquoted and is a blank line: pandas skips those.
    nonblank = [r for r in rows if not (width == 1 and r[0] and not r[0].strip(" "))]
    try:
        df = read(buffer.getvalue().encode())
    except CSVError as exc:  # only legitimate refusal: nothing left once blank lines are skipped
        assert not nonblank and "no data rows" in str(exc)
        return
    expected = [[None if v == "" else v for v in r] for r in nonblank]
    assert df.astype(object).where(df.notna(), None).values.tolist() == expected


# --- export -------------------------------------------------------------------------------------


def exported_rows(df: pd.DataFrame, text_columns=("name",)) -> list[list[str]]:
    data = to_safe_csv(df, text_columns=list(text_columns))
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_injection_prefixes_are_neutralised_in_text_columns(prefix):
    rows = exported_rows(pd.DataFrame({"name": [f"{prefix}HYPERLINK(\"http://x\")", "plain"]}))
    assert rows[1] == [f"'{prefix}HYPERLINK(\"http://x\")"] and rows[2] == ["plain"]


def test_numbers_are_not_neutralised():
    df = pd.DataFrame({"name": ["-x"], "delta": [-5], "score": [-2.5], "segment": [3]})
    assert exported_rows(df)[1] == ["'-x", "-5", "-2.5", "3"]


def test_undeclared_text_columns_and_header_are_neutralised_too():
    df = pd.DataFrame({"name": ["a"], "=cmd|' /C calc'!A0": ["@SUM(1+1)"]})
    assert exported_rows(df) == [["name", "'=cmd|' /C calc'!A0"], ["a", "'@SUM(1+1)"]]


def test_export_quotes_every_field_uses_lf_and_utf8():
    df = pd.DataFrame({"name": ["Zo\u00eb", None, 'say "hi"'], "n": [1, 2, 3]})
    data = to_safe_csv(df, text_columns=["name"])
    lines = data.decode("utf-8").split("\n")
    assert b"\r" not in data and lines[-1] == ""
    assert lines[:4] == ['"name","n"', '"Zo\u00eb","1"', '"","2"', '"say ""hi""","3"']


def test_export_round_trips_through_the_csv_module_and_leaves_input_alone():
    df = pd.DataFrame({"name": ["=1+1", "ok, fine", "multi\nline", np.nan],
                       "x": [-1.5, 0.0, 2.25, np.nan]})
    before = df.copy()
    rows = exported_rows(df)
    assert rows == [["name", "x"], ["'=1+1", "-1.5"], ["ok, fine", "0.0"],
                    ["multi\nline", "2.25"], ["", ""]]
    pd.testing.assert_frame_equal(df, before)


def test_export_works_with_a_repeated_index():
    df = pd.DataFrame({"name": ["=a", "b", "+c"], "n": [1, 2, 3]}, index=[0, 0, 1])
    assert [r[0] for r in exported_rows(df)] == ["name", "'=a", "b", "'+c"]


def test_export_refuses_unknown_text_columns():
    with pytest.raises(ValueError, match="nope"):
        to_safe_csv(pd.DataFrame({"a": [1]}), text_columns=["nope"])
