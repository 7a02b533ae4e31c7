"""The explanation record and number formatting: equations, their live numbers, sums that abbreviate.

Shared by every op family's explainer; nothing here knows about ops.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_TERMS = 6
"""Sums with more terms than this are abbreviated: the first few, an ellipsis, the last, and the count."""
HEAD_TERMS = 3
MINUS = "−"
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

Table = Mapping[str, Any]


# -- the record --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Equation:
    """One line of arithmetic: ``target relation formula``, then with numbers, then the result.

    Attributes:
        target: Left-hand side, e.g. ``δ[h1]``.
        relation: ``=`` for a definition, ``←`` for an assignment (an update).
        formula: The right-hand side in symbols.
        substituted: The right-hand side with the live numbers; empty when there is nothing to substitute.
        result: The value as shown (rounded for display).
        value: The engine's value at full precision; None for results that are not one number.
    """

    target: str
    relation: str
    formula: str
    substituted: str
    result: str
    value: float | None

    def lines(self) -> tuple[str, ...]:
        """The three lines as the articles write them, the ``=`` signs aligned."""
        head = f"{self.target} {self.relation} "
        pad = " " * (len(head) - 2)
        lines = [head + self.formula]
        if self.substituted:
            lines.append(f"{pad}= {self.substituted}")
        lines.append(f"{pad}= {self.result}")
        return tuple(lines)

    def inline(self) -> str:
        """The numbers on one line, e.g. ``W2[h1,o1] ← 0.3700 − 1.2 · (−0.02012) = 0.3941``."""
        if not self.substituted:
            return f"{self.target} {self.relation} {self.result}"
        return f"{self.target} {self.relation} {self.substituted} = {self.result}"


@dataclass(frozen=True)
class Explanation:
    """What one op computes for one node or parameter entry.

    Attributes:
        op_index: Which op of the step.
        kind: The op's kind.
        focus: What it is about, e.g. ``h1, sample 1 of 3`` or ``W2[h1,o1]``.
        equations: The arithmetic, in reading order.
        main: Index into ``equations`` of the line that computes what the op writes.
        plain: One sentence in plain language.
        executed: False when the op has not run yet (its numbers come from running it on a copy).
        note: A remark shown under the arithmetic, or empty.
    """

    op_index: int
    kind: str
    focus: str
    equations: tuple[Equation, ...]
    main: int
    plain: str
    executed: bool
    note: str = ""

    @property
    def formula(self) -> str:
        """The main equation's symbolic line."""
        return self.equations[self.main].lines()[0]

    @property
    def substituted(self) -> str:
        """The main equation's line with numbers ('' when it has none)."""
        lines = self.equations[self.main].lines()
        return lines[1] if len(lines) == 3 else ""

    @property
    def result(self) -> str:
        """The main equation's result line."""
        return self.equations[self.main].lines()[-1]

    def lines(self, plain: bool = True) -> tuple[str, ...]:
        """Every line to show, equations first, then the note and the plain-language line."""
        lines = [line for equation in self.equations for line in equation.lines()]
        if self.note:
            lines.append(self.note)
        if plain:
            lines.append(self.plain)
        return tuple(lines)


# -- numbers -----------------------------------------------------------------------------------------


def _signed(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def _scientific(value: float, digits: int) -> str:
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return _signed(f"{mantissa}e{int(exponent):+03d}".replace("e+", "e"))


class Numbers:
    """How numbers are written in explanations.

    Parameters (weights and biases) have ``digits`` significant digits, as in the parameters panel.
    Computed values get one decimal more (but never fewer than ``digits`` significant digits), so the
    small activations and deltas of backprop keep their information: ``0.10573``, ``−0.009204``.
    Data and hyper-parameters are written exactly when they are short (``0.9``, ``1.2``, ``1e-08``).

    Args:
        digits: Significant digits (4 or 8 in the app).
    """

    def __init__(self, digits: int = 4) -> None:
        self.digits = digits

    def parameter(self, value: float) -> str:
        """A weight or bias, e.g. ``0.3700``."""
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0." + "0" * (self.digits - 1)
        magnitude = math.floor(math.log10(abs(value)))
        if -4 <= magnitude < self.digits:
            return _signed(f"{value:.{max(self.digits - 1 - magnitude, 0)}f}")
        return _scientific(value, self.digits)

    def value(self, value: float) -> str:
        """A computed value, e.g. ``0.10573`` or ``−0.009204``."""
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 10**self.digits:
            return _signed(str(int(value)))  # exact: a slope of 1, a loss of 0
        magnitude = math.floor(math.log10(abs(value)))
        if magnitude < -4 or magnitude > self.digits + 1:
            return _scientific(value, self.digits)
        if magnitude < 0:
            decimals = max(self.digits + 1, self.digits - 1 - magnitude)
        else:
            decimals = max(self.digits - magnitude, 0)
        return _signed(f"{value:.{decimals}f}")

    def exact(self, value: float) -> str:
        """Data or a hyper-parameter: as written when short (``0.9``, ``1e-08``), else like a value."""
        value = float(value)
        text = repr(value)
        if text.endswith(".0"):
            text = text[:-2]
        significant = len(text.split("e")[0].replace("-", "").replace(".", "").lstrip("0"))
        if significant <= self.digits + 2:
            return _signed(text)
        return self.value(value)


def operand(text: str) -> str:
    """A number ready to stand next to an operator: negatives in parentheses, ``(−0.03727)``."""
    return f"({text})" if text.startswith(MINUS) else text


def subscript(number: int) -> str:
    """``12`` → ``₁₂``."""
    return str(number).translate(_SUBSCRIPTS)


def series(symbols: Sequence[str], numbers: Sequence[str], sigma: str) -> tuple[str, str, str]:
    """Join terms with ``+``; above ``MAX_TERMS``, the sum symbol and an abbreviated list.

    Returns:
        (symbolic, substituted, note): note says how many terms an abbreviated sum has.
    """
    if len(symbols) <= MAX_TERMS:
        return " + ".join(symbols), " + ".join(numbers), ""
    shown = " + ".join([*numbers[:HEAD_TERMS], "…", numbers[-1]])
    return sigma, shown, f"({len(numbers)} terms; {len(numbers) - HEAD_TERMS - 1} not shown)"


def group(text: str) -> str:
    """Parenthesise a sum that is about to be multiplied or divided."""
    return f"({text})" if " + " in text or text.startswith("Σ") else text
