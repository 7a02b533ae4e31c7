"""SVG snapshots of the picture panels: the decision boundary of circle.toml before and after training, and
the loss plot after a run. Fixed size, seeded scenario, a fixed number of steps, nothing timed on screen.

Each panel is shown alone in a small host app, filling the screen, so changes to the rest of the debugger
(other panels, key bindings in the footer) do not move these pictures. The app tests in ``test_pictures.py``
check the same widgets inside the debugger. Update after an intended change with
``pytest tests/app/test_picture_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget

from tests.app.appkit import SCENARIOS
from tui_backprop.app.widgets.boundary import BoundaryView
from tui_backprop.app.widgets.loss_plot import LossPlot
from tui_backprop.engine import Session
from tui_backprop.scenario import load_scenario

SIZE = (100, 36)
TRAINING_STEPS = 1200  # circle.toml converges in about 1170 steps; a fixed count keeps the picture fixed


class PanelHost(App[None]):
    """One picture panel of circle.toml after ``steps`` training steps, filling the screen."""

    CSS = "Screen > * { height: 1fr; border: round $secondary; }"

    def __init__(self, panel: str, steps: int) -> None:
        super().__init__()
        self.session = Session(load_scenario(SCENARIOS / "circle.toml"))
        if steps:
            self.session.run_steps(steps)  # the engine call a run makes, without the timed worker
        self.panel = panel

    def compose(self) -> ComposeResult:
        session = self.session
        widget: Widget
        if self.panel == "boundary":
            boundary = BoundaryView(session.scenario, session.program)
            boundary.show_params(session.params)
            widget = boundary
        else:
            plot = LossPlot(session.batches_per_epoch)
            plot.show_losses(session.step_losses, session.epoch_losses)
            widget = plot
        yield widget


def test_boundary_of_circle_before_training(snap_compare: Any) -> None:
    assert snap_compare(PanelHost("boundary", 0), terminal_size=SIZE)


def test_boundary_of_circle_after_training(snap_compare: Any) -> None:
    assert snap_compare(PanelHost("boundary", TRAINING_STEPS), terminal_size=SIZE)


def test_loss_plot_after_training(snap_compare: Any) -> None:
    assert snap_compare(PanelHost("plot", TRAINING_STEPS), terminal_size=SIZE)


def test_loss_plot_after_training_on_a_log_scale(snap_compare: Any) -> None:
    async def log_scale(pilot: Any) -> None:
        pilot.app.query_one(LossPlot).toggle_log_scale()
        await pilot.pause()

    assert snap_compare(PanelHost("plot", TRAINING_STEPS), terminal_size=SIZE, run_before=log_scale)
