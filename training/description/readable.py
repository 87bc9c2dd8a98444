"""Numbers for people: the roundest threshold in a gap, and plain decimal text."""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from model.contract.constraints import number_text  # noqa: F401  (re-exported: one way to write numbers)


def roundest_between(a: float, b: float, near: float) -> float:
    """The number r with a < r <= b that has the fewest significant digits (among equally round
    ones, the nearest to `near`): 95,812 < r <= 96,140 → 96,000."""
    if not a < b:
        raise ValueError(f"need a < b, got {a!r} and {b!r}")
    da, db, dn = Decimal(repr(a)), Decimal(repr(b)), Decimal(repr(near))
    top = max(abs(da), abs(db)).adjusted() + 1
    for exp in range(top, top - 40, -1):
        for mult in (10, 5, 2, 1):
            step = Decimal(mult).scaleb(exp - 1)
            base = (dn / step).to_integral_value(rounding=ROUND_FLOOR) * step
            fits = [c for c in (base, base + step, base - step) if a < float(c) <= b]
            if fits:
                return float(min(fits, key=lambda c: abs(c - dn)))
    return float(b)
