"""Backprop gradients against an independent oracle: central finite differences in float64.

Pins, for every hidden activation x every valid (output activation, loss) pair x reduction x
bias setting on small random nets built in code:

- the engine's batch loss equals an independent numpy forward pass (not the engine's op table);
- every gradient the engine writes (``dW1``, ``db1``, ...) matches central differences of that
  independent loss, relative error < 1e-6 with an absolute floor for near-zero gradients;
- ``use_bias = false`` layers have no bias and no bias gradient;
- ``train_bias = false`` layers still show their bias gradient (it is part of the backward pass a
  learner reads) but the update leaves the bias exactly as it was, while trained parameters move
  by ``-learning_rate * gradient``.

Valid pairings follow the format: softmax only on the last layer and only with cross_entropy;
bce only with a sigmoid output. Pre-activations of ReLU-type layers are kept at least
``KINK_MARGIN`` away from 0, where the derivative is undefined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray

from tui_backprop.engine import Phase, Session
from tui_backprop.engine.ops import LEAKY_RELU_SLOPE
from tui_backprop.scenario import parse_scenario

FloatArray = NDArray[np.float64]

RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_FLOOR = 1e-9  # below this, a gradient counts as zero (dead ReLU units, cancelling terms)
STEP = 1e-5  # finite-difference step: truncation ~STEP², round-off ~1e-16/STEP, both far below the tolerance
KINK_MARGIN = 1e-3  # the finite-difference step moves any z by well under 1e-4
LEARNING_RATE = 0.1

HIDDEN_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu")
SQUARED_LOSSES = ("sse", "half_sse", "mse", "half_mse")
OUTPUT_PAIRS = (
    *((activation, loss) for loss in SQUARED_LOSSES for activation in HIDDEN_ACTIVATIONS),
    ("sigmoid", "bce"),
    ("softmax", "cross_entropy"),
)
REDUCTIONS = ("mean", "sum")
BIAS_SETTINGS = ("trained", "fixed", "none")  # use_bias/train_bias = true/true, true/false, false/-

INPUTS = 3
HIDDEN_UNITS = (4, 3)
OUTPUTS = 3
SAMPLES = 5


# --------------------------------------------------------------------------- the independent oracle


def _sigmoid(z: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z: FloatArray) -> FloatArray:
    exp = np.exp(z - z.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


ORACLE_ACTIVATIONS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "identity": lambda z: z,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "softmax": _softmax,
}

# Per-sample losses exactly as the format defines them (issue 2), written from the text, not the engine.
ORACLE_LOSSES: dict[str, Callable[[FloatArray, FloatArray], FloatArray]] = {
    "sse": lambda out, y: ((out - y) ** 2).sum(axis=-1),
    "half_sse": lambda out, y: 0.5 * ((out - y) ** 2).sum(axis=-1),
    "mse": lambda out, y: ((out - y) ** 2).mean(axis=-1),
    "half_mse": lambda out, y: 0.5 * ((out - y) ** 2).mean(axis=-1),
    "bce": lambda out, y: -(y * np.log(out) + (1 - y) * np.log(1 - out)).sum(axis=-1),
    "cross_entropy": lambda out, y: -(y * np.log(out)).sum(axis=-1),
}


@dataclass(frozen=True)
class Case:
    """One combination under test."""

    hidden: str
    output: str
    loss: str
    reduction: str
    bias: str

    @property
    def activations(self) -> tuple[str, ...]:
        return (self.hidden,) * len(HIDDEN_UNITS) + (self.output,)


def oracle_pre_activations(case: Case, params: dict[str, FloatArray], x: FloatArray) -> list[FloatArray]:
    """z of every layer, by a plain numpy forward pass.

    Parameters may carry a leading axis of independent parameter sets (W shaped (P, in, out),
    b shaped (P, out)); z is then shaped (P, samples, units).
    """
    zs, a = [], x
    for number, activation in enumerate(case.activations, start=1):
        z = a @ params[f"W{number}"]
        if f"b{number}" in params:
            z = z + params[f"b{number}"][..., None, :] if z.ndim == 3 else z + params[f"b{number}"]
        zs.append(z)
        a = ORACLE_ACTIVATIONS[activation](z)
    return zs


def oracle_losses(case: Case, params: dict[str, FloatArray], x: FloatArray, y: FloatArray) -> FloatArray:
    """The batch loss L(params) for each parameter set, independently of the engine."""
    z = oracle_pre_activations(case, params, x)[-1]
    per_sample = ORACLE_LOSSES[case.loss](ORACLE_ACTIVATIONS[case.output](z), y)
    return per_sample.mean(axis=-1) if case.reduction == "mean" else per_sample.sum(axis=-1)


def oracle_loss(case: Case, params: dict[str, FloatArray], x: FloatArray, y: FloatArray) -> float:
    """The batch loss L(params) of one parameter set."""
    return float(oracle_losses(case, params, x, y))


def finite_difference_gradients(
    losses: Callable[[dict[str, FloatArray]], FloatArray], params: dict[str, FloatArray]
) -> dict[str, FloatArray]:
    """Central differences (L(θ+h) − L(θ−h)) / 2h for every parameter entry.

    All 2·P perturbed copies of the parameters are stacked along a leading axis and evaluated
    in one batched forward pass; each copy differs from ``params`` in exactly one entry.
    """
    entries = [(name, index) for name, value in params.items() for index in np.ndindex(value.shape)]
    copies = 2 * len(entries)
    stacked = {name: np.repeat(value[None], copies, axis=0) for name, value in params.items()}
    for number, (name, index) in enumerate(entries):
        stacked[name][(2 * number, *index)] += STEP
        stacked[name][(2 * number + 1, *index)] -= STEP
    values = losses(stacked)
    gradients = {name: np.zeros_like(value) for name, value in params.items()}
    for number, (name, index) in enumerate(entries):
        gradients[name][index] = (values[2 * number] - values[2 * number + 1]) / (2 * STEP)
    return gradients


def assert_gradient_close(name: str, engine: FloatArray, oracle: FloatArray) -> None:
    """|engine − oracle| <= 1e-6 · max(|engine|, |oracle|) + floor, entry by entry."""
    assert engine.shape == oracle.shape, f"{name}: shape {engine.shape} != {oracle.shape}"
    error = np.abs(engine - oracle)
    allowed = RELATIVE_TOLERANCE * np.maximum(np.abs(engine), np.abs(oracle)) + ABSOLUTE_FLOOR
    worst = np.unravel_index(np.argmax(error - allowed), error.shape)
    assert (error <= allowed).all(), (
        f"{name}{list(worst)}: engine {engine[worst]!r} vs finite differences {oracle[worst]!r}"
    )


# --------------------------------------------------------------------------- building scenarios in code


def _toml_array(array: FloatArray) -> str:
    # repr() of a float64 round-trips exactly through TOML's float parser.
    if array.ndim == 1:
        return "[" + ", ".join(repr(float(v)) for v in array) + "]"
    return "[" + ", ".join(_toml_array(row) for row in array) + "]"


def draw_net(case: Case, seed: int) -> tuple[dict[str, FloatArray], FloatArray, FloatArray]:
    """Random parameters, inputs and targets for ``case``, with ReLU pre-activations off the kink."""
    rng = np.random.default_rng(seed)
    sizes = (INPUTS, *HIDDEN_UNITS, OUTPUTS)
    for _attempt in range(200):
        params: dict[str, FloatArray] = {}
        for number in range(1, len(sizes)):
            fan_in, units = sizes[number - 1], sizes[number]
            params[f"W{number}"] = rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_in, units))
            if case.bias != "none":
                params[f"b{number}"] = rng.normal(0.0, 0.3, size=units)
        x = rng.uniform(-1.0, 1.0, size=(SAMPLES, INPUTS))
        if case.loss == "cross_entropy":
            y = np.eye(OUTPUTS)[rng.integers(0, OUTPUTS, size=SAMPLES)]
        elif case.loss == "bce":
            y = rng.integers(0, 2, size=(SAMPLES, OUTPUTS)).astype(np.float64)
        else:
            y = rng.normal(0.0, 1.0, size=(SAMPLES, OUTPUTS))
        zs = oracle_pre_activations(case, params, x)
        # z == 0 exactly only where a whole row of the previous layer is dead and there is no bias:
        # then no small perturbation moves it, so it is no kink for the finite differences.
        kinked = [
            ((np.abs(z) < KINK_MARGIN) & (z != 0.0)).any()
            for z, activation in zip(zs, case.activations, strict=True)
            if activation in ("relu", "leaky_relu")
        ]
        if not any(kinked):
            return params, x, y
    raise AssertionError(f"could not draw a net away from the ReLU kink for {case}")


def scenario_text(case: Case, params: dict[str, FloatArray], x: FloatArray, y: FloatArray) -> str:
    """A full-batch SGD scenario holding exactly these parameters and rows."""
    lines = [f'title = "gradient check {case}"', "", "[network]", f"inputs = {INPUTS}", ""]
    for number, activation in enumerate(case.activations, start=1):
        lines += ["[[network.layers]]", f"units = {params[f'W{number}'].shape[1]}", f'activation = "{activation}"']
        lines.append(f"weights = {_toml_array(params[f'W{number}'])}")
        if case.bias == "none":
            lines.append("use_bias = false")
        else:
            lines.append(f"bias = {_toml_array(params[f'b{number}'])}")
            lines.append(f"train_bias = {'true' if case.bias == 'trained' else 'false'}")
        lines.append("")
    lines += ["[data]", f"inputs = {_toml_array(x)}", f"targets = {_toml_array(y)}", ""]
    lines += [
        "[training]",
        f'loss = "{case.loss}"',
        f'reduction = "{case.reduction}"',
        'optimizer = "sgd"',
        f"learning_rate = {LEARNING_RATE}",
        'batch_size = "full"',
    ]
    return "\n".join(lines) + "\n"


def run_to_update(session: Session) -> None:
    """Execute ops one by one until the next one is the first update."""
    while session.next_op.phase is not Phase.UPDATE:
        session.step()


CASES = [
    Case(hidden, output, loss, reduction, bias)
    for hidden in HIDDEN_ACTIVATIONS
    for output, loss in OUTPUT_PAIRS
    for reduction in REDUCTIONS
    for bias in BIAS_SETTINGS
]


# --------------------------------------------------------------------------- the tests


def test_oracle_leaky_slope_matches_the_engine_constant() -> None:
    # The oracle hard-codes 0.01; if the engine's slope changes, the oracle must be updated with it.
    assert LEAKY_RELU_SLOPE == 0.01


def test_the_check_rejects_a_slightly_wrong_gradient() -> None:
    exact = np.array([[0.3, -2.0], [1e-4, 5.0]])
    assert_gradient_close("W", exact * (1 + 1e-7), exact)
    with pytest.raises(AssertionError, match="W"):
        assert_gradient_close("W", exact * (1 + 1e-5), exact)


def test_every_combination_is_covered() -> None:
    assert len(CASES) == len(HIDDEN_ACTIVATIONS) * 22 * 2 * 3
    assert {case.output for case in CASES} == {*HIDDEN_ACTIVATIONS, "softmax"}
    assert {case.loss for case in CASES} == set(ORACLE_LOSSES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.hidden}-{c.output}-{c.loss}-{c.reduction}-bias_{c.bias}")
def test_gradients_match_finite_differences(case: Case) -> None:
    seed = CASES.index(case)
    params, x, y = draw_net(case, seed)
    session = Session(parse_scenario(scenario_text(case, params, x, y)))
    for name, value in session.params.items():
        np.testing.assert_array_equal(value, params[name], err_msg=f"{name} did not load exactly")

    run_to_update(session)
    values = session.values
    assert values["loss"] == pytest.approx(oracle_loss(case, params, x, y), rel=1e-12, abs=1e-15)

    oracle = finite_difference_gradients(lambda p: oracle_losses(case, p, x, y), params)
    for name in params:
        assert_gradient_close(f"d{name}", values[f"d{name}"], oracle[name])
    if case.bias == "none":
        assert not any(name.startswith(("b", "db")) for name in values)
        assert set(session.params) == {f"W{n}" for n in range(1, len(case.activations) + 1)}

    gradients = {name: values[f"d{name}"] for name in params}
    session.finish_step()
    for name, before in params.items():
        after = session.params[name]
        if name.startswith("b") and case.bias == "fixed":
            np.testing.assert_array_equal(after, before, err_msg=f"fixed bias {name} changed")
        else:
            np.testing.assert_array_equal(after, before - LEARNING_RATE * gradients[name])
            if np.abs(gradients[name]).max() > ABSOLUTE_FLOOR:  # all-dead ReLU layers legitimately stay put
                assert not np.array_equal(after, before), f"{name} did not move"


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_minibatch_gradient_is_that_of_the_batch_loss(reduction: str) -> None:
    """With batch_size 2 of 5 rows (the last batch has 1), 'mean' divides by the batch's own size."""
    case = Case("tanh", "softmax", "cross_entropy", reduction, "trained")
    params, x, y = draw_net(case, 123)
    text = scenario_text(case, params, x, y).replace('batch_size = "full"', "batch_size = 2")
    session = Session(parse_scenario(text))
    for step in range(3):  # rows [0, 1], [2, 3], [4]
        run_to_update(session)
        values = session.values
        rows = values["rows"]
        np.testing.assert_array_equal(rows, np.arange(2 * step, min(2 * step + 2, SAMPLES)))
        current = {name: np.array(value) for name, value in session.params.items()}

        def batch_losses(stacked: dict[str, FloatArray], rows: NDArray[np.intp] = rows) -> FloatArray:
            return oracle_losses(case, stacked, x[rows], y[rows])

        oracle = finite_difference_gradients(batch_losses, current)
        for name in current:
            assert_gradient_close(f"d{name} (step {step})", values[f"d{name}"], oracle[name])
        session.finish_step()
