"""Fixed-width number formatting, so columns of values never jump when they change."""

from __future__ import annotations

import math


def format_number(value: float, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits, fixed-point when readable, with an explicit sign slot.

    Args:
        value: The number.
        digits: Significant digits.

    Returns:
        A string of the same width for every value of similar magnitude, e.g. `` 0.5933``, ``-0.03727``.
    """
    if math.isnan(value) or math.isinf(value):
        return f"{value:>{digits + 3}}"
    if value == 0:
        return " " + "0." + "0" * (digits - 1)
    magnitude = math.floor(math.log10(abs(value)))
    if -4 <= magnitude < digits:
        decimals = max(digits - 1 - magnitude, 0)
        return f"{value: .{decimals}f}"
    return f"{value: .{digits - 1}e}"


def number_width(digits: int) -> int:
    """The widest string ``format_number`` returns for ``digits`` in the fixed-point range."""
    return digits + 7
