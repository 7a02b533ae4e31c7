"""Do the pictures slow training down? Run throughput with the picture panels on screen vs hidden, and redraw times.

Run with ``python benchmarks/pictures.py`` (about a minute). It prints:

* steps per second of a run in the app (the real worker, progress messages and redraws) with the loss plot,
  decision boundary and diagram all on screen (a wide terminal showing the picture group) and with them
  hidden (the number panels shown instead), and their ratio — the target is >= 0.9;
* the time to redraw the decision boundary at 80x40 cells (80x80 grid points, two per half-block cell) —
  the target is < 20 ms — and, for reference, the loss plot and the diagram.

The runs train for a fixed number of epochs (the target loss is set to 0), so both sides do the same work.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from textual.message import Message

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui_backprop.app.app import DebuggerApp, RunFinished, make_app  # noqa: E402
from tui_backprop.app.widgets.boundary import BoundaryView  # noqa: E402
from tui_backprop.app.widgets.diagram import DiagramView  # noqa: E402
from tui_backprop.app.widgets.loss_plot import LossPlot  # noqa: E402
from tui_backprop.engine import Session  # noqa: E402
from tui_backprop.naming import Naming  # noqa: E402
from tui_backprop.scenario import load_scenario  # noqa: E402

SCENARIOS = ROOT / "scenarios"
RUNS = {"circle": 600, "spiral": 200}  # epochs per run: 6,000 and 3,000 steps
REPEATS = 5
WIDE = (160, 50)


async def _run_once(name: str, epochs: int, pictures: bool) -> float:
    """Steps per second of one run in the app, as its worker measured it."""
    scenario = load_scenario(SCENARIOS / f"{name}.toml", ["training.target_loss=0", f"training.max_epochs={epochs}"])
    app: DebuggerApp = make_app(scenario)
    finished: list[RunFinished] = []

    def hook(message: Message) -> None:
        if isinstance(message, RunFinished):
            finished.append(message)

    async with app.run_test(size=WIDE, message_hook=hook) as pilot:
        app._show_panel("boundary" if pictures else "parameters")
        await pilot.pause()
        shown = [widget.is_on_screen for widget in (app.query_one(LossPlot), app.query_one(BoundaryView))]
        assert all(shown) if pictures else not any(shown), shown
        await pilot.press("c")
        while not finished:
            await asyncio.sleep(0.01)
        await pilot.pause()
    message = finished[0]
    return message.steps / message.seconds


def throughput() -> None:
    print("run throughput in the app (steps/s, median of", REPEATS, "runs each, alternating)")
    for name, epochs in RUNS.items():
        rates: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(REPEATS):
            for pictures in (False, True):
                rates[pictures].append(asyncio.run(_run_once(name, epochs, pictures)))
        hidden, visible = statistics.median(rates[False]), statistics.median(rates[True])
        print(
            f"  {name:7s} pictures hidden {hidden:9,.0f}   visible {visible:9,.0f}   "
            f"ratio {visible / hidden:.2f}  (target >= 0.90)"
        )


def _median_ms(draw: Any, repeats: int = 30) -> float:
    draw()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        draw()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def redraws() -> None:
    print("redraw time (median, trained parameters)")
    for name in RUNS:
        session = Session(load_scenario(SCENARIOS / f"{name}.toml"))
        session.run_steps(1000)
        scenario = session.scenario
        boundary = BoundaryView(scenario, session.program)
        boundary._params = session.params
        plot = LossPlot(session.batches_per_epoch)
        plot.show_losses(session.step_losses, session.epoch_losses)
        diagram = DiagramView(scenario.layer_sizes, Naming(scenario).layers)
        diagram._params, diagram._op = session.params, session.ops[1]
        colour = _median_ms(lambda view=boundary: view.draw(80, 40))
        plain = _median_ms(lambda view=boundary: view.draw(80, 40, no_color=True))
        plotted = _median_ms(lambda view=plot: view.draw(80, 20))
        drawn = _median_ms(lambda view=diagram: view.draw(80, 20))
        print(
            f"  {name:7s} decision boundary 80x40 cells: {colour:5.1f} ms colour, {plain:5.1f} ms NO_COLOR"
            f"  (target < 20 ms)   loss plot 80x20: {plotted:4.1f} ms   diagram 80x20: {drawn:4.1f} ms"
        )


if __name__ == "__main__":
    redraws()
    throughput()
