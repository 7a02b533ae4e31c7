"""Explaining the loss and where backprop starts: the loss, its gradient, and softmax with cross-entropy fused."""

from __future__ import annotations

from collections.abc import Callable

from tui_backprop.engine.explain.context import Context, Parts
from tui_backprop.engine.explain.record import Equation, group, operand, series, subscript
from tui_backprop.engine.ops import LOSSES
from tui_backprop.engine.program import Op

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


def loss_parts(ctx: Context, op: Op, unit: int) -> Parts:
    """The loss: the focused sample's per-sample loss over the outputs, then the reduction over the batch."""
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
        symbolic, substituted, note = series(symbols, values, "Σₖ " + term("a[k]", "y[k]"))
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
    symbolic, substituted, batch_note = series(symbols, values, "Σₙ ℓₙ")
    if training.reduction == "mean":
        symbolic, substituted = f"{group(symbolic)} / {batch}", f"{group(substituted)} / {batch}"
        plain = f"how wrong the network is on sample {n + 1}; the batch loss L is the mean over the B = {batch} samples"
    else:
        plain = f"how wrong the network is on sample {n + 1}; the batch loss L adds up the {batch} samples' losses"
    total = float(ctx.after["loss"])
    equations.append(Equation("L", "=", symbolic, substituted, numbers.value(total), total))
    return equations, 1, plain, " ".join(part for part in (note, batch_note) if part)


def _divided(text: str, ctx: Context) -> str:
    """Append the mean's ``/ B``."""
    if ctx.scenario.training.reduction != "mean":
        return text
    return f"({text}) / {ctx.batch_size}"


def loss_grad_parts(ctx: Context, op: Op, unit: int) -> Parts:
    """∂L/∂ŷ of one output: the loss's derivative, scaled by 1/B for a mean."""
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


def softmax_cross_entropy_grad_parts(ctx: Context, op: Op, unit: int) -> Parts:
    """δ of one output when softmax and cross-entropy are fused: output minus target (over B for a mean)."""
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
