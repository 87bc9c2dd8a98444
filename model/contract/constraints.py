"""Per-feature constraints that check one value or a whole column and describe themselves.

In the manner of scikit-learn's ``utils/_param_validation.py`` (``Interval``, ``StrOptions``): each
constraint knows what it accepts (`accepts` for one value, `bad_cells` for a column), says so in
words (``str(constraint)`` → "a number between 0 and 250") and as JSON Schema (`json_schema`).
`model.contract.schema` builds every error message of every surface — form, gradio_client, raw Gradio calls,
JSON, MCP, batch, CLI — from these sentences, so the same bad value gets the same message everywhere.
"""
from __future__ import annotations

import math
from decimal import Decimal
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.contract.errors import echo
from model.tables.cells import category_key


def number_text(x: float) -> str:
    """A limit or a value as people write it: the shortest exact decimal, thousands separated
    (96000.0 → '96,000', 162.6 → '162.6', 1e-05 → '0.00001'); huge values in exponent form."""
    if type(x) is not float:
        x = float(x)
    if not -1e15 < x < 1e15:  # also NaN and ±inf
        return f"{x:g}"
    if x.is_integer():
        return f"{int(x):,}"
    if -1e-4 < x < 1e-4:  # repr would write an exponent: Decimal writes every digit
        return f"{Decimal(repr(x)):,f}"
    return format(x, ",")  # the shortest repr, with separators (served on every answer: no Decimal)


@dataclass(frozen=True)
class Interval:
    """A finite number in [low, high]. Booleans, strings and other types are not numbers."""
    low: float
    high: float

    def __str__(self) -> str:
        return f"a number between {number_text(self.low)} and {number_text(self.high)}"

    def parse(self, value: Any) -> float | None:
        """The value as a float when it is a finite number inside the interval, else None."""
        # bool is an int subclass in Python; a checkbox value is not an income.
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return None
        try:
            x = float(value)
        except OverflowError:  # an integer with hundreds of digits
            return None
        return x if math.isfinite(x) and self.low <= x <= self.high else None

    def bad_cells(self, values: np.ndarray) -> np.ndarray:
        """True where a float value (NaN = missing, not bad) is infinite or outside the interval."""
        with np.errstate(invalid="ignore"):
            inside = (values >= self.low) & (values <= self.high)  # False for NaN and ±inf beyond
        return ~inside & ~np.isnan(values) | np.isinf(values)

    def json_schema(self) -> dict[str, Any]:
        return {"type": ["number", "null"], "minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class Options:
    """One of a fixed list of levels, spelled in any case and spacing ('home and garden' counts)."""
    levels: tuple[str, ...]
    _lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lookup", {category_key(v): v for v in self.levels})

    def __str__(self) -> str:
        return "one of " + ", ".join(self.levels)

    def parse(self, value: Any) -> str | None:
        """The trained spelling of `value`, or None when it is not a level (or not text)."""
        return self._lookup.get(category_key(value)) if isinstance(value, str) else None

    @property
    def keys(self) -> dict[str, int]:
        """`category_key` of each level → its index (`model.tables.cells.category_codes` reads a
        column with it)."""
        return {key: self.levels.index(level) for key, level in self._lookup.items()}

    def json_schema(self) -> dict[str, Any]:
        return {"type": ["string", "null"], "enum": [*self.levels, None]}


Constraint = Interval | Options


def violation(name: str, constraint: Constraint, received: Any) -> str:
    """The one sentence for a value that breaks a constraint."""
    return f"{name} must be {constraint}; got {echo(received)}"


def required(name: str, constraint: Constraint) -> str:
    return f"{name} is required ({constraint})"


def cell_echo(raw: Any) -> Any:
    """What a CSV cell is shown as in a message: the number when it reads as one ("-5"),
    else the text as sent — so CSV and JSON report the same bad value the same way."""
    if isinstance(raw, str):
        try:
            x = float(raw.strip())
        except ValueError:
            return raw
        return x
    return raw


def display_number(x: float | None) -> str:
    """A statistic for people: 58,730 / 162 / 24.2; "n/a" when there is none."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}"
