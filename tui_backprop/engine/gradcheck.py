"""Check the engine's gradients against central finite differences of the batch loss.

The articles say to verify a backprop implementation this way: nudge one parameter by ±h, see how
the loss moves, and compare with ∂L/∂θ from backprop. Both sides run the engine's own op functions
(the program's forward, loss and backward ops) on copies of the value table, so it is the real code
path that is checked, for the batch of the step being shown and its parameters before the update.

Pure: numpy only; the session is not changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui_backprop.engine.explain import values_before
from tui_backprop.engine.program import Op
from tui_backprop.engine.session import Session

TOLERANCE = 1e-5
"""A relative error above this fails the check."""
LIMIT = 400
"""Above this many parameter entries, a random sample of this many is checked (and the result says so)."""
STEP = 1e-4
"""The nudge h; the five-point stencil's error is O(h⁴), far below the tolerance for smooth losses."""
FLOOR = 1e-7
"""Gradients smaller than this are compared absolutely: their relative error is rounding noise."""


@dataclass(frozen=True)
class GradientRow:
    """One parameter entry checked.

    Attributes:
        name: ``W2``, ``b1``, ...
        index: The entry, e.g. ``(0, 1)``.
        analytic: ∂L/∂θ from backprop.
        numeric: The finite-difference estimate.
        relative_error: |analytic − numeric| / max(|analytic|, |numeric|, FLOOR).
        failed: Whether the relative error exceeds the tolerance.
    """

    name: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    relative_error: float
    failed: bool


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of a gradient check.

    Attributes:
        rows: One per checked entry, in parameter order.
        total: Entries in all parameters together.
        sampled: True when only a random sample of the entries was checked.
        seed: The seed of that sample.
        tolerance: The relative error that fails an entry.
        step: The nudge h.
        loss: The batch loss at the unchanged parameters.
        step_number: The training step (from 0) whose batch was used.
    """

    rows: tuple[GradientRow, ...]
    total: int
    sampled: bool
    seed: int
    tolerance: float
    step: float
    loss: float
    step_number: int

    @property
    def failures(self) -> tuple[GradientRow, ...]:
        """The entries whose relative error exceeds the tolerance."""
        return tuple(row for row in self.rows if row.failed)

    @property
    def passed(self) -> bool:
        """True when no checked entry failed."""
        return not self.failures

    @property
    def worst(self) -> float:
        """The largest relative error found."""
        return max((row.relative_error for row in self.rows), default=0.0)

    @property
    def summary(self) -> str:
        """One line for a person, e.g. ``PASSED: 12 of 12 entries within 1e-05 (worst 3.1e-10)``."""
        checked = len(self.rows)
        scope = (
            f"a random sample of {checked} of {self.total} entries (seed {self.seed})"
            if self.sampled
            else f"all {checked} entries"
        )
        where = f"step {self.step_number + 1}, batch loss {self.loss:.6g}"
        if self.passed:
            return f"PASSED: {scope} agree within {self.tolerance:g} (worst {self.worst:.1e}); {where}"
        return (
            f"FAILED: {len(self.failures)} of {checked} entries differ by more than {self.tolerance:g} "
            f"(worst {self.worst:.1e}); checked {scope}; {where}"
        )


def relative_error(analytic: float, numeric: float) -> float:
    """|a − n| / max(|a|, |n|, FLOOR)."""
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), FLOOR)


def _entries(
    shapes: dict[str, tuple[int, ...]], limit: int, seed: int
) -> tuple[list[tuple[str, tuple[int, ...]]], bool]:
    """Every entry, or a random sample of about ``limit`` with at least one from every parameter."""
    everything = [(name, index) for name, shape in shapes.items() for index in np.ndindex(shape)]
    if len(everything) <= limit:
        return everything, False
    rng = np.random.default_rng(seed)
    total = len(everything)
    chosen: list[tuple[str, tuple[int, ...]]] = []
    for name, shape in shapes.items():
        size = math.prod(shape)
        count = min(size, max(1, round(limit * size / total)))
        for flat in sorted(rng.choice(size, size=count, replace=False)):
            chosen.append((name, tuple(int(i) for i in np.unravel_index(int(flat), shape))))
    return chosen, True


def check_gradients(
    session: Session, limit: int = LIMIT, tolerance: float = TOLERANCE, step: float = STEP, seed: int | None = None
) -> GradientCheck:
    """Compare backprop's ∂L/∂θ with finite differences for the step being shown.

    Uses the step's batch (the next batch if the step has not begun) and the parameters as they were
    before the step's update ops.

    Args:
        session: The session (not changed).
        limit: Check a random sample of this many entries when there are more.
        tolerance: A relative error above it fails an entry.
        step: The nudge h.
        seed: Seed of the sample; the scenario's seed by default.

    Returns:
        The rows and a summary.
    """
    ops = session.ops
    first = next(op.index for op in ops if op.kind != "batch")
    base = values_before(session, first)
    return check_program(
        ops[first:],
        base,
        session.program.parameter_names,
        limit,
        tolerance,
        step,
        session.scenario.seed if seed is None else seed,
    )


def _run(ops: tuple[Op, ...] | list[Op], table: dict[str, Any]) -> dict[str, Any]:
    for op in ops:
        op.run(table)
    return table


def check_program(
    ops: tuple[Op, ...],
    base: dict[str, Any],
    parameter_names: tuple[str, ...],
    limit: int = LIMIT,
    tolerance: float = TOLERANCE,
    step: float = STEP,
    seed: int = 0,
) -> GradientCheck:
    """The check on any list of ops (forward, loss, backward, ...) from a value table holding a batch.

    Args:
        ops: The step's ops after the batch op.
        base: The value table before ``ops[0]``: parameters, ``x``, ``y`` and whatever the ops read.
        parameter_names: The parameters to check.
        limit: Check a random sample of this many entries when there are more.
        tolerance: A relative error above it fails an entry.
        step: The nudge h.
        seed: Seed of the sample.

    Returns:
        The rows and a summary.
    """
    loss_at = next(i for i, op in enumerate(ops) if op.kind == "loss")
    backward_end = next((i for i, op in enumerate(ops) if op.kind == "update"), len(ops))
    analytic = _run(ops[:backward_end], dict(base))
    # Ops before the first reader of a parameter do not depend on it: run them once per parameter.
    prefixes: dict[str, tuple[int, dict[str, Any]]] = {}
    for name in parameter_names:
        start = next(i for i, op in enumerate(ops) if name in op.reads)
        prefixes[name] = (start, _run(ops[:start], dict(base)))

    def loss_with(name: str, index: tuple[int, ...], delta: float) -> float:
        start, prefix = prefixes[name]
        table = dict(prefix)
        nudged = np.array(base[name], dtype=np.float64)
        nudged[index] += delta
        table[name] = nudged
        return float(_run(ops[start : loss_at + 1], table)["loss"])

    shapes = {name: np.shape(base[name]) for name in parameter_names}
    entries, sampled = _entries(shapes, limit, seed)
    rows = []
    for name, index in entries:
        # The five-point central stencil: (−L(+2h) + 8L(+h) − 8L(−h) + L(−2h)) / 12h.
        plus, minus = loss_with(name, index, step), loss_with(name, index, -step)
        plus2, minus2 = loss_with(name, index, 2 * step), loss_with(name, index, -2 * step)
        numeric = (8.0 * (plus - minus) - (plus2 - minus2)) / (12.0 * step)
        exact = float(analytic[f"d{name}"][index])
        error = relative_error(exact, numeric)
        rows.append(GradientRow(name, index, exact, numeric, error, not error <= tolerance))
    return GradientCheck(
        tuple(rows),
        sum(math.prod(shape) for shape in shapes.values()),
        sampled,
        seed,
        tolerance,
        step,
        float(analytic["loss"]),
        int(base["step"]),
    )
