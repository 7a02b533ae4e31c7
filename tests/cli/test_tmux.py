"""End to end in a real terminal: the debugger in tmux at 80x24 with NO_COLOR=1, driven by send-keys.

What a person reads must be there without colour: the op listing, the ``▶`` marker on the op about
to run, and the loss once it is computed, equal to what ``trace`` prints.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tui_backprop.cli.main import main
from tui_backprop.numbers import format_number

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
# A private server socket (-L) keeps the test away from any tmux the user runs.
SOCKET = f"tui-backprop-test-{os.getpid()}"


def tmux(*argv: str) -> str:
    command = ["tmux", "-L", SOCKET, *argv]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout


def pane() -> str:
    return tmux("capture-pane", "-t", SOCKET, "-p")


def wait_for(text: str, seconds: float = 30.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        screen = pane()
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear; the pane shows:\n{pane()}")


def send(*keys: str) -> None:
    for key in keys:
        tmux("send-keys", "-t", SOCKET, key)
        time.sleep(0.05)


@pytest.fixture
def debugger() -> Iterator[None]:
    """``tui-backprop xor`` in an 80x24 tmux pane with NO_COLOR=1."""
    command = f"env NO_COLOR=1 TERM=xterm-256color {shlex.quote(sys.executable)} -m tui_backprop xor; sleep 30"
    tmux("new-session", "-d", "-s", SOCKET, "-x", "80", "-y", "24", command)
    try:
        yield
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True, timeout=30)


def test_xor_in_tmux_without_colour(debugger: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "xor", "--format", "json"]) == 0
    loss = format_number(json.loads(capsys.readouterr().out)["steps"][0]["loss"], 4).strip()

    wait_for("op 0/14")
    send(*["s"] * 5)
    screen = wait_for("op 5/14")
    assert "── forward ──" in screen
    for done in ("✓ x, y ← next batch", "✓ z1 = x·W1 + b1", "✓ a1 = σ(z1)", "✓ z2 = a1·W2 + b2", "✓ a2 = σ(z2)"):
        assert done in screen
    assert "▶ L = meanₙ ½Σk(a2−y)²" in screen  # the op about to run, marked without colour

    send("s")  # compute the loss
    wait_for("op 6/14")
    for _ in range(10):  # v cycles the bottom panel until it shows the loss
        send("v")
        time.sleep(0.3)
        if "batch loss" in pane():
            break
    screen = wait_for("batch loss")
    assert "op 6/14" in screen
    line = next(line for line in screen.splitlines() if "batch loss" in line)
    assert line.split()[2] == loss
