"""SVG snapshots of the explain panel on the 2-2-2 seed example: a forward, the loss, a backward and an
update op. Fixed size, the panel maximised, nothing timed on screen.

Update after an intended change with ``pytest tests/app/test_explain_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from textual.pilot import Pilot

from tests.app.appkit import SCENARIOS
from tui_backprop.app.app import DebuggerApp, make_app
from tui_backprop.app.widgets.parameters import ParametersView
from tui_backprop.scenario import load_scenario

SIZE = (90, 24)


def _example() -> DebuggerApp:
    return make_app(load_scenario(SCENARIOS / "sigmoid_2_2_2_lr1_2.toml"))


def _prepare(ops: int, node: tuple[int, int], parameter: tuple[str, tuple[int, ...]] | None = None) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, DebuggerApp)
        await pilot.pause()  # let the start-up messages (the first tab's activation) settle
        app.session.goto(ops)
        app.selected = node
        app.refresh_view()  # the parameters panel is shown: its cursor follows the node
        if parameter is not None:
            entries = [(name, index) for name, value in app.session.params.items() for index in np.ndindex(value.shape)]
            app.query_one(ParametersView).cursor_row = entries.index(parameter)
        await pilot.press("v")  # the next panel: explain
        assert app.panel == "explain"
        app.screen.maximize(app.query_one("#explain"), container=False)
        await pilot.pause()

    return run_before


def test_explain_forward_op(snap_compare: Any) -> None:
    assert snap_compare(_example(), terminal_size=SIZE, run_before=_prepare(3, (1, 0)))


def test_explain_loss_op(snap_compare: Any) -> None:
    assert snap_compare(_example(), terminal_size=SIZE, run_before=_prepare(6, (2, 0)))


def test_explain_backward_op(snap_compare: Any) -> None:
    assert snap_compare(_example(), terminal_size=SIZE, run_before=_prepare(11, (1, 0)))


def test_explain_update_op(snap_compare: Any) -> None:
    assert snap_compare(_example(), terminal_size=SIZE, run_before=_prepare(14, (2, 0), ("W2", (0, 0))))
