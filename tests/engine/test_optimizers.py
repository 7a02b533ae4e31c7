"""The update rules against their textbook equations, computed independently over several steps.

Pins:

- sgd:      θ ← θ − η·g
- momentum: v ← μ·v − η·g;  θ ← θ + v            (v starts at 0)
- adam:     m ← β1·m + (1−β1)·g;  s ← β2·s + (1−β2)·g²;
            θ ← θ − η·m̂/(√ŝ + ε),  m̂ = m/(1−β1ᵗ),  ŝ = s/(1−β2ᵗ),  t = 1, 2, ... (bias-corrected)

On a one-layer linear net with half_sse the whole trajectory (gradients included) is computed
here without the engine; on a deeper sigmoid net with mini-batches, each step's update is
recomputed from the gradients the engine shows (those are pinned by test_gradients.py).
Optimizer state (``vW1``, ``mW1``, ``sW1``, ...) is compared too, fixed biases get no state and
never move, and Adam's first step has the size η·|g|/(|g|+ε) that only the t = 1 bias
correction gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from numpy.typing import NDArray

from tui_backprop.engine import Phase, Session
from tui_backprop.scenario import parse_scenario

FloatArray = NDArray[np.float64]

LEARNING_RATE = 0.05
MOMENTUM = 0.7
BETA1, BETA2, EPSILON = 0.8, 0.95, 1e-6  # not the defaults, so swapped or ignored settings show
STEPS = 8
RTOL, ATOL = 1e-12, 1e-15


def _toml(array: FloatArray) -> str:
    if array.ndim == 1:
        return "[" + ", ".join(repr(float(v)) for v in array) + "]"
    return "[" + ", ".join(_toml(row) for row in array) + "]"


@dataclass
class TextbookOptimizer:
    """The update equations, written out per parameter, with their own state and step counter."""

    name: str
    velocity: dict[str, FloatArray] = field(default_factory=dict)
    first: dict[str, FloatArray] = field(default_factory=dict)
    second: dict[str, FloatArray] = field(default_factory=dict)
    t: int = 0

    def step(self, params: dict[str, FloatArray], grads: dict[str, FloatArray]) -> dict[str, FloatArray]:
        """New parameters after one update of every parameter in ``grads``."""
        self.t += 1
        new = dict(params)
        for name, g in grads.items():
            if self.name == "sgd":
                new[name] = params[name] - LEARNING_RATE * g
            elif self.name == "momentum":
                v = MOMENTUM * self.velocity.get(name, np.zeros_like(g)) - LEARNING_RATE * g
                self.velocity[name] = v
                new[name] = params[name] + v
            else:
                m = BETA1 * self.first.get(name, np.zeros_like(g)) + (1 - BETA1) * g
                s = BETA2 * self.second.get(name, np.zeros_like(g)) + (1 - BETA2) * g**2
                self.first[name], self.second[name] = m, s
                m_hat = m / (1 - BETA1**self.t)
                s_hat = s / (1 - BETA2**self.t)
                new[name] = params[name] - LEARNING_RATE * m_hat / (np.sqrt(s_hat) + EPSILON)
        return new

    def state(self) -> dict[str, FloatArray]:
        """State named as the engine names it: ``vW1``, ``mW1``, ``sW1``."""
        return {
            **{f"v{name}": value for name, value in self.velocity.items()},
            **{f"m{name}": value for name, value in self.first.items()},
            **{f"s{name}": value for name, value in self.second.items()},
        }


def training_table(optimizer: str, batch_size: str) -> str:
    return "\n".join(
        [
            "[training]",
            'loss = "half_sse"',
            'reduction = "mean"',
            f'optimizer = "{optimizer}"',
            f"learning_rate = {LEARNING_RATE}",
            f"momentum = {MOMENTUM}",
            f"beta1 = {BETA1}",
            f"beta2 = {BETA2}",
            f"epsilon = {EPSILON}",
            f"batch_size = {batch_size}",
        ]
    )


def linear_case(optimizer: str, train_bias: bool) -> tuple[Session, dict[str, FloatArray], FloatArray, FloatArray]:
    """A 3 → 2 identity layer on 6 rows, full batch, with known weights."""
    rng = np.random.default_rng(7)
    weights, bias = rng.normal(size=(3, 2)), rng.normal(size=2)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    text = f"""
title = "linear {optimizer}"
[network]
inputs = 3
[[network.layers]]
units = 2
activation = "identity"
weights = {_toml(weights)}
bias = {_toml(bias)}
train_bias = {"true" if train_bias else "false"}
[data]
inputs = {_toml(x)}
targets = {_toml(y)}
{training_table(optimizer, '"full"')}
"""
    return Session(parse_scenario(text)), {"W1": weights, "b1": bias}, x, y


def linear_gradients(params: dict[str, FloatArray], x: FloatArray, y: FloatArray) -> dict[str, FloatArray]:
    """∂/∂θ of mean over rows of ½Σk(xW + b − y)², by hand."""
    error = x @ params["W1"] + params["b1"] - y
    return {"W1": x.T @ error / len(x), "b1": error.mean(axis=0)}


@pytest.mark.parametrize("train_bias", [True, False], ids=["trained_bias", "fixed_bias"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_linear_trajectory_matches_the_textbook(optimizer: str, train_bias: bool) -> None:
    session, params, x, y = linear_case(optimizer, train_bias)
    textbook = TextbookOptimizer(optimizer)
    trained = ["W1", "b1"] if train_bias else ["W1"]
    expected_state = {f"{s}{n}" for n in trained for s in {"sgd": "", "momentum": "v", "adam": "ms"}[optimizer]}
    assert set(session.optimizer_state) == expected_state
    for state in session.optimizer_state.values():
        assert not state.any(), "optimizer state must start at zero"

    for step in range(STEPS):
        gradients = linear_gradients(params, x, y)
        params = textbook.step(params, {name: gradients[name] for name in trained})
        session.finish_step()
        for name, value in params.items():
            np.testing.assert_allclose(
                session.params[name], value, rtol=RTOL, atol=ATOL, err_msg=f"{name} after step {step}"
            )
        for name, value in textbook.state().items():
            np.testing.assert_allclose(session.optimizer_state[name], value, rtol=RTOL, atol=ATOL, err_msg=name)
    if not train_bias:
        bias = linear_case(optimizer, train_bias)[1]["b1"]
        np.testing.assert_array_equal(session.params["b1"], bias)


def test_momentum_is_not_plain_sgd() -> None:
    # Guards the test above: after a few steps the two rules must have parted.
    sgd, momentum = linear_case("sgd", True)[0], linear_case("momentum", True)[0]
    sgd.run_steps(3)
    momentum.run_steps(3)
    assert not np.allclose(sgd.params["W1"], momentum.params["W1"], rtol=1e-6)


def test_adam_first_step_is_bias_corrected_with_t_equal_1() -> None:
    """At t = 1, m̂ = g and ŝ = g², so every entry moves by η·|g|/(|g|+ε), against the gradient."""
    session, params, x, y = linear_case("adam", True)
    gradients = linear_gradients(params, x, y)
    session.finish_step()
    for name in ("W1", "b1"):
        g = gradients[name]
        moved = session.params[name] - params[name]
        np.testing.assert_allclose(moved, -LEARNING_RATE * g / (np.abs(g) + EPSILON), rtol=RTOL, atol=ATOL)
        # Without the correction the step would be η·(1−β1)/√(1−β2) ≈ 0.89η; with t = 0 it would blow up.
        assert np.abs(moved) == pytest.approx(LEARNING_RATE, rel=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_deep_minibatch_updates_follow_the_textbook(optimizer: str) -> None:
    """2-3-2 sigmoid, second layer's bias fixed, batch 3 of 7 rows: each update from the shown gradients."""
    text = f"""
title = "deep {optimizer}"
seed = 3
[network]
inputs = 2
init = "normal"
init_scale = 0.8
[[network.layers]]
units = 3
activation = "sigmoid"
bias = [0.1, -0.2, 0.3]
[[network.layers]]
units = 2
activation = "sigmoid"
bias = 0.25
train_bias = false
[data]
inputs = [[0.1, 0.9], [0.5, -0.3], [-0.7, 0.2], [0.3, 0.3], [0.9, -0.9], [-0.4, -0.6], [0.0, 0.8]]
targets = [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1], [0.5, 0.5]]
{training_table(optimizer, "3")}
shuffle = true
"""
    session = Session(parse_scenario(text))
    textbook = TextbookOptimizer(optimizer)
    params = {name: np.array(value) for name, value in session.params.items()}
    for step in range(3 * STEPS):
        while session.next_op.phase is not Phase.UPDATE:
            session.step()
        values = session.values
        grads = {name: values[f"d{name}"] for name in ("W1", "b1", "W2")}
        params = textbook.step(params, grads)
        session.finish_step()
        for name, value in params.items():
            np.testing.assert_allclose(
                session.params[name], value, rtol=RTOL, atol=ATOL, err_msg=f"{name}, step {step}"
            )
        for name, value in textbook.state().items():
            np.testing.assert_allclose(session.optimizer_state[name], value, rtol=RTOL, atol=ATOL, err_msg=name)
        # The engine's value must be what the next step starts from, not our copy.
        params = {name: np.array(value) for name, value in session.params.items()}
    np.testing.assert_array_equal(session.params["b2"], [0.25, 0.25])
    assert "vb2" not in session.optimizer_state and "mb2" not in session.optimizer_state
