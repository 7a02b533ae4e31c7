"""``--keys`` scripts: what parses, what is refused with a one-line message, and exit status 2 from the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tui_backprop.app.keyscript import KeyScriptError, app_keys, normalize_key, parse_key_script
from tui_backprop.cli.main import main


@pytest.mark.parametrize(
    ("script", "keys"),
    [
        ("s s s n f c", ("s", "s", "s", "n", "f", "c")),
        ("s*3 S", ("s", "s", "s", "S")),
        ("  s\tn\n", ("s", "n")),
        ("s wait:250 f", ("s", "wait:250", "f")),
        ("? f1 escape", ("question_mark", "f1", "escape")),
        ("question_mark*2", ("question_mark", "question_mark")),
        ("ctrl+r enter space tab shift+tab", ("ctrl+r", "enter", "space", "tab", "shift+tab")),
        ("1 0 s", ("1", "0", "s")),
        ("right down j k", ("right", "down", "j", "k")),
        ("ctrl+s ctrl+p ctrl+q", ("ctrl+s", "ctrl+p", "ctrl+q")),
        ("", ()),
    ],
)
def test_good_scripts(script: str, keys: tuple[str, ...]) -> None:
    assert parse_key_script(script).keys == keys


def test_presses_leave_out_the_pauses() -> None:
    assert parse_key_script("s wait:10 s").presses == ("s", "s")


def test_every_app_binding_is_a_known_key() -> None:
    keys = app_keys()
    assert {"s", "S", "n", "N", "f", "F", "c", "u", "ctrl+r", "question_mark", "ctrl+s", "tab"} <= keys
    assert all(normalize_key(key) == key for key in keys)


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("s ss", ["item 2", "'ss'", "not a key name"]),
        ("ctlr+r", ["item 1", "'ctlr+r'", "not a key name"]),
        ("f12", ["item 1", "'f12'", "does nothing"]),
        ("shift+s", ["'shift+s'", "does nothing"]),
        ("s*0", ["item 1", "1..9999"]),
        ("s*10000", ["1..9999"]),
        ("s*x", ["whole number", "'x'"]),
        ("s*", ["whole number"]),
        ("s*-2", ["whole number"]),
        ("s*2*3", ["not a key name"]),
        ("wait:", ["whole milliseconds"]),
        ("wait:1.5", ["whole milliseconds"]),
        ("wait:-5", ["whole milliseconds"]),
        ("wait:9999999", ["at most"]),
        ("ctrl+", ["not a key name"]),
    ],
)
def test_bad_scripts_say_which_item_and_why(script: str, words: list[str]) -> None:
    with pytest.raises(KeyScriptError) as raised:
        parse_key_script(script)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("--keys: ")
    for word in words:
        assert word in message


def test_cli_refuses_a_bad_script_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["xor", "--keys", "s s zz"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "item 3" in err and "'zz'" in err


@pytest.mark.parametrize("argv", [["--keys", "s*0"], ["--size", "80by24"], ["--autoplay", "0"], ["--stay"]])
def test_cli_bad_demo_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(["xor", *argv])
    except SystemExit as exit:  # argparse's own errors
        status = int(exit.code or 0)
    assert status == 2
    assert capsys.readouterr().err.strip()


def test_the_console_script_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui_backprop", "xor", "--keys", "s wait:soon"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tui-backprop: error: --keys: item 2 'wait:soon': wait takes whole milliseconds, e.g. wait:500, got 'soon'"
    ]
