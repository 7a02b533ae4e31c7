"""Live edits: a changed weight, input or learning rate applies from the current op on and lives on the timeline.

Later ops of the step recompute from the new value; going back past the edit shows
the old value, going forward replays it, and the debugger's undo/redo take it off and
put it back. Whatever the history did in between, the state must equal a fresh
session replayed to the same place with the same edits.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sessionkit import assert_same_state, session_state

from tui_backprop.engine import Session
from tui_backprop.engine.debugger import Command, Debugger
from tui_backprop.engine.network import initial_parameters
from tui_backprop.scenario import Scenario, load_scenario

HERE = Path(__file__).resolve().parent
XOR = HERE.parents[1] / "scenarios" / "xor.toml"
SHUFFLED = HERE / "scenarios" / "shuffled.toml"
OPS = 14  # XOR: batch, z1, a1, z2, a2, loss, 6 backward ops, 2 updates
LEARNING_RATE = 2.0


@pytest.fixture
def xor() -> Scenario:
    return load_scenario(XOR)


def test_a_weight_edit_applies_from_the_current_op_on(xor: Scenario) -> None:
    session = Session(xor)
    session.goto(3)  # z1 and a1 computed; z2 = a1·W2 + b2 is next
    z1, a1 = session.values["z1"], session.values["a1"]
    old_w2 = session.params["W2"]
    edit = session.edit("W2", (1, 0), 1.5)

    assert session.params["W2"][1, 0] == 1.5
    assert session.params["W2"][0, 0] == old_w2[0, 0]
    assert old_w2[1, 0] != 1.5  # the edit copied, it did not write into the shared array
    assert session.edits == [edit]
    assert (edit.position, edit.name, edit.index, edit.value) == (3, "W2", (1, 0), 1.5)
    session.step()
    w2, b2 = session.params["W2"], session.params["b2"]
    assert np.array_equal(session.values["z2"], a1 @ w2 + b2)
    assert session.values["z1"] is z1  # earlier ops of the step are not recomputed
    session.goto(OPS - 1)  # before the W2 update
    before_update = session.params["W2"]
    assert before_update[1, 0] == 1.5
    session.step()
    expected = before_update + -(LEARNING_RATE * session.values["dW2"])
    assert np.array_equal(session.params["W2"], expected)


def test_the_step_start_picture_shows_an_edit_until_the_update_runs(xor: Scenario) -> None:
    session = Session(xor)
    session.goto(3)
    session.edit("W1", (1, 1), 0.5)
    assert session.step_start_params["W1"][1, 1] == 0.5  # what the panel shows as "value"
    assert np.array_equal(session.step_start_params["W1"], session.params["W1"])
    session.goto(OPS - 1)  # W1 updated; an edit now changes the new value, not the step's start
    start = session.step_start_params["W1"]
    session.edit("W1", (0, 0), 7.0)
    assert session.step_start_params["W1"] is start
    assert session.params["W1"][0, 0] == 7.0
    # Replayed from scratch, the picture is the same.
    fresh = Session(xor)
    fresh.goto(3)
    fresh.edit("W1", (1, 1), 0.5)
    fresh.goto(OPS - 1)
    fresh.edit("W1", (0, 0), 7.0)
    session.goto(5)
    fresh.goto(5)
    assert np.array_equal(session.step_start_params["W1"], fresh.step_start_params["W1"])
    assert session.step_start_params["W1"][1, 1] == 0.5


def test_an_edit_of_an_already_used_weight_changes_only_what_comes_after(xor: Scenario) -> None:
    plain = Session(xor)
    plain.goto(OPS - 2)
    session = Session(xor)
    session.goto(5)  # forward pass done, W1 already used
    session.edit("W1", (0, 1), -3.0)
    session.goto(OPS - 2)  # up to the updates
    for name in ("z1", "a1", "z2", "a2", "loss", "dW1", "dW2"):
        assert np.array_equal(session.values[name], plain.values[name]), name
    session.step()  # W1 ← W1 − η·dW1, from the edited W1
    edited = plain.params["W1"].copy()
    edited[0, 1] = -3.0
    assert np.array_equal(session.params["W1"], edited + -(LEARNING_RATE * plain.values["dW1"]))


def test_going_back_past_an_edit_shows_the_old_value_and_forward_replays_it(xor: Scenario) -> None:
    session = Session(xor)
    session.run_steps(20)
    session.goto(20 * OPS + 3)
    old = session.params["W2"][0, 0]
    session.edit("W2", (0, 0), 0.25)
    session.run_steps(30)
    after = session_state(session)

    session.goto(20 * OPS + 2)
    assert session.params["W2"][0, 0] == old
    assert session.edits[0].position == 20 * OPS + 3  # still on the timeline
    session.goto(20 * OPS + 3)
    assert session.params["W2"][0, 0] == 0.25
    session.reset()
    assert not np.array_equal(session.params["W2"], after["params"]["W2"])
    session.goto(after["position"])
    assert_same_state(session_state(session), after)


def test_forward_after_an_edit_equals_a_fresh_replay_with_the_same_edit(xor: Scenario) -> None:
    session = Session(xor, history_mb=0.002)  # a tiny budget: few checkpoints, long replays
    session.run_steps(10)
    session.goto(10 * OPS + 7)
    session.edit("b1", (1,), 0.75)
    session.edit("learning_rate", (), 0.5)
    session.run_steps(200)
    session.goto(15 * OPS + 9)

    fresh = Session(xor)
    fresh.goto(10 * OPS + 7)
    fresh.edit("b1", (1,), 0.75)
    fresh.edit("learning_rate", (), 0.5)
    fresh.goto(15 * OPS + 9)
    assert_same_state(session_state(session), session_state(fresh))


def test_undo_and_redo_take_an_edit_off_the_timeline_and_put_it_back(xor: Scenario) -> None:
    session = Session(xor)
    debugger = Debugger(session)
    session.goto(4)
    plain = session_state(session)
    debugger.edit("W2", (0, 0), 9.0)
    assert "W2" in debugger.changed
    edited = session_state(session)
    assert edited["params"]["W2"][0, 0] == 9.0

    assert debugger.undo()
    assert_same_state(session_state(session), plain)
    assert session.edits == []
    assert "W2" in debugger.changed
    assert debugger.redo()
    assert_same_state(session_state(session), edited)
    assert len(session.edits) == 1

    # Undo after moving on: first back to where the edit was made, then the edit itself.
    debugger.execute(Command.FINISH)
    debugger.undo()
    assert session.position == 4
    debugger.undo()
    assert_same_state(session_state(session), plain)
    assert not debugger.can_undo


def test_undoing_an_edit_made_at_the_very_start(xor: Scenario) -> None:
    session = Session(xor)
    debugger = Debugger(session)
    initial = initial_parameters(xor)
    debugger.edit("W1", (0, 0), 5.0)
    debugger.edit("learning_rate", (), 0.125)
    assert session.params["W1"][0, 0] == 5.0
    assert debugger.undo()
    assert debugger.undo()
    assert np.array_equal(session.params["W1"], initial["W1"])
    assert session.learning_rate == LEARNING_RATE
    assert debugger.redo()
    assert session.params["W1"][0, 0] == 5.0
    session.goto(3 * OPS)
    fresh = Session(xor)
    fresh.edit("W1", (0, 0), 5.0)
    fresh.goto(3 * OPS)
    assert_same_state(session_state(session), session_state(fresh))


def test_a_learning_rate_edit_changes_only_later_updates(xor: Scenario) -> None:
    session = Session(xor)
    session.run_steps(5)
    losses_before = list(session.step_losses)
    session.goto(5 * OPS + OPS - 1)  # W1 updated with η = 2, W2's update is next
    w1_updated = session.params["W1"]
    w2 = session.params["W2"]
    session.edit("learning_rate", (), 0.1)
    assert session.learning_rate == 0.1
    session.step()
    assert np.array_equal(session.params["W1"], w1_updated)
    assert np.array_equal(session.params["W2"], w2 + -(0.1 * session.values["dW2"]))
    assert session.step_losses[:5] == losses_before

    session.finish_step()  # the next step uses 0.1 for both updates
    assert session.learning_rate == 0.1
    w1 = session.step_start_params["W1"]
    assert np.array_equal(session.params["W1"], w1 + -(0.1 * session.values["dW1"]))

    session.goto(5 * OPS + OPS - 2)
    assert session.learning_rate == LEARNING_RATE  # before the edit
    session.goto(4 * OPS)
    assert session.step_losses == losses_before[:4]


def test_an_input_edit_changes_this_batch_only(xor: Scenario) -> None:
    session = Session(xor)
    data_before = xor.data.inputs.copy()
    session.step()  # the batch is loaded
    session.edit("x", (2, 1), 0.5)
    assert session.values["x"][2, 1] == 0.5
    session.step()
    assert np.array_equal(session.values["z1"], session.values["x"] @ session.params["W1"] + session.params["b1"])
    session.finish_step()
    session.step()  # the next batch comes fresh from the data
    assert session.values["x"][2, 1] == data_before[2, 1]
    assert np.array_equal(xor.data.inputs, data_before)  # the dataset was not written to
    session.goto(1)
    assert session.values["x"][2, 1] == 0.5
    session.goto(0)
    session.step()
    assert session.values["x"][2, 1] == 0.5  # replayed


@pytest.mark.parametrize(
    ("position", "name", "index", "value", "says"),
    [
        (3, "W1", (0, 0), math.nan, "finite"),
        (3, "W1", (0, 0), math.inf, "finite"),
        (3, "b2", (0,), -math.inf, "finite"),
        (3, "learning_rate", (), math.nan, "finite"),
        (3, "learning_rate", (), 0.0, "> 0"),
        (3, "learning_rate", (), -1.0, "> 0"),
        (3, "W1", (2, 0), 1.0, "outside"),
        (3, "W1", (0, -1), 1.0, "outside"),
        (3, "W1", (0,), 1.0, "outside"),
        (3, "b1", (0, 0), 1.0, "outside"),
        (3, "z1", (0, 0), 1.0, "cannot be edited"),
        (3, "loss", (), 1.0, "cannot be edited"),
        (3, "x", (4, 0), 1.0, "outside"),
        (0, "x", (0, 0), 1.0, "not loaded"),
        (OPS, "x", (0, 0), 1.0, "not loaded"),  # the blank next step, reached going back
    ],
)
def test_invalid_edits_are_refused(
    xor: Scenario, position: int, name: str, index: tuple[int, ...], value: float, says: str
) -> None:
    session = Session(xor)
    debugger = Debugger(session)
    session.goto(position + 1)
    session.goto(position)
    before = session_state(session)
    with pytest.raises(ValueError, match=says):
        debugger.edit(name, index, value)
    assert session.edits == []
    assert not debugger.can_undo
    assert_same_state(session_state(session), before)


def test_edits_across_mini_batches_replay_exactly() -> None:
    scenario = load_scenario(SHUFFLED)
    session = Session(scenario, history_mb=0.001)
    count = session.ops_per_step
    session.run_steps(7)
    session.goto(7 * count + 2)
    rows = len(session.values["x"])
    session.edit("x", (rows - 1, 0), -0.5)
    session.goto(9 * count + 12)
    session.edit("W2", (2, 0), 3.0)
    session.run_steps(40)
    end = session_state(session)
    session.goto(8 * count)
    middle = session_state(session)

    fresh = Session(scenario)
    fresh.goto(7 * count + 2)
    fresh.edit("x", (rows - 1, 0), -0.5)
    fresh.goto(9 * count + 12)
    fresh.edit("W2", (2, 0), 3.0)
    fresh.goto(end["position"])
    assert_same_state(session_state(fresh), end)
    fresh.goto(8 * count)
    assert_same_state(session_state(fresh), middle)
    with pytest.raises(ValueError, match="cannot be edited"):
        session.edit("vW1", (0, 0), 1.0)  # optimizer state is not a thing to edit by hand
