"""UI latency of the debugger: key press to a repainted, idle screen, next to a bare Textual floor.

Run: ``python benchmarks/ui_latency.py [--presses 50] [--profile]``.

For each case the key is delivered the way a terminal delivers it (a ``Key`` event posted to
the app); the clock stops at the end of the last repaint the key caused, once no message,
callback, layout or repaint is pending anywhere (polled every 0.5 ms without posting anything
to the app, so the measurement does not add work that grows with the number of widgets).
Repaints happen on Textual's own refresh timer, so up to one frame of waiting is included, as
a user would see it. This avoids ``Pilot.press``/``Pilot.pause``, whose idle detection
sleeps in 20 ms slices and so cannot see anything faster than about 40 ms; those figures are
printed too, as "pilot", for reference.

Cases:
- ``n`` on XOR (2-2-1) and on the 64-32-10 digits scenario (``scenarios/digits.toml``);
- the floor: a bare app whose only widget is a DataTable as big as the digits parameters
  table (2410 rows x 5 columns) that rewrites one column of it (every gradient a backward
  pass produces) on each key press.

Also printed: launch to first paint (``run_test`` entry, which Textual signals once the first
screen is mounted and ready, then the first full repaint forced).
Targets (issue 3): step latency <= 1.5x the floor, and < 50 ms on 64-32-10.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import DataTable

from tui_backprop.app.app import make_app
from tui_backprop.numbers import format_number
from tui_backprop.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SIZE = (120, 40)
DIGITS_ROWS = 64 * 32 + 32 + 32 * 10 + 10  # W1, b1, W2, b2 entries of a 64-32-10 network


def digits_scenario() -> tuple[Scenario, str]:
    """The shipped 64-32-10 scenario and how to name it in the report."""
    return load_scenario(ROOT / "scenarios" / "digits.toml"), "scenarios/digits.toml"


class FloorApp(App[None]):
    """A bare app: one DataTable of the digits parameters table's size; a key rewrites a column."""

    BINDINGS = [Binding("n", "update", "Update")]  # noqa: RUF012

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.rng = np.random.default_rng(0)
        self.column = 0

    def compose(self) -> ComposeResult:
        """Just the table."""
        yield DataTable(id="table")

    def on_mount(self) -> None:
        """Fill the table with numbers as the parameters panel formats them."""
        table = self.query_one(DataTable)
        table.add_column("parameter", key="name")
        for key in ("start", "grad", "step", "new"):
            table.add_column(key, key=key, width=12)
        values = self.rng.standard_normal(self.rows)
        for row, value in enumerate(values):
            table.add_row(f"W1 p{row % 64}→h{row % 32}", format_number(value), "", "", "", key=str(row))
        table.focus()

    def action_update(self) -> None:
        """Rewrite one column of every row, as a backward pass fills in every gradient."""
        table = self.query_one(DataTable)
        key = ("grad", "step", "new")[self.column % 3]
        self.column += 1
        for row, value in enumerate(self.rng.standard_normal(self.rows)):
            table.update_cell(str(row), key, format_number(value))


def _busy(app: App[Any]) -> bool:
    """Whether any message, callback, layout or repaint is still pending (checked without posting anything)."""
    screen = app.screen
    if screen._dirty_widgets or screen._layout_required or screen._repaint_required or screen._scroll_required:
        return True
    return any(
        not node._message_queue.empty() or node._next_callbacks for node in (app, *screen.walk_children(with_self=True))
    )


def watch_paints(app: App[Any]) -> list[float]:
    """Record when the screen finishes each repaint (the compositor writing an update to the terminal)."""
    screen = app.screen
    paints = [0.0]
    original = screen._compositor_refresh

    def refresh() -> None:
        original()
        paints.append(time.perf_counter())

    screen._compositor_refresh = refresh  # type: ignore[method-assign]
    return paints


async def settle(app: App[Any], timeout: float = 10.0) -> None:
    """Wait, without disturbing the app, until nothing is pending twice in a row."""
    deadline = time.perf_counter() + timeout
    quiet = 0
    while quiet < 2 and time.perf_counter() < deadline:
        await asyncio.sleep(0.0005)
        quiet = 0 if _busy(app) else quiet + 1


async def press_to_idle(pilot: Pilot[Any], key: str, paints: list[float]) -> float:
    """Seconds from a key event to the end of the last repaint it caused."""
    app = pilot.app
    start = time.perf_counter()
    app.post_message(events.Key(key, key))
    await settle(app)
    if paints[-1] < start:
        raise AssertionError(f"{key!r} caused no repaint")
    return paints[-1] - start


async def measure(make: Callable[[], App[Any]], key: str, presses: int, profile: bool = False) -> dict[str, Any]:
    """Launch time, then the median key-to-idle latency over ``presses`` presses (and the pilot's own view)."""
    launch = time.perf_counter()
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        ready = time.perf_counter() - launch
        paints = watch_paints(app)
        app.screen.refresh()
        await settle(app)
        painted = paints[-1] - launch
        for _ in range(3):  # warm caches (first formatting, first layout of filled panels)
            await press_to_idle(pilot, key, paints)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        times = [await press_to_idle(pilot, key, paints) for _ in range(presses)]
        if profiler:
            profiler.disable()
        pilot_times = []
        for _ in range(min(presses, 20)):
            start = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            pilot_times.append(time.perf_counter() - start)
    return {
        "ready": ready,
        "painted": painted,
        "median": statistics.median(times),
        "p90": float(np.percentile(times, 90)),
        "pilot": statistics.median(pilot_times),
        "profiler": profiler,
    }


def report_profile(name: str, profiler: cProfile.Profile) -> None:
    """The functions of the app (and of Textual's rendering) that dominate, by cumulative time."""
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(r"tui_backprop", 15)
    stats.sort_stats("tottime").print_stats(12)
    print(f"\n--- profile of {name} ---")
    print(stream.getvalue())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="profile the 64-32-10 presses")
    args = parser.parse_args()

    xor = load_scenario(ROOT / "scenarios" / "xor.toml")
    start = time.perf_counter()
    digits, where = digits_scenario()
    load_seconds = time.perf_counter() - start
    cases: list[tuple[str, Callable[[], App[Any]], bool]] = [
        ("floor: DataTable 2410x5, one column per key", lambda: FloorApp(DIGITS_ROWS), False),
        ("n on XOR 2-2-1", lambda: make_app(xor), False),
        ("n on 64-32-10", lambda: make_app(digits), args.profile),
    ]
    print(f"terminal {SIZE[0]}x{SIZE[1]}, {args.presses} presses per case; 64-32-10 from {where}")
    print(f"(loading the 64-32-10 scenario: {load_seconds * 1000:.0f} ms, not included below)\n")
    print(f"{'case':48} {'median':>9} {'p90':>9} {'x floor':>8} {'pilot':>9} {'ready':>9} {'painted':>9}")
    floor = None
    results = {}
    for name, make, profile in cases:
        result = await measure(make, "n", args.presses, profile)
        results[name] = result
        floor = floor or result["median"]
        print(
            f"{name:48} {result['median'] * 1000:7.1f}ms {result['p90'] * 1000:7.1f}ms "
            f"{result['median'] / floor:7.2f}x {result['pilot'] * 1000:7.1f}ms "
            f"{result['ready'] * 1000:7.0f}ms {result['painted'] * 1000:7.0f}ms"
        )
    big = results["n on 64-32-10"]
    ok = big["median"] <= 1.5 * floor and big["median"] < 0.050
    print(
        f"\ntarget: 64-32-10 step <= 1.5x floor ({1.5 * floor * 1000:.1f} ms) and < 50 ms: "
        f"{'met' if ok else 'NOT met'} ({big['median'] * 1000:.1f} ms)"
    )
    print("median/p90: key event to the end of its last repaint; pilot: Pilot.press + Pilot.pause (20 ms slices)")
    print("ready: run_test entered (first screen mounted); painted: the first full repaint done")
    if big["profiler"] is not None:
        report_profile("n on 64-32-10", big["profiler"])


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
