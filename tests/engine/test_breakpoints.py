"""Breakpoints: each condition stops a run at the first op where it holds, op breakpoints before their op.

Every condition is checked on a scenario built to trigger it (``tests/engine/scenarios/``)
against a brute-force search that steps op by op from the start and evaluates an
independent oracle (written here from the session's values, not through the
breakpoint code) after every op.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tui_backprop.engine import Session, StopReason
from tui_backprop.engine.breakpoints import BreakpointError, Breakpoints, parse_condition
from tui_backprop.scenario import Scenario, load_scenario

HERE = Path(__file__).resolve().parent
TRIGGERS = HERE / "scenarios"
XOR = HERE.parents[1] / "scenarios" / "xor.toml"
XOR_OPS = 14  # ops of one XOR step
FOREVER = ("training.max_epochs=1000000", "training.target_loss=1e-30")

Oracle = Callable[[Session], bool]


def scenario(name: str, *overrides: str) -> Scenario:
    path = XOR if name == "xor" else TRIGGERS / f"{name}.toml"
    return load_scenario(path, [*FOREVER, *overrides])


def brute_force(scenario: Scenario, holds: Oracle, max_steps: int) -> int | None:
    """The first position (ops executed) after which ``holds`` is true, stepping op by op from the start."""
    session = Session(scenario)
    with np.errstate(all="ignore"):
        while session.steps_done < max_steps:
            session.step()
            if holds(session):
                return session.position
    return None


# -- oracles: what each condition means, computed directly from the session ------------------------


def loss_below(threshold: float) -> Oracle:
    return lambda session: "loss" in session.values and float(session.values["loss"]) < threshold


def loss_increased(session: Session) -> bool:
    step = session.cursor.step
    return "loss" in session.values and step > 0 and float(session.values["loss"]) > session.step_losses[step - 1]


def grad_norm(session: Session) -> float | None:
    names = [f"d{name}" for name in session.program.parameter_names]
    if not all(name in session.values for name in names):
        return None
    return math.sqrt(sum(float((session.values[name] ** 2).sum()) for name in names))


def grad_norm_above(threshold: float) -> Oracle:
    return lambda session: (norm := grad_norm(session)) is not None and norm > threshold


def grad_norm_below(threshold: float) -> Oracle:
    return lambda session: (norm := grad_norm(session)) is not None and norm < threshold


def weight_above(threshold: float) -> Oracle:
    return lambda session: any(float(np.abs(value).max()) > threshold for value in session.params.values())


def all_correct(session: Session) -> bool:
    output = session.values.get(session.program.output)
    if output is None:
        return False
    return bool(np.all((output >= 0.5) == (session.values["y"] >= 0.5)))


def dead_relu(session: Session) -> bool:
    hidden = session.values.get("a1")
    return hidden is not None and any(not np.any(hidden[:, unit] > 0) for unit in range(hidden.shape[1]))


def epoch_is(number: int) -> Oracle:
    return lambda session: session.cursor.epoch + 1 == number


def step_at_least(number: int) -> Oracle:
    return lambda session: session.cursor.step + 1 >= number


def non_finite(session: Session) -> bool:
    arrays = [*session.values.values(), *session.params.values()]
    return any(not np.all(np.isfinite(value)) for value in arrays if isinstance(value, np.ndarray | np.floating))


CASES = [
    ("xor", "loss < 0.1", loss_below(0.1), 1000),
    ("xor", "accuracy >= 1.0", all_correct, 1000),
    ("xor", "prediction correct", all_correct, 1000),
    ("shuffled", "loss increased", loss_increased, 50),
    ("diverging", "loss increased", loss_increased, 50),
    ("shuffled", "epoch == 3", epoch_is(3), 50),
    ("shuffled", "step >= 8", step_at_least(8), 50),
    ("diverging", "|w| > 10", weight_above(10), 50),
    ("diverging", "grad_norm > 1e3", grad_norm_above(1e3), 50),
    ("vanishing", "grad_norm < 1e-8", grad_norm_below(1e-8), 400),
    ("dying_relu", "dead relu", dead_relu, 100),
]


@pytest.mark.parametrize(("name", "text", "oracle", "max_steps"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_a_condition_stops_the_run_at_the_first_op_where_it_holds(
    name: str, text: str, oracle: Oracle, max_steps: int
) -> None:
    built = scenario(name)
    expected = brute_force(built, oracle, max_steps)
    assert expected is not None, f"{name} never triggers {text!r} within {max_steps} steps"
    assert expected > Session(built).ops_per_step, "the trigger should not be immediate"
    # The engine's own evaluation agrees with the oracle, op by op.
    assert brute_force(built, lambda session: _holds(session, text), max_steps) == expected

    session = Session(built)
    breakpoints = Breakpoints(session)
    item = breakpoints.add_condition(text)
    result = breakpoints.run()

    assert result.reason is StopReason.BREAKPOINT
    assert session.position == expected
    assert text in result.message
    assert session.ops[(expected - 1) % session.ops_per_step].formula in result.message
    assert item.hits == 1
    assert oracle(session)


def _holds(session: Session, text: str) -> bool:
    breakpoints = Breakpoints(session)
    breakpoints.add_condition(text)
    return breakpoints.first_condition() is not None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_stops_at_the_last_finite_state_before_the_step_that_overflows() -> None:
    built = scenario("diverging")
    first_non_finite = brute_force(built, non_finite, 1000)
    assert first_non_finite is not None
    session = Session(built)
    count = session.ops_per_step
    step_start = (first_non_finite - 1) // count * count
    breakpoints = Breakpoints(session)
    breakpoints.add_condition("nan")

    result = breakpoints.run()

    # A step whose loss or parameters overflow is undone: the run stops before it, at the last
    # finite state, and says so (the always-on divergence check comes before the breakpoint).
    assert result.reason is StopReason.DIVERGED
    assert session.position == step_start
    assert "diverged" in result.message
    assert "last finite state" in result.message
    assert f"step {step_start // count + 1}" in result.message
    assert not non_finite(session)
    assert breakpoints.first_condition() is None
    assert all(math.isfinite(loss) for loss in session.step_losses)
    # From there, stepping op by op reaches the first non-finite value inside that very step.
    with np.errstate(all="ignore"):
        while not non_finite(session):
            session.step()
    assert session.position == first_non_finite
    # The fast path without breakpoints stops at the same place.
    plain = Session(built)
    assert plain.run().reason is StopReason.DIVERGED
    assert plain.position == step_start


# -- continuing, hit counts, reverse-continue ----------------------------------------------------


def test_continuing_stops_once_per_step_and_previous_hit_walks_back() -> None:
    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    item = breakpoints.add_condition("loss < 0.1")
    first = breakpoints.run()
    hit = session.position
    assert first.reason is StopReason.BREAKPOINT
    assert breakpoints.previous_hit() is None  # the first hit: nothing earlier
    assert session.position == hit

    breakpoints.run()
    assert session.position == hit + XOR_OPS  # the loss op of the next step
    assert item.hits == 2
    cursor = session.cursor
    assert breakpoints.previous_hit() == hit
    assert session.cursor == cursor  # reverse-continue only looks; the cursor stays


def test_previous_hit_from_a_finished_step_sees_that_step() -> None:
    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    breakpoints.add_condition("loss < 0.1")
    breakpoints.run()
    hit = session.position
    session.goto(hit + XOR_OPS + 3)
    session.finish_step()  # at the boundary, showing the finished step
    cursor = session.cursor
    assert cursor.op_index == XOR_OPS
    assert breakpoints.previous_hit() == hit + XOR_OPS
    assert session.cursor == cursor
    # From the hit itself, the previous one is a whole step earlier (the earlier step ends at a
    # boundary, which must be looked at as a finished step, not as the blank next one).
    session.goto(hit + XOR_OPS)
    assert breakpoints.previous_hit() == hit


def test_condition_hit_count_is_honoured() -> None:
    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    breakpoints.add_condition("loss < 0.1")
    breakpoints.run()
    hit = session.position

    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    item = breakpoints.add_condition("loss < 0.1")
    item.ignore = 3
    breakpoints.run()
    assert session.position == hit + 3 * XOR_OPS
    assert item.hits == 4


def test_an_op_breakpoint_stops_before_the_op_every_step() -> None:
    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    assert breakpoints.toggle_op(3)
    item = breakpoints.items[0]
    for step in range(5):
        result = breakpoints.run()
        assert result.reason is StopReason.BREAKPOINT
        assert session.position == step * XOR_OPS + 3
        assert session.next_op.index == 3
        assert "z2" not in session.values  # op 3 writes z2: it has not run yet
        assert "z1" in session.values
        assert "before op 3" in result.message
        assert item.hits == step + 1
    assert breakpoints.previous_hit() == 3 * XOR_OPS + 3
    session.goto(3)
    assert breakpoints.previous_hit() is None


def test_an_op_breakpoint_hit_count_is_honoured() -> None:
    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    breakpoints.toggle_op(3)
    breakpoints.items[0].ignore = 2
    breakpoints.run()
    assert session.position == 2 * XOR_OPS + 3
    assert breakpoints.items[0].hits == 3
    breakpoints.run()
    assert session.position == 3 * XOR_OPS + 3


def test_an_op_breakpoint_ahead_in_a_partly_executed_step_stops_in_that_step() -> None:
    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    breakpoints.toggle_op(8)
    breakpoints.toggle_op(2)
    session.goto(5)
    breakpoints.run()
    assert session.position == 8
    breakpoints.run()
    assert session.position == XOR_OPS + 2


def test_an_op_breakpoint_on_the_first_op_stops_at_the_step_boundary_but_not_where_the_run_starts() -> None:
    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    breakpoints.toggle_op(0)
    breakpoints.run()
    assert session.position == XOR_OPS
    assert session.cursor.op_index == 0  # the blank next step, before its first op
    breakpoints.run()
    assert session.position == 2 * XOR_OPS
    session.goto(2 * XOR_OPS + 4)
    breakpoints.run()
    assert session.position == 3 * XOR_OPS


def test_disabled_and_removed_breakpoints_are_ignored() -> None:
    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    breakpoints.toggle_op(3)
    breakpoints.add_condition("step >= 2")
    for item in breakpoints.items:
        item.enabled = False
    result = breakpoints.run(max_epochs=5)
    assert result.reason is StopReason.MAX_EPOCHS
    assert session.position == 5 * XOR_OPS
    assert [item.hits for item in breakpoints.items] == [0, 0]
    assert breakpoints.previous_hit() is None

    assert not breakpoints.toggle_op(3)  # toggling again removes it
    breakpoints.items[0].enabled = True
    breakpoints.run()
    assert session.position == 5 * XOR_OPS + 1  # only the condition is left


def test_the_earliest_of_an_op_breakpoint_and_a_condition_wins() -> None:
    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    breakpoints.add_condition("loss < 0.1")
    breakpoints.run()
    hit = session.position  # after the loss op (op 5) of some step

    session = Session(scenario("xor"))
    breakpoints = Breakpoints(session)
    breakpoints.add_condition("loss < 0.1")
    breakpoints.toggle_op(12)
    breakpoints.items[1].ignore = 10**9  # counted every step, never stops
    breakpoints.run()
    assert session.position == hit

    breakpoints.toggle_op(12)
    breakpoints.toggle_op(3)  # before the loss op: comes first in the same step
    breakpoints.run()
    assert session.position == hit - 6 + XOR_OPS + 3


# -- the condition language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("loss < 0.01", "loss < 0.01"),
        ("  LOSS   <=  1e-3 ", "loss <= 1e-3"),
        ("grad_norm>1e3", "grad_norm > 1e3"),
        ("|w| > 10", "|w| > 10"),
        ("epoch == 500", "epoch == 500"),
        ("step != 3", "step != 3"),
        ("accuracy >= 1.0", "accuracy >= 1.0"),
        ("Dead  ReLU", "dead relu"),
        ("nan", "nan"),
        ("loss increased", "loss increased"),
        ("prediction correct", "prediction correct"),
    ],
)
def test_good_conditions_parse(text: str, normalized: str) -> None:
    assert parse_condition(text).text == normalized


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("__import__('os').system('true')", "cannot read"),
        ("loss < 0.01 or __import__('os')", "cannot read"),
        ("", "cannot read"),
        ("loss", "cannot read"),
        ("loss <", "cannot read"),
        ("loss << 3", "cannot read"),
        ("loss < abc", "cannot read"),
        ("weight > 3", "unknown quantity 'weight'"),
        ("loss < 1e", "'1e' is not a number"),
        ("loss < 1..2", "is not a number"),
        ("dead sigmoid", "cannot read"),
    ],
)
def test_bad_conditions_are_refused_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(BreakpointError) as caught:
        parse_condition(text)
    message = str(caught.value)
    assert says in message
    if "cannot read" in says:
        assert "expected e.g." in message and "loss < 0.01" in message
    assert isinstance(caught.value, ValueError)


def test_conditions_are_never_evaluated_as_python(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec must not be used")

    # The session compiles its own op code (nothing from a file) when it is made; only then is exec barred.
    session = Session(scenario("xor"))
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    breakpoints = Breakpoints(session)
    with pytest.raises(BreakpointError):
        breakpoints.add_condition("__import__('os')")
    assert breakpoints.items == []
    breakpoints.add_condition("loss < 0.25")
    assert breakpoints.run().reason is StopReason.BREAKPOINT
