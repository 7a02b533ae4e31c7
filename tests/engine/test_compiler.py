"""The compiled op code: inlined table functions give the same bits as calling them, and the fast loop's
sync protocol leaves the session exactly where stepping op by op would.

The drivers' bit-identity over whole runs is pinned in ``test_stepper.py``; here are the parts under it:

- every activation, loss and optimizer of the table, inlined into op code, returns bit-identical arrays
  to calling the function (on random inputs with extreme values), and the small ones really are inlined;
- what cannot be inlined (numpy's own functions, lambdas, closures) is called through a bound helper;
- the stepper's per-op functions and the fast loop run the very same lines, in the same order;
- ``FastSteps.sync`` before any step changes nothing, is idempotent, and a run cut into many small
  slices (a sync and a new loop at every cut) equals one long run.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tui_backprop.engine import ACTIVATIONS, LOSSES, OPTIMIZERS, Session
from tui_backprop.engine.compiler import FastSteps, OpCode, compile_op
from tui_backprop.engine.inliner import CallWriter
from tui_backprop.engine.ops import OptimizerSettings
from tui_backprop.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
RNG = np.random.default_rng(7)
SETTINGS = OptimizerSettings(learning_rate=0.3, momentum=0.9, beta1=0.9, beta2=0.999, epsilon=1e-8)


def _arrays(count: int, low: float = -30.0, high: float = 30.0) -> list[np.ndarray]:
    """Random (5, 3) arrays, with exact zeros and extremes mixed in where the functions care about them."""
    arrays = [RNG.uniform(low, high, size=(5, 3)) for _ in range(count)]
    for array in arrays:
        array[0, 0], array[1, 1] = 0.0, high
    return arrays


def _inlined(function: Callable[..., Any], arguments: dict[str, Any], helper: str) -> tuple[Any, str]:
    """Run ``function`` through CallWriter as op code over ``arguments``; return its result and the code."""
    writer = CallWriter({})
    statements, expression = writer.call(function, list(arguments), helper)
    code = "\n".join([*statements, f"result = {expression}"])
    run = compile_op(OpCode(code, tuple(arguments), ("result",)), writer.helpers, "test")
    values = dict(arguments)
    run(values)
    return values["result"], code


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_inlined_activations_equal_their_functions_bit_for_bit(name: str) -> None:
    activation = ACTIVATIONS[name]
    (z,) = _arrays(1)
    forward, code = _inlined(activation.forward, {"z1": z}, "_forward1")
    assert np.array_equal(forward, activation.forward(z))
    if name != "tanh":  # np.tanh is numpy's own: called, not inlined
        assert "_forward1" not in code
    if activation.derivative is not None:
        a = activation.forward(z)
        slope, code = _inlined(activation.derivative, {"z1": z, "a1": a}, "_derivative1")
        assert np.array_equal(slope, activation.derivative(z, a))
        assert "_derivative1" not in code


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_inlined_losses_equal_their_functions_bit_for_bit(name: str) -> None:
    loss = LOSSES[name]
    out, y = _arrays(2, low=0.01, high=0.99)
    for function in (loss.per_sample, loss.gradient):
        with np.errstate(all="ignore"):  # the planted 0 and 1 are where ln and 1/ŷ give inf and nan
            result, code = _inlined(function, {"a2": out, "y": y}, "_loss")
            expected = function(out, y)
        assert np.array_equal(result, expected, equal_nan=True)
        assert "_loss(" not in code


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_inlined_optimizers_equal_their_functions_bit_for_bit(name: str) -> None:
    optimizer = OPTIMIZERS[name]
    param, grad, *state = _arrays(2 + len(optimizer.state_names), low=-1.0, high=1.0)
    state = [abs(s) for s in state]  # Adam's second moment is never negative
    names = {"W1": param, "dW1": grad, **{f"{s}W1": v for s, v in zip(optimizer.state_names, state, strict=True)}}
    pattern = f"({', '.join(names)[len('W1, dW1, ') :]},)" if state else "()"
    writer = CallWriter({})
    statements, expression = writer.call(optimizer.update, ["W1", "dW1", pattern, "settings", "step + 1"], "_rule")
    code = "\n".join([*statements, f"stepW1, {pattern} = {expression}"])
    writes = ("stepW1", *list(names)[2:])
    run = compile_op(OpCode(code, (*names, "settings", "step"), writes), writer.helpers, "test")
    values: dict[str, Any] = {**names, "settings": SETTINGS, "step": 4}
    run(values)
    expected_step, expected_state = optimizer.update(param, grad, tuple(state), SETTINGS, 5)
    assert np.array_equal(values["stepW1"], expected_step)
    for written, expected in zip(writes[1:], expected_state, strict=True):
        assert np.array_equal(values[written], expected)
    assert "_rule" not in code


def test_what_cannot_be_inlined_is_called() -> None:
    offset = 2.0

    def closure(z: np.ndarray) -> np.ndarray:
        return z + offset

    writer = CallWriter({})
    for function in (np.tanh, np.mean, lambda z: z * 2.0, closure):
        statements, expression = writer.call(function, ["z1"], "_helper")
        assert (statements, expression) == ([], "_helper(z1)")
        writer.helpers.clear()


def test_arguments_used_twice_are_evaluated_once() -> None:
    def twice(t: int) -> int:
        return t * t

    statements, expression = CallWriter({}).call(twice, ["step + 1"], "_twice")
    assert statements == ["_tmp1_t = step + 1"]
    assert expression == "(_tmp1_t * _tmp1_t)"


def test_the_stepper_and_the_fast_loop_run_the_same_lines_in_order() -> None:
    for name in ("xor", "digits"):
        session = Session(load_scenario(SCENARIOS / f"{name}.toml"))
        loop = inspect.getsource(session.program.loop)  # the compiled source is registered for tracebacks
        position = 0
        for op in session.ops:
            assert textwrap.indent(op.code, "    ") in inspect.getsource(op.run)
            for line in op.code.splitlines():
                position = loop.index(line, position) + len(line)


def test_value_names_must_be_plain_identifiers() -> None:
    with pytest.raises(ValueError, match="cannot be a value name"):
        compile_op(OpCode("_x = 1", ("_x",), ()), {}, "test")
    with pytest.raises(ValueError, match="cannot be a value name"):
        compile_op(OpCode("y = np", ("np",), ("y",)), {"np": np}, "test")


def test_sync_before_any_step_changes_nothing_and_sync_is_idempotent() -> None:
    session = Session(load_scenario(SCENARIOS / "xor.toml"))
    values = session._values
    before = dict(values)
    losses: list[float] = []
    parts: list[Any] = []
    fast = FastSteps(session.program.loop, values, losses, parts, session.program.persistent_names)
    assert fast.sync() is None
    assert values == before
    assert fast.run(3, -np.inf, None) == 3
    assert len(losses) == len(parts) == 3
    first = fast.sync()
    after = dict(values)
    assert first is not None and fast.sync() == first
    assert all(values[name] is after[name] for name in after)
    assert values["step"] == 2 and first["step"] == 1  # the last step began after step 1 had ended


def test_the_fast_loop_stops_at_a_loss_at_or_below_the_floor_and_at_a_non_finite_one() -> None:
    session = Session(load_scenario(SCENARIOS / "xor.toml"))
    losses: list[float] = []
    fast = FastSteps(session.program.loop, session._values, losses, [], session.program.persistent_names)
    assert fast.run(10, -np.inf, None) == 10
    floor = losses[-1]  # the loss falls steadily at first, so the next step is below the last
    assert fast.run(10, floor, None) == 1 and losses[-1] <= floor
    assert fast.run(10, -np.inf, lambda: len(losses) >= 13) == 2  # asked before every step
    session._values["W1"] = np.full((2, 2), np.inf)  # (a new loop reads the table afresh)
    broken = FastSteps(session.program.loop, session._values, losses, [], session.program.persistent_names)
    with np.errstate(all="ignore"):
        assert broken.run(10, -np.inf, None) == 1 and not np.isfinite(losses[-1])


def test_a_run_cut_into_slices_equals_one_run() -> None:
    whole = Session(load_scenario(SCENARIOS / "digits.toml"))
    whole.run_steps(300)
    sliced = Session(load_scenario(SCENARIOS / "digits.toml"))
    while sliced.steps_done < 300:
        sliced.run_steps(min(7, 300 - sliced.steps_done))
    assert whole.step_losses == sliced.step_losses and whole.epoch_losses == sliced.epoch_losses
    assert whole.cursor == sliced.cursor
    for name, value in whole._values.items():
        assert (
            np.array_equal(value, sliced._values[name])
            if isinstance(value, np.ndarray)
            else value == sliced._values[name]
        )
    for name, value in whole.step_start_params.items():
        assert np.array_equal(value, sliced.step_start_params[name])
