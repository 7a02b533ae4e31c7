"""The gradient check: it passes on every shipped scenario and fails loudly on a wrong derivative."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tui_backprop.engine import Session
from tui_backprop.engine import ops as engine_ops
from tui_backprop.engine.gradcheck import LIMIT, TOLERANCE, check_gradients, relative_error
from tui_backprop.scenario import load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(path.name for path in SCENARIOS.glob("*.toml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_passes_on_every_shipped_scenario(name: str) -> None:
    session = Session(load_scenario(SCENARIOS / name))
    for steps in (0, 7):  # the first step, and one a few updates in (other batches, other parameters)
        session.run_steps(steps)
        check = check_gradients(session)
        assert check.passed, check.summary + "\n" + "\n".join(map(str, check.failures))
        assert check.summary.startswith("PASSED")
        assert check.worst <= TOLERANCE


def test_every_parameter_entry_of_a_small_network() -> None:
    session = Session(load_scenario(SCENARIOS / "sigmoid_2_2_2_lr1_2.toml"))
    check = check_gradients(session)
    assert not check.sampled
    assert [(row.name, row.index) for row in check.rows] == [
        (name, index) for name, value in session.params.items() for index in np.ndindex(value.shape)
    ]
    assert check.total == 12
    # The article's gradients of the first sample.
    rows = {(row.name, row.index): row for row in check.rows}
    assert rows[("W2", (0, 0))].analytic == pytest.approx(-0.02012369, abs=1e-8)
    assert rows[("W1", (0, 0))].numeric == pytest.approx(-0.0046018, abs=1e-7)


def test_large_networks_are_sampled_and_say_so() -> None:
    session = Session(load_scenario(SCENARIOS / "digits.toml"))
    check = check_gradients(session)
    assert check.sampled
    assert check.total == sum(value.size for value in session.params.values())
    assert abs(len(check.rows) - LIMIT) <= len(session.params)
    assert {row.name for row in check.rows} == set(session.params)  # every parameter is represented
    assert f"a random sample of {len(check.rows)} of {check.total} entries (seed {session.scenario.seed})" in (
        check.summary
    )
    assert check_gradients(session).rows == check.rows  # the sample is seeded, so repeatable


def test_the_session_is_not_changed() -> None:
    session = Session(load_scenario(SCENARIOS / "xor.toml"))
    session.goto(5)
    position, params, values = session.position, session.params, session.values
    check_gradients(session)
    assert session.position == position
    assert all(np.array_equal(params[name], session.params[name]) for name in params)
    assert values.keys() == session.values.keys()


def test_the_step_being_shown_is_checked_wherever_the_cursor_is_in_it() -> None:
    session = Session(load_scenario(SCENARIOS / "sigmoid_2_2_2_lr1_2.toml"))
    session.run_steps(1)
    session.goto(session.position, show_completed=False)  # step 2, nothing run yet
    before = check_gradients(session)
    session.finish_step()  # the update has run: the check still uses the step's parameters before it
    after = check_gradients(session)
    assert [row.analytic for row in before.rows] == [row.analytic for row in after.rows]
    assert before.step_number == after.step_number == 1
    assert after.loss == pytest.approx(session.values["loss"], rel=1e-15)


def test_relative_error() -> None:
    assert relative_error(1.0, 1.0) == 0.0
    assert relative_error(2.0, 1.0) == 0.5
    assert relative_error(0.0, 1e-14) < TOLERANCE  # both are zero, as far as rounding can tell


BROKEN_SCENARIO = """
title = "a hidden layer whose derivative is wrong"
seed = 1

[network]
inputs = 2

[[network.layers]]
units = 3
activation = "broken_tanh"

[[network.layers]]
units = 1
activation = "sigmoid"

[data]
inputs = [[0.5, -0.3], [0.1, 0.8], [-0.7, 0.2]]
targets = [[1.0], [0.0], [1.0]]

[training]
loss = "half_sse"
optimizer = "sgd"
learning_rate = 0.5
"""


@pytest.fixture
def broken_tanh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tanh whose derivative is off by 0.1% (a typical slip: the wrong constant)."""
    monkeypatch.setitem(
        engine_ops.ACTIVATIONS,
        "broken_tanh",
        engine_ops.Activation(
            "broken_tanh", "btanh", "tanh(z)", "1−1.001·a²", np.tanh, lambda z, a: 1.0 - 1.001 * a * a
        ),
    )


@pytest.mark.usefixtures("broken_tanh")
def test_fails_loudly_on_a_wrong_derivative() -> None:
    session = Session(parse_scenario(BROKEN_SCENARIO))
    check = check_gradients(session)
    assert not check.passed
    assert check.summary.startswith("FAILED")
    # Only what lies behind the broken layer is wrong: the first layer's weights and biases.
    assert {row.name for row in check.failures} == {"W1", "b1"}
    assert check.worst > 10 * TOLERANCE
    assert all(not row.failed for row in check.rows if row.name in ("W2", "b2"))


@pytest.mark.usefixtures("broken_tanh")
def test_the_correct_twin_passes() -> None:
    session = Session(parse_scenario(BROKEN_SCENARIO.replace("broken_tanh", "tanh")))
    assert check_gradients(session).passed
