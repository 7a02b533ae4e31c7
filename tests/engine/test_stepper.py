"""The session's two drivers, its time travel and its stop conditions, pinned exactly.

Pins, for full-batch (XOR), mini-batch (shuffled, last batch short) and online (batch_size = 1,
shuffled) training:

- op by op (``step()`` repeated), the fast path (``run_steps``, ``run``) and ``goto`` forward give
  bit-identical parameters, optimizer state, step values and loss histories (``np.array_equal``,
  never approx) after 1 step, 1 epoch and 1000 steps;
- ``step()`` k times then ``back()`` k times restores everything exactly, across step and epoch
  boundaries, and ``goto(p)`` to any earlier p equals a fresh session stepped to p;
- ``finish_step``, ``step_start``, ``next_phase`` and ``previous_phase`` land where their docstrings
  say;
- ``run()`` stops with CONVERGED, MAX_EPOCHS, DIVERGED (at the start of the offending step, all
  parameters finite, the message naming the step), CANCELLED and STEP_LIMIT;
- a tiny history budget widens the checkpoint spacing and going back stays exact;
- the epoch loss is the reduction of the per-sample losses over the epoch's batches (recomputed
  here by an independent forward pass), every row used once per epoch;
- the seed fixes initial weights, generated data and the shuffle order, and a different seed
  changes them.
"""

from __future__ import annotations

import itertools
import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_backprop.engine import Phase, Session, StopReason
from tui_backprop.scenario import Scenario, load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

MINI_BATCH = """
title = "spiral, mini-batches of 4 (the last one 2), shuffled, momentum"
seed = {seed}
[network]
inputs = 2
init = "xavier"
[[network.layers]]
units = 5
activation = "tanh"
[[network.layers]]
units = 2
activation = "softmax"
[data]
generator = "spiral"
samples = 30
noise = 0.05
[training]
loss = "cross_entropy"
reduction = "{reduction}"
optimizer = "momentum"
learning_rate = 0.3
momentum = 0.9
batch_size = 4
shuffle = {shuffle}
max_epochs = {max_epochs}
target_loss = 1e-3
"""

ONLINE = """
title = "online: one shuffled sample per step, adam"
seed = 11
[network]
inputs = 2
init = "normal"
init_scale = 0.5
[[network.layers]]
units = 3
activation = "leaky_relu"
[[network.layers]]
units = 1
activation = "sigmoid"
train_bias = false
bias = 0.1
[data]
inputs = [[0.1, 0.9], [0.5, -0.3], [-0.7, 0.2], [0.3, 0.3], [0.9, -0.9], [-0.4, -0.6]]
targets = [[1], [0], [1], [0], [1], [0]]
[training]
loss = "bce"
reduction = "sum"
optimizer = "adam"
learning_rate = 0.01
batch_size = 1
shuffle = true
"""

DIVERGING = """
title = "a linear unit with a learning rate far too large"
[network]
inputs = 2
[[network.layers]]
units = 1
activation = "identity"
weights = [[0.5], [-0.5]]
bias = 0.0
[data]
inputs = [[1.0, 2.0], [2.0, -1.0], [3.0, 0.5]]
targets = [[1.0], [2.0], [3.0]]
[training]
loss = "half_sse"
learning_rate = 1000.0
"""


def mini_batch(seed: int = 5, reduction: str = "mean", shuffle: bool = True, max_epochs: int = 1000) -> Scenario:
    text = MINI_BATCH.format(seed=seed, reduction=reduction, shuffle=str(shuffle).lower(), max_epochs=max_epochs)
    return parse_scenario(text)


@cache
def scenario(mode: str) -> Scenario:
    """The scenario of each training mode (parsed once; scenarios are immutable)."""
    if mode == "full":
        return load_scenario(SCENARIOS / "xor.toml")
    if mode == "mini":
        return mini_batch()
    return parse_scenario(ONLINE)


MODES = ("full", "mini", "online")


# --------------------------------------------------------------------------- exact comparison


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a reader of the session can see, copied."""
    return _copy(
        {
            "cursor": session.cursor,
            "next_op": session.next_op.index,
            "params": session.params,
            "optimizer_state": session.optimizer_state,
            "values": session.values,
            "step_losses": session.step_losses,
            "epoch_losses": session.epoch_losses,
        }
    )


def assert_identical(actual: Any, expected: Any, where: str = "") -> None:
    """Equal bit for bit: same keys, same shapes and dtypes, ``np.array_equal`` values."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert actual.keys() == expected.keys(), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            assert_identical(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"{where}: {type(actual)} is not an array"
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, where
        assert np.array_equal(actual, expected), f"{where}: {actual} != {expected}"
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        assert np.array_equal(np.asarray(actual), np.asarray(expected)), f"{where} differs"
    else:
        assert type(actual) is type(expected) and actual == expected, f"{where}: {actual!r} != {expected!r}"


def step_ops(session: Session, count: int) -> None:
    for _ in range(count):
        session.step()


@cache
def trajectory(mode: str, steps: int) -> tuple[dict[str, Any], ...]:
    """Snapshots of a fresh session stepped op by op, at every position 0 .. steps·ops."""
    session = Session(scenario(mode))
    snapshots = [snapshot(session)]
    for _ in range(steps * session.ops_per_step):
        session.step()
        snapshots.append(snapshot(session))
    return tuple(snapshots)


TRAJECTORY_EPOCHS = 3


def trajectory_steps(mode: str) -> int:
    return TRAJECTORY_EPOCHS * Session(scenario(mode)).batches_per_epoch


def assert_at(session: Session, mode: str, position: int) -> None:
    """The session, shown completed, equals the reference trajectory at ``position``."""
    assert session.position == position
    session.goto(position, show_completed=True)
    assert_identical(snapshot(session), trajectory(mode, trajectory_steps(mode))[position], f"@{position}")


# --------------------------------------------------------------------------- the two drivers


def test_modes_are_what_they_claim() -> None:
    full, mini, online = (Session(scenario(mode)) for mode in MODES)
    assert (full.batches_per_epoch, mini.batches_per_epoch, online.batches_per_epoch) == (1, 8, 6)
    assert mini.program.schedule.shuffle and online.program.schedule.shuffle
    assert full.program.parameter_names == ("W1", "b1", "W2", "b2")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("length", ["1 step", "1 epoch", "1000 steps"])
def test_op_by_op_and_fast_path_are_bit_identical(mode: str, length: str) -> None:
    stepped = Session(scenario(mode))
    steps = {"1 step": 1, "1 epoch": stepped.batches_per_epoch, "1000 steps": 1000}[length]
    step_ops(stepped, steps * stepped.ops_per_step)
    expected = snapshot(stepped)
    assert expected["cursor"].step == steps - 1 and len(expected["step_losses"]) == steps

    fast = Session(scenario(mode))
    result = fast.run_steps(steps)
    assert (result.reason, result.steps) == (StopReason.STEP_LIMIT, steps)
    assert_identical(snapshot(fast), expected, "run_steps")

    jumped = Session(scenario(mode))
    jumped.goto(steps * jumped.ops_per_step)
    assert_identical(snapshot(jumped), expected, "goto")

    if length == "1 epoch":
        epoch = Session(scenario(mode))
        assert epoch.run(max_epochs=1).reason is StopReason.MAX_EPOCHS
        assert_identical(snapshot(epoch), expected, "run(max_epochs=1)")


def test_fast_path_from_mid_step_finishes_that_step_first() -> None:
    stepped = Session(scenario("mini"))
    step_ops(stepped, 4 * stepped.ops_per_step)
    partial = Session(scenario("mini"))
    step_ops(partial, stepped.ops_per_step + 3)
    assert partial.run_steps(2).steps == 2
    assert_identical(snapshot(partial), snapshot(stepped))


# --------------------------------------------------------------------------- back and goto


def _forward_then_back(mode: str, start: int, k: int) -> None:
    session = Session(scenario(mode))
    session.goto(start, show_completed=False)
    blank = snapshot(session)
    session.goto(start, show_completed=True)
    shown = snapshot(session)
    step_ops(session, k)
    assert session.position == start + k
    for _ in range(k):
        session.back()
    assert_identical(snapshot(session), blank, f"back {k} from {start + k}")
    session.goto(start, show_completed=True)
    assert_identical(snapshot(session), shown, f"back {k} from {start + k}, shown completed")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", ["from 0", "within a step", "across a step end", "across an epoch end", "far"])
def test_forward_k_then_back_k_restores_exactly(mode: str, where: str) -> None:
    per_step = Session(scenario(mode)).ops_per_step
    per_epoch = per_step * Session(scenario(mode)).batches_per_epoch
    start, k = {
        "from 0": (0, 1),
        "within a step": (per_step + 2, per_step - 3),
        "across a step end": (2 * per_step - 2, 5),
        "across an epoch end": (per_epoch - 3, per_step + 4),
        "far": (per_step, 2 * per_epoch + 1),
    }[where]
    _forward_then_back(mode, start, k)


@settings(max_examples=30, deadline=None)
@given(mode=st.sampled_from(MODES), start=st.integers(0, 150), k=st.integers(1, 150))
def test_forward_k_then_back_k_restores_exactly_anywhere(mode: str, start: int, k: int) -> None:
    _forward_then_back(mode, start, k)


@settings(max_examples=25, deadline=None)
@given(mode=st.sampled_from(MODES), data=st.data())
def test_goto_earlier_equals_a_fresh_session_stepped_there(mode: str, data: st.DataObject) -> None:
    end = trajectory_steps(mode) * Session(scenario(mode)).ops_per_step
    session = Session(scenario(mode))
    session.run_steps(trajectory_steps(mode))
    positions = data.draw(st.lists(st.integers(0, end - 1), min_size=1, max_size=6), label="positions")
    for position in positions:
        session.goto(position)
        assert_at(session, mode, position)
    session.goto(end)  # and forward again, through replay
    assert_at(session, mode, end)


def test_goto_rejects_negative_positions() -> None:
    with pytest.raises(ValueError, match="position"):
        Session(scenario("full")).goto(-1)


# --------------------------------------------------------------------------- step and phase navigation


def phase_ends(session: Session) -> list[int]:
    """op_index at the end of each phase block of a step."""
    phases = [op.phase for op in session.ops]
    return [index + 1 for index in range(len(phases)) if index + 1 == len(phases) or phases[index + 1] != phases[index]]


@pytest.mark.parametrize("mode", MODES)
def test_program_phases_come_in_order_as_one_block_each(mode: str) -> None:
    session = Session(scenario(mode))
    order = [session.ops[end - 1].phase for end in phase_ends(session)]
    assert order == [Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE]


@pytest.mark.parametrize("mode", MODES)
def test_finish_step_runs_to_the_end_of_the_shown_step(mode: str) -> None:
    per_step = Session(scenario(mode)).ops_per_step
    for done in range(per_step):
        session = Session(scenario(mode))
        session.goto(2 * per_step + done)
        session.finish_step()
        assert (session.position, session.cursor.step, session.cursor.op_index) == (3 * per_step, 2, per_step)
        assert_at(session, mode, 3 * per_step)
    session.finish_step()  # the shown step is finished: run through the next one
    assert (session.position, session.cursor.step, session.cursor.op_index) == (4 * per_step, 3, per_step)
    session.goto(2 * per_step, show_completed=False)  # the blank step 2 is shown: finish step 2
    session.finish_step()
    assert (session.position, session.cursor.step) == (3 * per_step, 2)


@pytest.mark.parametrize("mode", MODES)
def test_step_start_goes_to_the_start_of_the_shown_step(mode: str) -> None:
    per_step = Session(scenario(mode)).ops_per_step
    for done in range(1, per_step + 1):
        session = Session(scenario(mode))
        session.goto(2 * per_step + done)
        session.step_start()
        assert (session.position, session.cursor.step, session.cursor.op_index) == (2 * per_step, 2, 0)
        assert_identical(session.values, {})
        assert_at(session, mode, 2 * per_step)
    session.goto(2 * per_step, show_completed=False)
    session.step_start()  # already at the start: the previous step's start
    assert (session.position, session.cursor.step, session.cursor.op_index) == (per_step, 1, 0)
    session.goto(0)
    session.step_start()
    assert session.position == 0


@pytest.mark.parametrize("mode", MODES)
def test_next_phase_executes_up_to_the_end_of_the_phase(mode: str) -> None:
    session = Session(scenario(mode))
    per_step = session.ops_per_step
    ends = phase_ends(session)
    for step in range(2):
        for end in ends:
            before = session.position
            session.next_phase()
            assert session.position == step * per_step + end and session.position > before
            assert session.cursor.op_index == end and session.cursor.step == step
            assert_at(session, mode, session.position)
    # From the middle of a phase: to that phase's end.
    session.goto(per_step + 1)
    session.next_phase()
    assert session.cursor.op_index == ends[0]


@pytest.mark.parametrize("mode", MODES)
def test_previous_phase_goes_back_to_the_start_of_the_last_executed_ops_phase(mode: str) -> None:
    session = Session(scenario(mode))
    per_step = session.ops_per_step
    starts = [0, *phase_ends(session)[:-1]]
    session.goto(2 * per_step)  # step 1 finished and shown
    for start in reversed(starts):
        session.previous_phase()
        assert session.position == per_step + start and session.cursor.step == 1
        assert session.cursor.op_index == start
        assert_at(session, mode, session.position)
        session.goto(session.position, show_completed=False)
    # At the blank start of step 1, the last executed op is step 0's last update.
    session.previous_phase()
    assert session.position == starts[-1] and session.cursor.op_index == starts[-1]
    # From inside a phase: to the start of that same phase, at least one op back.
    session.goto(per_step + starts[2] + 1)
    session.previous_phase()
    assert session.position == per_step + starts[2]
    session.goto(0)
    session.previous_phase()
    assert session.position == 0


# --------------------------------------------------------------------------- run() and its stop reasons


def test_run_converges_at_the_first_epoch_under_the_target() -> None:
    session = Session(scenario("full"))
    result = session.run()
    target = scenario("full").training.target_loss
    assert result.reason is StopReason.CONVERGED
    assert session.epoch_losses[-1] <= target < session.epoch_losses[-2]
    assert result.steps == session.steps_done == session.epochs_done
    assert "converged" in result.message
    again = session.run()
    assert (again.reason, again.steps) == (StopReason.CONVERGED, 0)


def test_run_stops_at_max_epochs() -> None:
    session = Session(mini_batch(max_epochs=3))
    result = session.run()
    assert (result.reason, session.epochs_done) == (StopReason.MAX_EPOCHS, 3)
    assert result.steps == session.steps_done == 3 * session.batches_per_epoch
    assert session.run().reason is StopReason.MAX_EPOCHS and session.epochs_done == 3
    more = session.run(max_epochs=5)
    assert (more.reason, more.steps, session.epochs_done) == (StopReason.MAX_EPOCHS, 16, 5)


def test_run_stops_after_max_steps_mid_epoch() -> None:
    session = Session(scenario("mini"))
    result = session.run(max_steps=5)
    assert (result.reason, result.steps, session.steps_done, session.epochs_done) == (StopReason.STEP_LIMIT, 5, 5, 0)


def test_run_stops_before_a_diverging_step_with_the_last_finite_state() -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        session = Session(parse_scenario(DIVERGING))
        result = session.run()
        assert result.reason is StopReason.DIVERGED
        done = session.steps_done
        assert result.steps == done > 10
        assert f"step {done + 1} " in result.message and "diverged" in result.message
        assert session.position == done * session.ops_per_step
        assert len(session.step_losses) == done
        for name, value in session.params.items():
            assert np.isfinite(value).all(), name
        # The same state as a fresh session run just that far ...
        fresh = Session(parse_scenario(DIVERGING))
        fresh.run_steps(done)
        assert_identical(snapshot(session), snapshot(fresh))
        # ... and the next step really is the one that goes non-finite.
        fresh.finish_step()
        finite = np.isfinite(fresh.step_losses[-1]) and all(np.isfinite(v).all() for v in fresh.params.values())
        assert not finite
        # Running again stops at once, in the same place.
        assert session.run().steps == 0 and session.steps_done == done


ONE_UNIT = """
title = "one identity unit without bias"
[network]
inputs = {inputs}
[[network.layers]]
units = 1
activation = "identity"
use_bias = false
weights = {weights}
[data]
inputs = {x}
targets = [[0.0]]
[training]
loss = "half_sse"
learning_rate = {learning_rate}
"""


def test_run_stops_when_an_update_overflows_while_the_loss_is_finite() -> None:
    # z = 1e154 gives a finite loss 5e307, but the update W − 1e155·1e154 overflows to −inf.
    text = ONE_UNIT.format(inputs=1, weights="[[1e154]]", x="[[1.0]]", learning_rate="1e155")
    with np.errstate(over="ignore", invalid="ignore"):
        session = Session(parse_scenario(text))
        result = session.run()
    assert (result.reason, result.steps, session.position) == (StopReason.DIVERGED, 0, 0)
    assert "W1 became non-finite in step 1 " in result.message
    np.testing.assert_array_equal(session.params["W1"], [[1e154]])


def test_huge_but_finite_parameters_are_not_divergence() -> None:
    # The entries sum past the float range, yet each is finite and the loss is 0: training goes on.
    text = ONE_UNIT.format(inputs=2, weights="[[1.5e308], [1.5e308]]", x="[[1.0, -1.0]]", learning_rate="0.001")
    session = Session(parse_scenario(text))
    result = session.run_steps(3)
    assert (result.reason, result.steps, session.step_losses) == (StopReason.STEP_LIMIT, 3, [0.0, 0.0, 0.0])


def test_run_is_cancelled_by_an_event_set_beforehand() -> None:
    session = Session(scenario("mini"))
    session.run_steps(3)
    before = snapshot(session)
    cancel = threading.Event()
    cancel.set()
    result = session.run(cancel=cancel)
    assert (result.reason, result.steps) == (StopReason.CANCELLED, 0)
    assert_identical(snapshot(session), before)


class CountdownEvent(threading.Event):
    """An event that reports itself set from the ``n``-th check on: a deterministic mid-run cancel."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.remaining = n

    def is_set(self) -> bool:
        self.remaining -= 1
        return self.remaining < 0


def test_run_checks_cancellation_every_step() -> None:
    session = Session(scenario("mini"))
    result = session.run(cancel=CountdownEvent(7))
    assert (result.reason, result.steps, session.steps_done) == (StopReason.CANCELLED, 7, 7)


def test_cancelled_run_from_mid_step_finishes_that_step_only() -> None:
    session = Session(scenario("mini"))
    session.goto(3)
    cancel = threading.Event()
    cancel.set()
    assert session.run(cancel=cancel).reason is StopReason.CANCELLED
    assert session.position == session.ops_per_step
    assert_at(session, "mini", session.ops_per_step)


# --------------------------------------------------------------------------- history budget


@pytest.mark.parametrize("history_mb", [0.01, 0.0])
def test_a_tiny_history_budget_widens_the_spacing_and_stays_exact(history_mb: float) -> None:
    mode = "mini"
    steps = trajectory_steps(mode)
    session = Session(scenario(mode), history_mb=history_mb, history_spacing=1)
    session.run_steps(steps)
    default = Session(scenario(mode), history_spacing=1)
    default.run_steps(steps)
    assert len(default.history) == steps + 1  # the default budget keeps every step here
    if history_mb:
        assert session.history.nbytes <= history_mb * 2**20
        assert session.history.spacing >= 4
        assert 1 < len(session.history) < steps / 2
    else:
        assert len(session.history) == 1
    rng = np.random.default_rng(0)
    per_step = session.ops_per_step
    for position in [*rng.integers(0, steps * per_step, size=12), 1, 0, steps * per_step - 1]:
        session.goto(int(position))
        assert_at(session, mode, int(position))


# --------------------------------------------------------------------------- loss bookkeeping and seeds


def _cross_entropy_per_sample(params: dict[str, Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    hidden = np.tanh(x @ params["W1"] + params["b1"])
    logits = hidden @ params["W2"] + params["b2"]
    log_softmax = logits - logits.max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    return -(y * log_softmax).sum(axis=1)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_epoch_loss_reduces_the_per_sample_losses_of_the_epochs_batches(reduction: str) -> None:
    data = mini_batch(reduction=reduction)
    session = Session(data)
    inputs, targets = data.data.inputs, data.data.targets
    for epoch in range(2):
        rows, losses, batch_losses = [], [], []
        for _ in range(session.batches_per_epoch):
            params = session.params
            while session.next_op.kind != "update":
                session.step()
            values = session.values
            independent = _cross_entropy_per_sample(params, inputs[values["rows"]], targets[values["rows"]])
            np.testing.assert_allclose(values["losses"], independent, rtol=1e-12)
            rows.append(values["rows"])
            losses.append(independent)
            batch_losses.append(values["loss"])
            session.finish_step()
        assert sorted(np.concatenate(rows)) == list(range(len(inputs))), "each row once per epoch"
        everything = np.concatenate(losses)
        expected = everything.mean() if reduction == "mean" else everything.sum()
        assert session.epochs_done == epoch + 1
        assert session.epoch_losses[epoch] == pytest.approx(expected, rel=1e-12)
        if reduction == "mean":  # the short last batch makes the mean of batch means different
            assert session.epoch_losses[epoch] != pytest.approx(np.mean(batch_losses), rel=1e-9)
        else:
            assert session.epoch_losses[epoch] == pytest.approx(sum(batch_losses), rel=1e-12)
        assert session.step_losses[-session.batches_per_epoch :] == batch_losses


def test_full_batch_epoch_loss_is_the_step_loss() -> None:
    session = Session(scenario("full"))
    session.run_steps(5)
    assert session.epoch_losses == session.step_losses


def _rows_of_steps(session: Session, steps: int) -> list[list[int]]:
    rows = []
    for _ in range(steps):
        session.step()  # the batch op
        rows.append(session.values["rows"].tolist())
        session.finish_step()
    return rows


def test_the_seed_fixes_initial_weights_data_and_shuffle_order() -> None:
    first, again, other = Session(mini_batch(seed=5)), Session(mini_batch(seed=5)), Session(mini_batch(seed=6))
    assert_identical(again.params, first.params)
    np.testing.assert_array_equal(again.scenario.data.inputs, first.scenario.data.inputs)
    assert not np.array_equal(other.params["W1"], first.params["W1"])
    assert not np.array_equal(other.scenario.data.inputs, first.scenario.data.inputs)

    steps = 2 * first.batches_per_epoch
    order, order_again, order_other = (_rows_of_steps(s, steps) for s in (first, again, other))
    assert order == order_again
    assert order != order_other
    epochs = [list(itertools.chain.from_iterable(order[e * 8 : (e + 1) * 8])) for e in range(2)]
    assert epochs[0] != epochs[1], "shuffling draws a new order each epoch"
    assert epochs[0] != list(range(30))
    assert_identical(snapshot(again), snapshot(first))


def test_without_shuffle_batches_follow_the_file_order() -> None:
    session = Session(mini_batch(shuffle=False))
    order = _rows_of_steps(session, 2 * session.batches_per_epoch)
    flat = list(itertools.chain.from_iterable(order))
    assert flat[:30] == list(range(30)) == flat[30:]
    assert [len(rows) for rows in order[:8]] == [4] * 7 + [2]
