"""``--screenshot``: the same scenario, size and key script give a byte-identical SVG showing the listing.

Also ``ctrl+s`` (numbered screenshots in the current directory) and autoplay (steps on a timer,
stops at convergence, and any key takes over).
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tui_backprop.app.app import make_app
from tui_backprop.app.demo import Autoplay, parse_size
from tui_backprop.cli.main import open_scenario


def screenshot(path: Path, *argv: str) -> bytes:
    """Run ``tui-backprop ARGV --screenshot PATH`` in a fresh process and return the SVG."""
    command = [sys.executable, "-m", "tui_backprop", *argv, "--screenshot", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return path.read_bytes()


def svg_text(svg: bytes) -> str:
    """The characters an SVG screenshot shows, tags removed."""
    text = html.unescape(re.sub(r"<[^>]+>", "", svg.decode()))
    return text.replace("\xa0", " ")


@pytest.mark.parametrize(
    "argv",
    [
        ("xor", "--keys", "s*5", "--size", "80x24"),
        ("linear_sse", "--keys", "p c", "--size", "100x30"),
    ],
)
def test_the_same_command_gives_the_same_svg(tmp_path: Path, argv: tuple[str, ...]) -> None:
    first = screenshot(tmp_path / "first.svg", *argv)
    second = screenshot(tmp_path / "second.svg", *argv)
    assert first == second
    assert first.startswith(b"<svg")


def test_the_svg_shows_the_op_listing_and_the_current_op(tmp_path: Path) -> None:
    text = svg_text(screenshot(tmp_path / "xor.svg", "xor", "--keys", "s*5"))
    for line in ("── forward ──", "✓ z1 = x·W1 + b1", "✓ a2 = σ(z2)", "── loss ──", "▶ L = mean"):
        assert line in text
    assert "XOR, 2-2-1 sigmoid" in text
    assert "op 5/14" in text


def test_a_finished_run_is_reproducible(tmp_path: Path) -> None:
    text = svg_text(screenshot(tmp_path / "run.svg", "xor", "--keys", "c", "--size", "100x30"))
    assert "converged" in text
    assert "steps/s" not in text


def test_size_parsing() -> None:
    assert parse_size("80x24") == (80, 24)
    assert parse_size("132×43") == (132, 43)
    for bad in ("80", "80x", "x24", "0x0", "80x24x2", "10x10"):
        with pytest.raises(ValueError):
            parse_size(bad)


async def test_ctrl_s_saves_numbered_screenshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(open_scenario("xor", []))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", "ctrl+s")
        await pilot.press("ctrl+s")
        await pilot.pause()
        messages = [notification.message for notification in app._notifications]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tui-backprop-001.svg", "tui-backprop-002.svg"]
    assert "op 1/14" in svg_text((tmp_path / "tui-backprop-001.svg").read_bytes())
    assert any(str(tmp_path / "tui-backprop-002.svg") in message for message in messages)


async def test_autoplay_steps_until_a_key_takes_over() -> None:
    app = make_app(open_scenario("xor", []))
    async with app.run_test(size=(80, 24)) as pilot:
        autoplay = Autoplay(app, 0.02)
        autoplay.start()
        while app.session.cursor.op_index < 3:
            await pilot.pause(0.02)
        await pilot.press("S")  # the key both stops autoplay and steps back
        at = app.session.position
        await pilot.pause(0.2)
        assert not autoplay.playing
        assert app.session.position == at


async def test_autoplay_stops_at_convergence() -> None:
    scenario = open_scenario("linear_sse", ["training.target_loss=5", "training.max_epochs=50"])
    app = make_app(scenario)
    async with app.run_test(size=(80, 24)) as pilot:
        autoplay = Autoplay(app, 0.01, unit="step")
        autoplay.start()
        for _ in range(300):
            if not autoplay.playing:
                break
            await pilot.pause(0.02)
        assert not autoplay.playing
        assert app.session.epoch_losses[-1] <= 5
        assert app.session.steps_done == 2  # 30 -> 4.8: the second epoch's loss is under 5
