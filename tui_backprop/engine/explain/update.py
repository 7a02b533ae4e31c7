"""Explaining the update ops, one form per optimizer: SGD (the delta rule), momentum and Adam."""

from __future__ import annotations

from tui_backprop.engine.explain.context import Context, Parts
from tui_backprop.engine.explain.record import Equation, operand
from tui_backprop.engine.ops import OPTIMIZERS
from tui_backprop.engine.program import Op, state_name


def update_parts(ctx: Context, op: Op, parameter: tuple[str, tuple[int, ...]]) -> Parts:
    """One parameter's update by the scenario's optimizer, with the step and the new value."""
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
    ctx: Context,
    name: str,
    index: tuple[int, ...],
    label: str,
    grad_symbol: str,
    grad: str,
    rate: str,
    old: str,
    new: str,
    new_value: float,
) -> Parts:
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
