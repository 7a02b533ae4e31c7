"""A training session with a cursor: step one op, step back, finish a step, or run to convergence.

The stepper and the fast run execute the same op code in the same order; the fast run only skips
making records. Going back re-executes from the nearest checkpoint, so every earlier state is rebuilt
bit for bit rather than stored. The machinery lives in ``timeline`` and ``running``; this module has
the commands and the read-outs a debugger uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui_backprop.engine.program import Op, Phase
from tui_backprop.engine.running import Running
from tui_backprop.engine.timeline import Edit


@dataclass(frozen=True)
class OpRecord:
    """What one executed op did.

    Attributes:
        op: The op.
        step: The global training step it belongs to (from 0).
        epoch: The epoch of that step (from 0).
        writes: The values it wrote, by name.
    """

    op: Op
    step: int
    epoch: int
    writes: Mapping[str, Any]


@dataclass(frozen=True)
class Cursor:
    """Where the session stands.

    Attributes:
        position: Ops executed since the start.
        step: The training step being shown (from 0).
        op_index: Ops of that step already executed (0 .. ops per step).
        epoch: The epoch of ``step`` (from 0).
        batch: The batch of ``step`` within its epoch (from 0).
    """

    position: int
    step: int
    op_index: int
    epoch: int
    batch: int


class Session(Running):
    """One scenario being trained, one op at a time or fast.

    Args:
        scenario: The validated scenario.
        history_mb: Memory budget for checkpoints; defaults to the scenario's ``debugger.history_mb``.
            ``0`` keeps only the initial state (the fastest runs; going back replays from the start).
        history_spacing: Steps between checkpoints to begin with (the budget may widen it).
    """

    @property
    def cursor(self) -> Cursor:
        """The step and op being shown; at a step boundary, the finished step after going forward."""
        position, count = self.position, self.ops_per_step
        if position and position % count == 0 and self._show_completed:
            step, op_index = position // count - 1, count
        else:
            step, op_index = divmod(position, count)
        epoch, batch = divmod(step, self.batches_per_epoch)
        return Cursor(position, step, op_index, epoch, batch)

    @property
    def next_op(self) -> Op:
        """The op that ``step()`` would execute."""
        return self.ops[self.position % self.ops_per_step]

    @property
    def values(self) -> dict[str, Any]:
        """Values computed so far in the step being shown, by name (blank steps give an empty dict)."""
        done = self.cursor.op_index
        return {name: self._values[name] for op in self.ops[:done] for name in op.writes}

    @property
    def params(self) -> dict[str, Any]:
        """Current parameters: ``W1``, ``b1``, ... (after an update op, the new values)."""
        return {name: self._values[name] for name in self.program.parameter_names}

    @property
    def step_start_params(self) -> dict[str, Any]:
        """Parameters as they were when the step being shown began (before its update ops)."""
        if self.cursor.op_index == 0:
            return self.params
        return {name: self._step_start[name] for name in self.program.parameter_names}

    @property
    def optimizer_state(self) -> dict[str, Any]:
        """Current optimizer state: ``vW1`` (momentum), ``mW1`` and ``sW1`` (Adam), ..."""
        return {name: self._values[name] for name in self.program.state_names}

    @property
    def learning_rate(self) -> float:
        """The learning rate in force (live edits can change it)."""
        return float(self._values["settings"].learning_rate)

    @property
    def edits(self) -> list[Edit]:
        """Every live edit on the timeline, in order."""
        return [edit for position in self._edit_positions for edit in self._edits[position]]

    @property
    def epochs_done(self) -> int:
        """Epochs completed."""
        return len(self.epoch_losses)

    def step(self) -> OpRecord:
        """Execute the next op and return what it wrote."""
        op = self.next_op
        self._execute(op.index)
        self._show_completed = True
        step = self._values["step"]
        writes = {name: self._values[name] for name in op.writes}
        return OpRecord(op, step, step // self.batches_per_epoch, writes)

    def back(self) -> None:
        """Undo one op, restoring every value exactly (by re-execution from a checkpoint)."""
        if self.position:
            self.goto(self.position - 1)

    def finish_step(self) -> None:
        """Run to the end of the step being shown (or through the next one, if it is finished)."""
        cursor = self.cursor
        remaining = self.ops_per_step - cursor.op_index
        self.goto(self.position + (remaining or self.ops_per_step), show_completed=True)

    def step_start(self) -> None:
        """Go back to the start of the step being shown (or of the previous one, if already there)."""
        cursor = self.cursor
        if cursor.op_index:
            self.goto(self.position - cursor.op_index, show_completed=False)
        elif self.position:
            self.goto(self.position - self.ops_per_step, show_completed=False)

    def next_phase(self) -> None:
        """Execute ops up to the end of the current phase (at least one op)."""
        phase = self.step().op.phase
        while self.cursor.op_index < self.ops_per_step and self.next_op.phase is phase:
            self._execute(self.next_op.index)

    def previous_phase(self) -> None:
        """Go back to the start of the phase of the last executed op (at least one op back)."""
        if not self.position:
            return
        done = self.cursor.op_index or self.ops_per_step
        phase: Phase = self.ops[done - 1].phase
        start = done - 1
        while start and self.ops[start - 1].phase is phase:
            start -= 1
        self.goto(self.position - (done - start), show_completed=False)

    def reset(self) -> None:
        """Return to the scenario's initial state."""
        self.goto(0)

    def edit(self, name: str, index: tuple[int, ...], value: float) -> Edit:
        """Change a parameter entry, an input of the current batch or the learning rate from here on.

        The edit is part of the timeline: later ops recompute from it, going back before it shows the
        old value, and going forward again replays it.

        Raises:
            ValueError: The value is not finite, or the name or index does not exist here.
        """
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        if name == "learning_rate":
            if value <= 0:
                raise ValueError("the learning rate must be > 0")
            index = ()
        elif name == "x" and self.cursor.op_index == 0:
            raise ValueError("the batch is not loaded yet: step once first")
        elif name not in (*self.program.parameter_names, "x"):
            raise ValueError(f"{name} cannot be edited; parameters, x and learning_rate can")
        else:
            shape = np.shape(self._values[name])
            if len(index) != len(shape) or not all(0 <= i < n for i, n in zip(index, shape, strict=True)):
                raise ValueError(f"{name} has shape {shape}; index {index} is outside it")
        edit = Edit(self.position, name, index, float(value))
        self._add_edit(edit)
        self._apply(edit)
        return edit

    def remove_edit(self, edit: Edit) -> None:
        """Take an edit off the timeline and rebuild the current state without it."""
        self._drop_edit(edit)
        self._replay_current()

    def restore_edit(self, edit: Edit) -> None:
        """Put a removed edit back on the timeline (redo) and rebuild the current state with it."""
        self._add_edit(edit)
        self._replay_current()
