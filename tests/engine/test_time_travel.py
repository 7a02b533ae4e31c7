"""Time travel: any op of a long run is reachable again, bit for bit, within a memory budget.

* A hypothesis state machine drives a session through random interleavings of
  step, back, phases, jumps, runs, edits, undo, redo and restart, and after every
  command compares it with a reference that replays the whole command log from
  scratch on a fresh session (which keeps no checkpoints but the first).
* After a 10,000-step XOR run, stepping back op by op and jumping around must show
  exactly what an instrumented forward run recorded at the same places.
* A small history budget widens the checkpoint spacing but never loses reach.
* ``parse_location`` reads what the ``g`` prompt accepts, and refuses the rest.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sessionkit import assert_same_state, same, session_state

from tui_backprop.engine import Session
from tui_backprop.engine.debugger import Command, Debugger
from tui_backprop.engine.history import Checkpoint, History
from tui_backprop.engine.locations import LocationError, parse_location
from tui_backprop.scenario import Scenario, load_scenario

HERE = Path(__file__).resolve().parent
XOR = load_scenario(HERE.parents[1] / "scenarios" / "xor.toml")
SHUFFLED = load_scenario(HERE / "scenarios" / "shuffled.toml")  # batches of 5 of 12 shuffled rows
SCENARIOS = {"xor": XOR, "shuffled": SHUFFLED}
XOR_OPS = 14


# -- the state machine ----------------------------------------------------------------------------


def perform(session: Session, debugger: Debugger, command: tuple[Any, ...]) -> Any:
    """Apply one logged command; the same function drives the machine and the reference."""
    kind = command[0]
    if kind == "command":
        return debugger.execute(Command(command[1]), command[2])
    if kind == "jump":
        return debugger.jump(command[1])
    if kind == "run":  # as the app records a run: one undoable command from where it began
        start = (debugger.mark, debugger.snapshot())
        result = session.run_steps(command[1])
        debugger.finish(*start)
        return result
    if kind == "edit":
        try:
            debugger.edit(command[1], command[2], command[3])
        except ValueError as error:
            return f"refused: {error}"
        return "edited"
    if kind == "undo":
        return debugger.undo()
    if kind == "redo":
        return debugger.redo()
    raise AssertionError(command)


class TimeTravel(RuleBasedStateMachine):
    """A session with checkpoints and an undo log, against a from-scratch replay of its command log."""

    MAX_STEPS = 30  # jumps go anywhere in the first 30 steps

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[Any, ...]] = []
        self.outcomes: list[Any] = []

    @initialize(name=st.sampled_from(sorted(SCENARIOS)), budget=st.sampled_from([None, 0.0, 0.003]))
    def start(self, name: str, budget: float | None) -> None:
        self.scenario: Scenario = SCENARIOS[name]
        self.session = Session(self.scenario, history_mb=budget)
        self.debugger = Debugger(self.session)

    def do(self, *command: Any) -> None:
        self.log.append(command)
        with np.errstate(all="ignore"):
            self.outcomes.append(perform(self.session, self.debugger, command))

    @rule(
        name=st.sampled_from(["step", "back", "next", "previous", "finish", "start"]),
        count=st.sampled_from([1, 1, 1, 2, 5, 17]),
    )
    def move(self, name: str, count: int) -> None:
        self.do("command", name, count)

    @rule()
    def reset(self) -> None:
        self.do("command", "restart", 1)

    @rule(data=st.data())
    def jump(self, data: st.DataObject) -> None:
        self.do("jump", data.draw(st.integers(0, self.MAX_STEPS * self.session.ops_per_step), label="position"))

    @rule(steps=st.integers(1, 20))
    def run(self, steps: int) -> None:
        self.do("run", steps)

    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        session = self.session
        names = [*session.program.parameter_names, "x", "learning_rate"]
        name = data.draw(st.sampled_from(names), label="name")
        if name == "learning_rate":
            value = data.draw(st.floats(0.05, 3.0), label="learning rate")
            self.do("edit", name, (), value)
            return
        shape = np.shape(session.values.get("x", np.zeros((1, 1)))) if name == "x" else session.params[name].shape
        index = tuple(data.draw(st.integers(0, size - 1), label="index") for size in shape)
        value = data.draw(st.floats(-3.0, 3.0) | st.sampled_from([math.nan, math.inf]), label="value")
        self.do("edit", name, index, value)

    @rule()
    def undo(self) -> None:
        self.do("undo")

    @rule()
    def redo(self) -> None:
        self.do("redo")

    @invariant()
    def agrees_with_a_replay_of_the_log(self) -> None:
        if not hasattr(self, "session"):
            return
        reference = Session(self.scenario, history_mb=0)
        debugger = Debugger(reference)
        with np.errstate(all="ignore"):
            outcomes = [perform(reference, debugger, command) for command in self.log]
        assert outcomes == self.outcomes
        assert_same_state(session_state(self.session), session_state(reference))
        assert self.debugger.mark == debugger.mark
        assert self.debugger.changed == debugger.changed
        assert (self.debugger.can_undo, self.debugger.can_redo) == (debugger.can_undo, debugger.can_redo)


TimeTravel.TestCase.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
TestTimeTravel = TimeTravel.TestCase


# -- a long run, walked back ------------------------------------------------------------------------


def forward_record(session: Session, blank: bool) -> dict[str, Any]:
    """A snapshot at a step boundary seen as the blank next step (``blank``) or the finished one."""
    session.goto(session.position, show_completed=not blank)  # does not move, only picks the side
    record = session_state(session)
    record["step_losses"] = len(session.step_losses)  # the full list is compared once, at the end
    return record


def compare(session: Session, records: dict[tuple[int, bool], dict[str, Any]], final_losses: list[float]) -> None:
    blank = session.cursor.op_index == 0
    expected = records[session.position, blank]
    actual = session_state(session)
    assert actual["step_losses"] == final_losses[: expected["step_losses"]], f"at {session.position}: step losses"
    actual["step_losses"] = len(actual["step_losses"])
    assert_same_state(actual, expected, where=f"at {session.position}: ")


@pytest.mark.parametrize(
    ("scenario", "steps", "budget"),
    [(XOR, 10_000, None), (SHUFFLED, 1_500, 0.05)],
    ids=["xor-10000-steps", "shuffled-minibatches-small-budget"],
)
def test_after_a_long_run_going_back_shows_exactly_what_the_forward_run_computed(
    scenario: Scenario, steps: int, budget: float | None
) -> None:
    count = Session(scenario).ops_per_step
    total = steps * count
    rng = np.random.default_rng(2024)
    middle = steps // 2 * count
    stretch = range(middle - 3 * count - 5, middle + 2 * count + 5)  # several step (and epoch) boundaries
    sampled = range(0, total + 1, 97)
    # Jumps back are cheap (replay from the nearest checkpoint); jumps forward re-execute everything
    # from the cursor on, so most of these go backwards and only the last few in random order.
    jumps = sorted((int(p) for p in rng.integers(0, total + 1, size=120)), reverse=True)
    jumps += [int(p) for p in rng.integers(0, total + 1, size=8)]
    wanted = sorted({*sampled, *jumps, *stretch, 0, total})

    forward = Session(scenario)  # only ever goes forward: nothing is rebuilt by replay
    records: dict[tuple[int, bool], dict[str, Any]] = {}
    for position in wanted:
        if position in stretch and forward.position in stretch:
            record = forward.step()  # op by op through the stretch, checking what each op wrote
            assert forward.position == position
            assert all(same(value, forward.values[name]) for name, value in record.writes.items())
        else:
            forward.goto(position)
        records[position, False] = forward_record(forward, blank=False)
        if position % count == 0:
            records[position, True] = forward_record(forward, blank=True)
    forward.goto(total)
    final_losses = list(forward.step_losses)

    session = Session(scenario, history_mb=budget)
    result = session.run_steps(steps)
    assert result.steps == steps
    assert session.position == total
    assert session.step_losses == final_losses
    assert session.epoch_losses == forward.epoch_losses
    compare(session, records, final_losses)

    # A stretch of consecutive back(): every op, across step and epoch boundaries.
    session.goto(stretch[-1])
    for position in reversed(stretch[:-1]):
        session.back()
        assert session.position == position
        compare(session, records, final_losses)
    # Every 97th op, back to the start, each reached by back() from the op after it.
    for position in reversed(sampled):
        session.goto(position + 1)
        session.back()
        compare(session, records, final_losses)
    assert session.position == 0
    # Random jumps, forwards and backwards, showing the finished step at boundaries.
    for position in jumps:
        session.goto(position, show_completed=True)
        compare(session, records, final_losses)
    session.goto(total)
    assert session.step_losses == final_losses


# -- the history's memory budget ------------------------------------------------------------------


def test_a_small_budget_widens_the_spacing_and_every_point_stays_reachable() -> None:
    budget_mb = 0.02
    session = Session(XOR, history_mb=budget_mb)
    budget = session.history.budget_bytes
    assert budget == int(budget_mb * 2**20)
    spacings = []
    for _ in range(10):
        session.run_steps(500)
        assert session.history.nbytes <= budget
        spacings.append(session.history.spacing)
    assert spacings == sorted(spacings)
    assert spacings[-1] >= 64  # 5,000 steps in 20 KiB: checkpoints far apart
    assert spacings[-1] & (spacings[-1] - 1) == 0  # the spacing doubles
    assert 2 <= len(session.history) <= 5000 // spacings[-1] + 1

    roomy = Session(XOR)  # the default budget: never full, a checkpoint every START_SPACING steps
    roomy.run_steps(5000)
    assert roomy.history.spacing == History.START_SPACING
    assert roomy.history.nbytes > budget

    rng = np.random.default_rng(7)
    backwards = sorted((int(p) for p in rng.integers(0, 5000 * XOR_OPS, size=60)), reverse=True)
    for position in [5000 * XOR_OPS, *backwards, 1, 0, 3]:
        side = bool(rng.integers(2))
        session.goto(position, show_completed=side)
        roomy.goto(position, show_completed=side)
        assert_same_state(session_state(session), session_state(roomy), where=f"at {position}: ")
        assert session.history.nbytes <= budget


def test_no_history_keeps_only_the_start_and_still_reaches_everything() -> None:
    session = Session(SHUFFLED, history_mb=0)
    session.run_steps(300)
    assert len(session.history) == 1
    reference = Session(SHUFFLED)
    reference.run_steps(300)
    for position in (0, 17, 150 * session.ops_per_step + 3, 300 * session.ops_per_step - 1):
        session.goto(position)
        reference.goto(position)
        assert_same_state(session_state(session), session_state(reference))


def make_checkpoint(step: int, nbytes: int = 100) -> Checkpoint:
    return Checkpoint(step, {"step": step - 1}, step, step, (), nbytes)


def test_history_thins_to_multiples_of_its_spacing_within_the_budget() -> None:
    history = History(budget_bytes=1000, spacing=1)
    for step in range(200):
        if history.wants(step) or step == 0:
            history.add(make_checkpoint(step))
        assert history.nbytes <= 1000
        assert history.nbytes == 100 * len(history)
    kept = [history.latest_at_or_before(step).step for step in range(200)]
    assert all(step % history.spacing == 0 for step in kept)
    assert history.spacing == 32
    assert history.latest_at_or_before(10**9).step == max(kept)
    assert history.latest_at_or_before(0).step == 0
    history.forget_after(64)
    assert history.latest_at_or_before(10**9).step == 64
    assert history.nbytes == 100 * len(history)
    assert history.wants(96) and not history.wants(64) and not history.wants(80)

    nothing = History(budget_bytes=None, spacing=1)
    nothing.add(make_checkpoint(0))
    assert not nothing.wants(0) and not nothing.wants(1)


# -- where the g prompt goes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 0),
        ("120", 119 * XOR_OPS),
        ("step 120", 119 * XOR_OPS),
        ("  STEP   120 ", 119 * XOR_OPS),
        ("s120", 119 * XOR_OPS),
        ("epoch 3", 2 * XOR_OPS),
        ("epoch 3 step 1 op 5", 2 * XOR_OPS + 5),
        ("e3 s1 o5", 2 * XOR_OPS + 5),
        ("step 4, op 14", 4 * XOR_OPS),  # the end of step 4 is the start of step 5
        ("op 7", 6 * XOR_OPS + 7),  # of the step being shown (step 7)
        ("op 0", 6 * XOR_OPS),
    ],
)
def test_locations_are_read(text: str, expected: int) -> None:
    session = Session(XOR)
    session.goto(6 * XOR_OPS + 2)
    assert parse_location(text, session) == expected


def test_with_minibatches_an_epochs_step_is_its_batch() -> None:
    session = Session(SHUFFLED)
    count = session.ops_per_step
    assert session.batches_per_epoch == 3
    assert parse_location("epoch 2", session) == 3 * count
    assert parse_location("epoch 2 step 3 op 4", session) == 5 * count + 4
    assert parse_location("step 6", session) == 5 * count
    with pytest.raises(LocationError, match=r"steps 1\.\.3"):
        parse_location("epoch 2 step 4", session)


def test_op_alone_refers_to_the_finished_step_at_its_end() -> None:
    session = Session(XOR)
    session.finish_step()
    assert session.cursor.op_index == XOR_OPS
    assert parse_location("op 3", session) == 3
    session.goto(XOR_OPS + 1)
    session.back()  # now the blank step 2
    assert parse_location("op 3", session) == XOR_OPS + 3


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "cannot read"),
        ("abc", "cannot read"),
        ("step", "cannot read"),
        ("-3", "cannot read"),
        ("step -1", "cannot read"),
        ("step 2.5", "cannot read"),
        ("step 3 please", "cannot read"),
        ("steps 3", "cannot read"),
        ("step 0", "from 1"),
        ("epoch 0", "from 1"),
        ("epoch 1 step 2", "steps 1..1"),
        ("op 15", "ops 0..14"),
        ("epoch 2 op 99", "ops 0..14"),
        ("step 99999999", "past the end of training"),  # would re-execute for minutes
        ("epoch 20002", "past the end of training"),  # xor.toml: max_epochs = 20000
    ],
)
def test_bad_locations_are_refused_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(LocationError) as caught:
        parse_location(text, Session(XOR))
    assert says in str(caught.value)
    if says == "cannot read":
        assert "expected e.g." in str(caught.value)
    assert isinstance(caught.value, ValueError)
