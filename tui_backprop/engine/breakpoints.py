"""Breakpoints: stop a run before a program line, or at the first op where a condition holds.

Conditions use a small language parsed here (never ``eval``):

    loss < 0.01          loss increased        epoch == 500         step >= 100
    grad_norm > 1e3      grad_norm < 1e-8      |w| > 10             accuracy >= 1.0
    dead relu            nan                   prediction correct

A run checks conditions once per step (cheap); when one holds, the step is replayed
op by op to find the first op where it became true, and the run stops there.
"""

from __future__ import annotations

import math
import operator
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui_backprop.engine.running import RunResult, StopReason
from tui_backprop.engine.session import Session

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_COMPARISON = re.compile(r"^\s*(\|w\||[a-z_]+)\s*(<=|>=|==|!=|<|>)\s*([-+0-9.eE]+|inf|nan)\s*$")


class BreakpointError(ValueError):
    """A condition could not be parsed; the message says what is accepted."""


@dataclass(frozen=True)
class Facts:
    """What a condition may look at, after some op of some step.

    Attributes:
        session: The session (read only).
        values: Values computed so far in the step.
        previous_loss: The loss of the step before, if any.
    """

    session: Session
    values: dict[str, Any]
    previous_loss: float | None


def _grad_norm(facts: Facts) -> float | None:
    grads = [facts.values[f"d{name}"] for name in facts.session.program.parameter_names if f"d{name}" in facts.values]
    if len(grads) < len(facts.session.program.parameter_names):
        return None  # not all gradients computed yet in this step
    return math.sqrt(sum(float(np.sum(np.square(grad))) for grad in grads))


def _max_abs_weight(facts: Facts) -> float:
    return max(float(np.max(np.abs(value))) for value in facts.session.params.values())


def _accuracy(facts: Facts) -> float | None:
    output = facts.values.get(facts.session.program.output)
    if output is None:
        return None
    targets = facts.values["y"]
    if output.shape[1] == 1:
        correct = (output[:, 0] >= 0.5) == (targets[:, 0] >= 0.5)
    else:
        correct = np.argmax(output, axis=1) == np.argmax(targets, axis=1)
    return float(np.mean(correct))


def _loss(facts: Facts) -> float | None:
    loss = facts.values.get("loss")
    return None if loss is None else float(loss)


METRICS: dict[str, Callable[[Facts], float | None]] = {
    "loss": _loss,
    "epoch": lambda facts: float(facts.session.cursor.epoch + 1),
    "step": lambda facts: float(facts.session.cursor.step + 1),
    "grad_norm": _grad_norm,
    "|w|": _max_abs_weight,
    "accuracy": _accuracy,
}


def _loss_increased(facts: Facts) -> bool:
    loss = _loss(facts)
    return loss is not None and facts.previous_loss is not None and loss > facts.previous_loss


def _dead_relu(facts: Facts) -> bool:
    for number, layer in enumerate(facts.session.scenario.network.layers, start=1):
        activation = facts.values.get(f"a{number}")
        if layer.activation == "relu" and activation is not None and bool(np.any(np.all(activation <= 0.0, axis=0))):
            return True
    return False


def _non_finite(facts: Facts) -> bool:
    return any(
        isinstance(value, np.ndarray | np.floating) and not bool(np.all(np.isfinite(value)))
        for value in (*facts.values.values(), *facts.session.params.values())
    )


def _prediction_correct(facts: Facts) -> bool:
    accuracy = _accuracy(facts)
    return accuracy is not None and accuracy >= 1.0


KEYWORDS: dict[str, Callable[[Facts], bool]] = {
    "loss increased": _loss_increased,
    "dead relu": _dead_relu,
    "nan": _non_finite,
    "prediction correct": _prediction_correct,
}
HELP = "expected e.g. 'loss < 0.01', 'grad_norm > 1e3', '|w| > 10', 'epoch == 500', 'accuracy >= 1.0', " + ", ".join(
    f"'{keyword}'" for keyword in KEYWORDS
)


@dataclass(frozen=True)
class Condition:
    """A parsed condition: ``text`` as the user typed it, and its test."""

    text: str
    test: Callable[[Facts], bool] = field(compare=False)

    def holds(self, facts: Facts) -> bool:
        """Whether the condition is true for ``facts``."""
        return self.test(facts)


def parse_condition(text: str) -> Condition:
    """Parse a condition.

    Raises:
        BreakpointError: The text is not a condition; the message lists what is accepted.
    """
    normalized = " ".join(text.lower().split())
    if normalized in KEYWORDS:
        return Condition(normalized, KEYWORDS[normalized])
    match = _COMPARISON.match(normalized)
    if not match:
        raise BreakpointError(f"cannot read {text!r}; {HELP}")
    metric_name, comparator_text, number_text = match.groups()
    if metric_name not in METRICS:
        raise BreakpointError(f"unknown quantity {metric_name!r}; known: {', '.join(METRICS)}")
    try:
        threshold = float(number_text)
    except ValueError:
        raise BreakpointError(f"{number_text!r} is not a number") from None
    metric, compare = METRICS[metric_name], COMPARATORS[comparator_text]

    def test(facts: Facts) -> bool:
        value = metric(facts)
        return value is not None and compare(value, threshold)

    return Condition(f"{metric_name} {comparator_text} {number_text}", test)


@dataclass
class Breakpoint:
    """An op breakpoint (``op`` set) or a condition breakpoint (``condition`` set).

    Attributes:
        op: Program line (op index) to stop before, every step.
        condition: Condition to stop at.
        enabled: Disabled breakpoints are kept but ignored.
        ignore: Hits to pass over before stopping (a hit count).
        hits: How often it has stopped a run.
    """

    op: int | None = None
    condition: Condition | None = None
    enabled: bool = True
    ignore: int = 0
    hits: int = 0

    def describe(self, session: Session) -> str:
        """One line for the breakpoints list."""
        if self.op is not None:
            what = f"before op {self.op}: {session.ops[self.op].formula}"
        else:
            what = f"when {self.condition.text if self.condition else '?'}"
        state = "" if self.enabled else " (disabled)"
        return f"{what}{state}" + (f", ignore {self.ignore}" if self.ignore else "") + f", hits {self.hits}"


class Breakpoints:
    """The breakpoints of a session, and the search for the next (or previous) hit."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.items: list[Breakpoint] = []

    def toggle_op(self, op: int) -> bool:
        """Add or remove the breakpoint on program line ``op``. True if it is now set."""
        existing = next((item for item in self.items if item.op == op), None)
        if existing is not None:
            self.items.remove(existing)
            return False
        self.items.append(Breakpoint(op=op))
        return True

    def add_condition(self, text: str) -> Breakpoint:
        """Parse and add a condition breakpoint (raises BreakpointError on bad text)."""
        item = Breakpoint(condition=parse_condition(text))
        self.items.append(item)
        return item

    @property
    def active(self) -> list[Breakpoint]:
        """Enabled breakpoints."""
        return [item for item in self.items if item.enabled]

    def facts(self) -> Facts:
        """Facts about the session as it stands."""
        losses = self.session.step_losses
        cursor = self.session.cursor
        # step_losses holds completed steps; the step being shown is complete only at its end.
        previous = cursor.step - 1
        return Facts(self.session, self.session.values, losses[previous] if 0 <= previous < len(losses) else None)

    def first_condition(self) -> Breakpoint | None:
        """The first enabled condition breakpoint that holds now."""
        facts = self.facts()
        return next((item for item in self.active if item.condition is not None and item.condition.holds(facts)), None)

    def run(
        self, cancel: threading.Event | None = None, seconds: float | None = None, max_epochs: int | None = None
    ) -> RunResult:
        """``Session.run`` that also stops on breakpoints.

        The run stops at the first place after the cursor where an enabled breakpoint is hit more
        often than its ``ignore`` count: before a breakpointed op, or after the first op of a step where
        a condition holds. A partly executed step is finished first, checking only what lies ahead.
        """
        session = self.session
        origin, count = session.position, session.ops_per_step
        if origin % count and self.active:
            session.goto(origin - origin % count + count, show_completed=True)
            message = self._check_step(after=origin)
            if message is not None:
                return RunResult(StopReason.BREAKPOINT, 0, message)
        return session.run(
            cancel=cancel, seconds=seconds, max_epochs=max_epochs, after_step=self.after_step if self.active else None
        )

    def _op_lines(self) -> list[int]:
        return sorted({item.op for item in self.active if item.op is not None})

    def after_step(self) -> str | None:
        """For ``Session.run``: stop at the first breakpoint hit in the step just finished, if any."""
        return self._check_step(after=self.session.position - self.session.ops_per_step)

    def _check_step(self, after: int) -> str | None:
        """Count the hits after position ``after`` in the step that just ended; stop at the first that counts.

        Op ``k`` is hit at the step's start + ``k`` (op 0 at its end, before the next step's first op);
        a condition at the first op of the step after which it holds (found by replay, only if it holds
        at the end of the step: conditions are checked once per step).
        """
        session = self.session
        step_end = session.position
        step_start = step_end - session.ops_per_step
        hits: list[tuple[int, int, Breakpoint]] = []
        for item in self.active:
            if item.op is not None:
                position = step_start + item.op if item.op else step_end
                if position > after:
                    hits.append((position, 0, item))
        if any(item.condition is not None for item in self.active) and self.first_condition() is not None:
            session.goto(step_start, show_completed=False)
            while session.position < step_end:
                session.step()
                found = self.first_condition()
                if found is not None:
                    if session.position > after:
                        hits.append((session.position, 1, found))
                    break
        for position, _, item in sorted(hits, key=lambda hit: hit[:2]):
            item.hits += 1
            if item.hits > item.ignore:
                return self._stop(position, item)
        session.goto(step_end, show_completed=True)
        return None

    def _stop(self, position: int, item: Breakpoint) -> str:
        """Move to where ``item`` was hit and say why the run stopped there."""
        session = self.session
        if item.op is not None:
            session.goto(position, show_completed=False)
            return f"breakpoint before op {item.op}: {session.ops[item.op].formula}"
        session.goto(position, show_completed=True)
        text = item.condition.text if item.condition else "?"
        return f"breakpoint: {text} (after {session.ops[(position - 1) % session.ops_per_step].formula})"

    def previous_hit(self) -> int | None:
        """The latest position before the current one where an enabled breakpoint would stop a run.

        Steps are examined backwards by replay (exact); returns None if there is none. The cursor is
        left where it was.
        """
        session = self.session
        target, count = session.position, session.ops_per_step
        shown = session.cursor.op_index != 0  # which side of a step boundary to come back to
        step_start = (target - 1) // count * count if target else 0
        candidates = [step_start + op for op in self._op_lines() if step_start + op < target]
        candidates += [step_start - count + op for op in self._op_lines() if step_start - count + op >= 0]
        found = max(candidates, default=None)
        conditions = [item for item in self.active if item.condition is not None]
        if conditions:
            for start in range(step_start, -1, -count):
                if found is not None and found >= start + count:
                    break
                hit = self._first_in_step(start, min(start + count, target - 1))
                if hit is not None:
                    found = hit if found is None else max(found, hit)
                    break
        session.goto(target, show_completed=shown)
        return found

    def _first_in_step(self, start: int, end: int) -> int | None:
        """The first position in (start, end] where a condition holds, by replaying that step."""
        session = self.session
        if end <= start:
            return None
        session.goto(end, show_completed=True)  # at a step's end, show that step (not the blank next one)
        if self.first_condition() is None:
            return None
        session.goto(start, show_completed=False)
        while session.position < end:
            session.step()
            if self.first_condition() is not None:
                return session.position
        return None
