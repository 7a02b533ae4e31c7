"""The debugger's time-travel keys: jumps, reverse-continue, breakpoints, live edits and saving.

A mixin of ``DebuggerApp``: the bindings are listed in ``TIME_TRAVEL_BINDINGS`` for
the app to include; every action only sends commands to the engine and redraws.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from tui_backprop.app.screens.prompt import PromptScreen
from tui_backprop.app.widgets.network import NetworkView
from tui_backprop.app.widgets.parameters import ParametersView
from tui_backprop.app.widgets.program import ProgramView
from tui_backprop.app.widgets.status import RunState
from tui_backprop.engine.breakpoints import BreakpointError, parse_condition
from tui_backprop.engine.locations import HELP as LOCATION_HELP
from tui_backprop.engine.locations import LocationError, parse_location
from tui_backprop.scenario.writer import scenario_toml, write_atomically

if TYPE_CHECKING:
    from tui_backprop.app.app import DebuggerApp

TIME_TRAVEL_BINDINGS = [
    Binding("C", "reverse_continue", "Reverse continue", show=False),
    Binding("g", "jump", "Go to", show=False),
    Binding("left_square_bracket", "epoch(-1)", "Prev epoch", show=False),
    Binding("right_square_bracket", "epoch(1)", "Next epoch", show=False),
    Binding("b", "toggle_breakpoint", "Breakpoint", show=False),
    Binding("colon", "add_condition", "Condition", show=False),
    Binding("equals_sign", "edit_value", "Edit value", show=False),
    Binding("w", "write_scenario", "Write scenario", show=False),
    Binding("M", "history_info", "History memory", show=False),
]
TIME_TRAVEL_HELP = {
    "reverse_continue": "reverse-continue: run backwards to the previous breakpoint hit, or to the start",
    "jump": "go to an epoch / step / op (typed in a prompt), forwards or backwards",
    "epoch(-1)": "jump to the previous epoch boundary",
    "epoch(1)": "jump to the next epoch boundary",
    "toggle_breakpoint": "toggle a breakpoint on the highlighted program line (a run stops before it)",
    "add_condition": "add a condition breakpoint: loss < 0.01, loss increased, grad_norm > 1e3, nan, ...",
    "edit_value": "edit the selected weight or bias, input value, or the learning rate, from this op on",
    "write_scenario": "write the current parameters as a new scenario file",
    "history_info": "show the memory the time-travel history uses",
}


class TimeTravelActions:
    """Actions for ``TIME_TRAVEL_BINDINGS``; mixed into ``DebuggerApp``."""

    def _app(self) -> DebuggerApp:
        return self  # type: ignore[return-value]

    def action_reverse_continue(self) -> None:
        """Go back to the previous breakpoint hit, or to the start if there is none."""
        app = self._app()
        position = app.breakpoints.previous_hit()
        app.debugger.jump(0 if position is None else position)
        where = "no earlier breakpoint hit: at the start" if position is None else "at the previous breakpoint hit"
        app.run_state = RunState("paused", f"reverse-continue: {where}")
        app.refresh_view()

    def action_jump(self) -> None:
        """Ask where to go and go there."""
        app = self._app()

        def check(text: str) -> str | None:
            try:
                parse_location(text, app.session)
            except LocationError as error:
                return str(error)
            return None

        def done(text: str | None) -> None:
            if text:
                app.debugger.jump(parse_location(text, app.session))
                app.refresh_view()

        app.push_screen(PromptScreen("Go to", LOCATION_HELP, check=check), done)

    def action_epoch(self, delta: int) -> None:
        """Jump to the previous or next epoch boundary."""
        app = self._app()
        session = app.session
        per_epoch = session.batches_per_epoch * session.ops_per_step
        current = session.position
        target = ((current - 1) // per_epoch) * per_epoch if delta < 0 else (current // per_epoch + 1) * per_epoch
        app.debugger.jump(max(target, 0))
        app.refresh_view()

    def action_toggle_breakpoint(self) -> None:
        """Set or clear a breakpoint on the program line under the highlight."""
        app = self._app()
        op = app.query_one(ProgramView).highlighted_op()
        if op is None:
            app.notify("Highlight an op in the program panel first (tab to it, then j/k).", severity="warning")
            return
        now_set = app.breakpoints.toggle_op(op)
        app.notify(f"Breakpoint {'set' if now_set else 'cleared'} before op {op}: {app.session.ops[op].formula}")
        app.refresh_view()

    def action_add_condition(self) -> None:
        """Ask for a condition and add it as a breakpoint."""
        app = self._app()

        def check(text: str) -> str | None:
            try:
                parse_condition(text)
            except BreakpointError as error:
                return str(error)
            return None

        def done(text: str | None) -> None:
            if text:
                item = app.breakpoints.add_condition(text)
                app.notify(f"Breakpoint added: when {item.condition.text if item.condition else text}")
                app.refresh_view()

        hint = (
            "loss < 0.01 · loss increased · epoch == 500 · grad_norm > 1e3 · grad_norm < 1e-8 · |w| > 10"
            " · dead relu · nan · prediction correct · accuracy >= 1.0"
        )
        app.push_screen(PromptScreen("Break when", hint, check=check), done)

    def _edit_target(self) -> tuple[str, tuple[int, ...], str, float]:
        """(name, index, label, current value) of what '=' would edit."""
        app = self._app()
        session = app.session
        focused = app.focused
        if isinstance(focused, ParametersView):
            entry = focused.entry_at_cursor()
            if entry is not None:
                name, index = entry
                return name, index, focused.label_of(entry), float(session.params[name][index])
        if isinstance(focused, NetworkView) and app.selected[0] == 0 and "x" in session.values:
            unit = app.selected[1]
            index = (min(app.sample, len(session.values["x"]) - 1), unit)
            label = f"input {app.naming.node(0, unit)} of sample {index[0] + 1}"
            return "x", index, label, float(session.values["x"][index])
        return "learning_rate", (), "the learning rate η", session.learning_rate

    def action_edit_value(self) -> None:
        """Edit the selected value; it applies from the current op on and is undoable."""
        app = self._app()
        name, index, label, current = self._edit_target()

        def check(text: str) -> str | None:
            try:
                value = float(text)
            except ValueError:
                return f"{text!r} is not a number"
            if value != value or value in (float("inf"), float("-inf")):
                return "the value must be finite"
            if name == "learning_rate" and value <= 0:
                return "the learning rate must be > 0"
            return None

        def done(text: str | None) -> None:
            if text:
                try:
                    app.debugger.edit(name, index, float(text))
                except ValueError as error:
                    app.notify(str(error), severity="error")
                app.refresh_view()

        hint = "Applies from the current op on; later ops of this step recompute from it. u undoes it."
        app.push_screen(PromptScreen(f"New value of {label}", hint, value=repr(current), check=check), done)

    def action_write_scenario(self) -> None:
        """Ask for a file name and write the current parameters as a scenario (never overwriting silently)."""
        app = self._app()
        session = app.session
        default = f"{session.scenario.name}-step{session.steps_done}.toml"

        def write(path: Path, overwrite: bool) -> None:
            cursor = session.cursor
            origin = (
                f"Written by tui-backprop from {session.scenario.source or session.scenario.name} "
                f"at epoch {cursor.epoch + 1}, step {cursor.step + 1}, op {cursor.op_index}"
            )
            text = scenario_toml(session.scenario, session.params, session.learning_rate, origin)
            try:
                write_atomically(path, text, overwrite=overwrite)
            except OSError as error:
                app.notify(f"Could not write {path}: {error}", severity="error")
                return
            app.notify(f"Wrote {path}")

        def confirmed(answer: str | None, path: Path) -> None:
            if answer and answer.strip().lower() in ("y", "yes"):
                write(path, overwrite=True)

        def chosen(text: str | None) -> None:
            if not text:
                return
            path = Path(text).expanduser()
            if path.exists():
                app.push_screen(
                    PromptScreen(f"{path} exists. Overwrite it? (y/n)", check=_yes_no),
                    lambda answer: confirmed(answer, path),
                )
            else:
                write(path, overwrite=False)

        app.push_screen(
            PromptScreen("Write scenario to", "A new TOML file with explicit weights.", value=default), chosen
        )

    def action_history_info(self) -> None:
        """Say how much memory the history uses and how far apart its checkpoints are."""
        app = self._app()
        history = app.session.history
        budget = "unlimited" if history.budget_bytes is None else f"{history.budget_bytes / 2**20:.0f} MiB"
        app.notify(
            f"History: {len(history)} checkpoints every {history.spacing} step(s), "
            f"{history.nbytes / 2**20:.2f} MiB of {budget}",
            timeout=6,
        )

    def on_breakpoints_view_changed(self, message: Any) -> None:
        """Redraw after a breakpoint was enabled, disabled or deleted in its panel."""
        self._app().refresh_view()


def _yes_no(text: str) -> str | None:
    return None if text.strip().lower() in ("y", "yes", "n", "no") else "answer y or n"
