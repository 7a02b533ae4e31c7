"""SVG snapshots of the XOR debugger: at the start, after the forward pass, after one step and after
convergence, at 80x24 and at 160x50. Seeded scenario, fixed sizes, nothing timed on screen.

Regenerate after an intended visual change with ``pytest tests/app/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest
from appkit import wait_until_idle, xor_app
from textual.pilot import Pilot

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])


async def converge(pilot: Pilot[Any]) -> None:
    """Run XOR to convergence and wait for the final redraw."""
    await pilot.pause()
    await pilot.press("c")
    await wait_until_idle(pilot)
    assert pilot.app.run_state.label == "converged"  # type: ignore[attr-defined]


@SIZES
def test_xor_at_start(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(xor_app(), terminal_size=size)


@SIZES
def test_xor_after_the_forward_pass(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(xor_app(), terminal_size=size, press=["n"])


@SIZES
def test_xor_after_one_step(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(xor_app(), terminal_size=size, press=["f"])


@SIZES
def test_xor_after_convergence(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(xor_app(), terminal_size=size, run_before=converge)
