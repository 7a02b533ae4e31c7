"""Turns the code of a program's ops into Python functions: one per op for the stepper, one loop for a fast run.

Every op is written once, as a line or two of Python over named values (``z1 = x @ W1 + b1``,
``a1 = _forward1(z1)``) whose helpers come from the op table. The stepper runs one op's lines against
the session's value table; the fast run runs the lines of all ops, step after step, with the values
kept in local variables and written back to the table only when asked. Both drivers execute the very
same lines, so they do the same floating-point operations in the same order (their results are
bit-identical), while the fast run pays no per-op dispatch: it is as quick as a hand-written loop.

Nothing from a scenario file ever becomes code: value names are made from layer numbers, and the
helpers are bound as objects, not spelled out.
"""

from __future__ import annotations

import inspect
import keyword
import linecache
from collections.abc import Callable, Generator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any

Values = MutableMapping[str, Any]
"""A value table: parameters, optimizer state and the current step's values, by name."""

StepLoop = Generator[Any, bool, None]
"""A running fast loop: each ``next()`` executes one training step and yields ``(losses, loss)``."""

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


def compile_loop(
    ops: Sequence[OpCode], persistent: Sequence[str], helpers: Mapping[str, object], label: str
) -> Callable[[Values], StepLoop]:
    """The fast run's loop: every op's code in order, repeated, over local variables.

    The returned function takes a value table and returns a generator. Each ``next()`` runs one whole
    step and yields ``(losses, loss)``; once a step has run, ``send(True)`` instead writes every value
    back into the table and yields the persistent values as they were when the last step began (in
    ``persistent``'s order), as often as it is sent. The table must not change while the generator is
    in use, except through ``send(True)``.

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
    lines = ["def loop(values):"]
    lines += [f"    {name} = values[{name!r}]" for name in loads]
    lines.append("    while True:")
    lines.append(f"        start = ({', '.join(persistent)},)")
    for op in ops:
        lines += _indent(op.code, 8)
    lines.append("        sync = yield losses, loss")
    lines.append("        while sync:")
    lines.append("            values.update({" + ", ".join(f"{name!r}: {name}" for name in written) + "})")
    lines.append("            sync = yield start")
    loop: Callable[[Values], StepLoop] = _compile("\n".join(lines) + "\n", label, helpers, "loop")
    return loop


class FastSteps:
    """Whole training steps at full speed, with the values in a compiled loop until ``sync``.

    Args:
        loop: A compiled loop (see ``compile_loop``).
        values: The session's value table; it must not change while this object is in use.
        persistent: The names ``loop`` was compiled with, in order.

    Attributes:
        step: Runs one training step; returns its per-sample losses and its loss.
    """

    def __init__(self, loop: Callable[[Values], StepLoop], values: Values, persistent: Sequence[str]) -> None:
        self._steps = loop(values)
        self._persistent = tuple(persistent)
        self.step: Callable[[], tuple[Any, Any]] = self._steps.__next__  # no wrapper: it runs every step

    def sync(self) -> dict[str, Any] | None:
        """Write every value back into the table.

        Returns:
            The persistent values as they were when the last step began, or None if no step has run.
        """
        if inspect.getgeneratorstate(self._steps) == inspect.GEN_CREATED:
            return None
        start = self._steps.send(True)
        return dict(zip(self._persistent, start, strict=True))
