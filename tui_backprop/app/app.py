"""The debugger app: key bindings, layout, and the worker that runs training to convergence.

The app owns no math. It sends commands to an engine ``Debugger`` and redraws the
panels from the session; a run happens in a thread worker that reports progress
by messages and stops at an op boundary when asked to pause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.events import Event, Key, Resize
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static, Tab, Tabs
from textual.worker import Worker, WorkerState

from tui_backprop.app.screens.gradcheck import GradientCheckScreen
from tui_backprop.app.screens.help import HelpScreen
from tui_backprop.app.time_travel import TIME_TRAVEL_BINDINGS, TIME_TRAVEL_HELP, TimeTravelActions
from tui_backprop.app.view import Panel, View
from tui_backprop.app.widgets.boundary import BoundaryView
from tui_backprop.app.widgets.breakpoints import BreakpointsView
from tui_backprop.app.widgets.data import DataView
from tui_backprop.app.widgets.diagram import DiagramView
from tui_backprop.app.widgets.explain import ExplainView
from tui_backprop.app.widgets.loss import LossView
from tui_backprop.app.widgets.loss_plot import LossPlot
from tui_backprop.app.widgets.network import NetworkView
from tui_backprop.app.widgets.parameters import ParametersView
from tui_backprop.app.widgets.program import ProgramView
from tui_backprop.app.widgets.status import RunState, StatusBar
from tui_backprop.engine import RunResult, Session, StopReason
from tui_backprop.engine.breakpoints import Breakpoints
from tui_backprop.engine.debugger import Command, Debugger
from tui_backprop.engine.gradcheck import check_gradients
from tui_backprop.naming import Naming
from tui_backprop.scenario import Scenario

if TYPE_CHECKING:
    from tui_backprop.app.demo import Autoplay

MIN_WIDTH, MIN_HEIGHT = 60, 18
WIDE_WIDTH = 140
MAX_COUNT = 9999
PROGRESS_SECONDS = 0.1  # at most ten progress redraws a second during a run
PICTURES = ("plot", "boundary", "diagram")  # picture panels: wide terminals show them side by side as one group
PANELS = ("parameters", "explain", "loss", "data", "breakpoints", *PICTURES)
# Actions that change the engine's state: refused while a run owns the session.
ENGINE_ACTIONS = frozenset(
    {
        "command",
        "continue_run",
        "undo",
        "redo",
        "repeat",
        "reverse_continue",
        "jump",
        "epoch",
        "toggle_breakpoint",
        "add_condition",
        "edit_value",
        "write_scenario",
        "gradient_check",
    }
)
STOP_LABELS = {
    StopReason.CONVERGED: "converged",
    StopReason.DIVERGED: "diverged",
    StopReason.CANCELLED: "paused",
    StopReason.MAX_EPOCHS: "stopped",
    StopReason.BREAKPOINT: "breakpoint",
}


class RunProgress(Message):
    """Sent by the run worker about ten times a second; a newer one replaces a queued older one."""

    def __init__(
        self,
        epochs: int,
        steps: int,
        loss: float | None,
        rate: float,
        step_losses: list[float],
        *,
        stride: int = 1,
        epoch_losses: list[float] | None = None,
        epoch_stride: int = 1,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.epochs = epochs
        self.steps = steps
        self.loss = loss
        self.rate = rate
        self.step_losses = step_losses
        self.stride = stride  # step_losses holds every stride-th step's loss
        self.epoch_losses = epoch_losses or []
        self.epoch_stride = epoch_stride  # and epoch_losses every epoch_stride-th epoch's, from the epoch_stride-th
        self.params = params  # a snapshot for the pictures: the engine never changes arrays in place

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


class DebuggerApp(TimeTravelActions, App[None]):
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
        Binding("enter", "repeat", "Repeat last", show=False),
        Binding("p", "toggle_precision", "Precision", show=False),
        Binding("x", "sample(1)", "Next sample", show=False),
        Binding("X", "sample(-1)", "Prev sample", show=False),
        Binding("v", "next_panel", "Panel", show=False),
        Binding("V", "next_panel(-1)", "Prev panel", show=False),
        Binding("z", "maximize_panel", "Maximise", show=False),
        Binding("L", "toggle_log_scale", "Log scale", show=False),
        Binding("G", "gradient_check", "Gradient check", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+s", "save_screenshot", "Screenshot", show=False),
        *TIME_TRAVEL_BINDINGS,
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
        "next_panel": "switch the bottom panel: parameters, explain, loss, data, breakpoints, plot, boundary, diagram",
        "next_panel(-1)": "switch the bottom panel back",
        "maximize_panel": "maximise the focused panel (or the bottom one) to the whole screen; z again restores",
        "toggle_log_scale": "loss plot: toggle a logarithmic loss axis",
        "gradient_check": "gradient check: backprop's ∂L/∂θ against finite differences, for this step's batch",
        "help": "this help",
        "save_screenshot": "save the screen as tui-backprop-NNN.svg in the current directory",
        "quit": "quit",
        **TIME_TRAVEL_HELP,
    }

    def __init__(self, scenario: Scenario, history_mb: float | None = None) -> None:
        super().__init__()
        self.session = Session(scenario, history_mb=history_mb)
        self.debugger = Debugger(self.session)
        self.breakpoints = Breakpoints(self.session)
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
        self.autoplay: Autoplay | None = None  # set by --autoplay; any key takes over

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
                yield ExplainView(id="explain", classes="panel")
                yield LossView(id="loss", classes="panel")
                yield DataView(id="data", classes="panel")
                yield BreakpointsView(self.breakpoints, id="breakpoints", classes="panel")
                scenario = self.session.scenario
                yield LossPlot(self.session.batches_per_epoch, id="plot", classes="panel picture")
                yield BoundaryView(scenario, self.session.program, id="boundary", classes="panel picture")
                yield DiagramView(scenario.layer_sizes, self.naming.layers, id="diagram", classes="panel picture")
        yield Static(f"Make the window larger: the debugger needs at least {MIN_WIDTH}×{MIN_HEIGHT}.", id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        """Draw the initial state and put the focus on the program listing."""
        self.sub_title = self.session.scenario.title
        self.refresh_view()
        self.query_one(ProgramView).focus()
        self.watch(self.query_one(ParametersView), "cursor_row", self._parameter_highlighted, init=False)

    async def on_event(self, event: Event) -> None:
        """Any key stops autoplay (and then does what it always does)."""
        if isinstance(event, Key) and self.autoplay is not None and self.autoplay.playing:
            self.autoplay.take_over()
        await super().on_event(event)

    def on_resize(self, event: Resize) -> None:
        """Lay panels side by side on wide terminals; ask for more room on tiny ones."""
        screen = self.screen
        was_wide = screen.has_class("-wide")
        screen.set_class(event.size.width >= WIDE_WIDTH, "-wide")
        if screen.has_class("-wide") and not was_wide and not self.running:
            self._refresh_panels(self.view())
        screen.set_class(event.size.width < MIN_WIDTH or event.size.height < MIN_HEIGHT, "-too-small")

    @on(Tabs.TabActivated, "#panel-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        self._show_panel(str(event.tab.id))

    def _show_panel(self, name: str) -> None:
        self.panel = name
        for panel in PANELS:
            self.query_one(f"#{panel}").set_class(panel == name, "-current")
        self.query_one("#panels").set_class(name in PICTURES, "-pictures")
        tabs = self.query_one(Tabs)
        if tabs.active != name:
            tabs.active = name
        if not self.running:
            self._refresh_panels(self.view())

    # -- drawing ----------------------------------------------------------------------------------

    def view(self) -> View:
        """The record the panels draw from."""
        breakpoint_ops = frozenset(item.op for item in self.breakpoints.active if item.op is not None)
        return View(
            self.session, self.naming, self.debugger.changed, self.selected, self.sample, self.digits, breakpoint_ops
        )

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
        self._refresh_panels(view)

    def _refresh_panels(self, view: View) -> None:
        """Redraw the bottom panels that are on screen; hidden ones are drawn when shown."""
        wide = self.screen.has_class("-wide")
        for panel in PANELS:
            if wide or panel == self.panel:
                cast(Panel, self.query_one(f"#{panel}")).show(view)

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

    def action_next_panel(self, delta: int = 1) -> None:
        """Switch the bottom panel (``delta`` -1: the previous one)."""
        self._show_panel(PANELS[(PANELS.index(self.panel) + delta) % len(PANELS)])

    def action_maximize_panel(self) -> None:
        """Maximise the panel holding the focus (else the bottom panel shown); if one is maximised, restore."""
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        panels = {"program", "network", *PANELS}
        focused = screen.focused
        chain = [focused, *focused.ancestors] if focused is not None else []
        target = next((node for node in chain if isinstance(node, Widget) and node.id in panels), None)
        widget = target or self.query_one(f"#{self.panel}", Widget)
        if not screen.maximize(widget, container=False):
            self.notify("This panel cannot be maximised.", severity="warning", timeout=2)

    def action_toggle_log_scale(self) -> None:
        """Switch the loss plot between a linear and a logarithmic loss axis."""
        plot = self.query_one(LossPlot)
        plot.toggle_log_scale()
        if self.panel != "plot" and not (self.screen.has_class("-wide") and self.panel in PICTURES):
            self.notify(f"Loss plot: {'log' if plot.log_scale else 'linear'} scale", timeout=2)

    def action_gradient_check(self) -> None:
        """Compare backprop's gradients with finite differences for the step being shown, in a table."""
        self.push_screen(GradientCheckScreen(check_gradients(self.session), self.naming))

    def action_help(self) -> None:
        """Show every key."""
        keys = [
            (binding.key.replace("question_mark", "?"), self.ACTION_HELP.get(binding.action, binding.description))
            for binding in self.BINDINGS
            if isinstance(binding, Binding) and not binding.action.startswith("digit")
        ]
        self.push_screen(HelpScreen(keys))

    def action_save_screenshot(self) -> None:
        """Save the screen as the next numbered SVG in the current directory and say where."""
        from tui_backprop.app.demo import save_numbered_screenshot

        save_numbered_screenshot(self)

    @on(NetworkView.NodeSelected)
    def _node_selected(self, event: NetworkView.NodeSelected) -> None:
        self.selected = (event.layer, event.unit)
        self.refresh_view()

    def _parameter_highlighted(self) -> None:
        """The explain panel follows the parameter highlighted in the parameters panel."""
        explain = self.query_one(ExplainView)
        if not self.running and explain.display:
            explain.show(self.view())

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
            result = self.breakpoints.run(cancel=cancel, seconds=PROGRESS_SECONDS)
            steps += result.steps
            if result.reason is not StopReason.TIME_LIMIT:
                break
            elapsed = time.perf_counter() - started
            loss = session.epoch_losses[-1] if session.epoch_losses else None
            stride = max(len(session.step_losses) // 400, 1)
            epoch_stride = max(len(session.epoch_losses) // 400, 1)
            self.post_message(
                RunProgress(
                    session.epochs_done,
                    session.steps_done,
                    loss,
                    steps / elapsed,
                    session.step_losses[::stride],
                    stride=stride,
                    epoch_losses=session.epoch_losses[epoch_stride - 1 :: epoch_stride],
                    epoch_stride=epoch_stride,
                    params=session.params,
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
        self._show_pictures_live(message)

    def _show_pictures_live(self, message: RunProgress) -> None:
        """Redraw the picture panels on screen from the run's snapshot (each throttles itself)."""
        plot = self.query_one(LossPlot)
        if plot.is_on_screen:
            plot.show_live(message.step_losses, message.epoch_losses, message.stride, message.epoch_stride)
        if message.params is not None:
            for picture in (self.query_one(BoundaryView), self.query_one(DiagramView)):
                if picture.is_on_screen:
                    picture.show_live(message.params)

    def on_run_finished(self, message: RunFinished) -> None:
        """Take the session back, record the run as one undoable command, and redraw."""
        self.running = False
        if self._run_start is not None:
            self.debugger.finish(*self._run_start)
        label = STOP_LABELS.get(message.result.reason, "paused")
        # No timing in the final state: screenshots of a finished run must be reproducible.
        # The engine's message speaks of the last time slice only; a pause is described here.
        if message.result.reason is StopReason.CANCELLED:
            detail = f"paused after {message.steps} steps"
        else:
            detail = f"{message.result.message} ({message.steps} steps this run)"
        self.run_state = RunState(label, detail)
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
