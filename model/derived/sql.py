"""The surrogate rules (`training.rules.tree`, as the manifest records them) as one portable SQL
query: `segment_rules.sql`.

    SELECT customers.*, CASE WHEN … THEN NULL … WHEN <rule> THEN <segment> … END AS segment_id
    FROM customers;

It reads a table named ``customers`` holding the CSV's own columns - as text (SQLite's ``.import``
or Python's `csv` module) or typed as numbers (DuckDB's ``read_csv``, a PostgreSQL table) - and
returns every column plus ``segment_id``. Only constructs shared by SQLite, DuckDB and PostgreSQL
are used: ``CASE``, ``COALESCE``, ``NULLIF``, ``TRIM``, ``LOWER``, ``REPLACE``, ``IN`` and
``CAST(… AS VARCHAR)`` / ``CAST(… AS DOUBLE PRECISION)`` (SQLite reads the latter as REAL, an
8-byte float; ``REAL`` would be a 4-byte float in PostgreSQL). Identifiers are double-quoted (an
embedded ``"`` doubled), text literals single-quoted (an embedded ``'`` doubled).

What each cell goes through, as the model does (`model.tables.cells.category_key`, the CSV reader):

* every cell: ``CAST(… AS VARCHAR)`` then ``TRIM`` of every whitespace character the model strips
  (spaces, tabs, line breaks, CR, U+2028, no-break spaces…: what Python calls whitespace); an
  empty result is missing, as an empty CSV cell is. Those characters stand in the query as themselves, inside
  string literals: read the file without newline translation (``open(…, newline="")``), or a CR
  in it becomes a line feed;
* numbers: cast to DOUBLE PRECISION; missing → the model's fill (the training median);
* categories: tabs, line breaks, CR, no-break spaces, U+2028 and any other whitespace a level of
  the column holds made spaces inside too, and runs of up to 16 spaces collapsed to one (only for
  columns whose levels contain inner whitespace); ``LOWER``; ``' and '`` → ``' & '``; missing → the most frequent level. ``LOWER``
  folds only ASCII letters in SQLite; PostgreSQL and DuckDB fold all letters (both spellings of
  a non-ASCII level are listed so either database matches the trained spelling).

Not normalised, unlike the model: inside a category, runs of more than 16 whitespace characters,
and whitespace characters other than those above (SQLite's parser allows only so many nested
``REPLACE``).
``segment_id`` is NULL where the model would reject the row instead of assigning a segment:
a numeric cell that is not a plain number (characters other than ``0-9 . + - e E``; in PostgreSQL
and DuckDB a malformed number such as ``1-2`` raises a cast error instead), a number outside the
schema's hard limits, or a category that is no trained level.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Sequence

from model.contract.evidence import RuleCondition, Rules
from model.tables.featureview import CategoricalSpec, FeatureView, NumericSpec

TABLE = "customers"
NUMBER_CHARS = "0123456789.+-eE"
_SPACE_PASSES = 4  # REPLACE('  ', ' ') four times collapses runs of up to 16 spaces
# every character Python's \s matches: what the model strips from a cell and collapses in a category
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if re.match(r"\s", c))
INNER = "\t\n\r\xa0\u2028"  # made spaces inside a category cell, with any other whitespace its levels hold


def ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """A single-quoted SQL text literal."""
    return "'" + str(text).replace("'", "''") + "'"


def number(x: float) -> str:
    """A plain decimal literal (no exponent): 87845.5, 96000, 0.00001."""
    d = Decimal(repr(float(x)))
    return f"{d:f}" if d != d.to_integral_value() else f"{int(d)}"


def sql_key(text: str, *, ascii_only: bool) -> str:
    """What the SQL normalisation makes of a trained level: whitespace made spaces, trimmed and
    collapsed, lower case (ASCII letters only, as SQLite's LOWER, or all letters), ' and ' → ' & '."""
    t = re.sub(" +", " ", re.sub(r"\s", " ", text).strip(" "))
    t = t.translate({c: c + 32 for c in range(65, 91)}) if ascii_only else t.lower()
    return t.replace(" and ", " & ")


def _text(col: str) -> str:
    return f"TRIM(CAST({ident(col)} AS VARCHAR), {literal(WHITESPACE)})"


def _num(f: NumericSpec) -> str:
    return f"COALESCE(CAST(NULLIF({_text(f.name)}, '') AS DOUBLE PRECISION), {number(f.fill)})"


def _cat(f: CategoricalSpec) -> str:
    expr = _text(f.name)
    if any(" " in sql_key(lv, ascii_only=False) for lv in f.levels):
        inner = set(INNER) | {c for lv in f.levels for c in lv if c in WHITESPACE and c != " "}
        for c in sorted(inner):
            expr = f"REPLACE({expr}, {literal(c)}, ' ')"
        for _ in range(_SPACE_PASSES):
            expr = f"REPLACE({expr}, '  ', ' ')"
    expr = f"REPLACE(LOWER({expr}), ' and ', ' & ')"
    return f"COALESCE(NULLIF({expr}, ''), {literal(sql_key(f.fill, ascii_only=True))})"


def _keys(levels: Sequence[str]) -> str:
    keys: list[str] = []
    for lv in levels:
        for k in (sql_key(lv, ascii_only=True), sql_key(lv, ascii_only=False)):
            if k not in keys:
                keys.append(k)
    return "(" + ", ".join(literal(k) for k in keys) + ")"


def _condition(c: RuleCondition, view: FeatureView) -> str:
    if c.levels is not None:
        f = next(x for x in view.categorical if x.name == c.feature)
        return f"{_cat(f)} IN {_keys(c.levels)}"
    f = next(x for x in view.numeric if x.name == c.feature)
    parts = []
    if c.lower is not None:
        parts.append(f"{_num(f)} >= {number(c.lower)}")
    if c.upper is not None:
        parts.append(f"{_num(f)} < {number(c.upper)}")
    return " AND ".join(parts) or "1 = 1"


def _rejects(view: FeatureView) -> list[tuple[str, str]]:
    """(comment, condition) of the rows the model would reject; in CASE order (a cast is only
    reached once the text is known to look like a number)."""
    out = []
    for f in view.numeric:
        text = _text(f.name)
        out.append((f"{f.name}: not a number",
                    f"NULLIF({text}, '') IS NOT NULL AND TRIM({text}, {literal(NUMBER_CHARS)}) <> ''"))
    for f in view.numeric:
        limits = []
        if f.hard_min is not None:
            limits.append(f"{_num(f)} < {number(f.hard_min)}")
        if f.hard_max is not None:
            limits.append(f"{_num(f)} > {number(f.hard_max)}")
        if limits:
            out.append((f"{f.name}: outside its limits", " OR ".join(limits)))
    for f in view.categorical:
        out.append((f"{f.name}: not one of {', '.join(f.levels)}", f"{_cat(f)} NOT IN {_keys(f.levels)}"))
    return out


def _comment(text: str) -> str:
    return "-- " + " ".join(str(text).split())


def rules_sql(rules: Any, schema_like: Any, *, names: Sequence[str] | None = None) -> str:
    """The query (module docstring) that assigns `rules`' segments: the manifest's `Rules` record,
    or anything with its `as_dict()` (`training.rules.tree.Rules`). `names` (one per segment) only
    label the comments. The schema gives levels and hard limits, the rules their fills."""
    if not isinstance(rules, Rules):
        rules = Rules.from_dict(rules.as_dict())
    view = FeatureView.of(schema_like, fills=rules.fills)
    if sorted(view.names) != sorted(rules.fills):
        raise ValueError(f"the schema's features {view.names} differ from the rules' {sorted(rules.fills)}")
    lines = [_comment(f"Segment rules: {rules.k} segments; fidelity {rules.fidelity:.1%} (share of the "
                      f"{rules.rows:,} training customers these rules put in the model's segment)."),
             _comment("Input: a table named customers with the CSV's own columns (text or numbers). "
                      "Output: every column plus segment_id."),
             _comment("Runs unchanged in SQLite, DuckDB and PostgreSQL. Normalisation as the model: "
                      "cells trimmed, empty = missing, missing numbers = training median, missing "
                      "categories = most frequent level, categories case-insensitive with 'and' = '&'."),
             _comment("segment_id is NULL where the model rejects the row (not a number, outside the "
                      "limits, unknown category).")]
    for s in range(rules.k):
        title = f"segment {s}" + (f" ({names[s]})" if names and s < len(names) else "")
        texts = [r.text for r in rules.rules if r.segment == s] or ["(no rule: the rules never choose this segment)"]
        lines += [_comment(f"{title}: " + " OR ".join(f"[{t}]" for t in texts))]
    lines += [f"SELECT {TABLE}.*,", "  CASE"]
    for why, cond in _rejects(view):
        lines += [f"    {_comment(why)}", f"    WHEN {cond} THEN NULL"]
    for r in rules.rules:
        cond = " AND ".join(_condition(c, view) for c in r.conditions) or "1 = 1"
        lines += [f"    {_comment(f'segment {r.segment}: {r.text}')}", f"    WHEN {cond} THEN {r.segment}"]
    lines += ["    ELSE NULL", "  END AS segment_id", f"FROM {TABLE};", ""]
    return "\n".join(lines)
