"""The fast CSV export writes exactly the bytes pandas' writer writes for the same frame
(`model.tables.export.pandas_safe_csv`, the reference), whatever the column types and cell values."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from model.tables.export import pandas_safe_csv, safe_csv_bytes

TEXT = st.one_of(st.none(), st.sampled_from(["", "a", "=1+1", "-x", "+", "@", "\tx", "\rx", 'q"uote', "a,b",
                                             "multi\nline", "Zoë", " pad "]), st.text(max_size=6))
FLOAT = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, -5.5, 1e16]))


@st.composite
def frames(draw) -> tuple[pd.DataFrame, list[str]]:
    n = draw(st.integers(0, 12))
    cols: dict[str, object] = {}
    for i, kind in enumerate(draw(st.lists(st.sampled_from(["str", "obj", "float", "int", "Int64", "bool"]),
                                           min_size=1, max_size=5))):
        name = draw(st.sampled_from([f"c{i}", f"=c{i}", f"-c{i}", f'c"{i}']))
        if kind in ("str", "obj"):
            vals = draw(st.lists(TEXT, min_size=n, max_size=n))
            cols[name] = pd.array(vals, dtype="str") if kind == "str" else np.array(vals, dtype=object)
        elif kind == "float":
            cols[name] = np.array(draw(st.lists(FLOAT, min_size=n, max_size=n)), dtype=float)
        elif kind == "int":
            cols[name] = np.array(draw(st.lists(st.integers(-10**12, 10**12), min_size=n, max_size=n)), dtype=np.int64)
        elif kind == "Int64":
            cols[name] = pd.array(draw(st.lists(st.none() | st.integers(-50, 50), min_size=n, max_size=n)), dtype="Int64")
        else:
            cols[name] = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    frame = pd.DataFrame(cols) if len(set(cols)) == len(cols) else pd.DataFrame(cols)
    text = draw(st.lists(st.sampled_from(list(frame.columns)), unique=True))
    return frame, text


@settings(max_examples=300, deadline=None)
@given(frames())
def test_fast_export_equals_pandas_writer(case):
    frame, text = case
    assert safe_csv_bytes(frame, text_columns=text) == pandas_safe_csv(frame, text_columns=text)


def test_many_rows_with_repeats_and_a_unique_column():
    rng = np.random.default_rng(0)
    n = 50_000
    frame = pd.DataFrame({
        "id": pd.array([f"c{i}" for i in range(n)], dtype="str"),
        "level": pd.array(rng.choice(["A", "=B", "C,D", None], n), dtype="str"),
        "x": rng.normal(size=n).round(3), "k": rng.integers(0, 5, n),
        "seg": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 4, n)), dtype="Int64"),
        "flag": rng.random(n) < 0.5, "note": np.where(rng.random(n) < 0.9, "", "imputed; far").astype(object),
    })
    text = ["id", "level", "note", "flag"]
    assert safe_csv_bytes(frame, text_columns=text) == pandas_safe_csv(frame, text_columns=text)
