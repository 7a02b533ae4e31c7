"""The time-travel keys through the Pilot: C, g, [ and ], b, :, =, u after an edit, w.

Each test asserts on the engine state the key produced (compared with what the engine
does on its own) and on what the screen says, including the prompt's error line for
wrong input.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from appkit import SIZE, XOR, assert_matches_replay, screen_text, wait_for_text, wait_until_idle, widget_text, xor_app
from textual.pilot import Pilot
from textual.widgets import Input

from tui_backprop.app.app import make_app
from tui_backprop.app.screens.prompt import PromptScreen
from tui_backprop.app.widgets.parameters import ParametersView
from tui_backprop.app.widgets.program import ProgramView
from tui_backprop.engine import Session
from tui_backprop.engine.breakpoints import Breakpoints
from tui_backprop.engine.network import initial_parameters
from tui_backprop.scenario import load_scenario

OPS = 14  # ops of one XOR step (one step is one epoch: full batch)
SHUFFLED = Path(__file__).resolve().parents[1] / "engine" / "scenarios" / "shuffled.toml"
NO_END = ("training.max_epochs=1000000", "training.target_loss=1e-30")


def key_names(text: str) -> list[str]:
    """Textual's key names for typing ``text`` ("." is full_stop, " " is space, "<" less_than_sign)."""
    return [
        char if char.isalnum() else unicodedata.name(char).lower().replace(" ", "_").replace("-", "_") for char in text
    ]


async def type_in_prompt(pilot: Pilot[Any], text: str, clear: bool = False) -> None:
    assert isinstance(pilot.app.screen, PromptScreen), "no prompt is open"
    if clear:
        await pilot.press("end", "ctrl+u")
    await pilot.press(*key_names(text), "enter")
    await pilot.pause()


def prompt_error(app: Any) -> str:
    return str(app.screen.query_one("#prompt-error").content)


def status_text(app: Any) -> str:
    return widget_text(app, app.query_one("#status"))


# -- g, [ and ] -----------------------------------------------------------------------------------


async def test_g_jumps_to_a_typed_place_forwards_and_backwards() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        assert isinstance(app.screen, PromptScreen)
        await type_in_prompt(pilot, "step 30 op 5")
        assert not isinstance(app.screen, PromptScreen)
        assert app.session.position == 29 * OPS + 5
        assert "step 30" in status_text(app)
        assert_matches_replay(app)

        await pilot.press("g")
        await type_in_prompt(pilot, "epoch 3")
        assert app.session.position == 2 * OPS
        assert_matches_replay(app)

        await pilot.press("u")  # a jump is one undoable command
        assert app.session.position == 29 * OPS + 5


async def test_g_with_wrong_input_explains_in_the_prompt_and_keeps_it_open() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        await type_in_prompt(pilot, "step zero")
        assert isinstance(app.screen, PromptScreen)
        assert "cannot read 'step zero'" in prompt_error(app)
        assert "✗" in screen_text(app)
        await type_in_prompt(pilot, "step 0", clear=True)
        assert isinstance(app.screen, PromptScreen)
        assert "steps count from 1" in prompt_error(app)
        await type_in_prompt(pilot, "4", clear=True)  # corrected: now it goes
        assert not isinstance(app.screen, PromptScreen)
        assert app.session.position == 3 * OPS

        await pilot.press("g", "escape")
        assert not isinstance(app.screen, PromptScreen)
        assert app.session.position == 3 * OPS


async def test_brackets_jump_between_epoch_boundaries() -> None:
    app = make_app(load_scenario(SHUFFLED))  # three steps (batches) per epoch
    async with app.run_test(size=SIZE) as pilot:
        per_epoch = 3 * app.session.ops_per_step
        await pilot.press("right_square_bracket")
        assert app.session.position == per_epoch
        assert app.session.epochs_done == 1
        await pilot.press("right_square_bracket")
        assert app.session.position == 2 * per_epoch
        await pilot.press("s", "s", "s")
        await pilot.press("left_square_bracket")
        assert app.session.position == 2 * per_epoch
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.session.position == 0
        await pilot.press("left_square_bracket")  # already at the start
        assert app.session.position == 0
        await pilot.press("right_square_bracket")
        assert_matches_replay(app)


# -- breakpoints: b, :, c and C -------------------------------------------------------------------


async def test_b_sets_a_breakpoint_on_the_highlighted_line_and_c_stops_before_it() -> None:
    app = xor_app(*NO_END)
    async with app.run_test(size=SIZE) as pilot:
        program = app.query_one(ProgramView)
        assert app.focused is program
        assert program.highlighted_op() == 0
        await pilot.press("j", "j", "j")
        assert program.highlighted_op() == 3
        await pilot.press("b")
        assert [item.op for item in app.breakpoints.items] == [3]
        assert "●" in widget_text(app, program)

        await pilot.press("c")
        await wait_until_idle(pilot)
        assert app.session.position == 3
        assert app.session.next_op.index == 3
        assert "breakpoint" in status_text(app)
        assert app.run_state.label == "breakpoint"
        assert "before op 3" in app.run_state.detail

        await pilot.press("c")
        await wait_until_idle(pilot)
        assert app.session.position == OPS + 3
        await pilot.press("c")
        await wait_until_idle(pilot)
        assert app.session.position == 2 * OPS + 3

        await pilot.press("C")  # reverse-continue: the previous hit
        assert app.session.position == OPS + 3
        assert "previous breakpoint hit" in app.run_state.detail
        await pilot.press("C", "C")
        assert app.session.position == 0  # no earlier hit: the start
        assert "at the start" in app.run_state.detail


async def test_b_on_a_set_line_clears_it() -> None:
    app = xor_app(*NO_END)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j", "b")
        assert [item.op for item in app.breakpoints.items] == [2]
        await pilot.press("b")
        assert app.breakpoints.items == []


async def test_a_condition_typed_after_colon_stops_c_where_the_engine_would() -> None:
    scenario = load_scenario(XOR, list(NO_END))
    reference = Session(scenario)
    breakpoints = Breakpoints(reference)
    breakpoints.add_condition("loss < 0.1")
    breakpoints.run()
    app = make_app(scenario)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon")
        await type_in_prompt(pilot, "loss < 0.1")
        assert not isinstance(app.screen, PromptScreen)
        assert [item.condition.text for item in app.breakpoints.items if item.condition] == ["loss < 0.1"]

        await pilot.press("c")
        await wait_until_idle(pilot)
        assert app.session.position == reference.position
        assert app.run_state.label == "breakpoint"
        assert "loss < 0.1" in status_text(app)
        assert float(app.session.values["loss"]) < 0.1
        assert_matches_replay(app)

        await pilot.press("u")  # the run is one undoable command
        assert app.session.position == 0


async def test_a_wrong_condition_is_explained_in_the_prompt() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon")
        await type_in_prompt(pilot, "weight > 3")
        assert isinstance(app.screen, PromptScreen)
        assert "unknown quantity 'weight'" in prompt_error(app)
        await type_in_prompt(pilot, "import os", clear=True)
        assert "cannot read" in prompt_error(app)
        await pilot.press("escape")
        assert app.breakpoints.items == []


# -- live edits: = and u --------------------------------------------------------------------------


async def test_equals_edits_the_selected_parameter_and_u_undoes_it() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "s", "s")  # z1 and a1 computed: the edit applies from z2 on
        parameters = app.query_one(ParametersView)
        parameters.focus()
        await pilot.pause()
        await pilot.press("down")
        name, index = parameters.entry_at_cursor()
        old = float(app.session.params[name][index])
        await pilot.press("equals_sign")
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.query_one(Input).value == repr(old)
        await type_in_prompt(pilot, "1.5", clear=True)
        assert not isinstance(app.screen, PromptScreen)
        assert app.session.params[name][index] == 1.5
        assert [(edit.position, edit.name, edit.index, edit.value) for edit in app.session.edits] == [
            (3, name, index, 1.5)
        ]
        await pilot.pause()
        assert "W1 x1→h2        1.500" in widget_text(app, parameters)

        await pilot.press("u")
        assert app.session.params[name][index] == old
        assert app.session.edits == []
        await pilot.press("ctrl+r")
        assert app.session.params[name][index] == 1.5


async def test_equals_refuses_what_is_not_a_finite_number() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one(ParametersView).focus()
        await pilot.pause()
        await pilot.press("equals_sign")
        await type_in_prompt(pilot, "abc", clear=True)
        assert isinstance(app.screen, PromptScreen)
        assert "is not a number" in prompt_error(app)
        await type_in_prompt(pilot, "inf", clear=True)
        assert "finite" in prompt_error(app)
        await pilot.press("escape")
        assert app.session.edits == []
        assert np.array_equal(app.session.params["W1"], initial_parameters(app.session.scenario)["W1"])


async def test_equals_without_a_selected_value_edits_the_learning_rate() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await pilot.press("equals_sign")
        assert app.screen.query_one(Input).value == repr(2.0)
        await type_in_prompt(pilot, "-1", clear=True)
        assert "must be > 0" in prompt_error(app)
        await type_in_prompt(pilot, "0.25", clear=True)
        assert app.session.learning_rate == 0.25
        await pilot.press("f")
        step_start = app.session.step_start_params["W2"]
        assert np.array_equal(app.session.params["W2"], step_start + -(0.25 * app.session.values["dW2"]))
        await pilot.press("u", "u")
        assert app.session.learning_rate == 2.0
        assert app.session.position == OPS


# -- w --------------------------------------------------------------------------------------------


async def test_w_writes_a_scenario_and_asks_before_overwriting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = xor_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("5", "f")
        await pilot.press("w")
        assert isinstance(app.screen, PromptScreen)
        default = app.screen.query_one(Input).value
        assert default == "xor-step5.toml"
        await pilot.press("enter")
        await pilot.pause()
        path = tmp_path / default
        assert path.is_file()
        reopened = initial_parameters(load_scenario(path))
        for name, value in app.session.params.items():
            assert np.array_equal(reopened[name], value)
        await wait_for_text(pilot, f"Wrote {default}")

        path.write_text("# mine\n", encoding="utf-8")
        await pilot.press("w", "enter")
        assert isinstance(app.screen, PromptScreen)
        assert "Overwrite it? (y/n)" in screen_text(app)
        await type_in_prompt(pilot, "maybe")
        assert "answer y or n" in prompt_error(app)
        await type_in_prompt(pilot, "n", clear=True)
        assert not isinstance(app.screen, PromptScreen)
        assert path.read_text(encoding="utf-8") == "# mine\n"

        await pilot.press("w", "enter")
        await type_in_prompt(pilot, "y")
        assert path.read_text(encoding="utf-8").startswith("# Written by tui-backprop")
        assert sorted(item.name for item in tmp_path.iterdir()) == [default]  # no temporary file left
