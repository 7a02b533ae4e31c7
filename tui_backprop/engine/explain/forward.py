"""Explaining the forward ops: the batch, the weighted sums and the activations (softmax included)."""

from __future__ import annotations

from collections.abc import Callable

from tui_backprop.engine.explain.context import Context, Parts
from tui_backprop.engine.explain.record import Equation, Numbers, group, operand, series
from tui_backprop.engine.ops import ACTIVATIONS, LEAKY_RELU_SLOPE
from tui_backprop.engine.program import Op


def batch_parts(ctx: Context, op: Op, unit: int) -> Parts:
    """Which rows the step uses, and the focused sample's input and target values."""
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


def linear_parts(ctx: Context, op: Op, unit: int) -> Parts:
    """z of one node: the weighted sum of its inputs plus its bias, term by term."""
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
    symbolic, substituted, note = series(symbols, numbers, sigma)
    bias = f"b{layer}"
    if bias in ctx.before:
        symbolic += f" + {bias}[{node}]"
        substituted += f" + {operand(ctx.numbers.parameter(ctx.before[bias][unit]))}"
    value = ctx.at(ctx.after, f"z{layer}", unit)
    equation = Equation(f"z[{node}]", "=", symbolic, substituted, ctx.numbers.value(value), value)
    plain = f"the weighted sum of the signals reaching {node}, plus its bias: {node}'s input (pre-activation)"
    return [equation], 0, plain, note


_ActivationForm = Callable[[str, float, str, Numbers], tuple[str, str]]


def _softmax_form(ctx: Context, layer: int, unit: int) -> tuple[str, str, str]:
    z = ctx.before[f"z{layer}"]
    row = z[min(ctx.sample, len(z) - 1)]
    node = ctx.node(layer, unit)
    symbols = [f"e^(z[{ctx.node(layer, k)}])" for k in range(len(row))]
    numbers = [f"e^({ctx.numbers.value(v)})" for v in row]
    symbolic, substituted, note = series(symbols, numbers, "Σₖ e^(z[k])")
    formula = f"e^(z[{node}]) / {group(symbolic)}"
    return formula, f"e^({ctx.numbers.value(row[unit])}) / {group(substituted)}", note


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


def activation_parts(ctx: Context, op: Op, unit: int) -> Parts:
    """a of one node: its activation function applied to z (softmax over the whole layer)."""
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
