"""The debugger app: key bindings, layout, and the worker that runs training to convergence.

The app owns no math. It sends commands to an engine ``Debugger`` and redraws the
panels from the session; a run happens in a thread worker that reports progress
by messages and stops at an op boundary when asked to pause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static, Tab, Tabs
from textual.worker import Worker, WorkerState

from tui_backprop.app.screens.help import HelpScreen
from tui_backprop.app.view import View
from tui_backprop.app.widgets.data import DataView
from tui_backprop.app.widgets.loss import LossView
from tui_backprop.app.widgets.network import NetworkView
from tui_backprop.app.widgets.parameters import ParametersView
from tui_backprop.app.widgets.program import ProgramView
from tui_backprop.app.widgets.status import RunState, StatusBar
from tui_backprop.engine import RunResult, Session, StopReason
from tui_backprop.engine.debugger import Command, Debugger
from tui_backprop.naming import Naming
from tui_backprop.scenario import Scenario

MIN_WIDTH, MIN_HEIGHT = 60, 18
WIDE_WIDTH = 140
MAX_COUNT = 9999
PROGRESS_SECONDS = 0.1  # at most ten progress redraws a second during a run
PANELS = ("parameters", "loss", "data")
# Actions that change the engine's state: refused while a run owns the session.
ENGINE_ACTIONS = frozenset({"command", "continue_run", "undo", "redo", "repeat"})
STOP_LABELS = {
    StopReason.CONVERGED: "converged",
    StopReason.DIVERGED: "diverged",
    StopReason.CANCELLED: "paused",
    StopReason.MAX_EPOCHS: "stopped",
}


class RunProgress(Message):
    """Sent by the run worker about ten times a second; a newer one replaces a queued older one."""

    def __init__(self, epochs: int, steps: int, loss: float | None, rate: float, step_losses: list[float]) -> None:
        super().__init__()
        self.epochs = epochs
        self.steps = steps
        self.loss = loss
        self.rate = rate
        self.step_losses = step_losses

    def can_replace(self, message: Message) -> bool:
        """Only the latest progress matters."""
        return isinstance(message, RunProgress)


class RunFinished(Message):
    """Sent by the run worker when the run stops, for whatever reason."""

    def __init__(self, result: RunResult, steps: int, seconds: float) -> None:
        super().__init__()
        self.result = result
        self.steps = steps
        self.seconds = seconds


class DebuggerApp(App[None]):
    """Step through backpropagation op by op.

    Args:
        scenario: The scenario to debug.
        history_mb: Memory budget for going back in time (default: the scenario's).
    """

    CSS_PATH = "app.tcss"
    TITLE = "tui-backprop"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "command('step')", "Step"),
        Binding("S", "command('back')", "Back"),
        Binding("n", "command('next')", "Next phase"),
        Binding("N", "command('previous')", "Prev phase"),
        Binding("f", "command('finish')", "Finish step"),
        Binding("F", "command('start')", "Step start"),
        Binding("c", "continue_run", "Continue"),
        Binding("space,escape", "pause", "Pause", show=False),
        Binding("u", "undo", "Undo"),
        Binding("ctrl+r", "redo", "Redo", show=False),
        Binding("R", "command('restart')", "Restart", show=False),
        Binding("enter", "repeat", "Repeat last", show=False, priority=True),
        Binding("p", "toggle_precision", "Precision", show=False),
        Binding("x", "sample(1)", "Next sample", show=False),
        Binding("X", "sample(-1)", "Prev sample", show=False),
        Binding("v", "next_panel", "Panel", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
        *[Binding(str(digit), f"digit({digit})", "Count", show=False) for digit in range(10)],
    ]
    ACTION_HELP: ClassVar[dict[str, str]] = {
        "command('step')": "step one op forward",
        "command('back')": "step one op back, restoring every value exactly",
        "command('next')": "run to the end of the current phase (forward, loss, backward, update)",
        "command('previous')": "go back to the start of the current phase",
        "command('finish')": "finish the current training step",
        "command('start')": "go back to the start of the current training step",
        "continue_run": "continue: run to convergence in the background",
        "pause": "pause a run (at an op boundary)",
        "undo": "undo the last command, whatever it was (a step, a run, a restart)",
        "redo": "redo what undo undid",
        "command('restart')": "restart from the scenario's initial state (undoable)",
        "toggle_precision": "toggle 4 / 8 significant digits",
        "sample(1)": "show the next sample of the batch in the network panel",
        "sample(-1)": "show the previous sample of the batch",
        "next_panel": "switch the bottom panel: parameters, loss, data",
        "help": "this help",
        "quit": "quit",
    }

    def __init__(self, scenario: Scenario, history_mb: float | None = None) -> None:
        super().__init__()
        self.session = Session(scenario, history_mb=history_mb)
        self.debugger = Debugger(self.session)
        self.naming = Naming(scenario)
        self.running = False
        self.run_state = RunState("paused")
        self.digits = 4
        self.selected = (0, 0)
        self.sample = 0
        self.panel = PANELS[0]
        self._count = ""
        self._last: tuple[str, int] | None = None
        self._cancel = threading.Event()
        self._run_start: tuple[Any, dict[str, Any]] | None = None

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Status line, program and network side by side, the switchable bottom panels, the footer."""
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            yield ProgramView(self.session.ops, id="program")
            yield NetworkView(self.session.scenario.layer_sizes, id="network")
        with Vertical(id="bottom"):
            yield Tabs(*[Tab(name.capitalize(), id=name) for name in PANELS], id="panel-tabs")
            with Container(id="panels"):
                yield ParametersView(id="parameters", classes="panel -current")
                yield LossView(id="loss", classes="panel")
                yield DataView(id="data", classes="panel")
        yield Static(f"Make the window larger: the debugger needs at least {MIN_WIDTH}×{MIN_HEIGHT}.", id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        """Draw the initial state and put the focus on the program listing."""
        self.sub_title = self.session.scenario.title
        self.refresh_view()
        self.query_one(ProgramView).focus()

    def on_resize(self, event: Resize) -> None:
        """Lay panels side by side on wide terminals; ask for more room on tiny ones."""
        screen = self.screen
        screen.set_class(event.size.width >= WIDE_WIDTH, "-wide")
        screen.set_class(event.size.width < MIN_WIDTH or event.size.height < MIN_HEIGHT, "-too-small")

    @on(Tabs.TabActivated, "#panel-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        self._show_panel(str(event.tab.id))

    def _show_panel(self, name: str) -> None:
        self.panel = name
        for panel in PANELS:
            self.query_one(f"#{panel}").set_class(panel == name, "-current")
        tabs = self.query_one(Tabs)
        if tabs.active != name:
            tabs.active = name

    # -- drawing ----------------------------------------------------------------------------------

    def view(self) -> View:
        """The record the panels draw from."""
        return View(self.session, self.naming, self.debugger.changed, self.selected, self.sample, self.digits)

    def refresh_view(self) -> None:
        """Redraw every panel from the session (never during a run: the worker owns the session)."""
        if self.running:
            return
        view = self.view()
        batch = len(view.values.get("x", ())) or 1
        if self.sample >= batch:
            self.sample = batch - 1
            view = self.view()
        self.query_one(StatusBar).show(view, self.run_state, self._count)
        self.query_one(ProgramView).show(view)
        self.query_one(NetworkView).show(view)
        self.query_one(ParametersView).show(view)
        self.query_one(LossView).show(view)
        self.query_one(DataView).show(view)

    # -- commands ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out commands that would touch the session while a run is using it."""
        if self.running and action in ENGINE_ACTIONS:
            return None
        if action == "pause":
            return self.running or None
        return True

    def _take_count(self) -> int:
        count = min(int(self._count or "1"), MAX_COUNT) or 1
        self._count = ""
        return count

    def action_digit(self, digit: int) -> None:
        """Add a digit to the count prefix of the next command."""
        if len(self._count) < len(str(MAX_COUNT)):
            self._count += str(digit)
        self.query_one(StatusBar).show(self.view(), self.run_state, self._count)

    def action_command(self, name: str) -> None:
        """Run a cursor command (step, back, next, previous, finish, start, restart), count times."""
        self._execute(name, self._take_count())

    def _execute(self, name: str, count: int) -> None:
        self.debugger.execute(Command(name), count)
        self._last = (name, count)
        self.run_state = RunState("paused")
        self.refresh_view()

    def action_repeat(self) -> None:
        """Repeat the last cursor command with its count (pdb's empty line)."""
        if self._last is not None:
            self._execute(*self._last)

    def action_undo(self) -> None:
        """Undo the last command."""
        if not self.debugger.undo():
            self.notify("Nothing to undo.", severity="warning", timeout=2)
        self.refresh_view()

    def action_redo(self) -> None:
        """Redo the last undone command."""
        if not self.debugger.redo():
            self.notify("Nothing to redo.", severity="warning", timeout=2)
        self.refresh_view()

    def action_toggle_precision(self) -> None:
        """Switch between 4 and 8 significant digits."""
        self.digits = 8 if self.digits == 4 else 4
        self.refresh_view()

    def action_sample(self, delta: int) -> None:
        """Show another sample of the batch in the network panel."""
        batch = len(self.session.values.get("x", ())) if not self.running else 0
        if batch:
            self.sample = (self.sample + delta) % batch
            self.refresh_view()

    def action_next_panel(self) -> None:
        """Switch the bottom panel."""
        self._show_panel(PANELS[(PANELS.index(self.panel) + 1) % len(PANELS)])

    def action_help(self) -> None:
        """Show every key."""
        keys = [
            (binding.key.replace("question_mark", "?"), self.ACTION_HELP.get(binding.action, binding.description))
            for binding in self.BINDINGS
            if isinstance(binding, Binding) and not binding.action.startswith("digit")
        ]
        self.push_screen(HelpScreen(keys))

    @on(NetworkView.NodeSelected)
    def _node_selected(self, event: NetworkView.NodeSelected) -> None:
        self.selected = (event.layer, event.unit)
        self.refresh_view()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every debugger action in the command palette, by name."""
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action in self.ACTION_HELP:
                action = binding.action
                yield SystemCommand(
                    f"{binding.description} ({binding.key})",
                    self.ACTION_HELP[action],
                    lambda action=action: self.run_action(action),
                )

    # -- running to convergence ----------------------------------------------------------------------

    def action_continue_run(self) -> None:
        """Run to convergence in a worker thread; space or escape pauses."""
        self._count = ""
        self._run_start = (self.debugger.mark, self.debugger.snapshot())
        self._cancel.clear()
        self.running = True
        self.run_state = RunState("running", "starting")
        self.query_one(StatusBar).show(self.view(), self.run_state)
        self.refresh_bindings()
        self._run_worker()

    def action_pause(self) -> None:
        """Ask the run to stop at the next step boundary."""
        self._cancel.set()

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _run_worker(self) -> None:
        session, cancel = self.session, self._cancel
        started = time.perf_counter()
        steps = 0
        while True:
            result = session.run(cancel=cancel, seconds=PROGRESS_SECONDS)
            steps += result.steps
            if result.reason is not StopReason.TIME_LIMIT:
                break
            elapsed = time.perf_counter() - started
            loss = session.epoch_losses[-1] if session.epoch_losses else None
            stride = max(len(session.step_losses) // 400, 1)
            self.post_message(
                RunProgress(
                    session.epochs_done, session.steps_done, loss, steps / elapsed, session.step_losses[::stride]
                )
            )
        self.post_message(RunFinished(result, steps, time.perf_counter() - started))

    def on_run_progress(self, message: RunProgress) -> None:
        """Show the run's progress in the status line and the loss sparkline."""
        loss = "-" if message.loss is None else f"{message.loss:.6g}"
        self.run_state = RunState(
            "running", f"epoch {message.epochs}  loss {loss}  {message.rate:,.0f} steps/s  (space pauses)"
        )
        self.query_one(StatusBar).show(self.view(), self.run_state)
        self.query_one(LossView).show_history(message.step_losses)

    def on_run_finished(self, message: RunFinished) -> None:
        """Take the session back, record the run as one undoable command, and redraw."""
        self.running = False
        if self._run_start is not None:
            self.debugger.finish(*self._run_start)
        label = STOP_LABELS.get(message.result.reason, "paused")
        # No timing in the final state: screenshots of a finished run must be reproducible.
        self.run_state = RunState(label, f"{message.result.message} ({message.steps} steps this run)")
        if message.result.reason is StopReason.DIVERGED:
            self.notify(message.result.message, severity="error", timeout=8)
        self.refresh_bindings()
        self.refresh_view()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed run must not leave the app stuck in 'running'."""
        if event.state is WorkerState.ERROR:
            self.running = False
            self.run_state = RunState("error", str(event.worker.error))
            self.notify(f"The run failed: {event.worker.error}", severity="error")
            self.refresh_bindings()
            self.refresh_view()


def make_app(scenario: Scenario, history_mb: float | None = None) -> DebuggerApp:
    """Build the debugger app for ``scenario`` (used by the CLI and the tests alike)."""
    return DebuggerApp(scenario, history_mb=history_mb)
