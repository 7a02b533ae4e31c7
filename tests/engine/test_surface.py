"""The decision-boundary surface is the engine's own forward pass: equal bit for bit at the same points."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tui_backprop.engine import Phase, Session
from tui_backprop.engine.surface import Bounds, evaluate_surface, forward_function, grid_points, plane_bounds
from tui_backprop.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _scenario(name: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.toml")


def _forward_values(session: Session) -> dict[str, np.ndarray]:
    """Step through the batch op and the forward phase; the values the engine computed."""
    session.step()
    while session.next_op.phase is Phase.FORWARD:
        session.step()
    return session.values


@pytest.mark.parametrize("name", ["circle", "spiral", "xor", "sigmoid_2_2_2_lr1_2"])
def test_surface_equals_the_engines_forward_output_on_the_grid(name: str) -> None:
    """Train the grid itself as one full batch: the engine's a_L equals the surface at every grid point."""
    scenario = _scenario(name)
    bounds = Bounds(-1.5, 1.25, -1.0, 1.5)
    columns, rows = 41, 29  # 1,189 points: more than one chunk, while the engine takes them as one batch
    _, _, points = grid_points(bounds, columns, rows)
    outputs = scenario.network.layers[-1].units
    data = dataclasses.replace(scenario.data, inputs=points, targets=np.zeros((len(points), outputs)))
    training = dataclasses.replace(scenario.training, batch_size=None, shuffle=False)
    grid_session = Session(dataclasses.replace(scenario, data=data, training=training))
    engine = _forward_values(grid_session)[grid_session.program.output]
    surface = evaluate_surface(forward_function(grid_session.program), grid_session.params, bounds, columns, rows)
    assert surface.outputs.shape == (rows, columns, outputs)
    assert np.array_equal(surface.outputs.reshape(-1, outputs), engine)


@pytest.mark.parametrize("name", ["circle", "spiral"])
def test_forward_function_equals_the_engine_on_a_batch_after_training(name: str) -> None:
    """After some training, the same function on the step's batch gives the engine's output exactly."""
    session = Session(_scenario(name))
    session.run_steps(37)
    params = session.params
    values = _forward_values(session)
    output = forward_function(session.program)(params, values["x"])
    assert np.array_equal(output, values[session.program.output])
    assert params["W1"] is session.params["W1"]  # the surface reads the parameters, never copies or changes them


def test_grid_runs_left_to_right_and_top_to_bottom() -> None:
    xs, ys, points = grid_points(Bounds(0.0, 4.0, 0.0, 2.0), 4, 2)
    assert xs.tolist() == [0.5, 1.5, 2.5, 3.5]
    assert ys.tolist() == [1.5, 0.5]  # the top row is the largest x2, as on screen
    assert points[:4, 1].tolist() == [1.5] * 4
    assert points[4:, 0].tolist() == xs.tolist()


def test_plane_bounds_pad_the_data_and_survive_a_constant_column() -> None:
    bounds = plane_bounds(np.array([[0.0, 5.0], [10.0, 5.0]]), margin=0.1)
    assert (bounds.x_min, bounds.x_max) == pytest.approx((-1.0, 11.0))
    assert (bounds.y_min, bounds.y_max) == pytest.approx((4.4, 5.6))


def test_an_empty_grid_is_refused() -> None:
    session = Session(_scenario("circle"))
    with pytest.raises(ValueError, match="at least one point"):
        evaluate_surface(forward_function(session.program), session.params, Bounds(0, 1, 0, 1), 0, 3)


def test_80x80_points_through_the_spiral_network_is_vectorised() -> None:
    """One batch, not a loop per point: the shape comes back whole (timing lives in benchmarks/pictures.py)."""
    session = Session(_scenario("spiral"))
    surface = evaluate_surface(
        forward_function(session.program), session.params, plane_bounds(session.scenario.data.inputs), 80, 80
    )
    assert surface.outputs.shape == (80, 80, 1)
    assert np.isfinite(surface.outputs).all()
