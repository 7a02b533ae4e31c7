"""Explaining the backward ops: deltas through activation slopes, propagation to the layer below, weight gradients."""

from __future__ import annotations

from collections.abc import Callable

from tui_backprop.engine.explain.context import Context, Parts
from tui_backprop.engine.explain.record import Equation, group, operand, series, subscript
from tui_backprop.engine.ops import ACTIVATIONS, LEAKY_RELU_SLOPE, Activation
from tui_backprop.engine.program import Op, activation_name

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


def _derivative(ctx: Context, layer: int, unit: int, activation: Activation) -> Equation:
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


def _incoming_deltas(ctx: Context, layer: int, unit: int) -> tuple[str, str, str]:
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
    return series(symbols, numbers, sigma)


def activation_grad_parts(ctx: Context, op: Op, unit: int) -> Parts:
    """δ of one node: the upstream gradient times the activation's slope, with both worked out."""
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
        formula = f"{group(symbolic)} · {slope}"
        substituted = f"{group(numbers)} · {slope_number}"
    value = ctx.at(ctx.after, f"delta{layer}", unit)
    main = Equation(f"δ[{node}]", "=", formula, substituted, ctx.numbers.value(value), value)
    plain = f"how much the loss changes per unit change of {node}'s input"
    return [main, derivative], 0, plain, note


def propagate_parts(ctx: Context, op: Op, unit: int) -> Parts:
    """∂L/∂a of one node of the layer below: the deltas it feeds, weighted by its outgoing weights."""
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
    return series([term(subscript(n + 1)) for n in range(len(numbers))], numbers, sigma)


def weight_grad_parts(ctx: Context, op: Op, parameter: tuple[str, tuple[int, ...]]) -> Parts:
    """∂L/∂w of one weight or bias: the product of input and delta, summed over the batch."""
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
