"""Helpers shared by the app tests: read what the screen shows, wait for runs, compare engine states.

``screen_text`` renders the current screen the way ``App.export_screenshot`` does, but
as plain text, so assertions read what a user would read (including toasts and
modal screens drawn over the debugger).
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from sessionkit import assert_same_state, session_state
from textual import events
from textual.pilot import Pilot
from textual.widget import Widget

from tui_backprop.app.app import DebuggerApp, make_app
from tui_backprop.engine import Session
from tui_backprop.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
XOR = SCENARIOS / "xor.toml"
SIZE = (80, 24)
COLUMN_TITLES = ("value", "∂L/∂w", "Δw", "new value")


def xor_app(*overrides: str) -> DebuggerApp:
    """The debugger on the XOR scenario, with ``--set``-style overrides."""
    return make_app(load_scenario(XOR, list(overrides)))


def screen_text(app: DebuggerApp) -> str:
    """Everything the terminal shows right now, as plain text (one line per terminal row)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def widget_text(app: DebuggerApp, widget: Widget, content: bool = False) -> str:
    """The part of the screen a widget covers (border included unless ``content``), as plain text."""
    region = widget.content_region if content else widget.region
    lines = screen_text(app).splitlines()
    return "\n".join(line[region.x : region.right] for line in lines[region.y : region.bottom])


def network_text(app: DebuggerApp) -> str:
    """The network panel as shown."""
    return widget_text(app, app.query_one("#network"))


def program_text(app: DebuggerApp) -> str:
    """The program listing as shown."""
    return widget_text(app, app.query_one("#program"))


def status_text(app: DebuggerApp) -> str:
    """The status line as shown."""
    return widget_text(app, app.query_one("#status"))


def parameter_cells(app: DebuggerApp) -> dict[str, dict[str, str]]:
    """The rows of the parameters panel on screen, as {row label: {column title: cell text}}.

    Labels lose the selection mark; cells are found under their (right-aligned) column titles.
    Only rows the panel shows are returned: read what the user can see.
    """
    lines = widget_text(app, app.query_one("#parameters"), content=True).splitlines()
    header = next(index for index, line in enumerate(lines) if line.lstrip().startswith("parameter"))
    titles = [title for title in COLUMN_TITLES if title in lines[header]]
    width = app.digits + 8
    ends = {title: lines[header].index(title) + len(title) for title in titles}
    label_end = min(ends.values()) - width
    cells: dict[str, dict[str, str]] = {}
    for line in lines[header + 1 :]:
        label = line[:label_end].replace("•", " ").strip()
        if label:
            cells[label] = {title: line[end - width : end].strip() for title, end in ends.items()}
    return cells


def marked_parameters(app: DebuggerApp) -> set[str]:
    """Labels of the parameter rows on screen marked as touching the selected node."""
    lines = widget_text(app, app.query_one("#parameters"), content=True).splitlines()
    return {re.split(r"\s{2,}", line.split("•", 1)[1].strip())[0] for line in lines if "•" in line}


async def post_keys(pilot: Pilot[Any], *keys: str) -> None:
    """Queue key presses as fast as a terminal would deliver them, then wait until they are handled.

    ``Pilot.press`` waits for the whole process to be idle after every key (at least 40 ms, and a
    full second per key while a run keeps a thread busy); holding a key down does not wait at all.
    """
    app = pilot.app
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else (" " if key == "space" else None)))
    await pilot.pause(0)
    await pilot.pause(0)


async def all_parameter_cells(pilot: Pilot[Any]) -> dict[str, dict[str, str]]:
    """Every row of the parameters panel, read off the screen while paging through it as a user would."""
    app = pilot.app
    app.query_one("#parameters").focus()
    entries = sum(value.size for value in app.session.params.values())  # type: ignore[attr-defined]
    await post_keys(pilot, "home")
    app.query_one("#parameters").scroll_home(animate=False)  # as a mouse wheel would: see test_keys (home)
    await pilot.pause()
    cells = parameter_cells(app)  # type: ignore[arg-type]
    for _ in range(entries // 10 + 2):
        if len(cells) >= entries:
            break
        await post_keys(pilot, "pagedown")
        await pilot.pause()
        cells.update(parameter_cells(app))  # type: ignore[arg-type]
    return cells


async def select_node(pilot: Pilot[Any], layer: int, unit: int) -> dict[str, str]:
    """Select a node with the network panel's keys; return its details as shown ({"z": "0.1600, ...", ...})."""
    app = pilot.app
    app.query_one("#network").focus()
    current = app.selected  # type: ignore[attr-defined]
    moves = ["up"] * current[1]
    moves += ["right" if layer > current[0] else "left"] * abs(layer - current[0])
    moves += ["down"] * unit
    for key in moves:  # one at a time: a move is relative to the selection the panel last drew
        await post_keys(pilot, key)
        await pilot.pause()
    assert app.selected == (layer, unit)  # type: ignore[attr-defined]
    details = {}
    for line in network_text(app).splitlines():  # type: ignore[arg-type]
        text = line.strip("│┃ ")
        if " per sample: " in text:
            symbol, shown = text.split(" per sample: ", 1)
            details[symbol.strip()] = shown.strip()
    return details


async def show_panel(pilot: Pilot[Any], name: str) -> str:
    """Switch the bottom panel with ``v`` until ``name`` is shown; return what that panel shows."""
    app = pilot.app
    for _ in range(20):
        if app.panel == name:  # type: ignore[attr-defined]
            return widget_text(app, app.query_one(f"#{name}"))  # type: ignore[arg-type]
        await post_keys(pilot, "v")
    raise AssertionError(f"no {name} panel")


async def wait_until_idle(pilot: Pilot[Any], timeout: float = 60.0) -> None:
    """Wait until no run is going and every message the run sent has been handled."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while getattr(app, "running", False):
        if time.monotonic() > deadline:
            raise AssertionError(f"the run did not stop within {timeout} s")
        await asyncio.sleep(0.01)
    await pilot.pause()


async def wait_for_text(pilot: Pilot[Any], text: str, timeout: float = 10.0) -> str:
    """Wait until ``text`` is on screen; return the screen."""
    deadline = time.monotonic() + timeout
    while True:
        shown = screen_text(pilot.app)  # type: ignore[arg-type]
        if text in shown:
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not shown within {timeout} s; screen:\n{shown}")
        await pilot.pause(0.02)


def replayed(scenario: Scenario, position: int, show_completed: bool) -> Session:
    """A fresh session moved to ``position`` from scratch."""
    session = Session(scenario)
    session.goto(position, show_completed=show_completed)
    return session


def assert_matches_replay(app: DebuggerApp) -> None:
    """The app's session equals a fresh session replayed to the same place."""
    mark = app.debugger.mark
    fresh = replayed(app.session.scenario, mark.position, mark.show_completed)
    assert_same_state(session_state(app.session), session_state(fresh))
