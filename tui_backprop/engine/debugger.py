"""Debugger commands over a session, with an undo log and the set of values each command changed.

Every state of a session is a position on a deterministic timeline, so undoing any
command — one op, a phase, a reset or a run of thousands of epochs — is a jump
back to the position it started from, rebuilt exactly by replay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from tui_backprop.engine.session import Session
from tui_backprop.engine.timeline import Edit


class Command(StrEnum):
    """Cursor commands, named as the keys' help says them."""

    STEP = "step"
    BACK = "back"
    NEXT = "next"
    PREVIOUS = "previous"
    FINISH = "finish"
    START = "start"
    RESTART = "restart"


@dataclass(frozen=True)
class Mark:
    """A place on the timeline: ops executed, and which side of a step boundary is shown."""

    position: int
    show_completed: bool


@dataclass(frozen=True)
class EditEntry:
    """An edit in the undo log: undo takes it off the timeline, redo puts it back."""

    edit: Edit


class Debugger:
    """Runs commands on a session, remembers where each began, and can undo and redo them.

    Args:
        session: The session to drive.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._undo: list[Mark | EditEntry] = []
        self._redo: list[Mark | EditEntry] = []
        self.changed: frozenset[str] = frozenset()
        self._actions: dict[Command, Callable[[], None]] = {
            Command.STEP: self._step,
            Command.BACK: session.back,
            Command.NEXT: session.next_phase,
            Command.PREVIOUS: session.previous_phase,
            Command.FINISH: session.finish_step,
            Command.START: session.step_start,
            Command.RESTART: session.reset,
        }

    def _step(self) -> None:
        self.session.step()

    @property
    def mark(self) -> Mark:
        """Where the session stands now."""
        return Mark(self.session.position, self.session.cursor.op_index != 0)

    def snapshot(self) -> dict[str, Any]:
        """Every value the panels show, by name, to compare against after a command."""
        session = self.session
        return {**session.params, **session.optimizer_state, **session.values}

    def execute(self, command: Command, count: int = 1) -> None:
        """Run ``command`` ``count`` times as one undoable command."""
        self.apply(self._actions[command], count)

    def apply(self, action: Callable[[], None], count: int = 1) -> None:
        """Run any cursor-moving ``action`` ``count`` times as one undoable command."""
        before, start = self.snapshot(), self.mark
        for _ in range(count):
            action()
        self.finish(start, before)

    def jump(self, position: int) -> None:
        """Go to ``position`` as one undoable command."""
        self.apply(lambda: self.session.goto(position))

    def edit(self, name: str, index: tuple[int, ...], value: float) -> None:
        """Change a value from the current op on, as one undoable command (see ``Session.edit``).

        Raises:
            ValueError: The session refused the edit.
        """
        before = self.snapshot()
        self._undo.append(EditEntry(self.session.edit(name, index, value)))
        self._redo.clear()
        self.changed = changed_names(before, self.snapshot())

    def finish(self, start: Mark, before: dict[str, Any]) -> None:
        """Record a command that began at ``start`` (for commands run elsewhere, such as a run)."""
        if self.mark != start:
            self._undo.append(start)
            self._redo.clear()
        self.changed = changed_names(before, self.snapshot())

    def undo(self) -> bool:
        """Go back to where the last command began. False if there is nothing to undo."""
        return self._travel(self._undo, self._redo)

    def redo(self) -> bool:
        """Go forward to where the last undone command ended. False if there is nothing to redo."""
        return self._travel(self._redo, self._undo)

    def _travel(self, source: list[Mark | EditEntry], target: list[Mark | EditEntry]) -> bool:
        if not source:
            return False
        before = self.snapshot()
        entry = source.pop()
        if isinstance(entry, EditEntry):
            if source is self._undo:
                self.session.remove_edit(entry.edit)
            else:
                self.session.restore_edit(entry.edit)
            target.append(entry)
        else:
            target.append(self.mark)
            self.session.goto(entry.position, show_completed=entry.show_completed)
        self.changed = changed_names(before, self.snapshot())
        return True

    @property
    def can_undo(self) -> bool:
        """Whether ``undo`` has anything to do."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether ``redo`` has anything to do."""
        return bool(self._redo)


def changed_names(before: dict[str, Any], after: dict[str, Any]) -> frozenset[str]:
    """Names whose value differs between two snapshots (appeared, vanished or changed)."""
    names = before.keys() | after.keys()
    return frozenset(name for name in names if not _same(before.get(name), after.get(name)))


def _same(old: Any, new: Any) -> bool:
    if old is new:
        return True
    if old is None or new is None:
        return False
    return bool(np.array_equal(old, new))
