"""Explain one op for one node or weight: the formula, the same formula with live numbers, the result.

This is how the articles the project grew from teach backprop ("δ = −(0.9 − 0.7164) · 0.7164·(1 −
0.7164) · 0.5399 = ..."). Every op kind, activation, loss, reduction and optimizer has its form here;
the numbers come from the session's value table (for an op not yet run, from running it on a copy),
so the result shown is always the engine's own value, rounded for display.

Pure: numpy only, no UI. The app renders the returned ``Explanation``; tests parse the substituted
line back into arithmetic and recompute it independently.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tui_backprop.engine.ops import ACTIVATIONS, LEAKY_RELU_SLOPE, LOSSES, OPTIMIZERS, Activation
from tui_backprop.engine.program import Op, activation_name, initial_settings, state_name
from tui_backprop.engine.session import Session
from tui_backprop.naming import Naming
from tui_backprop.scenario.model import Scenario

MAX_TERMS = 6
"""Sums with more terms than this are abbreviated: the first few, an ellipsis, the last, and the count."""
HEAD_TERMS = 3
MINUS = "−"
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

Table = Mapping[str, Any]


# -- the record --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Equation:
    """One line of arithmetic: ``target relation formula``, then with numbers, then the result.

    Attributes:
        target: Left-hand side, e.g. ``δ[h1]``.
        relation: ``=`` for a definition, ``←`` for an assignment (an update).
        formula: The right-hand side in symbols.
        substituted: The right-hand side with the live numbers; empty when there is nothing to substitute.
        result: The value as shown (rounded for display).
        value: The engine's value at full precision; None for results that are not one number.
    """

    target: str
    relation: str
    formula: str
    substituted: str
    result: str
    value: float | None

    def lines(self) -> tuple[str, ...]:
        """The three lines as the articles write them, the ``=`` signs aligned."""
        head = f"{self.target} {self.relation} "
        pad = " " * (len(head) - 2)
        lines = [head + self.formula]
        if self.substituted:
            lines.append(f"{pad}= {self.substituted}")
        lines.append(f"{pad}= {self.result}")
        return tuple(lines)

    def inline(self) -> str:
        """The numbers on one line, e.g. ``W2[h1,o1] ← 0.3700 − 1.2 · (−0.02012) = 0.3941``."""
        if not self.substituted:
            return f"{self.target} {self.relation} {self.result}"
        return f"{self.target} {self.relation} {self.substituted} = {self.result}"


@dataclass(frozen=True)
class Explanation:
    """What one op computes for one node or parameter entry.

    Attributes:
        op_index: Which op of the step.
        kind: The op's kind.
        focus: What it is about, e.g. ``h1, sample 1 of 3`` or ``W2[h1,o1]``.
        equations: The arithmetic, in reading order.
        main: Index into ``equations`` of the line that computes what the op writes.
        plain: One sentence in plain language.
        executed: False when the op has not run yet (its numbers come from running it on a copy).
        note: A remark shown under the arithmetic, or empty.
    """

    op_index: int
    kind: str
    focus: str
    equations: tuple[Equation, ...]
    main: int
    plain: str
    executed: bool
    note: str = ""

    @property
    def formula(self) -> str:
        """The main equation's symbolic line."""
        return self.equations[self.main].lines()[0]

    @property
    def substituted(self) -> str:
        """The main equation's line with numbers ('' when it has none)."""
        lines = self.equations[self.main].lines()
        return lines[1] if len(lines) == 3 else ""

    @property
    def result(self) -> str:
        """The main equation's result line."""
        return self.equations[self.main].lines()[-1]

    def lines(self, plain: bool = True) -> tuple[str, ...]:
        """Every line to show, equations first, then the note and the plain-language line."""
        lines = [line for equation in self.equations for line in equation.lines()]
        if self.note:
            lines.append(self.note)
        if plain:
            lines.append(self.plain)
        return tuple(lines)


# -- numbers -----------------------------------------------------------------------------------------


def _signed(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def _scientific(value: float, digits: int) -> str:
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return _signed(f"{mantissa}e{int(exponent):+03d}".replace("e+", "e"))


class Numbers:
    """How numbers are written in explanations.

    Parameters (weights and biases) have ``digits`` significant digits, as in the parameters panel.
    Computed values get one decimal more (but never fewer than ``digits`` significant digits), so the
    small activations and deltas of backprop keep their information: ``0.10573``, ``−0.009204``.
    Data and hyper-parameters are written exactly when they are short (``0.9``, ``1.2``, ``1e-08``).

    Args:
        digits: Significant digits (4 or 8 in the app).
    """

    def __init__(self, digits: int = 4) -> None:
        self.digits = digits

    def parameter(self, value: float) -> str:
        """A weight or bias, e.g. ``0.3700``."""
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0." + "0" * (self.digits - 1)
        magnitude = math.floor(math.log10(abs(value)))
        if -4 <= magnitude < self.digits:
            return _signed(f"{value:.{max(self.digits - 1 - magnitude, 0)}f}")
        return _scientific(value, self.digits)

    def value(self, value: float) -> str:
        """A computed value, e.g. ``0.10573`` or ``−0.009204``."""
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 10**self.digits:
            return _signed(str(int(value)))  # exact: a slope of 1, a loss of 0
        magnitude = math.floor(math.log10(abs(value)))
        if magnitude < -4 or magnitude > self.digits + 1:
            return _scientific(value, self.digits)
        if magnitude < 0:
            decimals = max(self.digits + 1, self.digits - 1 - magnitude)
        else:
            decimals = max(self.digits - magnitude, 0)
        return _signed(f"{value:.{decimals}f}")

    def exact(self, value: float) -> str:
        """Data or a hyper-parameter: as written when short (``0.9``, ``1e-08``), else like a value."""
        value = float(value)
        text = repr(value)
        if text.endswith(".0"):
            text = text[:-2]
        significant = len(text.split("e")[0].replace("-", "").replace(".", "").lstrip("0"))
        if significant <= self.digits + 2:
            return _signed(text)
        return self.value(value)


def operand(text: str) -> str:
    """A number ready to stand next to an operator: negatives in parentheses, ``(−0.03727)``."""
    return f"({text})" if text.startswith(MINUS) else text


def subscript(number: int) -> str:
    """``12`` → ``₁₂``."""
    return str(number).translate(_SUBSCRIPTS)


def _series(symbols: Sequence[str], numbers: Sequence[str], sigma: str) -> tuple[str, str, str]:
    """Join terms with ``+``; above ``MAX_TERMS``, the sum symbol and an abbreviated list.

    Returns:
        (symbolic, substituted, note): note says how many terms an abbreviated sum has.
    """
    if len(symbols) <= MAX_TERMS:
        return " + ".join(symbols), " + ".join(numbers), ""
    shown = " + ".join([*numbers[:HEAD_TERMS], "…", numbers[-1]])
    return sigma, shown, f"({len(numbers)} terms; {len(numbers) - HEAD_TERMS - 1} not shown)"


def _group(text: str) -> str:
    """Parenthesise a sum that is about to be multiplied or divided."""
    return f"({text})" if " + " in text or text.startswith("Σ") else text


# -- the context -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    scenario: Scenario
    naming: Naming
    numbers: Numbers
    before: Table
    after: Table
    sample: int

    def node(self, layer: int, unit: int) -> str:
        return self.naming.node(layer, unit)

    def target_label(self, unit: int) -> str:
        return self.naming.targets[unit]

    def at(self, table: Table, name: str, unit: int) -> float:
        """A per-sample, per-unit value of the focused sample."""
        array = table[name]
        return float(array[min(self.sample, len(array) - 1), unit])

    def node_value(self, layer: int, unit: int) -> tuple[str, str]:
        """(symbol, number) of the input to layer ``layer + 1`` from ``unit``: ``x[x1]`` or ``a[h1]``."""
        value = self.at(self.before, activation_name(layer), unit)
        if layer == 0:
            return f"x[{self.node(0, unit)}]", self.numbers.exact(value)
        return f"a[{self.node(layer, unit)}]", self.numbers.value(value)

    def weight_label(self, layer: int, row: int, column: int) -> str:
        return f"W{layer}[{self.node(layer - 1, row)},{self.node(layer, column)}]"

    def parameter_label(self, name: str, index: tuple[int, ...]) -> str:
        layer = int(name[1:])
        if name.startswith("W"):
            return self.weight_label(layer, index[0], index[1])
        return f"b{layer}[{self.node(layer, index[0])}]"

    @property
    def batch_size(self) -> int:
        return len(self.before["x"]) if "x" in self.before else len(self.after["x"])


_Parts = tuple[list[Equation], int, str, str]
"""What an op kind's explainer returns: the equations, the main one's index, the plain words, a note."""

# -- op kinds ----------------------------------------------------------------------------------------


def _batch(ctx: _Context, op: Op, unit: int) -> _Parts:
    numbers = ctx.numbers
    n = ctx.sample
    row = int(ctx.after["rows"][min(n, len(ctx.after["rows"]) - 1)])
    x = ctx.after["x"][min(n, len(ctx.after["x"]) - 1)]
    y = ctx.after["y"][min(n, len(ctx.after["y"]) - 1)]
    inputs = ", ".join(ctx.naming.layers[0])
    targets = ", ".join(ctx.naming.targets)
    where = f"data row #{row + 1}"
    equations = [
        Equation(f"({inputs})", "=", f"the inputs of {where}", "", "(" + ", ".join(map(numbers.exact, x)) + ")", None),
        Equation(
            f"({targets})", "=", f"the targets of {where}", "", "(" + ", ".join(map(numbers.exact, y)) + ")", None
        ),
    ]
    batch = len(ctx.after["x"])
    plain = f"the samples this step trains on: {batch} row{'s' if batch > 1 else ''} of the data, one forward pass each"
    return equations, 0, plain, ""


def _linear(ctx: _Context, op: Op, unit: int) -> _Parts:
    layer = op.layer
    node = ctx.node(layer, unit)
    weights = ctx.before[f"W{layer}"]
    symbols, numbers = [], []
    for row in range(weights.shape[0]):
        symbol, number = ctx.node_value(layer - 1, row)
        symbols.append(f"{symbol}·{ctx.weight_label(layer, row, unit)}")
        numbers.append(f"{operand(number)}·{operand(ctx.numbers.parameter(weights[row, unit]))}")
    previous = "x" if layer == 1 else "a"
    sigma = f"Σᵢ {previous}[i]·W{layer}[i,{node}]"
    symbolic, substituted, note = _series(symbols, numbers, sigma)
    bias = f"b{layer}"
    if bias in ctx.before:
        symbolic += f" + {bias}[{node}]"
        substituted += f" + {operand(ctx.numbers.parameter(ctx.before[bias][unit]))}"
    value = ctx.at(ctx.after, f"z{layer}", unit)
    equation = Equation(f"z[{node}]", "=", symbolic, substituted, ctx.numbers.value(value), value)
    plain = f"the weighted sum of the signals reaching {node}, plus its bias: {node}'s input (pre-activation)"
    return [equation], 0, plain, note


_ActivationForm = Callable[[str, float, str, Numbers], tuple[str, str]]


def _softmax_form(ctx: _Context, layer: int, unit: int) -> tuple[str, str, str]:
    z = ctx.before[f"z{layer}"]
    row = z[min(ctx.sample, len(z) - 1)]
    node = ctx.node(layer, unit)
    symbols = [f"e^(z[{ctx.node(layer, k)}])" for k in range(len(row))]
    numbers = [f"e^({ctx.numbers.value(v)})" for v in row]
    symbolic, substituted, note = _series(symbols, numbers, "Σₖ e^(z[k])")
    formula = f"e^(z[{node}]) / {_group(symbolic)}"
    return formula, f"e^({ctx.numbers.value(row[unit])}) / {_group(substituted)}", note


# Forms of a = f(z): (formula in the z symbol, formula with the z number).
ACTIVATION_FORMS: dict[str, _ActivationForm] = {
    "identity": lambda z, value, number, numbers: (z, number),
    "sigmoid": lambda z, value, number, numbers: (f"σ({z}) = 1/(1 + e^(−{z}))", f"1/(1 + e^(−{operand(number)}))"),
    "tanh": lambda z, value, number, numbers: (f"tanh({z})", f"tanh({number})"),
    "relu": lambda z, value, number, numbers: (f"relu({z}) = max(0, {z})", f"max(0, {number})"),
    "leaky_relu": lambda z, value, number, numbers: (
        f"{z} if {z} > 0 else {LEAKY_RELU_SLOPE:g}·{z}",
        number if value > 0 else f"{LEAKY_RELU_SLOPE:g}·{operand(number)}",
    ),
}


def _activation(ctx: _Context, op: Op, unit: int) -> _Parts:
    layer = op.layer
    activation = ACTIVATIONS[ctx.scenario.network.layers[layer - 1].activation]
    node = ctx.node(layer, unit)
    z_symbol = f"z[{node}]"
    z_value = ctx.at(ctx.before, f"z{layer}", unit)
    note = ""
    if activation.name == "softmax":
        formula, substituted, note = _softmax_form(ctx, layer, unit)
    elif activation.name in ACTIVATION_FORMS:
        formula, substituted = ACTIVATION_FORMS[activation.name](
            z_symbol, z_value, ctx.numbers.value(z_value), ctx.numbers
        )
    else:
        formula, substituted = f"{activation.symbol}({z_symbol})", f"{activation.symbol}({ctx.numbers.value(z_value)})"
    value = ctx.at(ctx.after, f"a{layer}", unit)
    equation = Equation(f"a[{node}]", "=", formula, substituted, ctx.numbers.value(value), value)
    plain = f"what {node} passes on: its activation function ({activation.name}, {activation.definition}) of its input"
    return [equation], 0, plain, note


# -- the loss ----------------------------------------------------------------------------------------

# Per-sample loss: (term of output k, how the sum of terms becomes ℓ).
_LOSS_TERMS: dict[str, tuple[Callable[[str, str], str], Callable[[str, int], str]]] = {
    "sse": (lambda a, y: f"({a} − {y})²", lambda total, k: total),
    "half_sse": (lambda a, y: f"({a} − {y})²", lambda total, k: f"½·({total})"),
    "mse": (lambda a, y: f"({a} − {y})²", lambda total, k: f"({total})/{k}"),
    "half_mse": (lambda a, y: f"({a} − {y})²", lambda total, k: f"½·({total})/{k}"),
    "bce": (lambda a, y: f"({y}·ln({a}) + (1 − {y})·ln(1 − {a}))", lambda total, k: f"−({total})"),
    "cross_entropy": (lambda a, y: f"{y}·ln({a})", lambda total, k: f"−({total})"),
}
# ∂ℓ/∂ŷ of one output, from (ŷ, y, K).
_LOSS_GRADIENTS: dict[str, Callable[[str, str, int], str]] = {
    "sse": lambda a, y, k: f"2·({a} − {y})",
    "half_sse": lambda a, y, k: f"{a} − {y}",
    "mse": lambda a, y, k: f"2·({a} − {y})/{k}",
    "half_mse": lambda a, y, k: f"({a} − {y})/{k}",
    "bce": lambda a, y, k: f"({a} − {y})/({a}·(1 − {a}))",
    "cross_entropy": lambda a, y, k: f"−{y}/{a}",
}


def _loss(ctx: _Context, op: Op, unit: int) -> _Parts:
    training = ctx.scenario.training
    output = f"a{op.layer}"
    n = min(ctx.sample, ctx.batch_size - 1)
    outputs = ctx.before[output].shape[1]
    numbers = ctx.numbers
    equations = []
    note = ""
    sample_label = f"ℓ{subscript(n + 1)}"
    losses = ctx.after["losses"]
    if training.loss in _LOSS_TERMS:
        term, wrap = _LOSS_TERMS[training.loss]
        symbols = [term(f"a[{ctx.node(op.layer, k)}]", f"y[{ctx.target_label(k)}]") for k in range(outputs)]
        values = [
            term(
                operand(numbers.value(ctx.at(ctx.before, output, k))),
                operand(numbers.exact(ctx.at(ctx.before, "y", k))),
            )
            for k in range(outputs)
        ]
        symbolic, substituted, note = _series(symbols, values, "Σₖ " + term("a[k]", "y[k]"))
        equations.append(
            Equation(
                sample_label,
                "=",
                wrap(symbolic, outputs),
                wrap(substituted, outputs),
                numbers.value(losses[n]),
                float(losses[n]),
            )
        )
    else:
        equations.append(
            Equation(sample_label, "=", LOSSES[training.loss].formula, "", numbers.value(losses[n]), float(losses[n]))
        )
    batch = ctx.batch_size
    symbols = [f"ℓ{subscript(i + 1)}" for i in range(batch)]
    values = [operand(numbers.value(v)) for v in losses]
    symbolic, substituted, batch_note = _series(symbols, values, "Σₙ ℓₙ")
    if training.reduction == "mean":
        symbolic, substituted = f"{_group(symbolic)} / {batch}", f"{_group(substituted)} / {batch}"
        plain = f"how wrong the network is on sample {n + 1}; the batch loss L is the mean over the B = {batch} samples"
    else:
        plain = f"how wrong the network is on sample {n + 1}; the batch loss L adds up the {batch} samples' losses"
    total = float(ctx.after["loss"])
    equations.append(Equation("L", "=", symbolic, substituted, numbers.value(total), total))
    return equations, 1, plain, " ".join(part for part in (note, batch_note) if part)


def _divided(text: str, ctx: _Context) -> str:
    """Append the mean's ``/ B``."""
    if ctx.scenario.training.reduction != "mean":
        return text
    return f"({text}) / {ctx.batch_size}"


def _loss_grad(ctx: _Context, op: Op, unit: int) -> _Parts:
    layer = op.layer
    node = ctx.node(layer, unit)
    outputs = ctx.before[f"a{layer}"].shape[1]
    loss = ctx.scenario.training.loss
    a_value = ctx.numbers.value(ctx.at(ctx.before, f"a{layer}", unit))
    y_value = ctx.numbers.exact(ctx.at(ctx.before, "y", unit))
    value = ctx.at(ctx.after, f"dA{layer}", unit)
    if loss in _LOSS_GRADIENTS:
        form = _LOSS_GRADIENTS[loss]
        symbolic = form(f"a[{node}]", f"y[{ctx.target_label(unit)}]", outputs)
        substituted = form(operand(a_value), operand(y_value), outputs)
        equation = Equation(
            f"∂L/∂a[{node}]",
            "=",
            _divided(symbolic, ctx),
            _divided(substituted, ctx),
            ctx.numbers.value(value),
            value,
        )
    else:
        text = LOSSES[loss].gradient_text.replace("ŷ", f"a[{node}]")
        equation = Equation(f"∂L/∂a[{node}]", "=", _divided(text, ctx), "", ctx.numbers.value(value), value)
    mean = " (divided by B: the loss is a mean over the batch)" if ctx.scenario.training.reduction == "mean" else ""
    plain = f"how much the loss changes per unit change of {node}'s output{mean}"
    return [equation], 0, plain, ""


def _softmax_cross_entropy_grad(ctx: _Context, op: Op, unit: int) -> _Parts:
    layer = op.layer
    node = ctx.node(layer, unit)
    a_value = ctx.numbers.value(ctx.at(ctx.before, f"a{layer}", unit))
    y_value = ctx.numbers.exact(ctx.at(ctx.before, "y", unit))
    value = ctx.at(ctx.after, f"delta{layer}", unit)
    equation = Equation(
        f"δ[{node}]",
        "=",
        _divided(f"a[{node}] − y[{ctx.target_label(unit)}]", ctx),
        _divided(f"{operand(a_value)} − {operand(y_value)}", ctx),
        ctx.numbers.value(value),
        value,
    )
    plain = (
        f"how much the loss changes per unit change of {node}'s input: through softmax and cross-entropy "
        "together this is simply output minus target"
    )
    return [equation], 0, plain, ""


# -- backward ----------------------------------------------------------------------------------------

# Forms of f'(z): (formula, substituted) from the symbols and numbers of z and a.
_DerivativeForm = Callable[[str, str, str, str, float], tuple[str, str]]
DERIVATIVE_FORMS: dict[str, _DerivativeForm] = {
    "identity": lambda z, a, z_number, a_number, z_value: ("1", ""),
    "sigmoid": lambda z, a, z_number, a_number, z_value: (
        f"{a}·(1 − {a})",
        f"{operand(a_number)}·(1 − {operand(a_number)})",
    ),
    "tanh": lambda z, a, z_number, a_number, z_value: (f"1 − {a}²", f"1 − {operand(a_number)}²"),
    "relu": lambda z, a, z_number, a_number, z_value: (f"1 if {z} > 0 else 0   ({z} = {z_number})", ""),
    "leaky_relu": lambda z, a, z_number, a_number, z_value: (
        f"1 if {z} > 0 else {LEAKY_RELU_SLOPE:g}   ({z} = {z_number})",
        "",
    ),
}


def _derivative(ctx: _Context, layer: int, unit: int, activation: Activation) -> Equation:
    node = ctx.node(layer, unit)
    z, a = ctx.before[f"z{layer}"], ctx.before[f"a{layer}"]
    assert activation.derivative is not None
    slope = float(activation.derivative(z, a)[min(ctx.sample, len(z) - 1), unit])
    z_value, a_value = ctx.at(ctx.before, f"z{layer}", unit), ctx.at(ctx.before, f"a{layer}", unit)
    target = f"{activation.symbol}'(z[{node}])"
    if activation.name in DERIVATIVE_FORMS:
        formula, substituted = DERIVATIVE_FORMS[activation.name](
            f"z[{node}]", f"a[{node}]", ctx.numbers.value(z_value), ctx.numbers.value(a_value), z_value
        )
    else:
        formula, substituted = activation.derivative_text, ""
    return Equation(target, "=", formula, substituted, ctx.numbers.value(slope), slope)


def _incoming_deltas(ctx: _Context, layer: int, unit: int) -> tuple[str, str, str]:
    """Σ over the units of ``layer + 1`` of W·δ, for a node of ``layer``: (symbolic, substituted, note)."""
    above = layer + 1
    weights = ctx.before[f"W{above}"]
    symbols, numbers = [], []
    for k in range(weights.shape[1]):
        other = ctx.node(above, k)
        symbols.append(f"{ctx.weight_label(above, unit, k)}·δ[{other}]")
        numbers.append(
            f"{operand(ctx.numbers.parameter(weights[unit, k]))}·"
            f"{operand(ctx.numbers.value(ctx.at(ctx.before, f'delta{above}', k)))}"
        )
    sigma = f"Σₖ W{above}[{ctx.node(layer, unit)},k]·δ[k]"
    return _series(symbols, numbers, sigma)


def _activation_grad(ctx: _Context, op: Op, unit: int) -> _Parts:
    layer = op.layer
    node = ctx.node(layer, unit)
    activation = ACTIVATIONS[ctx.scenario.network.layers[layer - 1].activation]
    derivative = _derivative(ctx, layer, unit, activation)
    slope = derivative.target
    slope_number = operand(derivative.result)
    note = ""
    if layer == len(ctx.scenario.network.layers):
        upstream = operand(ctx.numbers.value(ctx.at(ctx.before, f"dA{layer}", unit)))
        formula, substituted = f"∂L/∂a[{node}] · {slope}", f"{upstream} · {slope_number}"
    else:
        symbolic, numbers, note = _incoming_deltas(ctx, layer, unit)
        formula = f"{_group(symbolic)} · {slope}"
        substituted = f"{_group(numbers)} · {slope_number}"
    value = ctx.at(ctx.after, f"delta{layer}", unit)
    main = Equation(f"δ[{node}]", "=", formula, substituted, ctx.numbers.value(value), value)
    plain = f"how much the loss changes per unit change of {node}'s input"
    return [main, derivative], 0, plain, note


def _propagate(ctx: _Context, op: Op, unit: int) -> _Parts:
    layer = op.layer - 1
    node = ctx.node(layer, unit)
    symbolic, substituted, note = _incoming_deltas(ctx, layer, unit)
    value = ctx.at(ctx.after, f"dA{layer}", unit)
    equation = Equation(f"∂L/∂a[{node}]", "=", symbolic, substituted, ctx.numbers.value(value), value)
    plain = (
        f"how much the loss changes per unit change of {node}'s output: the deltas of the nodes it feeds, "
        "each weighted by the connection"
    )
    return [equation], 0, plain, note


def _per_sample(term: Callable[[str], str], numbers: list[str], sigma: str) -> tuple[str, str, str]:
    """A sum over the samples of the batch (terms subscripted by sample); one plain term for one sample."""
    if len(numbers) == 1:
        return term(""), numbers[0], ""
    return _series([term(subscript(n + 1)) for n in range(len(numbers))], numbers, sigma)


def _weight_grad(ctx: _Context, op: Op, parameter: tuple[str, tuple[int, ...]]) -> _Parts:
    layer = op.layer
    name, index = parameter
    label = ctx.parameter_label(name, index)
    column = index[-1]
    node = ctx.node(layer, column)
    deltas = ctx.before[f"delta{layer}"][:, column]
    numbers = ctx.numbers
    if name.startswith("W"):
        row = index[0]
        previous = ctx.before[activation_name(layer - 1)][:, row]
        source = f"x[{ctx.node(0, row)}]" if layer == 1 else f"a[{ctx.node(layer - 1, row)}]"
        show = numbers.exact if layer == 1 else numbers.value
        values = [f"{operand(show(p))}·{operand(numbers.value(d))}" for p, d in zip(previous, deltas, strict=True)]
        symbolic, substituted, note = _per_sample(
            lambda n: f"{source}{n}·δ[{node}]{n}", values, f"Σₙ {source}ₙ·δ[{node}]ₙ"
        )
        plain = (
            f"how much the loss changes per unit change of this weight: the signal it carries ({source}) "
            f"times the delta of the node it feeds ({node})"
        )
    else:
        values = [operand(numbers.value(d)) for d in deltas]
        symbolic, substituted, note = _per_sample(lambda n: f"δ[{node}]{n}", values, f"Σₙ δ[{node}]ₙ")
        plain = f"how much the loss changes per unit change of this bias: the delta of {node}"
    if len(deltas) > 1:
        plain += ", summed over the batch"
    if ctx.scenario.training.reduction == "mean":
        plain += " (δ already carries the 1/B of the mean)"
    value = float(ctx.after[f"d{name}"][index])
    equation = Equation(f"∂L/∂{label}", "=", symbolic, substituted, numbers.value(value), value)
    return [equation], 0, plain, note


def _update(ctx: _Context, op: Op, parameter: tuple[str, tuple[int, ...]]) -> _Parts:
    name, index = parameter
    label = ctx.parameter_label(name, index)
    numbers = ctx.numbers
    if f"step{name}" not in ctx.after:
        value = float(ctx.after[name][index])
        equation = Equation(label, "=", "fixed (train_bias = false)", "", numbers.parameter(value), value)
        return [equation], 0, "this bias is not trained: the update leaves it as it is", ""
    optimizer = ctx.scenario.training.optimizer
    settings = ctx.before["settings"]
    old = numbers.parameter(ctx.before[name][index])
    grad_symbol = f"∂L/∂{label}"
    grad = operand(numbers.value(ctx.before[f"d{name}"][index]))
    rate = numbers.exact(settings.learning_rate)
    new_value = float(ctx.after[name][index])
    new = numbers.parameter(new_value)
    if optimizer == "sgd":
        equation = Equation(label, "←", f"{label} − η · {grad_symbol}", f"{old} − {rate} · {grad}", new, new_value)
        return [equation], 0, "the parameter takes a step against its gradient, scaled by the learning rate η", ""
    if optimizer == "momentum":
        state = state_name("v", name)
        velocity_symbol = f"v{label}"
        velocity_old = operand(numbers.value(ctx.before[state][index]))
        velocity_value = float(ctx.after[state][index])
        velocity = numbers.value(velocity_value)
        equations = [
            Equation(
                velocity_symbol,
                "←",
                f"μ · {velocity_symbol} − η · {grad_symbol}",
                f"{numbers.exact(settings.momentum)} · {velocity_old} − {rate} · {grad}",
                velocity,
                velocity_value,
            ),
            Equation(label, "←", f"{label} + {velocity_symbol}", f"{old} + {operand(velocity)}", new, new_value),
        ]
        plain = "the velocity keeps a share μ of the previous steps and adds this step's −η·gradient; the weight moves by it"
        return equations, 1, plain, ""
    if optimizer == "adam":
        return _adam(ctx, name, index, label, grad_symbol, grad, rate, old, new, new_value)
    step = float(ctx.after[f"step{name}"][index])
    rule = "; ".join(OPTIMIZERS[optimizer].formulas)
    equation = Equation(
        label, "←", f"{label} + Δ   ({rule})", f"{old} + {operand(numbers.value(step))}", new, new_value
    )
    return [equation], 0, "the optimizer's step", ""


def _adam(
    ctx: _Context,
    name: str,
    index: tuple[int, ...],
    label: str,
    grad_symbol: str,
    grad: str,
    rate: str,
    old: str,
    new: str,
    new_value: float,
) -> _Parts:
    numbers = ctx.numbers
    settings = ctx.before["settings"]
    t = int(ctx.before["step"]) + 1
    beta1, beta2 = numbers.exact(settings.beta1), numbers.exact(settings.beta2)
    first, second = state_name("m", name), state_name("s", name)
    first_value, second_value = float(ctx.after[first][index]), float(ctx.after[second][index])
    first_hat_value = first_value / (1.0 - settings.beta1**t)
    second_hat_value = second_value / (1.0 - settings.beta2**t)
    m, s = f"m{label}", f"s{label}"
    first_text, second_text = numbers.value(first_value), numbers.value(second_value)
    first_hat, second_hat = numbers.value(first_hat_value), numbers.value(second_hat_value)
    equations = [
        Equation(
            m,
            "←",
            f"β1 · {m} + (1 − β1) · {grad_symbol}",
            f"{beta1} · {operand(numbers.value(ctx.before[first][index]))} + (1 − {beta1}) · {grad}",
            first_text,
            first_value,
        ),
        Equation(
            s,
            "←",
            f"β2 · {s} + (1 − β2) · ({grad_symbol})²",
            f"{beta2} · {operand(numbers.value(ctx.before[second][index]))} + (1 − {beta2}) · {grad}²",
            second_text,
            second_value,
        ),
        Equation(
            "m̂", "=", f"{m} / (1 − β1^t)", f"{operand(first_text)} / (1 − {beta1}^{t})", first_hat, first_hat_value
        ),
        Equation(
            "ŝ", "=", f"{s} / (1 − β2^t)", f"{operand(second_text)} / (1 − {beta2}^{t})", second_hat, second_hat_value
        ),
        Equation(
            label,
            "←",
            f"{label} − η · m̂ / (√(ŝ) + ε)",
            f"{old} − {rate} · {operand(first_hat)} / (√({second_hat}) + {numbers.exact(settings.epsilon)})",
            new,
            new_value,
        ),
    ]
    plain = (
        f"Adam: running means of the gradient (m) and of its square (s), corrected for starting at zero "
        f"(t = {t}); the step is about η in size, in the direction of −m̂"
    )
    return equations, 4, plain, ""


_NODE_KINDS: dict[str, Callable[[_Context, Op, int], _Parts]] = {
    "batch": _batch,
    "linear": _linear,
    "activation": _activation,
    "loss": _loss,
    "loss_grad": _loss_grad,
    "softmax_cross_entropy_grad": _softmax_cross_entropy_grad,
    "activation_grad": _activation_grad,
    "propagate": _propagate,
}
_PARAMETER_KINDS: dict[str, Callable[[_Context, Op, tuple[str, tuple[int, ...]]], _Parts]] = {
    "weight_grad": _weight_grad,
    "update": _update,
}


# -- the value tables --------------------------------------------------------------------------------


def current_settings(session: Session) -> Any:
    """The optimizer settings in force: the scenario's, with the learning rate as (live-)edited."""
    return replace(initial_settings(session.scenario), learning_rate=session.learning_rate)


def values_before(session: Session, op_index: int) -> dict[str, Any]:
    """The value table as op ``op_index`` of the shown step finds it (ops not run yet run on a copy).

    Args:
        session: The session (not changed).
        op_index: An op of the step, 0 .. ops per step − 1.

    Returns:
        A new dict: parameters, optimizer state, ``step``, ``settings`` and what earlier ops wrote.
    """
    cursor = session.cursor
    done = cursor.op_index
    table: dict[str, Any] = {**session.params, **session.optimizer_state}
    table["settings"] = current_settings(session)
    table["step"] = cursor.step - 1
    if done:
        # Persistent values an op of this step already overwrote (the batch's step counter, updated
        # parameters and optimizer state) are wanted as they were, if the op asked about precedes it.
        start: dict[str, Any] = session._step_start
        writers = {name: op.index for op in session.ops[:done] for name in op.writes}
        values = session.values
        for name, writer in writers.items():
            if writer < op_index:
                table[name] = values[name]
            elif name in start:
                table[name] = start[name]
    for op in session.ops[done:op_index]:
        op.run(table)
    return table


def _focus_label(ctx: _Context, op: Op, node: tuple[int, int]) -> str:
    layer, unit = node
    batch = ctx.batch_size
    sample = f"sample {ctx.sample + 1} of {batch}"
    if op.kind in ("batch", "loss"):
        return sample
    return f"{ctx.node(layer, unit)}, {sample}"


def _node_for(op: Op, node: tuple[int, int], sizes: tuple[int, ...]) -> tuple[int, int]:
    """The node of the op's layer to explain: the selected one if it is in that layer, else its first."""
    layer = op.layer - 1 if op.kind == "propagate" else op.layer
    unit = node[1] if node[0] == layer else 0
    return layer, min(unit, sizes[layer] - 1)


def _parameter_for(
    op: Op, parameter: tuple[str, tuple[int, ...]] | None, node: tuple[int, int], table: Table
) -> tuple[str, tuple[int, ...]]:
    """The parameter entry of the op's layer to explain: the given one if it belongs there, else one of the node's."""
    layer = op.layer
    if parameter is not None and parameter[0] in (f"W{layer}", f"b{layer}"):
        return parameter
    weights = table[f"W{layer}"]
    selected_layer, unit = node
    if selected_layer == layer:
        return f"W{layer}", (0, min(unit, weights.shape[1] - 1))
    if selected_layer == layer - 1:
        return f"W{layer}", (min(unit, weights.shape[0] - 1), 0)
    return f"W{layer}", (0, 0)


def explain_tables(
    scenario: Scenario,
    op: Op,
    before: Table,
    after: Table,
    node: tuple[int, int] = (0, 0),
    sample: int = 0,
    parameter: tuple[str, tuple[int, ...]] | None = None,
    digits: int = 4,
    executed: bool = True,
) -> Explanation:
    """Explain ``op`` from the value tables before and after it ran (the pure core of ``explain``).

    Args:
        scenario: Supplies names, activations, loss, reduction and optimizer.
        op: The op.
        before: The value table as the op found it.
        after: The value table after it ran.
        node: The selected node as (layer, unit); used by node-wise ops if it is in their layer.
        sample: Which row of the batch node-wise ops explain.
        parameter: A parameter entry such as ``("W2", (0, 1))`` for ``weight_grad`` and ``update`` ops.
        digits: Significant digits of parameters (computed values get one decimal more).
        executed: Whether the op has run in the session (only changes a remark).

    Returns:
        The explanation.
    """
    batch = len(after["x"])
    ctx = _Context(scenario, Naming(scenario), Numbers(digits), before, after, min(max(sample, 0), batch - 1))
    if op.kind in _PARAMETER_KINDS:
        entry = _parameter_for(op, parameter, node, before)
        equations, main, plain, note = _PARAMETER_KINDS[op.kind](ctx, op, entry)
        focus = ctx.parameter_label(*entry)
    else:
        chosen = _node_for(op, node, scenario.layer_sizes)
        equations, main, plain, note = _NODE_KINDS[op.kind](ctx, op, chosen[1])
        focus = _focus_label(ctx, op, chosen)
    if not executed:
        note = " ".join(part for part in (note, "(not run yet: the numbers are what this op will compute)") if part)
    return Explanation(op.index, op.kind, focus, tuple(equations), main, plain, executed, note)


def explain(
    session: Session,
    op: Op,
    node: tuple[int, int] = (0, 0),
    sample: int = 0,
    parameter: tuple[str, tuple[int, ...]] | None = None,
    digits: int = 4,
) -> Explanation:
    """Explain an op of the step being shown, for a node and sample or a parameter entry.

    An op that has not run yet is run on a copy of the value table, so its numbers are what stepping
    to it will produce; the session is never changed.

    Args:
        session: The session.
        op: An op of the session's program.
        node: The selected node (layer, unit), layer 0 being the inputs.
        sample: Which row of the batch.
        parameter: The parameter entry for ``weight_grad`` and ``update`` ops, e.g. ``("W2", (0, 1))``.
        digits: Significant digits of parameters.

    Returns:
        The explanation.
    """
    before = values_before(session, op.index)
    after = dict(before)
    op.run(after)
    executed = op.index < session.cursor.op_index
    if executed:
        values = session.values
        after.update({name: values[name] for name in op.writes})
    return explain_tables(session.scenario, op, before, after, node, sample, parameter, digits, executed)
