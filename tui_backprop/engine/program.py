"""One training step as a fixed list of ops: the debugger's "source listing".

Each op has a phase, a layer, a formula a learner can read, the names it reads
and writes, and a line or two of Python over those names that calls the op
table's functions. The stepper runs one op's code at a time; the fast run runs
the same code for whole steps in one compiled loop (see ``compiler``). Both
execute exactly the same operations in the same order, which is what makes them
bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from tui_backprop.engine.batches import BatchSchedule
from tui_backprop.engine.compiler import Loop, OpCode, compile_loop, compile_op
from tui_backprop.engine.inliner import CallWriter
from tui_backprop.engine.network import bias_name, weight_name
from tui_backprop.engine.ops import ACTIVATIONS, LOSSES, OPTIMIZERS, Activation, Optimizer, OptimizerSettings
from tui_backprop.scenario.model import Scenario

Values = MutableMapping[str, Any]
"""The session's value table: parameters, optimizer state and the current step's values, by name."""

STEP_VALUES = ("step", "settings")
"""Values besides parameters and optimizer state that outlive a step: the step counter and the optimizer
settings (a value, so that a live edit of the learning rate replays like any other)."""


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
        code: Its Python source over those names (what both the stepper and the fast loop execute).
        run: Computes the op on a value table, in place.
    """

    index: int
    phase: Phase
    layer: int
    kind: str
    formula: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    code: str
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
        loop: The fast run's compiled loop over whole steps (see ``compiler.compile_loop``).
    """

    ops: tuple[Op, ...]
    schedule: BatchSchedule
    parameter_names: tuple[str, ...]
    state_names: tuple[str, ...]
    output: str
    loop: Loop

    @property
    def persistent_names(self) -> tuple[str, ...]:
        """Everything that outlives a step: parameters, optimizer state and ``STEP_VALUES``."""
        return (*self.parameter_names, *self.state_names, *STEP_VALUES)


class _Builder:
    """Appends ops in order, numbering them, and gathers the helpers their code calls."""

    def __init__(self) -> None:
        self.ops: list[tuple[Phase, int, str, str, OpCode]] = []
        self.helpers: dict[str, object] = {}
        self.calls = CallWriter(self.helpers)

    def assign(self, target: str, function: Callable[..., Any], arguments: list[str], helper: str) -> list[str]:
        """Lines of op code setting ``target`` to ``function(*arguments)`` (inlined where possible)."""
        statements, expression = self.calls.call(function, arguments, helper)
        return [*statements, f"{target} = {expression}"]

    def add(
        self,
        phase: Phase,
        layer: int,
        kind: str,
        formula: str,
        reads: tuple[str, ...],
        writes: tuple[str, ...],
        code: str,
    ) -> None:
        self.ops.append((phase, layer, kind, formula, OpCode(code, reads, writes)))

    def program(
        self, title: str, schedule: BatchSchedule, parameters: tuple[str, ...], states: tuple[str, ...], output: str
    ) -> Program:
        """The finished program; ``title`` names its compiled code in tracebacks."""
        ops = tuple(
            Op(
                index,
                phase,
                layer,
                kind,
                formula,
                code.reads,
                code.writes,
                code.code,
                compile_op(code, self.helpers, f"{title}: {formula}"),
            )
            for index, (phase, layer, kind, formula, code) in enumerate(self.ops)
        )
        persistent = (*parameters, *states, *STEP_VALUES)
        loop = compile_loop([code for *_, code in self.ops], persistent, self.helpers, f"{title}: fast loop")
        return Program(ops, schedule, parameters, states, output, loop)


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
    if schedule.fixed is None:
        next_batch = f"{builder.calls.bind('_batch', schedule.batch)}(step)"
    else:  # the same batches every epoch: a lookup is all the batch op costs
        next_batch = f"{builder.calls.bind('_batches', schedule.fixed)}[step % {len(schedule.fixed)}]"
    builder.add(
        Phase.FORWARD,
        0,
        "batch",
        "x, y ← next batch",
        ("step",),
        ("step", "rows", "x", "y"),
        f"step = step + 1\nrows, x, y = {next_batch}",
    )
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
    return builder.program(scenario.title, schedule, tuple(parameter_names), tuple(state_names), output)


def _forward(builder: _Builder, layer: int, use_bias: bool, activation: Activation) -> None:
    previous, z, a = activation_name(layer - 1), f"z{layer}", f"a{layer}"
    weights, bias = weight_name(layer), bias_name(layer)
    if use_bias:
        builder.add(
            Phase.FORWARD,
            layer,
            "linear",
            f"{z} = {previous}·{weights} + {bias}",
            (previous, weights, bias),
            (z,),
            f"{z} = {previous} @ {weights} + {bias}",
        )
    else:
        builder.add(
            Phase.FORWARD,
            layer,
            "linear",
            f"{z} = {previous}·{weights}",
            (previous, weights),
            (z,),
            f"{z} = {previous} @ {weights}",
        )
    formula = f"{a} = {activation.symbol}({z})" if activation.name != "identity" else f"{a} = {z}"
    code = builder.assign(a, activation.forward, [z], f"_forward{layer}")
    builder.add(Phase.FORWARD, layer, "activation", formula, (z,), (a,), "\n".join(code))


def _loss(builder: _Builder, output: str, loss_name: str, reduction: str, fused: bool, count: int) -> None:
    loss = LOSSES[loss_name]
    over = "meanₙ" if reduction == "mean" else "Σₙ"
    formula = f"L = {over} {loss.formula.replace('ŷ', output)}"
    code = builder.assign("losses", loss.per_sample, [output, "y"], "_per_sample")
    code += builder.assign("loss", np.mean if reduction == "mean" else np.sum, ["losses"], "_reduce")
    builder.add(Phase.LOSS, count, "loss", formula, (output, "y"), ("losses", "loss"), "\n".join(code))
    scale = " / B" if reduction == "mean" else ""
    per_row = " / len(y)" if reduction == "mean" else ""
    if fused:
        delta = f"delta{count}"
        builder.add(
            Phase.BACKWARD,
            count,
            "softmax_cross_entropy_grad",
            f"δ{count} = ({output} − y){scale}   (softmax and cross-entropy fused)",
            (output, "y"),
            (delta,),
            f"{delta} = ({output} - y){per_row}",
        )
        return
    upstream = f"dA{count}"
    statements, gradient = builder.calls.call(loss.gradient, [output, "y"], "_loss_gradient")
    text = loss.gradient_text.replace("ŷ", output)
    text = f"({text}){scale}" if scale else text
    lines = "\n".join([*statements, f"{upstream} = {gradient}{per_row}"])
    builder.add(Phase.BACKWARD, count, "loss_grad", f"∂L/∂{output} = {text}", (output, "y"), (upstream,), lines)


def _activation_grad(builder: _Builder, layer: int, activation: Activation) -> None:
    assert activation.derivative is not None, "softmax is fused with cross-entropy and has no element-wise derivative"
    upstream, z, a, delta = f"dA{layer}", f"z{layer}", f"a{layer}", f"delta{layer}"
    statements, derivative = builder.calls.call(activation.derivative, [z, a], f"_derivative{layer}")
    slope = activation.derivative_text.replace("a", a).replace("z", z)
    formula = f"δ{layer} = ∂L/∂{a} ⊙ {activation.symbol}'({z}),  {activation.symbol}'({z}) = {slope}"
    code = "\n".join([*statements, f"{delta} = {upstream} * {derivative}"])
    builder.add(Phase.BACKWARD, layer, "activation_grad", formula, (upstream, z, a), (delta,), code)


def _weight_grad(builder: _Builder, layer: int, use_bias: bool) -> None:
    previous, delta = activation_name(layer - 1), f"delta{layer}"
    weights_grad, bias_grad = f"d{weight_name(layer)}", f"d{bias_name(layer)}"
    formula = f"{weights_grad} = {previous}ᵀ·δ{layer}"
    code = f"{weights_grad} = {previous}.T @ {delta}"
    writes: tuple[str, ...] = (weights_grad,)
    if use_bias:
        formula += f",  {bias_grad} = Σₙ δ{layer}"
        code += f"\n{bias_grad} = {delta}.sum(axis=0)"
        writes += (bias_grad,)
    builder.add(Phase.BACKWARD, layer, "weight_grad", formula, (previous, delta), writes, code)


def _propagate(builder: _Builder, layer: int) -> None:
    delta, weights, upstream = f"delta{layer}", weight_name(layer), f"dA{layer - 1}"
    formula = f"∂L/∂a{layer - 1} = δ{layer}·{weights}ᵀ"
    code = f"{upstream} = {delta} @ {weights}.T"
    builder.add(Phase.BACKWARD, layer, "propagate", formula, (delta, weights), (upstream,), code)


def initial_settings(scenario: Scenario) -> OptimizerSettings:
    """The optimizer's hyper-parameters as the scenario sets them."""
    training = scenario.training
    return OptimizerSettings(
        training.learning_rate, training.momentum, training.beta1, training.beta2, training.epsilon
    )


def _update(builder: _Builder, layer: int, trained: list[str], optimizer: Optimizer) -> None:
    entries = [
        (name, f"d{name}", tuple(state_name(state, name) for state in optimizer.state_names)) for name in trained
    ]
    code: list[str] = []
    for name, grad, states in entries:
        state = f"({', '.join(states)},)" if states else "()"  # plain SGD keeps no state
        arguments = [name, grad, state, "settings", "step + 1"]
        code += builder.assign(f"step{name}, {state}", optimizer.update, arguments, "_rule")
        code.append(f"{name} = {name} + step{name}")
    lines = [
        line.format(p=name, g=grad, **dict(zip(optimizer.state_names, states, strict=True)))
        for name, grad, states in entries
        for line in optimizer.formulas
    ]
    reads = (*(n for name, grad, states in entries for n in (name, grad, *states)), "settings", "step")
    writes = tuple(n for name, _, states in entries for n in (f"step{name}", name, *states))
    builder.add(Phase.UPDATE, layer, "update", ";  ".join(lines), reads, writes, "\n".join(code))
