"""Demos and pictures: play a key script, save SVG screenshots, and autoplay one op at a time.

The key script is pressed through Textual's ``Pilot`` — the same path its tests use, ending in
the driver's message queue like a real key — so a script has exactly the effect of typing it.
Screenshots are Rich's SVG export of the screen; Rich names its CSS classes after a hash of the
content, and the app puts no clock or speed in its final state, so the same scenario, size and
script give a byte-identical file.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.timer import Timer

from tui_backprop.app.keyscript import KeyScript

if TYPE_CHECKING:
    from tui_backprop.app.app import DebuggerApp

DEFAULT_HEADLESS_SIZE = (80, 24)
SCREENSHOT_PREFIX = "tui-backprop-"
AutoplayUnit = Literal["op", "step"]
_SIZE = re.compile(r"^(?P<columns>\d+)[x×X](?P<rows>\d+)$")
_AUTOPLAY_ACTIONS: dict[str, str] = {"op": "command('step')", "step": "command('finish')"}


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``COLSxROWS`` (e.g. ``80x24``).

    Args:
        text: The size as typed.

    Returns:
        (columns, rows).

    Raises:
        ValueError: Not of that form, or outside 20x5 .. 1000x1000.
    """
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"expected COLSxROWS such as 80x24, got {text!r}")
    columns, rows = int(match["columns"]), int(match["rows"])
    if not (20 <= columns <= 1000 and 5 <= rows <= 1000):
        raise ValueError(f"size must be between 20x5 and 1000x1000, got {columns}x{rows}")
    return columns, rows


@dataclass(frozen=True)
class DemoOptions:
    """What to do once the app is up.

    Attributes:
        keys: The key script to press first, if any.
        screenshot: Where to save an SVG after the script (and after any run it started finished).
        stay: Keep the app open after the screenshot instead of exiting.
        autoplay: Seconds between autoplayed steps, or None for no autoplay.
        autoplay_unit: Autoplay one ``op`` or one whole training ``step`` at a time.
        size: Terminal size (columns, rows) to force; headless runs default to 80x24.
    """

    keys: KeyScript | None = None
    screenshot: Path | None = None
    stay: bool = False
    autoplay: float | None = None
    autoplay_unit: AutoplayUnit = "op"
    size: tuple[int, int] | None = None

    @property
    def headless(self) -> bool:
        """A screenshot run that exits afterwards needs no terminal."""
        return self.screenshot is not None and not self.stay

    @property
    def active(self) -> bool:
        """Whether anything has to happen after start-up."""
        return bool(self.keys and self.keys.keys) or self.screenshot is not None or self.autoplay is not None


class Autoplay:
    """Steps the debugger on a timer until the run converges, stops or diverges; any key takes over.

    Args:
        app: The debugger.
        seconds: Time between steps.
        unit: ``op`` steps one op, ``step`` finishes one training step.
    """

    def __init__(self, app: DebuggerApp, seconds: float, unit: AutoplayUnit = "op") -> None:
        self.app = app
        self.seconds = seconds
        self.unit = unit
        self._timer: Timer | None = None

    @property
    def playing(self) -> bool:
        """Whether the timer is still stepping."""
        return self._timer is not None

    def start(self) -> None:
        """Start stepping, and say how to stop."""
        self.app.autoplay = self
        if self._finished() is not None:
            self.app.notify(f"Autoplay: nothing to do, {self._finished()}.", timeout=4)
            return
        what = "op" if self.unit == "op" else "training step"
        self.app.notify(f"Autoplay: one {what} every {self.seconds:g} s. Press any key to take over.", timeout=4)
        self._timer = self.app.set_interval(self.seconds, self._tick, name="autoplay")

    def stop(self, why: str) -> None:
        """Stop the timer and tell the user why."""
        if self._timer is None:
            return
        self._timer.stop()
        self._timer = None
        self.app.notify(f"Autoplay stopped: {why}.", timeout=4)

    def take_over(self) -> None:
        """A key was pressed: the user drives from now on."""
        self.stop("you have the keys")

    def _finished(self) -> str | None:
        """Why autoplay has nothing left to do, or None."""
        session = self.app.session
        training = session.scenario.training
        losses = session.epoch_losses
        if session.step_losses and not math.isfinite(session.step_losses[-1]):
            return "the loss is not finite"
        if losses and losses[-1] <= training.target_loss:
            return f"converged (epoch loss {losses[-1]:.6g} <= target {training.target_loss:g})"
        if len(losses) >= training.max_epochs:
            return f"reached max_epochs ({training.max_epochs})"
        return None

    async def _tick(self) -> None:
        if self.app.running:  # a run started by the user owns the session; autoplay waits
            return
        await self.app.run_action(_AUTOPLAY_ACTIONS[self.unit])
        why = self._finished()
        if why is not None:
            self.stop(why)


def next_screenshot_path(directory: Path) -> Path:
    """The first free ``tui-backprop-NNN.svg`` in ``directory`` (001, 002, ...)."""
    number = 1
    while (directory / f"{SCREENSHOT_PREFIX}{number:03d}.svg").exists():
        number += 1
    return directory / f"{SCREENSHOT_PREFIX}{number:03d}.svg"


def save_numbered_screenshot(app: DebuggerApp, directory: Path | None = None) -> str:
    """Save the screen as the next numbered SVG and say where (``ctrl+s``).

    In a browser (``--serve``) the picture is offered as a download instead.

    Args:
        app: The running app.
        directory: Where to save it (default: the current directory).

    Returns:
        The path written, or the file name offered to the browser.
    """
    directory = Path.cwd() if directory is None else directory
    path = next_screenshot_path(directory)
    if app.is_web:
        app.deliver_screenshot(filename=path.name)
        app.notify(f"Screenshot {path.name} sent to the browser.", timeout=4)
        return path.name
    app.save_screenshot(filename=path.name, path=str(directory))
    app.notify(f"Screenshot saved to {path}", timeout=4)
    return str(path)


def screen_text(app: App[Any]) -> str:
    """The screen as plain text, line by line: what a person reads, without any style.

    Built like ``App.export_screenshot`` (the compositor's full update, printed to a recording
    console), so tests can check what is shown whatever widget draws it.
    """
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), force_terminal=True, color_system=None, record=True
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until a run started by the script has finished and the screen shows its final state."""
    app = pilot.app
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def play(pilot: Pilot[Any], options: DemoOptions) -> None:
    """Press the key script, then take the screenshot and / or start autoplay, as ``options`` say.

    Args:
        pilot: The pilot of the running app (``App.run(auto_pilot=...)`` or ``run_test``).
        options: What to do.
    """
    from tui_backprop.app.app import DebuggerApp

    app = pilot.app
    assert isinstance(app, DebuggerApp)
    if options.keys is not None and options.keys.keys:
        await pilot.press(*options.keys.keys)
    if not app.is_running:  # the script quit the app
        return
    if options.screenshot is not None:
        await settle(pilot)
        path = options.screenshot
        path.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename=path.name, path=str(path.parent))
        if not options.stay:
            app.exit()
            return
    if options.autoplay is not None:
        Autoplay(app, options.autoplay, options.autoplay_unit).start()


def run_with_demo(app: DebuggerApp, options: DemoOptions) -> None:
    """Run the app in this terminal (or headless for a screenshot that exits), playing ``options``."""

    async def auto_pilot(pilot: Pilot[object]) -> None:
        await play(pilot, options)

    size = options.size or (DEFAULT_HEADLESS_SIZE if options.headless else None)
    app.run(headless=options.headless, size=size, auto_pilot=auto_pilot if options.active else None)
