"""Bad CSV uploads through the running app's batch endpoint (`/predict_batch`, via gradio_client):
files pandas would guess about are refused whole with a line number; bad cells are marked per row
and never get a segment; the scored file is safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io

import pytest
from gradio_client import handle_file

from tests.surfaces import assert_clear

HEADER = ("id,age,income,spending_score,membership_years,purchase_frequency,last_purchase_amount,"
          "gender,preferred_category")
ROW = "1,34,58730,60,4,27,162.63,Female,Groceries"
GOOD = f"{HEADER}\n{ROW}\n"
FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "\tx=1", "\rx=1", '=HYPERLINK("http://x")']


def _row(**cells: str) -> str:
    values = dict(zip(HEADER.split(","), ROW.split(",")))
    values.update(cells)
    return ",".join(values[c] for c in HEADER.split(","))


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# (id, file bytes, words the refusal must contain)
REFUSED = [
    ("utf16_bom", GOOD.encode("utf-16"), ["UTF-16", "UTF-8"]),
    ("utf16_no_bom", GOOD.encode("utf-16-le"), ["UTF-16"]),
    ("binary", bytes(range(256)) * 8, ["binary", "line"]),
    ("latin1", (GOOD + _row(gender="Fémale") + "\n").encode("latin-1"), ["line 3", "not UTF-8"]),
    ("xlsx_zip", b"PK\x03\x04" + b"\x00" * 100, ["Excel"]),
    ("ragged_short", f"{GOOD}1,2,3\n".encode(), ["line 3 has 3", "9 fields"]),
    ("ragged_long", f"{GOOD}{ROW},extra\n".encode(), ["line 3 has 10"]),
    ("duplicate_header", f"{HEADER},age\n{ROW},3\n".encode(), ["duplicate column names", "'age'"]),
    ("blank_header", f"{HEADER},\n{ROW},3\n".encode(), ["column 10 has no name"]),
    ("header_only", f"{HEADER}\n".encode(), ["no data rows"]),
    ("empty", b"", ["empty"]),
    ("whitespace_only", b"  \n\n \n", ["empty"]),
    ("missing_column", GOOD.replace(",gender", "").replace(",Female", "").encode(), ["missing required", "'gender'"]),
    ("missing_all", b"a,b\n1,2\n", ["missing required", "'age'", "'preferred_category'"]),
    ("unclosed_quote", f'{GOOD}"1,34,58730\n'.encode(), ["line 3", "never closed"]),
]


@pytest.fixture
def upload(gradio, tmp_path):
    def send(data: bytes):
        path = tmp_path / "customers.csv"
        path.write_bytes(data)
        return gradio.predict(handle_file(str(path)), api_name="/predict_batch")
    return send


@pytest.mark.parametrize("case_id, data, words", REFUSED, ids=[c[0] for c in REFUSED])
def test_unusable_file_is_refused_whole(case_id, data, words, upload):
    with pytest.raises(Exception) as info:
        upload(data)
    assert type(info.value).__name__ == "AppError", f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert_clear(message, allowed=words, sent=data.decode("utf-8", "replace"))


def _scored(upload, text: str) -> tuple[list[dict[str, str]], str, str]:
    out_path, summary = upload(text.encode())
    raw = open(out_path, encoding="utf-8", newline="").read()
    return list(csv.DictReader(io.StringIO(raw, newline=""))), summary, raw


# (id, bad row's cells, field named in the row's error, words in it)
ROW_ERRORS = [
    ("negative_age", {"age": "-5"}, "age", ["between 0 and 250", "-5"]),
    ("huge_number", {"income": "1e308"}, "income", ["between 0 and 600,000", "1e+308"]),
    ("nan_cell", {"age": "NaN"}, "age", ["between 0 and 250", "got nan"]),
    ("inf_cell", {"income": "-inf"}, "income", ["between 0 and 600,000", "got -inf"]),
    ("text_cell", {"spending_score": "high"}, "spending_score", ["a number between", "'high'"]),
    ("bool_cell", {"age": "true"}, "age", ["a number between", "'true'"]),
    ("long_cell", {"income": "9x" * 3000}, "income", ["a number between", "..."]),
    ("thirty", {"age": "thirty"}, "age", ["a number between 0 and 250", "got 'thirty'"]),
    ("above_max", {"membership_years": "31"}, "membership_years", ["between 0 and 30", "31"]),
    ("unknown_category", {"gender": "Martian"}, "gender", ["Female, Male, Other", "'Martian'"]),
    ("unicode_category", {"preferred_category": "💣\u202e"}, "preferred_category", ["Clothing, Electronics"]),
    ("long_category", {"gender": "x" * 5000}, "gender", ["Female, Male, Other"]),
    ("formula_category", {"gender": _quoted("=cmd|' /C calc'!A0")}, "gender", ["Female, Male, Other"]),
]


@pytest.mark.parametrize("case_id, cells, field, words", ROW_ERRORS, ids=[c[0] for c in ROW_ERRORS])
def test_bad_cells_mark_their_row_and_get_no_segment(case_id, cells, field, words, upload):
    rows, summary, _ = _scored(upload, f"{GOOD}{_row(**cells)}\n{ROW}\n")
    assert len(rows) == 3
    good, bad, last = rows
    assert good["error"] == "" and good["segment_id"] != "" and last["segment_id"] != ""
    assert bad["segment_id"] == "" and bad["segment_name"] == "" and bad["margin"] == ""
    assert_clear(bad["error"], field=field, allowed=words)
    assert (summary["scored"], summary["rejected"], summary["errors"][0]["line"]) == (2, 1, 3)


def test_category_spelling_in_files_is_normalised(upload, predictor):
    variants = [" female ", "FEMALE", "female", " FeMaLe"]
    rows, _, _ = _scored(upload, HEADER + "\n" + "\n".join(_row(gender=_quoted(v)) for v in variants) + "\n")
    expected = predictor.predict_one({**predictor.schema.example(), **{
        k: (float(v) if k not in ("gender", "preferred_category") else v)
        for k, v in zip(HEADER.split(",")[1:], ROW.split(",")[1:])}})
    assert [r["error"] for r in rows] == [""] * len(variants)
    assert {r["segment_name"] for r in rows} == {expected["segment_name"]}


def test_export_neutralises_formulas_and_drops_unknown_columns(upload):
    lines = [f"{HEADER},comment"]
    for i, formula in enumerate(FORMULAS):
        cat = _quoted(formula) if i % 2 else "Groceries"
        lines.append(f"{_quoted(formula)},34,58730,60,4,27,162.63,Female,{cat},{_quoted('=SECRET' + str(i))}")
    rows, _, raw = _scored(upload, "\n".join(lines) + "\n")
    assert len(rows) == len(FORMULAS)
    assert "comment" not in rows[0] and "=SECRET" not in raw  # columns outside the schema are not echoed
    for row, formula in zip(rows, FORMULAS):
        assert row["id"] == "'" + formula  # neutralised, otherwise unchanged
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    for line in raw.rstrip("\n").split("\n")[1:]:  # no cell holds a \n here; some hold a \r
        assert line.startswith('"') and line.endswith('"')  # every field quoted
    assert rows[0]["age"] == "34" and rows[0]["segment_id"] != ""  # numbers stay numbers, written as people do


def test_negative_numbers_stay_numeric_in_export(upload):
    rows, _, raw = _scored(upload, f"{GOOD}{_row(age='-5')}\n")
    assert rows[1]["age"] == "-5" and "'-5" not in raw  # a number, not text to neutralise


@pytest.mark.parametrize("dialect", ["semicolon_decimal_comma", "tab", "aligned"])
def test_excel_style_files_are_scored_like_their_comma_twin(upload, dialect):
    """Excel's European CSV (BOM, ';', decimal commas, CRLF, the headers as the app labels them),
    tab-separated and space-aligned files: the same scores as the comma file."""
    plain, _, _ = _scored(upload, GOOD + _row(id="2", last_purchase_amount="1234.5") + "\n")
    labels = {"spending_score": "Spending Score", "membership_years": "Membership Years",
              "last_purchase_amount": "Last Purchase Amount", "purchase_frequency": "Purchase Frequency"}
    header = [labels.get(h, h) for h in HEADER.split(",")]
    rows = [r.split(",") for r in (ROW, _row(id="2", last_purchase_amount="1234.5"))]
    if dialect == "semicolon_decimal_comma":
        text = "\ufeff" + "\r\n".join(";".join(c.replace(".", ",") for c in r) for r in [header, *rows]) + "\r\n"
    elif dialect == "tab":
        text = "\n".join("\t".join(r) for r in [header, *rows]) + "\n"
    else:
        header = [h.replace(" ", "_") for h in header]
        text = "\n".join("  ".join(f"{c:>22}" for c in r) for r in [header, *rows]) + "\n"
    got, summary, _ = _scored(upload, text)
    assert got == plain
    said = {"semicolon_decimal_comma": "delimiter ';' (semicolon)", "tab": "delimiter a tab",
            "aligned": "delimiter runs of spaces (aligned columns)"}[dialect]
    assert said in summary.replace("\\", ""), summary


def test_one_bad_cell_keeps_every_good_row_with_true_line_numbers(upload):
    """Bad cells are row errors, and a quoted value spanning lines does not shift the numbers."""
    text = (f"{HEADER}\n{_row(id=_quoted('a' + chr(10) + 'b'))}\n{_row(age='thirty')}\n{ROW}\n"
            f"{_row(gender='Martian', age='-5')}\n")
    rows, summary, raw = _scored(upload, text)
    errors = {e["line"]: e["error"] for e in summary["errors"]}
    assert [r["error"] == "" for r in rows] == [True, False, True, False]
    assert errors[4] == "age must be a number between 0 and 250; got 'thirty'"
    assert "age must be" in errors[6] and "gender must be one of" in errors[6]
    assert rows[2]["age"] == "34"  # the column holds text now: good rows keep their cells as sent
    assert rows[3]["age"] == "-5" and "'-5" not in raw  # a plain number is no formula
