"""Running whole training steps fast until a stop condition holds: the debugger's "continue".

The run drives the program's compiled step loop (see ``compiler``), which keeps the values to itself,
books each step's loss and writes the values back only when synced. It hands the loop chunks of steps
that end where the run must look at something (a checkpoint, a parameter check, an epoch's end, the
step limit): on a network as small as XOR, per-step Python bookkeeping is what would separate the
engine from a hand-written numpy loop. A step whose loss or new parameters are not finite is found
exactly by replay from the last state known to be finite, and the run stops before it.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from tui_backprop.engine.compiler import FastSteps, Halt
from tui_backprop.engine.history import Checkpoint
from tui_backprop.engine.timeline import Timeline

PARAMETER_CHECK_STEPS = 256
"""How many steps a fast run goes between checks of the parameters for non-finite values (the loss is
checked every step). A failed check replays at most this many steps to find the offending one: tens of
milliseconds even on 64-32-10, while each check (a sync, a finiteness test of every parameter and a
snapshot) costs almost half an XOR step."""


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


class Running(Timeline):
    """A timeline that can also run fast; see ``run``."""

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
        """The loop of ``run``, from a step boundary.

        Steps run in chunks that end where something must be looked at: a checkpoint or parameter check
        that is due, the end of an epoch (full batch: the compiled loop itself stops at a step whose loss
        meets the target), the step limit; one step on the recorded path. The cancel event and the
        deadline are looked at before every step, inside the chunk.
        """
        count, history, per_epoch = self.ops_per_step, self.history, self.batches_per_epoch
        run_chunk = self._recorded_steps if fast is None else fast.run
        sync = self._sync_nothing if fast is None else lambda: self._sync(fast)
        step_limit = sys.maxsize if max_steps is None else max_steps
        target = self.scenario.training.target_loss if stop_at_target else -math.inf
        floor = target if per_epoch == 1 else -math.inf  # full batch: a step's loss is its epoch's loss
        cap = 1 if fast is None else sys.maxsize
        halt = _halt(cancel, deadline)
        # Parameters are checked for non-finite values every few steps (the loss every step); a
        # failed check replays from the last verified state to find the exact offending step.
        every = 1 if after_step is not None else PARAMETER_CHECK_STEPS
        verified, start, steps, checked = self._snapshot(), self.steps_done, 0, 0
        due = history.next_due(start)
        due_in = sys.maxsize if due is None else due - start
        event = min(due_in, every)  # the next step count at which a checkpoint or a check is due
        while steps < step_limit:
            epoch_left = limit - len(self.epoch_losses) if per_epoch == 1 else per_epoch - len(self._epoch_parts)
            chunk = min(step_limit - steps, event - steps, epoch_left, cap)
            done = run_chunk(chunk, floor, halt)
            if done:
                if not math.isfinite(self.step_losses[-1]):
                    return self._diverged(verified, start)
                self.position += done * count
                steps += done
                epoch_loss = self._close_epochs(done)
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
                        stopped = RunResult(StopReason.CONVERGED, steps, self._converged_message())
                        break
                    if len(self.epoch_losses) >= limit:
                        message = f"reached {limit} epochs; epoch loss {epoch_loss:.6g}"
                        stopped = RunResult(StopReason.MAX_EPOCHS, steps, message)
                        break
            if done < chunk:  # halted before a step (a step that met the target has stopped the run above)
                if cancel is not None and cancel.is_set():
                    stopped = RunResult(StopReason.CANCELLED, steps, f"paused after {steps} steps")
                else:
                    stopped = RunResult(StopReason.TIME_LIMIT, steps, f"ran {steps} steps")
                break
        else:
            stopped = RunResult(StopReason.STEP_LIMIT, steps, f"ran {steps} steps")
        sync()
        return self._unless_diverged(stopped, verified, start, steps > checked)

    def _unless_diverged(self, result: RunResult, verified: Checkpoint, start: int, unchecked: bool) -> RunResult:
        """``result``, unless parameters changed since the last check have gone non-finite."""
        return self._diverged(verified, start) if unchecked and not self._parameters_finite() else result

    def _fast_steps(self) -> FastSteps:
        return FastSteps(
            self.program.loop, self._values, self.step_losses, self._epoch_parts, self.program.persistent_names
        )

    def _sync(self, fast: FastSteps) -> None:
        """Bring the value table up to date with a fast loop (and the step start with it)."""
        start = fast.sync()
        if start is not None:
            self._step_start = start

    @staticmethod
    def _sync_nothing() -> None:
        """A recorded step leaves the value table up to date: nothing to sync."""

    def _recorded_steps(self, count: int, floor: float, halt: Halt) -> int:
        """``FastSteps.run`` through the ops' own functions, leaving the value table up to date after each step."""
        values = self._values
        for done in range(count):
            if halt is not None and halt():
                return done
            self._step_start = {name: values[name] for name in self.program.persistent_names}
            self._run_step_ops()
            loss = float(values["loss"])
            self.step_losses.append(loss)
            self._epoch_parts.append(values["losses"])
            if not math.isfinite(loss) or loss <= floor:
                return done + 1
        return count

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


def _halt(cancel: threading.Event | None, deadline: float | None) -> Halt:
    """What a run asks before every step: has it been cancelled, or has its time run out?"""
    if cancel is not None and deadline is not None:
        return lambda: cancel.is_set() or time.monotonic() >= deadline
    if deadline is not None:
        return lambda: time.monotonic() >= deadline
    return None if cancel is None else cancel.is_set
