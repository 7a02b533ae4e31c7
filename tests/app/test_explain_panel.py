"""The explain panel and the gradient-check screen, through the Pilot."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.app.appkit import SCENARIOS, screen_text, widget_text
from tui_backprop.app.app import DebuggerApp, make_app
from tui_backprop.app.screens.gradcheck import FAIL_MARK, GradientCheckScreen
from tui_backprop.app.widgets.explain import ExplainView
from tui_backprop.app.widgets.parameters import ParametersView
from tui_backprop.engine import ops as engine_ops
from tui_backprop.scenario import load_scenario, parse_scenario

SIZE = (100, 36)
ISSUE_LINES = (
    "δ[h1] = (W2[h1,o1]·δ[o1] + W2[h1,o2]·δ[o2]) · σ'(z[h1])",
    "      = (0.3700·(−0.03727) + (−0.2200)·0.10573) · 0.24841",
    "      = −0.009204",
)


def example_app() -> DebuggerApp:
    return make_app(load_scenario(SCENARIOS / "sigmoid_2_2_2_lr1_2.toml"))


def explain_text(app: DebuggerApp) -> str:
    return widget_text(app, app.query_one(ExplainView), content=True)


async def open_explain(pilot, node_layer: int = 1) -> None:  # type: ignore[no-untyped-def]
    """Select a node of ``node_layer`` (unit 1) with the network keys and switch to the explain panel."""
    pilot.app.query_one("#network").focus()
    await pilot.press(*["l"] * node_layer, "v")


async def test_the_issue_example_is_shown_after_the_hidden_delta() -> None:
    app = example_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_explain(pilot)
        assert app.panel == "explain"
        await pilot.press("1", "1", "s")
        text = explain_text(app)
        for line in ISSUE_LINES:
            assert line in text
        assert "op 11 · backward · activation_grad · h1, sample 1 of 1" in text
        assert "how much the loss changes per unit change of h1's input" in text
        assert app.query_one(ExplainView).explanation.equations[0].value == pytest.approx(
            app.session.values["delta1"][0, 0], rel=1e-15
        )


async def test_it_follows_the_selected_node_and_each_step() -> None:
    app = example_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_explain(pilot, node_layer=2)
        await pilot.press("s", "s")
        assert "z[h1] = x[x1]·W1[x1,h1]" in explain_text(app)  # layer 1's op: its first node
        await pilot.press("s", "s")
        assert "z[o1] = a[h1]·W2[h1,o1] + a[h2]·W2[h2,o1] + b2[o1]" in explain_text(app)
        await pilot.press("j")  # the network still has the focus: select o2
        assert "z[o2] = a[h1]·W2[h1,o2]" in explain_text(app)
        await pilot.press("S")
        assert "op 3 · forward · activation · h1" in explain_text(app)


async def test_words_toggle_and_the_op_about_to_run() -> None:
    app = example_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_explain(pilot)
        await pilot.press("3", "s")
        explain = app.query_one(ExplainView)
        explain.focus()
        assert "what h1 passes on" in explain_text(app)
        await pilot.press("e")
        assert "what h1 passes on" not in explain_text(app)
        assert "a[h1] = σ(z[h1])" in explain_text(app)
        await pilot.press("e")
        assert "what h1 passes on" in explain_text(app)
        await pilot.press("o")
        text = explain_text(app)
        assert "op 4 · forward · linear" in text and "about to run" in text
        assert "not run yet" in text
        assert "z2" not in app.session.values  # a preview: the session did not move


async def test_update_follows_the_highlighted_parameter() -> None:
    app = example_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_explain(pilot)
        await pilot.press("f")
        assert "W1[x1,h1] ← 0.1000" not in explain_text(app)  # op 14 updates layer 2: not a layer-1 entry
        parameters = app.query_one(ParametersView)
        entries = [(name, index) for name, value in app.session.params.items() for index in np.ndindex(value.shape)]
        parameters.cursor_row = entries.index(("W2", (0, 0)))
        await pilot.pause()
        text = explain_text(app)
        assert "W2[h1,o1] ← W2[h1,o1] − η · ∂L/∂W2[h1,o1]" in text
        assert "= 0.3700 − 1.2 · (−0.02012)" in text
        assert "= 0.3941" in text
        parameters.cursor_row = entries.index(("b2", (1,)))
        await pilot.pause()
        assert "b2[o2] ← b2[o2] − η · ∂L/∂b2[o2]" in explain_text(app)


async def test_gradient_check_screen_passes_on_the_example() -> None:
    app = example_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "s", "G")
        await pilot.pause()
        assert isinstance(app.screen, GradientCheckScreen)
        text = screen_text(app)
        assert "PASSED: all 12 entries agree within 1e-05" in text
        assert "W2 h1→o1" in text and FAIL_MARK not in text
        await pilot.press("escape")
        assert not isinstance(app.screen, GradientCheckScreen)
        assert app.session.cursor.op_index == 3  # the check did not move the session


async def test_gradient_check_marks_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        engine_ops.ACTIVATIONS,
        "broken_sigmoid",
        engine_ops.Activation(
            "broken_sigmoid",
            "bσ",
            "1/(1+e^−z)",
            "a⊙(1.01−a)",
            engine_ops.ACTIVATIONS["sigmoid"].forward,
            lambda z, a: a * (1.01 - a),
        ),
    )
    text = (SCENARIOS / "sigmoid_2_2_2_lr1_2.toml").read_text()
    app = make_app(parse_scenario(text.replace('activation = "sigmoid"', 'activation = "broken_sigmoid"', 1)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("G")
        await pilot.pause()
        screen = screen_text(app)
        assert "FAILED: 6 of 12 entries" in screen
        failed = [line for line in screen.splitlines() if re.search(FAIL_MARK + r"(?!ED)", line)]
        assert len(failed) == 6
        assert all(" W1 " in line or " b1 " in line for line in failed)


async def test_gradient_check_is_refused_while_a_run_goes_and_listed_in_help() -> None:
    app = example_app()
    async with app.run_test(size=SIZE) as pilot:
        app.running = True
        assert app.check_action("gradient_check", ()) is None
        app.running = False
        assert app.check_action("gradient_check", ()) is True
        await pilot.press("question_mark")
        assert "gradient check" in screen_text(app)
