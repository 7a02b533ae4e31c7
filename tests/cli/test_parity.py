"""Headless parity: after a key script, the numbers the app's panels show are the ``trace --format json`` values.

For each seed scenario the app plays ``p f`` (8 significant digits, finish one training step), then
``f`` again. After each, the screen is read as plain text, panel by panel (``v`` switches the bottom
panel), and every parameter's gradient and new value, the batch loss, and each sample's prediction
and loss must appear as the trace's numbers, written at 8 digits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.pilot import Pilot

from tui_backprop.app.app import DebuggerApp, make_app
from tui_backprop.app.demo import DemoOptions, play, screen_text
from tui_backprop.app.keyscript import parse_key_script
from tui_backprop.cli.main import main, open_scenario
from tui_backprop.numbers import format_number

SCENARIOS = Path(__file__).parents[2] / "scenarios"
SEEDS = (
    "linear_sse",
    "sigmoid_2_2_2_lr1_2",
    "sigmoid_2_2_2_h1_0632",
    "sigmoid_3_3_3_1_momentum",
    "xor",
    "xor_identity_2_3_1",
    "xor_sigmoid_2_3_1_sse",
)
DIGITS = 8
SIZE = (130, 60)  # narrow enough for one bottom panel at a time, so none is cut off


def shown(value: float) -> str:
    """A number as the app writes it at 8 digits, without padding."""
    return format_number(float(value), DIGITS).strip()


def trace(path: Path, steps: int, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``tui-backprop trace PATH --steps N --format json``, through the real command line."""
    assert main(["trace", str(path), "--steps", str(steps), "--format", "json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def screen_rows(app: DebuggerApp) -> list[list[str]]:
    """Each screen line as its words, borders and punctuation around numbers removed."""
    return [[word.strip(",()│") for word in line.split()] for line in screen_text(app).splitlines()]


def on_one_row(rows: list[list[str]], *numbers: str) -> bool:
    """Whether some line shows all ``numbers`` in this order."""
    for words in rows:
        position = 0
        for number in numbers:
            try:
                position = words.index(number, position) + 1
            except ValueError:
                break
        else:
            return True
    return False


async def show_panel(pilot: Pilot[Any], app: DebuggerApp, name: str) -> list[list[str]]:
    """Press ``v`` until the bottom panel ``name`` is shown, and return the screen's rows."""
    for _ in range(12):
        if app.panel == name:
            await pilot.pause()
            return screen_rows(app)
        await play(pilot, DemoOptions(keys=parse_key_script("v")))
    raise AssertionError(f"v never showed the {name} panel")


async def check_step(pilot: Pilot[Any], app: DebuggerApp, step: dict[str, Any]) -> None:
    rows = await show_panel(pilot, app, "parameters")
    checked = 0
    for name, after in step["params_after"].items():
        grads = np.asarray(step["grads"][name])
        for index in np.ndindex(grads.shape):
            expected = (shown(grads[index]), shown(np.asarray(after)[index]))
            assert on_one_row(rows, *expected), f"{name}{index}: ∂L/∂w and new value {expected} not on one row"
            checked += 1
    assert checked >= 1

    rows = await show_panel(pilot, app, "loss")
    assert on_one_row(rows, "batch", "loss", shown(step["loss"]))

    writes = {name: value for op in step["ops"] for name, value in op["writes"].items()}
    last_forward = [op for op in step["ops"] if op["phase"] == "forward"][-1]
    (output,) = last_forward["writes"]  # the network's output, e.g. a2
    rows = await show_panel(pilot, app, "data")
    for row, (prediction, loss) in enumerate(zip(writes[output], writes["losses"], strict=True)):
        expected = [shown(value) for value in prediction] + [shown(loss)]
        assert on_one_row(rows, *expected), f"sample {row + 1}: prediction and loss {expected} not on one row"


@pytest.mark.parametrize("name", SEEDS)
async def test_panels_show_the_trace_numbers(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = SCENARIOS / f"{name}.toml"
    traced = trace(path, 2, capsys)
    app = make_app(open_scenario(str(path), []))
    async with app.run_test(size=SIZE) as pilot:
        await play(pilot, DemoOptions(keys=parse_key_script("p f")))
        assert app.digits == DIGITS
        await check_step(pilot, app, traced["steps"][0])
        await play(pilot, DemoOptions(keys=parse_key_script("f")))
        await check_step(pilot, app, traced["steps"][1])
    assert app.session.steps_done == 2
