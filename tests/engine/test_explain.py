"""The explain panel's arithmetic, checked by reading it back.

For every op kind, activation, loss, reduction and optimizer, the numbers shown in the substituted
line are parsed, the expression is recomputed independently (a small translation of the display
notation into Python, evaluated with the math module), and the recomputed value must equal the
shown result within what the rounding of the shown inputs allows; the shown result must equal the
engine's value to the displayed precision. The 2-2-2 seed example reproduces the issue's lines
character for character.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tui_backprop.engine import Session
from tui_backprop.engine.explain import MAX_TERMS, Equation, Explanation, Numbers, explain, values_before
from tui_backprop.scenario import load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ALL_KINDS = {
    "batch",
    "linear",
    "activation",
    "loss",
    "loss_grad",
    "softmax_cross_entropy_grad",
    "activation_grad",
    "weight_grad",
    "propagate",
    "update",
}

# -- reading the display notation back ----------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.\]])(\d+(?:\.\d+)?(?:e[-+]?\d+)?)")


def to_python(text: str) -> str:
    """The display notation as a Python expression over the math module."""
    expression = text.replace("−", "-").replace("·", "*").replace("½", "(1/2)").replace("²", "**2")
    expression = expression.replace("e^(", "exp(").replace("^", "**").replace("√(", "sqrt(").replace("ln(", "log(")
    return expression


def evaluate(expression: str) -> float:
    names = {"exp": math.exp, "sqrt": math.sqrt, "log": math.log, "tanh": math.tanh, "max": max}
    return float(eval(expression, {"__builtins__": {}}, names))


def half_unit(number: str) -> float:
    """Half a unit in the last place shown, e.g. 0.00005 for ``0.3700``; 0 for integers (exact)."""
    mantissa, _, exponent = number.partition("e")
    if "." not in mantissa:
        return 0.0 if not exponent else 0.5 * 10.0 ** int(exponent)
    decimals = len(mantissa.split(".")[1])
    return 0.5 * 10.0 ** (-decimals) * (10.0 ** int(exponent) if exponent else 1.0)


def recompute(substituted: str, exact: frozenset[float] = frozenset()) -> tuple[float, float]:
    """(value of the expression, how far rounding its shown numbers could move it).

    Numbers in ``exact`` (the scenario's data and hyper-parameters, written exactly) are not rounded.
    """
    expression = to_python(substituted)
    spans = [(match.start(), match.end(), match.group(1)) for match in _NUMBER.finditer(expression)]
    value = evaluate(expression)
    spread = 0.0
    for start, end, number in spans:
        unit = half_unit(number)
        if unit == 0 or (float(number) in exact and repr(float(number)).removesuffix(".0") == number):
            continue
        moved = [
            evaluate(expression[:start] + repr(float(number) + sign * unit) + expression[end:]) for sign in (-1, 1)
        ]
        spread += max(abs(m - value) for m in moved)
    return value, spread


def shown(number: str) -> float:
    return float(number.replace("−", "-"))


def exact_numbers(session: Session) -> frozenset[float]:
    """What explanations write exactly: the data and the hyper-parameters (and their negatives)."""
    scenario = session.scenario
    training = scenario.training
    values = {*scenario.data.inputs.ravel().tolist(), *scenario.data.targets.ravel().tolist()}
    values |= {training.learning_rate, training.momentum, training.beta1, training.beta2, training.epsilon}
    return frozenset(values | {abs(value) for value in values})


def check_equation(equation: Equation, exact: frozenset[float] = frozenset()) -> None:
    """The substituted line recomputes to the result, and the result is the engine's value, as shown."""
    assert equation.value is not None
    result = shown(equation.result)
    unit = half_unit(equation.result.replace("−", "-"))
    assert abs(result - equation.value) <= unit * (1 + 1e-9) + 1e-300, (equation.lines(), equation.value)
    if not equation.substituted:
        return
    if "…" in equation.substituted:
        return  # abbreviated: not every term is shown (the note gives the count; see check())
    value, spread = recompute(equation.substituted, exact)
    slack = 1.5 * spread + unit + 1e-12 * max(1.0, abs(value))
    assert abs(value - result) <= slack, (equation.lines(), value, spread)


def check(explanation: Explanation, session: Session) -> None:
    for equation in explanation.equations:
        if explanation.kind == "batch":
            check_batch(equation, session)
        else:
            check_equation(equation, exact_numbers(session))
        if "…" in equation.substituted:
            assert re.search(r"\(\d+ terms; \d+ not shown\)", explanation.note)
    assert explanation.plain


def check_batch(equation: Equation, session: Session) -> None:
    numbers = [shown(part) for part in equation.result.strip("()").split(", ")]
    table = values_before(session, 1)
    name = "x" if "inputs" in equation.formula else "y"
    row = int(re.search(r"#(\d+)", equation.formula).group(1)) - 1  # type: ignore[union-attr]
    source = session.scenario.data.inputs if name == "x" else session.scenario.data.targets
    assert row in table["rows"]
    np.testing.assert_allclose(numbers, source[row], rtol=1e-4)


# -- scenarios built in code -------------------------------------------------------------------------


def scenario_text(
    hidden: str = "sigmoid",
    output: str = "sigmoid",
    loss: str = "half_sse",
    reduction: str = "mean",
    optimizer: str = "sgd",
    batch: str = '"full"',
    inputs: int = 2,
    hidden_units: int = 3,
    outputs: int = 2,
    use_bias: bool = True,
    train_bias: bool = True,
) -> str:
    rng = np.random.default_rng(7)
    samples = 4
    x = rng.uniform(-1, 1, size=(samples, inputs)).round(2)
    if output == "softmax" or loss in ("bce", "cross_entropy"):
        classes = np.arange(samples) % outputs
        y = np.eye(outputs)[classes]
    else:
        y = rng.uniform(0.1, 0.9, size=(samples, outputs)).round(2)
    bias = "" if use_bias else "use_bias = false\n"
    train = "" if train_bias else "train_bias = false\n"
    return f"""
title = "generated"
seed = 3

[network]
inputs = {inputs}
init = "xavier"

[[network.layers]]
units = {hidden_units}
activation = "{hidden}"
{bias}{train}
[[network.layers]]
units = {outputs}
activation = "{output}"
{bias}
[data]
inputs = {x.tolist()}
targets = {y.tolist()}

[training]
loss = "{loss}"
reduction = "{reduction}"
optimizer = "{optimizer}"
learning_rate = 0.3
batch_size = {batch}
shuffle = false
max_epochs = 10
target_loss = 1e-6
"""


def session_of(**settings: Any) -> Session:
    return Session(parse_scenario(scenario_text(**settings)))


def foci(session: Session, op_index: int) -> list[dict[str, Any]]:
    """Every node (and the first and last sample) or every parameter entry the op can be asked about."""
    op = session.ops[op_index]
    sizes = session.scenario.layer_sizes
    batch = session.program.schedule.batch_size
    samples = sorted({0, batch - 1})
    if op.kind in ("weight_grad", "update"):
        params = session.step_start_params
        names = [name for name in (f"W{op.layer}", f"b{op.layer}") if name in params]
        return [{"parameter": (name, index)} for name in names for index in np.ndindex(params[name].shape)]
    layer = op.layer - 1 if op.kind == "propagate" else op.layer
    return [{"node": (layer, unit), "sample": sample} for unit in range(sizes[layer]) for sample in samples]


def check_every_op(session: Session, warm_steps: int = 2) -> set[str]:
    """Explain every op of a step for every focus, before running it (preview) and after; check all."""
    session.run_steps(warm_steps)  # so momentum and Adam have state to show
    session.goto(session.position, show_completed=False)  # the next step, blank: every op still to run
    kinds = set()
    for op in session.ops:
        previews = {str(focus): explain(session, op, **focus) for focus in foci(session, op.index)}
        session.step()
        for focus in foci(session, op.index):
            explanation = explain(session, op, **focus)
            assert explanation.executed
            check(explanation, session)
            preview = previews[str(focus)]
            assert not preview.executed
            assert preview.equations == explanation.equations, "the preview must show what the op then computes"
        kinds.add(op.kind)
    return kinds


# -- every op kind, activation, loss, reduction and optimizer ----------------------------------------


@pytest.mark.parametrize("hidden", ["identity", "sigmoid", "tanh", "relu", "leaky_relu"])
def test_every_hidden_activation(hidden: str) -> None:
    kinds = check_every_op(session_of(hidden=hidden))
    assert kinds >= {"linear", "activation", "activation_grad", "propagate", "weight_grad", "update"}


@pytest.mark.parametrize("output", ["identity", "sigmoid", "tanh", "relu", "leaky_relu"])
def test_every_output_activation(output: str) -> None:
    check_every_op(session_of(output=output, loss="sse"))


@pytest.mark.parametrize("loss", ["sse", "half_sse", "mse", "half_mse", "bce", "cross_entropy"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_every_loss_and_reduction(loss: str, reduction: str) -> None:
    # Cross-entropy needs a softmax output, whose gradient the engine fuses with it.
    output = {"output": "softmax", "outputs": 3} if loss == "cross_entropy" else {}
    kinds = check_every_op(session_of(loss=loss, reduction=reduction, **output))
    assert "loss" in kinds
    assert ("softmax_cross_entropy_grad" if loss == "cross_entropy" else "loss_grad") in kinds


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_with_cross_entropy(reduction: str) -> None:
    session = session_of(output="softmax", loss="cross_entropy", reduction=reduction, outputs=3)
    kinds = check_every_op(session)
    assert "softmax_cross_entropy_grad" in kinds and "loss_grad" not in kinds


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_optimizer(optimizer: str) -> None:
    check_every_op(session_of(optimizer=optimizer), warm_steps=3)


@pytest.mark.parametrize("batch", ["1", "3", '"full"'])
def test_batch_sizes(batch: str) -> None:
    check_every_op(session_of(batch=batch, optimizer="momentum"))


def test_without_biases_and_with_fixed_biases() -> None:
    check_every_op(session_of(use_bias=False))
    session = session_of(train_bias=False)
    check_every_op(session)
    session.finish_step()
    fixed = explain(session, session.ops[-2], parameter=("b1", (0,)))
    assert "fixed" in fixed.formula


def test_all_op_kinds_are_covered() -> None:
    kinds = check_every_op(session_of())
    kinds |= check_every_op(session_of(output="softmax", loss="cross_entropy", outputs=3))
    assert kinds == ALL_KINDS


def test_large_layers_are_abbreviated_with_the_count() -> None:
    session = session_of(inputs=9, hidden_units=8, outputs=7, output="softmax", loss="cross_entropy", batch='"full"')
    check_every_op(session, warm_steps=1)
    session.goto(session.position - session.ops_per_step + 2)  # z1 computed
    linear = explain(session, session.ops[1], node=(1, 0))
    assert "Σᵢ" in linear.formula
    assert "…" in linear.substituted
    assert "(9 terms; 5 not shown)" in linear.note
    small = session_of()
    small.step()
    small.step()
    assert "…" not in explain(small, small.ops[1], node=(1, 0)).substituted


def test_mean_shows_the_division_by_the_batch_size() -> None:
    session = session_of(reduction="mean", batch='"full"')
    session.finish_step()
    loss_grad = next(op for op in session.ops if op.kind == "loss_grad")
    assert explain(session, loss_grad, node=(2, 0)).substituted.endswith(") / 4")
    loss = explain(session, next(op for op in session.ops if op.kind == "loss"))
    assert loss.equations[loss.main].substituted.endswith("/ 4")
    summed = session_of(reduction="sum")
    summed.finish_step()
    assert "/ 4" not in explain(summed, loss_grad, node=(2, 0)).substituted


def test_labels_come_from_the_scenario_names() -> None:
    session = Session(load_scenario(SCENARIOS / "sigmoid_3_3_3_1_momentum.toml"))
    session.finish_step()
    propagate = next(op for op in session.ops if op.kind == "propagate" and op.layer == 3)
    explanation = explain(session, propagate, node=(2, 1))
    assert explanation.formula == "∂L/∂a[z2] = W3[z2,p]·δ[p]"


@pytest.mark.parametrize("name", sorted(path.name for path in SCENARIOS.glob("*.toml")))
def test_every_shipped_scenario(name: str) -> None:
    session = Session(load_scenario(SCENARIOS / name))
    for op in session.ops:
        session.step()
        focus = foci(session, op.index)
        for chosen in (focus[0], focus[-1]):
            check(explain(session, op, **chosen), session)


# -- the issue's example -----------------------------------------------------------------------------


def test_the_issue_example_exactly() -> None:
    session = Session(load_scenario(SCENARIOS / "sigmoid_2_2_2_lr1_2.toml"))
    session.finish_step()
    hidden_delta = next(op for op in session.ops if op.kind == "activation_grad" and op.layer == 1)
    explanation = explain(session, hidden_delta, node=(1, 0))
    assert explanation.equations[0].lines() == (
        "δ[h1] = (W2[h1,o1]·δ[o1] + W2[h1,o2]·δ[o2]) · σ'(z[h1])",
        "      = (0.3700·(−0.03727) + (−0.2200)·0.10573) · 0.24841",
        "      = −0.009204",
    )
    assert explanation.formula == "δ[h1] = (W2[h1,o1]·δ[o1] + W2[h1,o2]·δ[o2]) · σ'(z[h1])"
    assert explanation.result == "      = −0.009204"
    assert explanation.plain.startswith("how much the loss changes per unit change of h1's input")
    update = next(op for op in session.ops if op.kind == "update" and op.layer == 2)
    explanation = explain(session, update, parameter=("W2", (0, 0)))
    assert explanation.equations[explanation.main].inline() == "W2[h1,o1] ← 0.3700 − 1.2 · (−0.02012) = 0.3941"
    for op in session.ops:
        for focus in foci(session, op.index):
            check(explain(session, op, **focus), session)


def test_the_issue_example_values_match_the_article() -> None:
    """The seed article's numbers appear in the explanations (output nets, outputs, gradient, new weight)."""
    session = Session(load_scenario(SCENARIOS / "sigmoid_2_2_2_lr1_2.toml"))
    session.finish_step()
    ops = {(op.kind, op.layer): op for op in session.ops}
    assert explain(session, ops[("linear", 1)], node=(1, 0)).equations[0].result == "0.16000"
    assert explain(session, ops[("activation", 2)], node=(2, 0)).equations[0].result == "0.71651"
    grad = explain(session, ops[("weight_grad", 1)], parameter=("W1", (0, 0)))
    assert grad.equations[0].result == "−0.004602"
    new = explain(session, ops[("update", 1)], parameter=("W1", (0, 0)))
    assert new.equations[0].result == "0.1055"


# -- numbers -----------------------------------------------------------------------------------------


def test_number_forms() -> None:
    numbers = Numbers(4)
    assert numbers.parameter(0.37) == "0.3700"
    assert numbers.parameter(-0.22) == "−0.2200"
    assert numbers.value(0.1057264737) == "0.10573"
    assert numbers.value(-0.00920358) == "−0.009204"
    assert numbers.value(3.2e-7) == "3.200e-07"
    assert numbers.value(0.0) == "0"
    assert numbers.exact(1.2) == "1.2"
    assert numbers.exact(1e-8) == "1e-08"
    assert numbers.exact(-0.5) == "−0.5"
    assert numbers.exact(1 / 3) == "0.33333"
    assert Numbers(8).parameter(0.37) == "0.37000000"


def test_the_recompute_helper_catches_a_wrong_line() -> None:
    wrong = Equation("δ[h1]", "=", "…", "(0.3700·(−0.03727) + (−0.2200)·0.10573) · 0.24841", "0.009204", 0.009204)
    with pytest.raises(AssertionError):
        check_equation(wrong)


def test_sums_stop_being_shown_in_full_above_the_limit() -> None:
    assert MAX_TERMS == 6


def test_an_activation_without_a_display_form_falls_back_to_its_symbol(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_backprop.engine import ops

    monkeypatch.setitem(
        ops.ACTIVATIONS,
        "softsign",
        ops.Activation(
            "softsign", "ss", "z/(1+|z|)", "1/(1+|z|)²", lambda z: z / (1 + abs(z)), lambda z, a: (1 - abs(a)) ** 2
        ),
    )
    session = session_of(hidden="softsign")
    session.finish_step()
    activation = explain(session, session.ops[2], node=(1, 0))
    assert activation.formula == "a[h1] = ss(z[h1])"
    gradient = next(op for op in session.ops if op.kind == "activation_grad" and op.layer == 1)
    explanation = explain(session, gradient, node=(1, 0))
    assert explanation.equations[1].formula == "1/(1+|z|)²"
    for equation in (activation.equations[0], *explanation.equations):
        assert equation.value is not None
        assert abs(shown(equation.result) - equation.value) <= half_unit(equation.result.replace("−", "-"))
