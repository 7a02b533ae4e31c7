"""Every key of the debugger, through the Pilot: what it does to the engine and what the panels then show."""

from __future__ import annotations

import numpy as np
from appkit import (
    SCENARIOS,
    SIZE,
    assert_matches_replay,
    marked_parameters,
    network_text,
    parameter_cells,
    post_keys,
    program_text,
    replayed,
    screen_text,
    status_text,
    wait_for_text,
    wait_until_idle,
    xor_app,
)
from sessionkit import assert_same_state, session_state

from tui_backprop.app.app import make_app
from tui_backprop.engine import Phase
from tui_backprop.numbers import format_number
from tui_backprop.scenario import load_scenario

# XOR's step: 5 forward ops (load the batch, z1, a1, z2, a2), the loss, the backward ops, 2 updates.
FORWARD_OPS = 5
OPS = 14
NO_END = ("training.max_epochs=10000000", "training.target_loss=1e-12")  # a run that only stops when paused


# --------------------------------------------------------------------------- the start


async def test_start_shows_the_first_op_and_the_initial_weights() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = status_text(app)
        assert "XOR, 2-2-1 sigmoid" in status
        assert f"op 0/{OPS}" in status
        assert "paused" in status
        assert "▶ x, y ← next batch" in program_text(app)
        network = network_text(app)
        for label in ("x1", "x2", "h1", "h2", "o"):
            assert label in network
        cells = parameter_cells(app)
        w1 = app.session.params["W1"]
        assert cells["W1 x1→h1"]["value"] == format_number(w1[0, 0], 4).strip()
        assert cells["W1 x1→h1"]["∂L/∂w"] == ""  # not computed yet
        assert "W1 x1→h1" in screen_text(app)


# --------------------------------------------------------------------------- s and S


async def test_s_executes_one_op_and_marks_it_done() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        assert app.session.position == 1
        assert set(app.session.values) >= {"x", "y"}
        program = program_text(app)
        assert "✓ x, y ← next batch" in program
        assert "▶ z1 = x·W1 + b1" in program
        assert f"op 1/{OPS}" in status_text(app)
        await pilot.press("s")
        assert app.session.position == 2
        z1 = app.session.values["z1"]
        assert format_number(z1[0, 0], 4).strip() in network_text(app)
        assert_matches_replay(app)


async def test_S_restores_params_and_values_exactly_at_every_op() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")  # start inside the second step, so updated weights are in play
        before = []
        for _ in range(OPS - 1):
            before.append(session_state(app.session))
            await pilot.press("s")
        for expected in reversed(before[1:]):
            await pilot.press("S")
            after = session_state(app.session)
            assert_same_state(after, expected)
            for name, value in expected["params"].items():
                assert np.array_equal(after["params"][name], value)
        screen = screen_text(app)
        assert f"op 1/{OPS}" in screen


async def test_S_across_a_step_boundary_restores_the_previous_steps_weights() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        before = session_state(app.session)
        await pilot.press("f", "s", "s")
        assert not np.array_equal(app.session.params["W1"], before["params"]["W1"])
        await pilot.press(*["S"] * (OPS + 2))
        assert_same_state(session_state(app.session), before)
        assert "▶ x, y ← next batch" in program_text(app)
        assert parameter_cells(app)["W1 x1→h1"]["new value"] == ""


async def test_S_at_the_very_start_does_nothing() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        before = session_state(app.session)
        await pilot.press("S", "S")
        assert_same_state(session_state(app.session), before)
        assert not app.debugger.can_undo  # nothing happened, so nothing to undo


# --------------------------------------------------------------------------- n and N


async def test_n_runs_to_the_end_of_the_phase_and_N_goes_back() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        session = app.session
        assert session.position == FORWARD_OPS
        assert all(op.phase is Phase.FORWARD for op in session.ops[:FORWARD_OPS])
        assert session.next_op.phase is Phase.LOSS
        assert "▶ L = " in program_text(app)
        output = format_number(session.values["a2"][0, 0], 4).strip()
        assert output in network_text(app)
        await pilot.press("n")  # the loss phase is one op
        assert session.next_op.phase is Phase.BACKWARD
        await pilot.press("N")
        assert session.position == FORWARD_OPS
        await pilot.press("N")
        assert session.position == 0
        assert "▶ x, y ← next batch" in program_text(app)
        assert_matches_replay(app)


async def test_n_through_a_whole_step_visits_every_phase_once() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        phases = []
        while app.session.cursor.op_index < OPS:
            await pilot.press("n")
            phases.append(app.session.ops[app.session.cursor.op_index - 1].phase)
        assert phases == [Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE]
        assert "step complete" in program_text(app)


# --------------------------------------------------------------------------- f and F


async def test_f_finishes_the_step_and_shows_the_new_weights() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        start = app.session.params["W1"].copy()
        await pilot.press("f")
        session = app.session
        assert session.position == OPS
        assert session.cursor.op_index == OPS
        assert f"op {OPS}/{OPS}" in status_text(app)
        assert "step complete" in program_text(app)
        row = parameter_cells(app)["W1 x1→h1"]
        assert row["value"] == format_number(start[0, 0], 4).strip()
        assert row["∂L/∂w"] == format_number(session.values["dW1"][0, 0], 4).strip()
        assert row["new value"] == format_number(session.params["W1"][0, 0], 4).strip()
        await pilot.press("f")
        assert session.position == 2 * OPS
        assert "epoch 2" in status_text(app)


async def test_F_goes_back_to_the_start_of_the_step() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "s", "s", "s")
        await pilot.press("F")
        session = app.session
        assert session.position == OPS
        assert session.cursor.op_index == 0
        assert "step 2" in status_text(app) and f"op 0/{OPS}" in status_text(app)
        await pilot.press("F")  # already at a start: back to the previous step's start
        assert session.position == 0
        assert_matches_replay(app)


# --------------------------------------------------------------------------- c, space, convergence


async def test_c_runs_in_the_background_and_space_pauses_at_a_step_boundary() -> None:
    app = xor_app(*NO_END)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "s", "s")  # a run starts mid-step: it finishes that step first
        await pilot.press("c")
        assert app.running
        shown = await wait_for_text(pilot, "steps/s")
        assert "running" in shown
        await pilot.press("space")
        await wait_until_idle(pilot, timeout=5)
        session = app.session
        assert session.position % OPS == 0 and session.position > OPS
        assert session.cursor.op_index == OPS  # the finished step is shown
        assert "paused" in status_text(app)
        assert "step complete" in program_text(app)
        assert_matches_replay(app)
        steps = session.steps_done
        await pilot.press("s")  # stepping works again
        assert session.position == steps * OPS + 1


async def test_escape_also_pauses_a_run() -> None:
    app = xor_app(*NO_END)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause(0.05)
        await pilot.press("escape")
        await wait_until_idle(pilot, timeout=5)
        assert "paused" in status_text(app)
        assert_matches_replay(app)


async def test_keys_that_change_the_session_are_refused_during_a_run() -> None:
    app = xor_app(*NO_END)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await post_keys(pilot, "s", "S", "n", "N", "f", "F", "R", "u", "ctrl+r", "enter", "c", "x", "p", "p", "1", "s")
        assert app.running
        await pilot.press("space")
        await wait_until_idle(pilot, timeout=5)
        assert_matches_replay(app)
        await pilot.press("u")  # the run is the only command recorded
        assert app.session.position == 0
        assert not app.debugger.can_undo


async def test_paused_status_counts_the_steps_of_the_whole_run() -> None:
    app = xor_app(*NO_END)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await wait_for_text(pilot, "steps/s")
        await pilot.pause(0.3)  # several time slices
        await pilot.press("space")
        await wait_until_idle(pilot, timeout=5)
        steps = app.session.steps_done
        assert f"paused after {steps} steps" in " ".join(status_text(app).split())


async def test_c_runs_xor_to_convergence() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await wait_until_idle(pilot)
        session = app.session
        assert session.epoch_losses[-1] <= session.scenario.training.target_loss
        status = " ".join(status_text(app).split())
        assert "converged" in status
        assert f"epoch {session.epochs_done}" in status
        assert "steps/s" not in status  # a finished run's status must not depend on timing
        assert_matches_replay(app)
        await pilot.press("c")  # already converged: returns at once, still converged
        await wait_until_idle(pilot)
        assert "converged" in status_text(app)


async def test_divergence_is_reported_and_the_state_stays_usable() -> None:
    app = make_app(load_scenario(SCENARIOS / "linear_sse.toml", ["training.learning_rate=1e6"]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await wait_until_idle(pilot)
        session = app.session
        status = " ".join(status_text(app).split())
        assert "diverged" in status
        assert "the loss became inf" in status
        assert all(np.isfinite(value).all() for value in session.params.values())
        assert all(np.isfinite(loss) for loss in session.step_losses)
        assert session.position % session.ops_per_step == 0
        assert_matches_replay(app)
        position = session.position
        await pilot.press("s")
        assert session.position == position + 1
        await pilot.press("u", "u")
        assert session.position == 0
        assert np.array_equal(session.params["W1"], [[3.0]])


# --------------------------------------------------------------------------- u, ctrl+r, R


async def test_u_and_ctrl_r_undo_and_redo_commands_of_any_size() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "s", "n", "f")
        states = session_state(app.session)
        await pilot.press("u")
        assert app.session.position == FORWARD_OPS
        await pilot.press("u")
        assert app.session.position == 2
        assert f"op 2/{OPS}" in status_text(app)
        await pilot.press("ctrl+r", "ctrl+r")
        assert_same_state(session_state(app.session), states)
        assert "step complete" in program_text(app)


async def test_u_undoes_a_whole_run_and_ctrl_r_redoes_it() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        before = session_state(app.session)
        await pilot.press("c")
        await wait_until_idle(pilot)
        converged = session_state(app.session)
        assert converged["position"] > 1000 * OPS
        await pilot.press("u")
        assert_same_state(session_state(app.session), before)
        assert f"op 1/{OPS}" in status_text(app)
        await pilot.press("ctrl+r")
        assert_same_state(session_state(app.session), converged)
        assert f"epoch {converged['cursor'].epoch + 1}" in status_text(app)


async def test_R_restarts_and_u_undoes_the_restart() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        initial = session_state(app.session)
        await pilot.press("f", "f", "s")
        before = session_state(app.session)
        await pilot.press("R")
        assert_same_state(session_state(app.session), initial)
        assert "▶ x, y ← next batch" in program_text(app)
        await pilot.press("u")
        assert_same_state(session_state(app.session), before)
        await pilot.press("ctrl+r")
        assert_same_state(session_state(app.session), initial)


async def test_nothing_to_undo_or_redo_is_said_not_crashed() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("u")
        await wait_for_text(pilot, "Nothing to undo")
        await pilot.press("ctrl+r")
        await wait_for_text(pilot, "Nothing to redo")
        assert app.session.position == 0


# --------------------------------------------------------------------------- count prefix and enter


async def test_count_prefix_repeats_a_command() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "0")
        assert "count 10" in status_text(app)
        assert app.session.position == 0
        await pilot.press("s")
        assert app.session.position == 10
        assert "count" not in status_text(app)
        await pilot.press("u")  # ten ops are one command
        assert app.session.position == 0
        await pilot.press("3", "f")
        assert app.session.position == 3 * OPS
        assert "epoch 3" in status_text(app)
        assert_matches_replay(app)


async def test_a_zero_count_means_once_and_counts_are_capped() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("0", "s")
        assert app.session.position == 1
        await pilot.press(*"123456")
        assert "count 1234" in status_text(app)


async def test_enter_repeats_the_last_command_with_its_count() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")  # nothing to repeat yet
        assert app.session.position == 0
        await pilot.press("2", "s", "enter")
        assert app.session.position == 4
        await pilot.press("n", "enter")
        assert app.session.position == FORWARD_OPS + 1  # to the end of the loss phase
        assert app.session.next_op.phase is Phase.BACKWARD
        await pilot.press("u")
        assert app.session.position == FORWARD_OPS


async def test_enter_does_nothing_behind_the_help_screen() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "question_mark")
        await pilot.press("enter")
        assert app.session.position == 1


# --------------------------------------------------------------------------- display keys


async def test_p_toggles_the_number_of_digits() -> None:
    app = xor_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        session = app.session
        new_w1 = session.params["W1"][0, 0]
        output = session.values["a2"][0, 0]
        assert parameter_cells(app)["W1 x1→h1"]["new value"] == format_number(new_w1, 4).strip()
        assert format_number(output, 4).strip() in network_text(app)
        await pilot.press("p")
        assert parameter_cells(app)["W1 x1→h1"]["new value"] == format_number(new_w1, 8).strip()
        assert format_number(output, 8).strip() in network_text(app)
        assert format_number(new_w1, 8).strip() in screen_text(app)
        await pilot.press("p")
        assert parameter_cells(app)["W1 x1→h1"]["new value"] == format_number(new_w1, 4).strip()


async def test_eight_digits_keep_a_nodes_values_on_its_line_at_80x24() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "p")
        values = app.session.values
        lines = network_text(app).splitlines()
        row = next(index for index, line in enumerate(lines) if " h1 " in line)
        for name in ("z1", "a1"):
            assert format_number(values[name][0, 0], 8).strip() in lines[row]
        # The rest of the line is one sideways scroll away, not wrapped under the labels.
        app.query_one("#network").scroll_to(x=100, animate=False)
        await pilot.pause()
        line = network_text(app).splitlines()[row]
        assert format_number(values["delta1"][0, 0], 8).strip() in line


async def test_x_and_X_cycle_the_sample_shown() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        a2 = app.session.values["a2"]
        assert len({format_number(v, 4) for v in a2[:, 0]}) == 4  # four different outputs to tell apart
        assert "sample 1 of 4" in network_text(app)
        assert format_number(a2[0, 0], 4).strip() in network_text(app).split("o ", 1)[1].split("\n", 1)[0]
        await pilot.press("x")
        assert app.sample == 1
        network = network_text(app)
        assert "sample 2 of 4" in network
        assert format_number(a2[1, 0], 4).strip() in network.split("o ", 1)[1].split("\n", 1)[0]
        await pilot.press("X", "X")
        assert app.sample == 3
        assert "sample 4 of 4" in network_text(app)
        await pilot.press("x")
        assert "sample 1 of 4" in network_text(app)
        assert app.session.position == FORWARD_OPS  # only the view changed


async def test_v_switches_the_bottom_panel() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        assert app.panel == "parameters"
        assert "W1 x1→h1" in screen_text(app)
        loss = format_number(app.session.values["loss"], 4).strip()
        seen = []
        for _ in range(20):
            await pilot.press("v")
            seen.append(app.panel)
            screen = screen_text(app)
            if app.panel == "loss":
                assert "batch loss" in screen and loss in screen
                assert "W1 x1→h1" not in screen
            if app.panel == "data":
                assert "target y" in screen
                assert "batch loss" not in screen
            if app.panel == "parameters":
                break
        assert seen[-1] == "parameters"
        assert {"loss", "data"} <= set(seen)
        assert len(set(seen)) == len(seen)  # each panel once per round
        assert "W1 x1→h1" in screen_text(app)


async def test_tab_and_shift_tab_move_the_focus_between_panels() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is app.query_one("#program")
        seen = [app.focused]
        for _ in range(6):
            await pilot.press("tab")
            seen.append(app.focused)
            if app.focused is seen[0]:
                break
        assert seen[-1] is seen[0]
        ids = [widget.id for widget in seen]
        assert ids[:2] == ["program", "network"]
        assert "parameters" in ids
        await pilot.press("shift+tab")
        assert app.focused is seen[-2]
        await pilot.press("tab")
        assert app.focused is seen[0]


async def test_arrows_and_hjkl_move_the_selected_node() -> None:
    app = xor_app()
    async with app.run_test(size=(120, 40)) as pilot:  # room for the selected node's details
        await pilot.press("n")
        await pilot.press("tab")
        assert app.focused is app.query_one("#network")
        assert app.selected == (0, 0)
        assert marked_parameters(app) == {"W1 x1→h1", "W1 x1→h2"}
        await pilot.press("down")
        assert app.selected == (0, 1)
        assert "x2 (inputs)" in network_text(app)
        await pilot.press("right")
        assert app.selected == (1, 1)
        network = network_text(app)
        assert "h2 (hidden 1)" in network
        z1 = app.session.values["z1"]
        assert "z per sample: " + ", ".join(format_number(v, 4).strip() for v in z1[:, 1]) in network
        assert marked_parameters(app) == {"W1 x1→h2", "W1 x2→h2", "b1 h2", "W2 h2→o"}
        await pilot.press("l")
        assert app.selected == (2, 0)  # the output layer has one unit
        assert "o (output)" in network_text(app)
        await pilot.press("l")
        assert app.selected == (2, 0)  # clamped
        await pilot.press("h", "j")
        assert app.selected == (1, 1)
        await pilot.press("k", "k", "up")
        assert app.selected == (1, 0)
        await pilot.press("left")
        assert app.selected == (0, 0)
        assert app.session.position == FORWARD_OPS


async def test_question_mark_and_f1_open_the_help_and_escape_closes_it() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            screen = screen_text(app)
            assert "tui-backprop keys" in screen
            assert "step one op forward" in screen
            assert "ctrl+r" in screen
            await pilot.press("s")  # keys of the debugger do not reach it while help is open
            assert app.session.position == 0
            await pilot.press("escape")
            assert "tui-backprop keys" not in screen_text(app)
        await pilot.press("s")
        assert app.session.position == 1


async def test_q_quits() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app._exit
    assert app.return_code == 0


async def test_ctrl_p_lists_the_debugger_actions() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"step")
        screen = await wait_for_text(pilot, "Step (s)")
        assert "step one op forward" in screen
        await pilot.press(*["backspace"] * 4, *"undo")
        await wait_for_text(pilot, "Undo (u)")


async def test_a_command_chosen_in_the_palette_runs() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"Next phase")
        await wait_for_text(pilot, "Next phase (n)")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.session.position == FORWARD_OPS


# --------------------------------------------------------------------------- robustness


async def test_a_tiny_terminal_asks_for_room_and_recovers() -> None:
    app = xor_app()
    async with app.run_test(size=(50, 12)) as pilot:
        await pilot.pause()
        screen = " ".join(screen_text(app).split())
        assert "Make the window larger" in screen
        await pilot.press("s", "n")
        assert app.session.position == FORWARD_OPS
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        screen = screen_text(app)
        assert "Make the window larger" not in screen
        assert f"op {FORWARD_OPS}/{OPS}" in screen
        assert "▶ L = " in program_text(app)
        await pilot.resize_terminal(30, 8)
        assert "Make the window" in screen_text(app)
        await pilot.resize_terminal(160, 50)
        assert "Make the window larger" not in screen_text(app)
        assert_matches_replay(app)


async def test_mashing_s_then_S_leaves_the_initial_state() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        initial = session_state(app.session)
        await post_keys(pilot, *["s"] * 200)
        assert app.session.position == 200
        assert f"op {200 % OPS}/{OPS}" in status_text(app)
        assert_matches_replay(app)
        await post_keys(pilot, *["S"] * 200)
        assert_same_state(session_state(app.session), initial)
        assert_same_state(session_state(app.session), session_state(replayed(app.session.scenario, 0, False)))
        assert "▶ x, y ← next batch" in program_text(app)


async def test_mashing_c_and_space_never_interleaves_a_run_and_a_step() -> None:
    app = xor_app(*NO_END)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(20):
            await post_keys(pilot, "c", "s", "space", "s", "enter", "u")
        await post_keys(pilot, "space")
        await wait_until_idle(pilot, timeout=10)
        assert_matches_replay(app)
        assert "running" not in status_text(app)


async def test_held_down_arrow_moves_one_node_per_key() -> None:
    app = make_app(load_scenario(SCENARIOS / "xor_identity_2_3_1.toml"))  # three hidden units
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "right")
        assert app.selected == (1, 0)
        await post_keys(pilot, "down", "down")  # two repeats in one burst
        await pilot.pause()
        assert app.selected == (1, 2)


async def test_home_in_the_parameters_panel_shows_the_first_entry() -> None:
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "tab", "tab", "tab")
        assert app.focused is app.query_one("#parameters")
        await pilot.press("end")
        assert "b2 o" in parameter_cells(app)
        await pilot.press("home")
        assert "W1 x1→h1" in parameter_cells(app)
