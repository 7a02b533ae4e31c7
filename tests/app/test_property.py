"""Property: any sequence of debugger keys leaves the session exactly where a replay from scratch would.

Stepping, going back, undo, redo, restart and interrupted runs all move along one
deterministic timeline, so wherever the keys end up, a fresh session sent straight to
that position must hold bit-identical parameters, values and loss history.
"""

from __future__ import annotations

import asyncio

from appkit import SIZE, assert_matches_replay, post_keys, status_text, wait_until_idle, xor_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RUN_AND_PAUSE = "c then space"
KEYS = ("s", "S", "n", "N", "f", "F", "u", "ctrl+r", "R", RUN_AND_PAUSE)


async def play(keys: list[str]) -> None:
    """Type ``keys`` into a fresh XOR debugger and check the session against a replay."""
    app = xor_app()
    async with app.run_test(size=SIZE) as pilot:
        pending: list[str] = []  # keys typed in a burst are handled one by one, drawn once
        for key in [*keys, None]:
            if key == RUN_AND_PAUSE or key is None:
                await post_keys(pilot, *pending)
                pending = []
            if key == RUN_AND_PAUSE:
                await post_keys(pilot, "c", "space")
                await wait_until_idle(pilot, timeout=30)
            elif key is not None:
                pending.append(key)
        await pilot.pause()
        assert not app.running
        assert_matches_replay(app)
        cursor = app.session.cursor
        status = status_text(app)
        assert f"step {cursor.step + 1} " in status
        assert f"op {cursor.op_index}/{app.session.ops_per_step}" in status


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(KEYS), min_size=1, max_size=15))
def test_any_key_sequence_matches_a_replay_from_scratch(keys: list[str]) -> None:
    asyncio.run(play(keys))
