"""The picture panels: loss plot, decision boundary and network diagram render, toggle, update and read without colour."""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App, ComposeResult

from tests.app.appkit import SCENARIOS, wait_until_idle, widget_text
from tui_backprop.app.app import DebuggerApp, RunProgress, make_app
from tui_backprop.app.widgets.boundary import BoundaryView
from tui_backprop.app.widgets.diagram import DiagramView, summarise, touched_by
from tui_backprop.app.widgets.loss_plot import LossPlot, log_ticks, nice_ticks
from tui_backprop.engine import Session
from tui_backprop.naming import Naming
from tui_backprop.scenario import load_scenario

SIZE = (100, 40)


def circle_app() -> DebuggerApp:
    return make_app(load_scenario(SCENARIOS / "circle.toml"))


async def test_boundary_panel_shows_the_field_and_both_classes() -> None:
    app = circle_app()
    async with app.run_test(size=SIZE) as pilot:
        app._show_panel("boundary")
        await pilot.pause()
        text = widget_text(app, app.query_one(BoundaryView))
        assert "Decision boundary: p(x1, x2)" in text
        assert "▀" in text and "●" in text and "○" in text
        assert "inside=1" in text


class PictureHost(App[None]):
    """Just the picture panels over one session: lets the NO_COLOR path be tested on its own."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.session = Session(load_scenario(SCENARIOS / f"{name}.toml"))
        self.session.run_steps(300)

    def compose(self) -> ComposeResult:
        scenario = self.session.scenario
        yield BoundaryView(scenario, self.session.program)
        yield DiagramView(scenario.layer_sizes, Naming(scenario).layers)

    def on_mount(self) -> None:
        self.query_one(BoundaryView).show_params(self.session.params)
        self.query_one(DiagramView).show_params(self.session.params, self.session.ops[1])


async def test_no_color_draws_the_field_with_shade_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = PictureHost("circle")
    async with app.run_test(size=(80, 40)) as pilot:
        assert app.no_color
        await pilot.pause()
        text = widget_text(app, app.query_one(BoundaryView))  # type: ignore[arg-type]
        assert "▀" not in text
        assert "●" in text and "○" in text
        assert any(shade in text for shade in "░▒▓█")


async def test_boundary_says_why_when_the_network_has_more_than_two_inputs() -> None:
    app = make_app(load_scenario(SCENARIOS / "iris.toml"))
    async with app.run_test(size=SIZE) as pilot:
        app._show_panel("boundary")
        await pilot.pause()
        assert "needs a network with 2 inputs" in widget_text(app, app.query_one(BoundaryView))


async def test_loss_plot_has_axes_and_L_toggles_the_log_scale() -> None:
    app = circle_app()
    async with app.run_test(size=SIZE) as pilot:
        app._show_panel("plot")
        await pilot.pause()
        plot = app.query_one(LossPlot)
        assert "no loss yet" in widget_text(app, plot)
        await pilot.press("f", "f", "f")
        text = widget_text(app, plot)
        assert "└" in text and "┤" in text and "step (10 per epoch)" in text
        assert "linear" in text
        await pilot.press("L")
        assert plot.log_scale
        assert "log" in widget_text(app, plot)
        plot.focus()
        await pilot.press("e")
        assert plot.series == "step"
        await pilot.press("e", "e")
        assert plot.series == "both"


async def test_a_run_updates_the_pictures_from_the_worker_snapshot() -> None:
    app = circle_app()
    progress: list[RunProgress] = []
    async with app.run_test(
        size=SIZE, message_hook=lambda m: progress.append(m) if isinstance(m, RunProgress) else None
    ) as pilot:
        app._show_panel("plot")
        await pilot.pause()
        await pilot.press("c")
        await wait_until_idle(pilot)
        assert all(message.params is not None for message in progress)
        plot = app.query_one(LossPlot)
        assert len(plot._epoch_losses) == app.session.epochs_done
        app._show_panel("boundary")
        await pilot.pause()
        assert app.query_one(BoundaryView)._params == app.session.params


async def test_v_and_V_reach_the_picture_panels_and_z_maximises_and_restores() -> None:
    app = circle_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("V")
        assert app.panel == "diagram"
        await pilot.press("V")
        assert app.panel == "boundary"
        app.query_one(BoundaryView).focus()
        await pilot.press("z")
        assert app.screen.maximized is app.query_one(BoundaryView)
        await pilot.press("z")
        assert app.screen.maximized is None
        app.query_one("#program").focus()
        await pilot.press("z")
        assert app.screen.maximized is app.query_one("#program")
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_wide_terminals_show_the_pictures_as_one_group() -> None:
    app = circle_app()
    async with app.run_test(size=(150, 40)) as pilot:
        await pilot.pause()
        assert not app.query_one(BoundaryView).display or not app.query_one(BoundaryView).is_on_screen
        app._show_panel("diagram")
        await pilot.pause()
        for widget in (app.query_one(LossPlot), app.query_one(BoundaryView), app.query_one(DiagramView)):
            assert widget.is_on_screen
        assert not app.query_one("#parameters").is_on_screen


async def test_diagram_names_the_next_op_and_draws_every_node() -> None:
    app = circle_app()
    async with app.run_test(size=SIZE) as pilot:
        app._show_panel("diagram")
        await pilot.press("s")
        text = widget_text(app, app.query_one(DiagramView))
        assert "next op: z1 = x·W1 + b1" in text
        for label in ("x1", "x2", "h1", "h4", "p"):
            assert f"({label})" in text


async def test_diagram_summarises_wide_layers_as_a_heat_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = PictureHost("spiral")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        text = widget_text(app, app.query_one(DiagramView))  # type: ignore[arg-type]
        assert "16 units" in text and "W2 16×16" in text
        assert "(h1)" not in text  # no hairball of 256 edges
        assert "#" in text and "=" in text  # signs as characters without colour


def test_touched_by_maps_reads_and_writes_to_layers_and_weights() -> None:
    session = make_app(load_scenario(SCENARIOS / "circle.toml")).session
    kinds = {op.kind: op for op in session.ops}
    linear = touched_by(session.ops[1], 2)
    assert linear.read_nodes == {0, 1}  # x, and the biases b1 that sit on the nodes of layer 1
    assert linear.read_edges == {1} and linear.write_nodes == {1}
    propagate = touched_by(kinds["propagate"], 2)
    assert propagate.read_edges == {2} and propagate.write_nodes == {1}
    update = touched_by(session.ops[-1], 2)
    assert 2 in update.write_edges


def test_summarise_keeps_the_strongest_weight_of_each_block_with_its_sign() -> None:
    matrix = np.array([[0.1, -0.9, 0.2, 0.3], [0.5, 0.1, -0.1, 0.0]])
    assert summarise(matrix, 1, 2).tolist() == [[-0.9, 0.3]]


def test_ticks_are_round_numbers() -> None:
    assert nice_ticks(0.0, 0.7, 4) == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert log_ticks(0.003, 0.7, 4) == pytest.approx([0.01, 0.1])
    assert log_ticks(0.2, 0.7, 4) == pytest.approx([0.2, 0.5])
