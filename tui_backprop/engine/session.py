"""A training session with a cursor: step one op, step back, finish a step, or run to convergence.

The stepper and the fast run call the same op functions in the same order; the
fast run only skips making records. Going back re-executes from the nearest
checkpoint, so every earlier state is rebuilt bit for bit rather than stored.
"""

from __future__ import annotations

import bisect
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np

from tui_backprop.engine.compiler import FastSteps
from tui_backprop.engine.history import Checkpoint, History
from tui_backprop.engine.network import initial_parameters
from tui_backprop.engine.program import Op, Phase, build_program, initial_settings
from tui_backprop.scenario.model import Scenario

PARAMETER_CHECK_STEPS = 64
"""How many steps a fast run goes between checks of the parameters for non-finite values."""


class StopReason(StrEnum):
    """Why a run returned."""

    CONVERGED = "converged"
    MAX_EPOCHS = "max_epochs"
    DIVERGED = "diverged"
    CANCELLED = "cancelled"
    STEP_LIMIT = "step_limit"
    TIME_LIMIT = "time_limit"
    BREAKPOINT = "breakpoint"


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


@dataclass(frozen=True)
class RunResult:
    """The outcome of ``Session.run``.

    Attributes:
        reason: Why it stopped.
        steps: Training steps completed by this run.
        message: One line for a person, e.g. ``converged: epoch loss 9.9e-05 <= 1e-04 at epoch 812``.
    """

    reason: StopReason
    steps: int
    message: str


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


class Session:
    """One scenario being trained, one op at a time or fast.

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

    # -- what the UI and the CLI read ------------------------------------------------------------

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
    def steps_done(self) -> int:
        """Training steps completed."""
        return self.position // self.ops_per_step

    @property
    def epochs_done(self) -> int:
        """Epochs completed."""
        return len(self.epoch_losses)

    # -- moving the cursor ------------------------------------------------------------------------

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
        if self.position not in self._edits:
            bisect.insort(self._edit_positions, self.position)
        self._edits.setdefault(self.position, []).append(edit)
        self._forget_future(self.position)
        self._apply(edit)
        return edit

    def remove_edit(self, edit: Edit) -> None:
        """Take an edit off the timeline and rebuild the current state without it."""
        edits = self._edits[edit.position]
        edits.remove(edit)
        if not edits:
            del self._edits[edit.position]
            self._edit_positions.remove(edit.position)
        self._forget_future(edit.position)
        self._replay_current()

    def restore_edit(self, edit: Edit) -> None:
        """Put a removed edit back on the timeline (redo) and rebuild the current state with it."""
        if edit.position not in self._edits:
            bisect.insort(self._edit_positions, edit.position)
        self._edits.setdefault(edit.position, []).append(edit)
        self._forget_future(edit.position)
        self._replay_current()

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

    # -- running fast -----------------------------------------------------------------------------

    def run_steps(self, count: int) -> RunResult:
        """Run ``count`` whole training steps fast (ignoring max_epochs and target_loss, not divergence)."""
        return self.run(max_steps=count, stop_at_target=False, max_epochs=2**62)

    def run(
        self,
        max_steps: int | None = None,
        max_epochs: int | None = None,
        cancel: threading.Event | None = None,
        seconds: float | None = None,
        stop_at_target: bool = True,
        after_step: Callable[[], str | None] | None = None,
    ) -> RunResult:
        """Run whole steps without recording until a stop condition holds.

        A partly executed step is finished first. A step whose loss or new parameters are not finite
        is undone, so the session stops at the start of the offending step with its last finite state.

        Args:
            max_steps: Stop after this many steps.
            max_epochs: Stop once this many epochs are complete (default: the scenario's max_epochs).
            cancel: Stop as soon as this event is set (checked every step).
            seconds: Stop after about this long (used to report progress between slices).
            stop_at_target: Stop when an epoch's loss is <= the scenario's target_loss.
            after_step: Called after every completed step; a returned message stops the run there
                (reason BREAKPOINT). It may move the cursor, e.g. back to the op where a condition began.

        Returns:
            Why and after how many steps the run stopped.
        """
        training = self.scenario.training
        limit = training.max_epochs if max_epochs is None else max_epochs
        deadline = None if seconds is None else time.monotonic() + seconds
        if self.position % self.ops_per_step:
            self._advance(self.ops_per_step - self.position % self.ops_per_step)
        self._show_completed = True
        done = self._stop_before_start(limit, stop_at_target)
        if done is not None:
            return done
        # Without conditions to test or edits ahead, whole steps run in the program's compiled loop,
        # which keeps the values to itself until synced (the value table is only read after a sync).
        fast = None if after_step is not None or self._edits_ahead() else self._fast_steps()
        try:
            # A diverging run overflows on purpose to find out: it reports non-finite values in its result,
            # so numpy's warnings about them would only be noise (on a terminal the app is drawing on).
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return self._run_steps(fast, max_steps, limit, cancel, deadline, stop_at_target, after_step)
        finally:
            self._remember_losses()

    def _run_steps(
        self,
        fast: FastSteps | None,
        max_steps: int | None,
        limit: int,
        cancel: threading.Event | None,
        deadline: float | None,
        stop_at_target: bool,
        after_step: Callable[[], str | None] | None,
    ) -> RunResult:
        """The loop of ``run``, from a step boundary; kept lean, as it runs once per training step."""
        count, history, complete, isfinite = self.ops_per_step, self.history, self._complete_step, math.isfinite
        run_step = self._recorded_step if fast is None else fast.step
        sync = self._sync_nothing if fast is None else lambda: self._sync(fast)
        step_limit = sys.maxsize if max_steps is None else max_steps
        target = self.scenario.training.target_loss if stop_at_target else -math.inf
        # Parameters are checked for non-finite values every few steps (the loss every step); a
        # failed check replays from the last verified state to find the exact offending step.
        every = 1 if after_step is not None else PARAMETER_CHECK_STEPS
        verified, start, steps, checked = self._snapshot(), self.steps_done, 0, 0
        due = history.next_due(start)
        due_in = sys.maxsize if due is None else due - start
        # Checkpoints and parameter checks are the rare events: one comparison per step tells if one is due.
        event = min(due_in, every)
        while True:
            result: RunResult | None = None
            if steps >= step_limit:
                result = RunResult(StopReason.STEP_LIMIT, steps, f"ran {steps} steps")
            elif cancel is not None and cancel.is_set():
                result = RunResult(StopReason.CANCELLED, steps, f"paused after {steps} steps")
            elif deadline is not None and time.monotonic() >= deadline:
                result = RunResult(StopReason.TIME_LIMIT, steps, f"ran {steps} steps")
            if result is not None:
                sync()
                return self._unless_diverged(result, verified, start, steps > checked)
            losses, loss = run_step()
            if not isfinite(loss):
                return self._diverged(verified, start)
            self.position += count
            epoch_loss = complete(losses, loss)
            steps += 1
            if steps == event:
                sync()
                if steps == due_in:
                    self._checkpoint()
                    due = history.next_due(start + steps)
                    due_in = sys.maxsize if due is None else due - start
                if steps - checked >= every:
                    if not self._parameters_finite():
                        return self._diverged(verified, start)
                    verified, checked = self._snapshot(), steps
                event = min(due_in, checked + every)
            if fast is None:
                if self._edits:
                    self._apply_edits()
                if after_step is not None:
                    self._remember_losses()
                    message = after_step()
                    if message is not None:
                        return RunResult(StopReason.BREAKPOINT, steps, message)
            if epoch_loss is not None:
                if epoch_loss <= target:
                    result = RunResult(StopReason.CONVERGED, steps, self._converged_message())
                elif len(self.epoch_losses) >= limit:
                    result = RunResult(
                        StopReason.MAX_EPOCHS, steps, f"reached {limit} epochs; epoch loss {epoch_loss:.6g}"
                    )
                if result is not None:
                    sync()
                    return self._unless_diverged(result, verified, start, steps > checked)

    def _unless_diverged(self, result: RunResult, verified: Checkpoint, start: int, unchecked: bool) -> RunResult:
        """``result``, unless parameters changed since the last check have gone non-finite."""
        return self._diverged(verified, start) if unchecked and not self._parameters_finite() else result

    def _edits_ahead(self) -> bool:
        """Whether an edit lies beyond the current position (edits at it have been applied already)."""
        return bool(self._edit_positions) and self._edit_positions[-1] > self.position

    def _fast_steps(self) -> FastSteps:
        return FastSteps(self.program.loop, self._values, self.program.persistent_names)

    def _sync(self, fast: FastSteps) -> None:
        """Bring the value table up to date with a fast loop (and the step start with it)."""
        start = fast.sync()
        if start is not None:
            self._step_start = start

    @staticmethod
    def _sync_nothing() -> None:
        """A recorded step leaves the value table up to date: nothing to sync."""

    def _recorded_step(self) -> tuple[Any, Any]:
        """One whole step through the ops' own functions, with the value table up to date after it."""
        values = self._values
        self._step_start = {name: values[name] for name in self.program.persistent_names}
        self._run_step_ops()
        return values["losses"], values["loss"]

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

    def _parameters_finite(self) -> bool:
        values = self._values
        return all(np.isfinite(values[name]).all() for name in self.program.parameter_names)

    def _stop_before_start(self, limit: int, stop_at_target: bool) -> RunResult | None:
        at_epoch_end = self.steps_done % self.batches_per_epoch == 0
        if stop_at_target and at_epoch_end and self.epoch_losses:
            if self.epoch_losses[-1] <= self.scenario.training.target_loss:
                return RunResult(StopReason.CONVERGED, 0, self._converged_message())
        if len(self.epoch_losses) >= limit:
            return RunResult(StopReason.MAX_EPOCHS, 0, f"already at {limit} epochs (max_epochs)")
        return None

    def _converged_message(self) -> str:
        target = self.scenario.training.target_loss
        return f"converged: epoch loss {self.epoch_losses[-1]:.6g} <= target {target:g} after {len(self.epoch_losses)} epochs"

    def _diverged(self, verified: Checkpoint, start: int) -> RunResult:
        """Find the first step whose loss or new parameters are not finite; stop at its start.

        Replays from ``verified`` (the last state known to be finite) one step at a time with full
        checks, so the stop is exact however rarely the fast loop checked.
        """
        self._restore(verified)
        self._forget_future(verified.step * self.ops_per_step)
        values, count = self._values, self.ops_per_step
        while True:
            before = {name: values[name] for name in self.program.persistent_names}
            self._step_start = before
            self._run_step_ops()
            loss = float(values["loss"])
            names = self.program.parameter_names
            bad = next((name for name in names if not np.isfinite(values[name]).all()), None)
            if not math.isfinite(loss) or bad is not None:
                break
            self.position += count
            self._finish_step()
            self._apply_edits()
        what = f"the loss became {loss}" if not math.isfinite(loss) else f"{bad} became non-finite"
        self._values.update(before)
        self._replay_current(verified)
        self._show_completed = True
        step = self.steps_done
        epoch, batch = divmod(step, self.batches_per_epoch)
        message = (
            f"diverged: {what} in step {step + 1} (epoch {epoch + 1}, batch {batch + 1}); "
            "stopped before that step, at the last finite state"
        )
        return RunResult(StopReason.DIVERGED, step - start, message)

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

    # -- the machinery shared by both drivers --------------------------------------------------------

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

    def _complete_step(self, losses: np.ndarray, loss: float) -> float | None:
        """Book a finished step's losses; close the epoch if it was its last batch and return its loss."""
        loss = float(loss)
        self.step_losses.append(loss)
        parts = self._epoch_parts
        parts.append(losses)
        if self.position // self.ops_per_step % self.batches_per_epoch:
            return None
        epoch_loss = loss if len(parts) == 1 else float(self._reduce(np.concatenate(parts)))
        self.epoch_losses.append(epoch_loss)
        parts.clear()
        return epoch_loss

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
        self._complete_step(self._values["losses"], self._values["loss"])
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
