"""The second attack on the public Space (issue 19), through training data: category levels that
hold Markdown, HTML and line breaks (CR, U+2028) reach the model card (the Hub page), the Model tab
and Plotly's labels only as text, and the SQL export agrees with the model on them."""
from __future__ import annotations

import csv
import io
import json
import sqlite3

import numpy as np
import pytest
from markdown_it import MarkdownIt

from model.contract.markdown import md_literal

HOSTILE = ("Shop | x\n\n# Hacked\n![img](https://evil.example/p.png) [click](https://evil.example/phish) "
           "<img src=x onerror=alert(1)>")
LEVELS = (HOSTILE, "Mail\rOrder", "Phone\u2028Line", "Plain")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """600 customers in two clear groups, their channel one of LEVELS (cells spelt with the line
    breaks of the level, and some with stray CR / U+2028 around them), and a bundle fitted on them."""
    from training.fit import FitOptions, fit
    rng = np.random.default_rng(4)
    folder = tmp_path_factory.mktemp("hostile")
    rows = []
    for i in range(600):
        group = i % 2
        level = LEVELS[i % 4]
        cell = level if i % 5 else f"\u2028{level}\r"
        rows.append({"id": i, "age": round(float(rng.normal(30 + 25 * group, 3)), 1),
                     "income": round(float(rng.normal(30_000 + 50_000 * group, 4_000)), 2), "channel": cell})
    path = folder / "customers.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = folder / "bundle"
    manifest = fit(FitOptions(data=path, out=out, k=2, seed=1, compare=False, bootstrap=0)).manifest
    return path, out, manifest


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def _assert_inert(html: str) -> None:
    assert "<img src=x" not in html and 'href="https://evil' not in html and 'src="https://evil' not in html
    assert "Hacked</h" not in html


def test_the_model_card_shows_levels_as_text(hostile):
    _, out, manifest = hostile
    card = (out / "README.md").read_text(encoding="utf-8")
    body = card.split("---", 2)[2]
    html = _html(body)
    _assert_inert(html)
    assert html.count("<h1>") == 1  # the title, nothing a level wrote
    segments = html.split("<h2>Segments</h2>", 1)[1].split("</table>", 1)[0]
    assert segments.count("<tr>") == 1 + manifest.k  # the header and one row per segment
    for line in body.splitlines():  # a level's line breaks never start a line of the card
        assert not line.startswith(("# Hacked", "![img]", "Order", "Line"))


def test_the_model_tab_shows_levels_as_text(hostile):
    from model.contract.manifest import LiveSource
    from space.handlers import card_body
    from space.render import evidence
    _, out, manifest = hostile
    source = LiveSource(kind="local", path="bundles/hostile")
    for markdown in (evidence.model_overview(manifest, source), evidence.cleaning_text(manifest.cleaning),
                     card_body(out), md_literal(HOSTILE)):
        _assert_inert(_html(markdown))


def test_plotly_labels_show_levels_as_text(hostile):
    from model.serving.predictor import Predictor
    from space.render import figures
    _, out, _ = hostile
    predictor = Predictor.from_dir(out)
    channel = predictor.schema.feature("channel")
    for fig in (figures.distribution_figure(predictor.bundle.summary, channel),
                figures.segment_feature_figure(predictor.bundle.summary, channel, predictor.segments)):
        text = json.dumps(json.loads(fig.to_json())["data"])
        assert "<img" not in text and "&lt;img" in text


def test_the_sql_agrees_with_the_model_on_levels_with_line_breaks(hostile, tmp_path):
    """Levels holding CR or U+2028 gave NULL for rows the model scores (169 of 600)."""
    from model.serving.predictor import Predictor
    from model.tables.reading import read_csv_strict
    path, out, _ = hostile
    predictor = Predictor.from_dir(out)
    model = predictor.predict_frame(read_csv_strict(path.read_bytes(), max_bytes=10**7, max_rows=10**5))
    scored = (model["error"] == "").to_numpy()
    assert scored.all()
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    columns = list(rows[0])
    sql = open(out / "segment_rules.sql", encoding="utf-8", newline="").read()  # as the README reads it
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE customers (" + ", ".join('"' + c + '" TEXT' for c in columns) + ")")
    db.executemany("INSERT INTO customers VALUES (" + ", ".join("?" * len(columns)) + ")",
                   [[r[c] for c in columns] for r in rows])
    got = [r[-1] for r in db.execute(sql.rstrip().rstrip(";") + " ORDER BY CAST(id AS INTEGER)").fetchall()]
    assert sum(g is None for g in got) == 0, f"{sum(g is None for g in got)} of {len(got)} rows got NULL"
    import duckdb
    con = duckdb.connect()
    csv_path = tmp_path / "c.csv"
    csv_path.write_bytes(path.read_bytes())
    con.execute(f"CREATE TABLE customers AS SELECT * FROM read_csv('{csv_path}', header=true, all_varchar=true)")
    duck = [r[-1] for r in con.execute(sql.rstrip().rstrip(";") + " ORDER BY CAST(id AS INTEGER)").fetchall()]
    assert duck == got
    agree = np.mean(np.array(got) == model["segment_id"].to_numpy(dtype=np.int64))
    assert agree == pytest.approx(predictor.manifest.rules.fidelity, abs=0.02)
