"""The state of a training session and the machinery that moves it, exactly, in both directions.

A timeline holds the parameters, optimizer state and values of the step in progress, the loss
histories and the live edits, and knows how to execute ops (one at a time, or whole steps), take
checkpoints, and rebuild any earlier state by restoring a checkpoint and re-executing from it: the
engine is deterministic from the seed, so nothing is stored that can be recomputed bit for bit.
``running`` adds the fast run on top, ``session`` the commands a debugger sends.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tui_backprop.engine.history import Checkpoint, History
from tui_backprop.engine.network import initial_parameters
from tui_backprop.engine.program import build_program, initial_settings
from tui_backprop.scenario.model import Scenario


@dataclass(frozen=True)
class Edit:
    """A value changed by hand at a point of the timeline; replays apply it again at that point.

    Attributes:
        position: Ops executed when the edit applies.
        name: ``W2``, ``b1``, ``x`` (the current batch's inputs) or ``learning_rate``.
        index: The entry changed (``()`` for the learning rate).
        value: The new value.
    """

    position: int
    name: str
    index: tuple[int, ...]
    value: float


class Timeline:
    """A scenario's training state at a position (ops executed since the start), and the means to move it.

    Args:
        scenario: The validated scenario.
        history_mb: Memory budget for checkpoints; defaults to the scenario's ``debugger.history_mb``.
            ``0`` keeps only the initial state (the fastest runs; going back replays from the start).
        history_spacing: Steps between checkpoints to begin with (the budget may widen it).
    """

    def __init__(self, scenario: Scenario, history_mb: float | None = None, history_spacing: int | None = None) -> None:
        self.scenario = scenario
        self.program = build_program(scenario)
        self.ops = self.program.ops
        self.ops_per_step = len(self.ops)
        self.batches_per_epoch = self.program.schedule.batches_per_epoch
        self._runs = tuple(op.run for op in self.ops)
        self._reduce = np.mean if scenario.training.reduction == "mean" else np.sum
        budget = scenario.debugger.history_mb if history_mb is None else history_mb
        spacing = History.START_SPACING if history_spacing is None else history_spacing
        self.history = History(int(budget * 2**20) if budget > 0 else None, spacing)
        self._values: dict[str, Any] = self._initial_values()
        self.position = 0
        self._show_completed = False
        self.step_losses: list[float] = []
        self.epoch_losses: list[float] = []
        self._epoch_parts: list[np.ndarray] = []
        # Losses of every step and epoch computed so far on this timeline, also beyond the cursor,
        # so that a jump forwards can restore a later checkpoint instead of re-executing.
        self._known_step_losses: list[float] = []
        self._known_epoch_losses: list[float] = []
        self._edits: dict[int, list[Edit]] = {}
        self._edit_positions: list[int] = []
        self._step_start: dict[str, Any] = self._persistent()
        self._checkpoint()

    def _initial_values(self) -> dict[str, Any]:
        values: dict[str, Any] = dict(initial_parameters(self.scenario))
        for name in self.program.state_names:
            parameter = name[1:]  # state names are one letter plus the parameter name
            values[name] = np.zeros_like(values[parameter])
        values["step"] = -1
        values["settings"] = initial_settings(self.scenario)
        return values

    @property
    def steps_done(self) -> int:
        """Training steps completed."""
        return self.position // self.ops_per_step

    def goto(self, target: int, show_completed: bool | None = None) -> None:
        """Move to ``target`` ops since the start, forwards by executing, backwards by replay.

        Args:
            target: Ops executed since the start, >= 0.
            show_completed: At a step boundary, show the finished step (True) or the blank next one
                (False); by default, whichever matches the direction of travel.
        """
        if target < 0:
            raise ValueError(f"position must be >= 0, got {target}")
        forward = target > self.position
        needed = (target - 1) // self.ops_per_step if target else 0
        checkpoint = self.history.latest_at_or_before(needed)
        # Backwards always restores; forwards too when a checkpoint lies between here and there.
        if target < self.position or checkpoint.step * self.ops_per_step > self.position:
            self._restore(checkpoint)
        self._advance(target - self.position)
        self._show_completed = forward if show_completed is None else show_completed

    def _add_edit(self, edit: Edit) -> None:
        """Put ``edit`` on the timeline; what was known beyond its position no longer holds."""
        if edit.position not in self._edits:
            bisect.insort(self._edit_positions, edit.position)
        self._edits.setdefault(edit.position, []).append(edit)
        self._forget_future(edit.position)

    def _drop_edit(self, edit: Edit) -> None:
        """Take ``edit`` off the timeline; what was known beyond its position no longer holds."""
        edits = self._edits[edit.position]
        edits.remove(edit)
        if not edits:
            del self._edits[edit.position]
            self._edit_positions.remove(edit.position)
        self._forget_future(edit.position)

    def _apply(self, edit: Edit) -> None:
        if edit.name == "learning_rate":
            self._values["settings"] = replace(self._values["settings"], learning_rate=edit.value)
            return
        array = np.array(self._values[edit.name], dtype=np.float64)
        array[edit.index] = edit.value
        array.setflags(write=False)
        self._values[edit.name] = array
        done = self.position % self.ops_per_step
        if done and edit.name in self._step_start:
            # Until its update op runs, the step's "before the update" value is the edited one.
            updates = (op.index for op in self.ops if op.kind == "update" and edit.name in op.writes)
            update = next(updates, self.ops_per_step)  # a fixed (untrained) bias is never updated
            if update >= done:
                self._step_start = {**self._step_start, edit.name: array}

    def _apply_edits(self) -> None:
        """Apply the edits made at the current position (after arriving at it)."""
        for edit in self._edits.get(self.position, ()):
            self._apply(edit)

    def _edit_inside_next_step(self) -> bool:
        """Whether an edit falls strictly inside the step that starts at the current position."""
        start = self.position
        index = bisect.bisect_right(self._edit_positions, start)
        return index < len(self._edit_positions) and self._edit_positions[index] < start + self.ops_per_step

    def _edits_ahead(self) -> bool:
        """Whether an edit lies beyond the current position (edits at it have been applied already)."""
        return bool(self._edit_positions) and self._edit_positions[-1] > self.position

    def _run_step_ops(self) -> None:
        """Execute the ops of the step that starts at the current position, without bookkeeping.

        Edits that fall inside the step are applied where they belong; the position is left at the
        step's start (the caller completes the step).
        """
        values, count = self._values, self.ops_per_step
        if self._edit_positions and self._edit_inside_next_step():
            for run in self._runs:
                run(values)
                self.position += 1
                if self.position % count:
                    self._apply_edits()
            self.position -= count
        else:
            for run in self._runs:
                run(values)

    def _replay_current(self, hint: Checkpoint | None = None) -> None:
        """Rebuild the values shown at the current position by re-execution (after an undone step).

        Args:
            hint: A checkpoint to start from if it is closer than the history's (and not past it).
        """
        position = self.position
        # Also at position 0: an edit made there must be dropped (or re-applied) too.
        needed = max(position - 1, 0) // self.ops_per_step
        checkpoint = self.history.latest_at_or_before(needed)
        if hint is not None and checkpoint.step < hint.step <= needed:
            checkpoint = hint
        self._restore(checkpoint)
        self._advance(position - self.position)

    def _persistent(self) -> dict[str, Any]:
        return {name: self._values[name] for name in self.program.persistent_names}

    def _execute(self, index: int) -> None:
        if index == 0:
            self._step_start = self._persistent()
        self._runs[index](self._values)
        self.position += 1
        if index == self.ops_per_step - 1:
            self._finish_step()
        self._apply_edits()

    def _advance(self, count: int) -> None:
        """Execute ``count`` ops without records (whole steps in a tight loop)."""
        per_step = self.ops_per_step
        while count > 0:
            if self.position % per_step == 0 and count >= per_step:
                self._step_start = self._persistent()
                self._run_step_ops()  # applies edits that fall inside the step, as a run does
                self.position += per_step
                self._finish_step()
                self._apply_edits()
                count -= per_step
            else:
                self._execute(self.position % per_step)
                count -= 1

    def _close_epochs(self, steps: int) -> float | None:
        """Close the epochs that the last ``steps`` booked steps completed; return the last one's loss, if any.

        The steps' losses are already in ``step_losses`` and their per-sample losses in the epoch parts.
        With mini-batches, at most one epoch may end among them (at the last step).
        """
        parts = self._epoch_parts
        if self.batches_per_epoch == 1:  # a full batch: every step is an epoch, with the step's loss
            self.epoch_losses.extend(self.step_losses[-steps:])
            parts.clear()
            return self.epoch_losses[-1]
        if len(parts) < self.batches_per_epoch:  # the parts are the losses of this epoch's batches so far
            return None
        epoch_loss = float(self._reduce(np.concatenate(parts)))
        self.epoch_losses.append(epoch_loss)
        parts.clear()
        return epoch_loss

    def _book_step(self) -> None:
        """Book the losses of the step the value table holds, closing its epoch if it was the last batch."""
        self.step_losses.append(float(self._values["loss"]))
        self._epoch_parts.append(self._values["losses"])
        self._close_epochs(1)

    def _remember_losses(self) -> None:
        """Extend the losses known on this timeline with any computed beyond them."""
        for losses, known in (
            (self.step_losses, self._known_step_losses),
            (self.epoch_losses, self._known_epoch_losses),
        ):
            if len(losses) > len(known):
                known.extend(losses[len(known) :])

    def _finish_step(self) -> None:
        """Book the step just finished as a step taken one by one: its losses, and a checkpoint if due."""
        self._book_step()
        self._remember_losses()
        if self.history.wants(self.steps_done):
            self._checkpoint()

    @staticmethod
    def _truncate_or_extend(losses: list[float], known: list[float], length: int) -> None:
        """Make ``losses`` the first ``length`` losses of the timeline (``known`` remembers beyond it)."""
        if length <= len(losses):
            del losses[length:]
        else:
            losses.extend(known[len(losses) : length])

    def _forget_future(self, position: int) -> None:
        """The timeline after ``position`` is about to change: drop what was known of it."""
        step = position // self.ops_per_step
        self.history.forget_after(step)
        del self._known_step_losses[step:]
        del self._known_epoch_losses[step // self.batches_per_epoch :]

    def _snapshot(self) -> Checkpoint:
        """A checkpoint of the current state (at a step boundary), not yet stored."""
        persistent = self._persistent()
        parts = tuple(self._epoch_parts)
        nbytes = sum(getattr(value, "nbytes", 8) for value in persistent.values())
        nbytes += sum(part.nbytes for part in parts) + History.OVERHEAD_BYTES
        return Checkpoint(self.steps_done, persistent, len(self.step_losses), len(self.epoch_losses), parts, nbytes)

    def _checkpoint(self) -> None:
        self.history.add(self._snapshot())

    def _restore(self, checkpoint: Checkpoint) -> None:
        self._values.clear()
        self._values.update(checkpoint.persistent)
        self.position = checkpoint.step * self.ops_per_step
        self._truncate_or_extend(self.step_losses, self._known_step_losses, checkpoint.step_losses)
        self._truncate_or_extend(self.epoch_losses, self._known_epoch_losses, checkpoint.epoch_losses)
        self._epoch_parts[:] = checkpoint.epoch_parts
        self._step_start = self._persistent()
        self._apply_edits()
