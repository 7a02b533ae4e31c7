"""One training step as a fixed list of ops: the debugger's "source listing".

Each op has a phase, a layer, a formula a learner can read, the names it reads
and writes, and a ``run`` function over the session's value table. The stepper
and the fast run both execute exactly these functions, in this order, which is
what makes them bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from tui_backprop.engine.batches import BatchSchedule
from tui_backprop.engine.network import bias_name, weight_name
from tui_backprop.engine.ops import ACTIVATIONS, LOSSES, OPTIMIZERS, Activation, Optimizer, OptimizerSettings
from tui_backprop.scenario.model import Scenario

Values = MutableMapping[str, Any]
"""The session's value table: parameters, optimizer state and the current step's values, by name."""


class Phase(StrEnum):
    """The four parts of a training step, in order."""

    FORWARD = "forward"
    LOSS = "loss"
    BACKWARD = "backward"
    UPDATE = "update"


@dataclass(frozen=True)
class Op:
    """One operation of a training step.

    Attributes:
        index: Position in the step, from 0.
        phase: Which part of the step it belongs to.
        layer: The layer it works on (1-based); 0 for the batch op, the output layer for the loss.
        kind: ``batch``, ``linear``, ``activation``, ``loss``, ``loss_grad``, ``softmax_cross_entropy_grad``,
            ``activation_grad``, ``weight_grad``, ``propagate`` or ``update``.
        formula: What it computes, e.g. ``z1 = x·W1 + b1``.
        reads: Names of the values it reads.
        writes: Names of the values it writes.
        run: Computes the op on a value table, in place.
    """

    index: int
    phase: Phase
    layer: int
    kind: str
    formula: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    run: Callable[[Values], None]


def activation_name(layer: int) -> str:
    """``x`` for layer 0 (the inputs), ``a{layer}`` otherwise."""
    return "x" if layer == 0 else f"a{layer}"


def state_name(state: str, parameter: str) -> str:
    """Name of an optimizer state entry, e.g. ``vW2`` for momentum's velocity of ``W2``."""
    return f"{state}{parameter}"


@dataclass(frozen=True)
class Program:
    """The ops of one training step, plus what the session needs to drive them.

    Attributes:
        ops: The ops, in execution order.
        schedule: Which rows each step uses.
        parameter_names: Trainable and fixed parameters (``W1``, ``b1``, ...).
        state_names: Optimizer state entries (``vW1``, ...).
        output: Name of the network output (``a{L}``).
    """

    ops: tuple[Op, ...]
    schedule: BatchSchedule
    parameter_names: tuple[str, ...]
    state_names: tuple[str, ...]
    output: str

    @property
    def persistent_names(self) -> tuple[str, ...]:
        """Everything that outlives a step: parameters, optimizer state, the step counter and the
        optimizer settings (a value, so that a live edit of the learning rate replays like any other)."""
        return (*self.parameter_names, *self.state_names, "step", "settings")


class _Builder:
    """Appends ops in order, numbering them."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def add(
        self,
        phase: Phase,
        layer: int,
        kind: str,
        formula: str,
        reads: tuple[str, ...],
        writes: tuple[str, ...],
        run: Callable[[Values], None],
    ) -> None:
        self.ops.append(Op(len(self.ops), phase, layer, kind, formula, reads, writes, run))


def build_program(scenario: Scenario) -> Program:
    """Compile a scenario into the ops of one training step.

    Args:
        scenario: The validated scenario.

    Returns:
        The program: batch, forward, loss, backward and update ops.
    """
    layers = scenario.network.layers
    count = len(layers)
    training = scenario.training
    schedule = BatchSchedule(scenario)
    builder = _Builder()
    builder.add(Phase.FORWARD, 0, "batch", "x, y ← next batch", ("step",), ("step", "rows", "x", "y"), _batch(schedule))
    for number, layer in enumerate(layers, start=1):
        _forward(builder, number, layer.use_bias, ACTIVATIONS[layer.activation])
    output = activation_name(count)
    fused = layers[-1].activation == "softmax"
    _loss(builder, output, training.loss, training.reduction, fused, count)
    for number in range(count, 0, -1):
        layer = layers[number - 1]
        if not (fused and number == count):
            _activation_grad(builder, number, ACTIVATIONS[layer.activation])
        _weight_grad(builder, number, layer.use_bias)
        if number > 1:
            _propagate(builder, number)
    optimizer = OPTIMIZERS[training.optimizer]
    parameter_names: list[str] = []
    state_names: list[str] = []
    for number, layer in enumerate(layers, start=1):
        trained = [weight_name(number)] + ([bias_name(number)] if layer.use_bias and layer.train_bias else [])
        parameter_names += [weight_name(number)] + ([bias_name(number)] if layer.use_bias else [])
        state_names += [state_name(state, name) for name in trained for state in optimizer.state_names]
        _update(builder, number, trained, optimizer)
    return Program(tuple(builder.ops), schedule, tuple(parameter_names), tuple(state_names), output)


def _batch(schedule: BatchSchedule) -> Callable[[Values], None]:
    def run(values: Values) -> None:
        step = values["step"] + 1
        values["step"] = step
        values["rows"], values["x"], values["y"] = schedule.batch(step)

    return run


def _forward(builder: _Builder, layer: int, use_bias: bool, activation: Activation) -> None:
    previous, z, a = activation_name(layer - 1), f"z{layer}", f"a{layer}"
    weights, bias = weight_name(layer), bias_name(layer)
    if use_bias:

        def linear(values: Values) -> None:
            values[z] = values[previous] @ values[weights] + values[bias]

        builder.add(
            Phase.FORWARD,
            layer,
            "linear",
            f"{z} = {previous}·{weights} + {bias}",
            (previous, weights, bias),
            (z,),
            linear,
        )
    else:

        def linear_no_bias(values: Values) -> None:
            values[z] = values[previous] @ values[weights]

        builder.add(
            Phase.FORWARD, layer, "linear", f"{z} = {previous}·{weights}", (previous, weights), (z,), linear_no_bias
        )
    forward = activation.forward

    def activate(values: Values) -> None:
        values[a] = forward(values[z])

    formula = f"{a} = {activation.symbol}({z})" if activation.name != "identity" else f"{a} = {z}"
    builder.add(Phase.FORWARD, layer, "activation", formula, (z,), (a,), activate)


def _loss(builder: _Builder, output: str, loss_name: str, reduction: str, fused: bool, count: int) -> None:
    loss = LOSSES[loss_name]
    per_sample, gradient = loss.per_sample, loss.gradient
    reduce = np.mean if reduction == "mean" else np.sum
    over = "meanₙ" if reduction == "mean" else "Σₙ"

    def compute_loss(values: Values) -> None:
        losses = per_sample(values[output], values["y"])
        values["losses"] = losses
        values["loss"] = reduce(losses)

    formula = f"L = {over} {loss.formula.replace('ŷ', output)}"
    builder.add(Phase.LOSS, count, "loss", formula, (output, "y"), ("losses", "loss"), compute_loss)
    scale = " / B" if reduction == "mean" else ""
    mean = reduction == "mean"
    if fused:
        delta = f"delta{count}"

        def softmax_cross_entropy_grad(values: Values) -> None:
            difference = values[output] - values["y"]
            values[delta] = difference / len(difference) if mean else difference

        builder.add(
            Phase.BACKWARD,
            count,
            "softmax_cross_entropy_grad",
            f"δ{count} = ({output} − y){scale}   (softmax and cross-entropy fused)",
            (output, "y"),
            (delta,),
            softmax_cross_entropy_grad,
        )
        return
    upstream = f"dA{count}"

    def loss_grad(values: Values) -> None:
        grad = gradient(values[output], values["y"])
        values[upstream] = grad / len(grad) if mean else grad

    text = loss.gradient_text.replace("ŷ", output)
    text = f"({text}){scale}" if scale else text
    builder.add(Phase.BACKWARD, count, "loss_grad", f"∂L/∂{output} = {text}", (output, "y"), (upstream,), loss_grad)


def _activation_grad(builder: _Builder, layer: int, activation: Activation) -> None:
    derivative = activation.derivative
    assert derivative is not None, "softmax is fused with cross-entropy and has no element-wise derivative"
    upstream, z, a, delta = f"dA{layer}", f"z{layer}", f"a{layer}", f"delta{layer}"

    def activation_grad(values: Values) -> None:
        values[delta] = values[upstream] * derivative(values[z], values[a])

    slope = activation.derivative_text.replace("a", a).replace("z", z)
    formula = f"δ{layer} = ∂L/∂{a} ⊙ {activation.symbol}'({z}),  {activation.symbol}'({z}) = {slope}"
    builder.add(Phase.BACKWARD, layer, "activation_grad", formula, (upstream, z, a), (delta,), activation_grad)


def _weight_grad(builder: _Builder, layer: int, use_bias: bool) -> None:
    previous, delta = activation_name(layer - 1), f"delta{layer}"
    weights_grad, bias_grad = f"d{weight_name(layer)}", f"d{bias_name(layer)}"
    if use_bias:

        def weight_grad(values: Values) -> None:
            values[weights_grad] = values[previous].T @ values[delta]
            values[bias_grad] = values[delta].sum(axis=0)

        formula = f"{weights_grad} = {previous}ᵀ·δ{layer},  {bias_grad} = Σₙ δ{layer}"
        builder.add(
            Phase.BACKWARD, layer, "weight_grad", formula, (previous, delta), (weights_grad, bias_grad), weight_grad
        )
    else:

        def weight_grad_no_bias(values: Values) -> None:
            values[weights_grad] = values[previous].T @ values[delta]

        formula = f"{weights_grad} = {previous}ᵀ·δ{layer}"
        builder.add(
            Phase.BACKWARD, layer, "weight_grad", formula, (previous, delta), (weights_grad,), weight_grad_no_bias
        )


def _propagate(builder: _Builder, layer: int) -> None:
    delta, weights, upstream = f"delta{layer}", weight_name(layer), f"dA{layer - 1}"

    def propagate(values: Values) -> None:
        values[upstream] = values[delta] @ values[weights].T

    formula = f"∂L/∂a{layer - 1} = δ{layer}·{weights}ᵀ"
    builder.add(Phase.BACKWARD, layer, "propagate", formula, (delta, weights), (upstream,), propagate)


def initial_settings(scenario: Scenario) -> OptimizerSettings:
    """The optimizer's hyper-parameters as the scenario sets them."""
    training = scenario.training
    return OptimizerSettings(
        training.learning_rate, training.momentum, training.beta1, training.beta2, training.epsilon
    )


def _update(builder: _Builder, layer: int, trained: list[str], optimizer: Optimizer) -> None:
    rule = optimizer.update
    entries = [
        (name, f"d{name}", tuple(state_name(state, name) for state in optimizer.state_names)) for name in trained
    ]
    # Names are worked out once here: the update runs every step of a fast run.
    plan = [(name, grad, f"step{name}", states) for name, grad, states in entries]

    def update(values: Values) -> None:
        t = values["step"] + 1
        settings = values["settings"]
        for name, grad, step_name, states in plan:
            step, new_state = rule(values[name], values[grad], tuple(values[s] for s in states), settings, t)
            values[step_name] = step
            values[name] = values[name] + step
            for state, value in zip(states, new_state, strict=True):
                values[state] = value

    def update_stateless(values: Values) -> None:
        # Plain SGD keeps no state: the same rule, without the state bookkeeping of a fast run.
        t = values["step"] + 1
        settings = values["settings"]
        for name, grad, step_name, _ in plan:
            step = rule(values[name], values[grad], (), settings, t)[0]
            values[step_name] = step
            values[name] = values[name] + step

    lines = [
        line.format(p=name, g=grad, **dict(zip(optimizer.state_names, states, strict=True)))
        for name, grad, states in entries
        for line in optimizer.formulas
    ]
    reads = (*(n for name, grad, states in entries for n in (name, grad, *states)), "settings")
    writes = tuple(n for name, _, states in entries for n in (f"step{name}", name, *states))
    run = update if optimizer.state_names else update_stateless
    builder.add(Phase.UPDATE, layer, "update", ";  ".join(lines), reads, writes, run)
