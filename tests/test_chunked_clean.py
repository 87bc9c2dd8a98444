"""Cleaning a CSV read in chunks (`training.reading.table.clean_file`) gives exactly what cleaning the whole
text table gives, and a bad line far into the file is reported with its line number in the file."""
from __future__ import annotations

import pandas as pd
import pytest

from model.contract.errors import CSVError
from training.reading import table as data
from training.reading.codes import concat_chunks
from training.synthetic.customers import generate


@pytest.fixture(scope="module")
def messy_csv(tmp_path_factory):
    frame, _ = generate(6_000, seed=21)
    frame.loc[frame.index[::97], "preferred_category"] = 'Home\n& "Garden"'  # quoted, spans lines
    frame.loc[frame.index[5::113], "income"] = "n/a"
    path = tmp_path_factory.mktemp("chunks") / "customers.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("chunk_bytes", [2_000, 17_000, 10 ** 9])
def test_chunked_cleaning_equals_whole_table(messy_csv, chunk_bytes):
    whole = data.clean(data.read_table(messy_csv))
    chunks = list(data.read_chunks(messy_csv, chunk_bytes=chunk_bytes))
    assert len(chunks) > 1 or chunk_bytes == 10 ** 9
    chunked = data.clean_columns(concat_chunks(chunks))
    pd.testing.assert_frame_equal(whole.frame, chunked.frame)
    assert whole.report == chunked.report and whole.categorical == chunked.categorical


def test_bad_line_deep_in_the_file_names_its_file_line(messy_csv, tmp_path):
    lines = messy_csv.read_bytes().split(b"\n")
    lines.insert(4_000, b"1,2,3")  # a ragged row
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\n".join(lines))
    with pytest.raises(CSVError) as whole:
        data.read_table(bad)
    with pytest.raises(CSVError) as chunked:
        list(data.read_chunks(bad, chunk_bytes=20_000))
    assert "has 3" in str(whole.value)
    line = str(whole.value).split(" has 3")[0].rsplit(" ", 1)[1]
    assert f"line {line} has 3" in str(chunked.value), (str(whole.value), str(chunked.value))
