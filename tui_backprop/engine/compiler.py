"""Turns the code of a program's ops into Python functions: one per op for the stepper, one loop for a fast run.

Every op is written once, as a line or two of Python over named values (``z1 = x @ W1 + b1``,
``a1 = _forward1(z1)``) whose helpers come from the op table. The stepper runs one op's lines against
the session's value table; the fast run runs the lines of all ops, step after step, with the values
kept in local variables and written back to the table only when asked, and books each step's loss
itself. Both drivers execute the very same lines, so they do the same floating-point operations in the
same order (their results are bit-identical), while the fast run pays no per-op or per-step dispatch:
it is nearly as quick as a hand-written loop.

Nothing from a scenario file ever becomes code: value names are made from layer numbers, and the
helpers are bound as objects, not spelled out.
"""

from __future__ import annotations

import keyword
import linecache
import math
from collections.abc import Callable, Generator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any

Values = MutableMapping[str, Any]
"""A value table: parameters, optimizer state and the current step's values, by name."""

Halt = Callable[[], bool] | None
"""Asked before every step of a fast loop; True stops it there (a cancel event, a deadline)."""

StepLoop = Generator[Any, tuple[int, float, Halt] | None, None]
"""A running fast loop (see ``compile_loop``)."""

Loop = Callable[[Values, list[float], list[Any]], StepLoop]
"""A compiled fast loop: called with the value table and the lists to book losses into."""

_serial = count()


@dataclass(frozen=True)
class OpCode:
    """The source of one op.

    Attributes:
        code: Python statements over value names and the helpers' names.
        reads: Values it reads (loaded from the table before ``code`` runs).
        writes: Values it writes (stored into the table after ``code`` runs).
    """

    code: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]


def _check_names(names: Sequence[str], helpers: Mapping[str, object]) -> None:
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_") or name in helpers:
            raise ValueError(f"{name!r} cannot be a value name in generated code")


def _compile(source: str, label: str, helpers: Mapping[str, object], function: str) -> Callable[..., Any]:
    """Compile ``source`` and return its function ``function``; register the source so tracebacks show it."""
    filename = f"<tui-backprop {label} #{next(_serial)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = dict(helpers)
    exec(compile(source, filename, "exec"), namespace)  # our own op code only: see the module docstring
    compiled: Callable[..., Any] = namespace[function]
    return compiled


def _indent(code: str, depth: int) -> list[str]:
    return [" " * depth + line for line in code.splitlines()]


def compile_op(op: OpCode, helpers: Mapping[str, object], label: str) -> Callable[[Values], None]:
    """The stepper's function for one op: load its reads from the table, run its code, store its writes.

    Args:
        op: The op's code and the names it reads and writes.
        helpers: The objects its code calls, by the names it uses (all starting with ``_``).
        label: Names the op in tracebacks.
    """
    _check_names((*op.reads, *op.writes), helpers)
    lines = ["def run(values):"]
    lines += [f"    {name} = values[{name!r}]" for name in op.reads]
    lines += _indent(op.code, 4)
    lines += [f"    values[{name!r}] = {name}" for name in op.writes]
    run: Callable[[Values], None] = _compile("\n".join(lines) + "\n", label, helpers, "run")
    return run


def compile_loop(ops: Sequence[OpCode], persistent: Sequence[str], helpers: Mapping[str, object], label: str) -> Loop:
    """The fast run's loop: every op's code in order, repeated, over local variables.

    The returned function takes a value table and the two lists a run books into (step losses and the
    current epoch's per-sample losses) and returns a generator, primed by one ``next()``. Sending
    ``(count, floor, halt)`` runs up to ``count`` whole steps, appending each step's loss and per-sample
    losses, and yields how many ran: it stops early after a step whose loss is not finite or is
    <= ``floor``, and before a step when ``halt()`` is true. Sending ``None`` writes every value back into the table and yields the persistent
    values as they were when the last step began (in ``persistent``'s order; None before any step).
    The table must not change while the generator is in use, except through a sync.

    Args:
        ops: The ops of one training step, in order; one of them writes ``losses`` and ``loss``.
        persistent: The values that outlive a step (parameters, optimizer state, ``step``, ...).
        helpers: The objects the ops' code calls, by name.
        label: Names the loop in tracebacks.
    """
    written: list[str] = []
    loads: list[str] = list(persistent)
    for op in ops:
        loads += [name for name in op.reads if name not in written and name not in loads]
        written += [name for name in op.writes if name not in written]
    _check_names((*loads, *written), helpers)
    # The loop's own names start with "_loop_": value names cannot, helpers do not.
    lines = ["def loop(values, step_losses, epoch_parts):"]
    lines += [f"    {name} = values[{name!r}]" for name in loads]
    lines += [
        "    _loop_book_loss, _loop_book_part, _loop_start = step_losses.append, epoch_parts.append, None",
        "    _loop_request = yield",
        "    while True:",
        "        if _loop_request is None:",
        "            if _loop_start is not None:  # before the first step there is nothing new to write",
        "                values.update({" + ", ".join(f"{name!r}: {name}" for name in written) + "})",
        "            _loop_request = yield _loop_start",
        "            continue",
        "        _loop_count, _loop_floor, _loop_halt = _loop_request",
        "        _loop_done = 0",
        "        while _loop_done < _loop_count:",
        "            if _loop_halt is not None and _loop_halt():",
        "                break",
        f"            _loop_start = ({', '.join(persistent)},)",
    ]
    for op in ops:
        lines += _indent(op.code, 12)
    lines += [
        "            _loop_loss = float(loss)",
        "            _loop_book_loss(_loop_loss)",
        "            _loop_book_part(losses)",
        "            _loop_done += 1",
        "            if not _loop_isfinite(_loop_loss) or _loop_loss <= _loop_floor:",
        "                break",
        "        _loop_request = yield _loop_done",
    ]
    loop: Loop = _compile("\n".join(lines) + "\n", label, {**helpers, "_loop_isfinite": math.isfinite}, "loop")
    return loop


class FastSteps:
    """Whole training steps at full speed, with the values in a compiled loop until ``sync``.

    Args:
        loop: A compiled loop (see ``compile_loop``).
        values: The session's value table; it must not change while this object is in use.
        step_losses: Where each step's loss is appended.
        epoch_parts: Where each step's per-sample losses are appended.
        persistent: The names ``loop`` was compiled with, in order.
    """

    def __init__(
        self,
        loop: Loop,
        values: Values,
        step_losses: list[float],
        epoch_parts: list[Any],
        persistent: Sequence[str],
    ) -> None:
        self._steps = loop(values, step_losses, epoch_parts)
        next(self._steps)
        self._persistent = tuple(persistent)

    def run(self, count: int, floor: float, halt: Halt) -> int:
        """Run up to ``count`` steps, booking their losses.

        Stops after a step whose loss is not finite or <= ``floor``, and before a step when ``halt()``.

        Returns:
            How many steps ran.
        """
        done: int = self._steps.send((count, floor, halt))
        return done

    def sync(self) -> dict[str, Any] | None:
        """Write every value back into the table.

        Returns:
            The persistent values as they were when the last step began, or None if no step has run.
        """
        start = self._steps.send(None)
        return None if start is None else dict(zip(self._persistent, start, strict=True))
