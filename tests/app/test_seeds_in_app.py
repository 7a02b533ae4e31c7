"""The seed articles' worked examples, as the app shows them after finishing the first step (``f``).

Each number is written as the panels print it at the default 4 significant digits; where an
article printed a wrong number the correct one is expected (see docs/seed-notes.md and
tests/engine/test_seed_examples.py, which pin the same values at full precision).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from appkit import SCENARIOS, all_parameter_cells, select_node, show_panel

from tui_backprop.app.app import make_app
from tui_backprop.scenario import load_scenario

NOT_SEEDS = {"xor", "circle", "spiral", "iris", "digits"}
SEEDS = sorted(path.stem for path in SCENARIOS.glob("*.toml") if path.stem not in NOT_SEEDS)
SIZE = (120, 50)  # the panels stacked, each tall enough for a seed network


@dataclass(frozen=True)
class FirstStep:
    """What the panels show after the first step.

    Attributes:
        nodes: (layer, unit) -> {"z" | "a" | "δ": values per sample as shown in the node's details}.
        parameters: parameter row -> {column title: cell}.
        loss: The batch loss as shown in the loss panel.
    """

    nodes: dict[tuple[int, int], dict[str, str]]
    parameters: dict[str, dict[str, str]]
    loss: str
    per_sample: str = field(default="")


EXPECTED = {
    # 000: predictions 0, 3, 6, 9, 12; squared errors 0, 1, 4, 9, 16; loss 30; dW = 60; W 3 -> 2.4.
    "linear_sse": FirstStep(
        nodes={(1, 0): {"a": "0.000, 3.000, 6.000, 9.000, 12.00", "δ": "0.000, 2.000, 4.000, 6.000, 8.000"}},
        parameters={"W1 x→y": {"value": "3.000", "∂L/∂w": "60.00", "new value": "2.400"}},
        loss="30.00",
        per_sample="#1 0.000, #2 1.000, #3 4.000, #4 9.000, #5 16.00",
    ),
    # 001: z1 0.16 / -0.145, a1 0.5399 / 0.4638, z2 0.9272 / 0.0956 and a2 0.7165 / 0.5239 (the article
    # prints 0.9271 / 0.0955 and 0.7164 / 0.5238); W2 h1→o1 0.37 -> 0.3941, W1 x1→h1 0.1 -> 0.1055.
    "sigmoid_2_2_2_lr1_2": FirstStep(
        nodes={
            (1, 0): {"z": "0.1600", "a": "0.5399"},
            (1, 1): {"z": "-0.1450", "a": "0.4638"},
            (2, 0): {"z": "0.9272", "a": "0.7165", "δ": "-0.03727"},
            (2, 1): {"z": "0.09556", "a": "0.5239"},
        },
        parameters={
            "W2 h1→o1": {"value": "0.3700", "∂L/∂w": "-0.02012", "new value": "0.3941"},
            "W1 x1→h1": {"value": "0.1000", "∂L/∂w": "-0.004602", "new value": "0.1055"},
        },
        loss="0.1067",
    ),
    # 002: hidden 1, 1, 1; output 4 (not 1); loss 8 (not -4); deltas +4; input weights keep 1 (not 1.4),
    # the rest go to 0.6.
    "xor_identity_2_3_1": FirstStep(
        nodes={(1, 0): {"a": "1.000", "δ": "4.000"}, (2, 0): {"z": "4.000", "a": "4.000", "δ": "4.000"}},
        parameters={
            "W1 x1→z1": {"value": "1.000", "∂L/∂w": "0.000", "new value": "1.000"},
            "b1 z1": {"∂L/∂w": "4.000", "new value": "0.6000"},
            "W2 z1→d0": {"∂L/∂w": "4.000", "new value": "0.6000"},
            "b2 d0": {"∂L/∂w": "4.000", "new value": "0.6000"},
        },
        loss="8.000",
    ),
    # 003 gives no numbers; the reference values: loss 0.1331, outputs 0.6227 ... 0.6310, dW3, W3 after.
    "sigmoid_3_3_3_1_momentum": FirstStep(
        nodes={(3, 0): {"a": "0.6227, 0.6205, 0.6329, 0.6310"}},
        parameters={
            "W3 z1→p": {"value": "0.8000", "∂L/∂w": "0.01605", "new value": "0.7920"},
            "W3 z2→p": {"∂L/∂w": "0.01262", "new value": "-0.6063"},
            "W3 z3→p": {"∂L/∂w": "0.02037", "new value": "0.4898"},
            "W1 x1→y1": {"∂L/∂w": "0.0005372", "new value": "0.1997"},
        },
        loss="0.1331",
    ),
    # 004: net 0.541, h1 0.632, outputs 0.735 / 0.455, loss 0.0287 (the article's 0.0286 adds rounded halves),
    # w6 = W2 h1→o2 gradient -0.007006.
    "sigmoid_2_2_2_h1_0632": FirstStep(
        nodes={(1, 0): {"z": "0.5410", "a": "0.6320"}, (2, 0): {"a": "0.7353"}, (2, 1): {"a": "0.4553"}},
        parameters={
            "W2 h1→o2": {"value": "-0.7500", "∂L/∂w": "-0.007006", "new value": "-0.7465"},
            "W2 h1→o1": {"∂L/∂w": "0.02894", "new value": "0.5855"},
        },
        loss="0.02867",
    ),
    # 004, the 2-3-1 program: outputs 0.8696 ..., summed loss 1.589, dW2 and the weights after one step.
    "xor_sigmoid_2_3_1_sse": FirstStep(
        nodes={(2, 0): {"a": "0.8696, 0.8984, 0.8867, 0.8852"}},
        parameters={
            "W2 h1→out": {"∂L/∂w": "0.2229", "new value": "0.6271"},
            "W2 h2→out": {"∂L/∂w": "0.2351", "new value": "0.5149"},
            "W2 h3→out": {"∂L/∂w": "0.2244", "new value": "-0.1244"},
            "b2 out": {"∂L/∂w": "0.3151", "new value": "0.4749"},
        },
        loss="1.589",
    ),
}


def test_every_seed_scenario_has_expected_numbers() -> None:
    assert set(SEEDS) == set(EXPECTED)


@pytest.mark.parametrize("name", SEEDS)
async def test_first_step_numbers_are_shown(name: str) -> None:
    expected = EXPECTED[name]
    app = make_app(load_scenario(SCENARIOS / f"{name}.toml"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        assert app.session.cursor.op_index == app.session.ops_per_step
        for (layer, unit), shown in expected.nodes.items():
            details = await select_node(pilot, layer, unit)
            for symbol, numbers in shown.items():
                assert details.get(symbol) == numbers, f"node {layer},{unit} {symbol}: {details}"
        cells = await all_parameter_cells(pilot)
        for label, columns in expected.parameters.items():
            assert label in cells, f"{label} not among {sorted(cells)}"
            for title, number in columns.items():
                assert cells[label][title] == number, f"{label} {title}: {cells[label]}"
        loss = " ".join((await show_panel(pilot, "loss")).split())
        assert f"batch loss {expected.loss}" in loss
        if expected.per_sample:
            assert f"per sample {expected.per_sample}" in loss
