"""The status line: where the cursor is, the training settings, and whether a run is going."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from tui_backprop.app.view import View


@dataclass(frozen=True)
class RunState:
    """What the status line says about running: ``paused``, ``running``, ``converged``, ``diverged``, ...

    Attributes:
        label: One word, shown highlighted.
        detail: The rest, e.g. the steps per second or the stop reason.
    """

    label: str
    detail: str = ""


class StatusBar(Static):
    """Scenario title, epoch / step / batch / op, learning rate, optimizer, batch mode and run state."""

    DEFAULT_CSS = """
    StatusBar { height: auto; max-height: 3; background: $panel; padding: 0 1; }
    """

    _lines = 0

    def show(self, view: View, state: RunState, count: str = "") -> None:
        """Redraw from ``view``; ``count`` is a pending count prefix typed by the user."""
        session = view.session
        training = session.scenario.training
        cursor = session.cursor
        batch_mode = (
            "full batch"
            if session.batches_per_epoch == 1
            else ("online" if training.batch_size == 1 else f"batch {session.program.schedule.batch_size}")
        )
        line = Text()
        line.append(session.scenario.title, style="bold")
        line.append(
            f"  epoch {cursor.epoch + 1}  step {cursor.step + 1}"
            f"  batch {cursor.batch + 1}/{session.batches_per_epoch}"
            f"  op {cursor.op_index}/{session.ops_per_step}"
        )
        line.append(f"  η={session.learning_rate:g} {training.optimizer} {batch_mode}")
        line.append("  ")
        style = {"running": "bold reverse green", "diverged": "bold reverse red", "converged": "bold reverse blue"}
        line.append(f" {state.label} ", style=style.get(state.label, "bold reverse"))
        if state.detail:
            line.append(f" {state.detail}")
        if count:
            line.append(f"  count {count}", style="bold")
        # A relayout of the whole screen costs more than the rest of a step: only ask for one when
        # the status needs another number of lines.
        lines = len(line.wrap(self.app.console, max(self.size.width, 1)))
        self.update(line, layout=lines != self._lines)
        self._lines = lines
