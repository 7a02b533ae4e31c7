"""What every panel renders from: the session plus the UI's own selections, in one immutable record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tui_backprop.engine import Op, Session
from tui_backprop.naming import Naming
from tui_backprop.numbers import format_number

CHANGED_STYLE = "bold underline yellow"
"""How a value changed by the last command is drawn: underlined too, so it still stands out without colour."""


@dataclass(frozen=True)
class View:
    """A consistent picture of the debugger for the panels to draw.

    Attributes:
        session: The engine session (read only while no run is in progress).
        naming: Node labels.
        changed: Names of values the last command changed (drawn highlighted).
        selected: The selected node as (layer, unit); layer 0 is the inputs.
        sample: Which row of the current batch node values show.
        digits: Significant digits to show.
        breakpoint_ops: Program lines with an enabled breakpoint.
    """

    session: Session
    naming: Naming
    changed: frozenset[str]
    selected: tuple[int, int]
    sample: int
    digits: int
    breakpoint_ops: frozenset[int] = frozenset()

    @property
    def values(self) -> dict[str, Any]:
        """Values computed so far in the step being shown."""
        return self.session.values

    @property
    def current_op(self) -> Op | None:
        """The op about to run in the step being shown, or None when the step is complete."""
        cursor = self.session.cursor
        return None if cursor.op_index == self.session.ops_per_step else self.session.ops[cursor.op_index]

    def number(self, value: float) -> str:
        """A number at the chosen precision, padded so columns keep their width."""
        return format_number(float(value), self.digits).rjust(self.digits + 7)


class Panel(Protocol):
    """A bottom panel: it redraws itself from a ``View`` when it is on screen."""

    def show(self, view: View) -> None:
        """Redraw from ``view``."""
