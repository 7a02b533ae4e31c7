"""``--serve`` without a browser: the default bind, the URL line, the served command, and a missing extra."""

from __future__ import annotations

import shlex
import sys

import pytest

from tui_backprop.app import serve
from tui_backprop.cli.main import app_parser, main


def test_binds_locally_by_default() -> None:
    assert serve.LOCAL_HOST == "127.0.0.1"
    assert serve.public_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert serve.public_url("::1", 80) == "http://[::1]:80"
    assert not serve.public_url("0.0.0.0", 8000).startswith("http://0.0.0.0")


def test_each_tab_runs_the_same_scenario_and_options() -> None:
    argv = ["xor", "--set", "training.learning_rate=0.5", "--keys", "s s"]
    assert shlex.split(serve.app_command(argv)) == [sys.executable, "-m", "tui_backprop", *argv]


def test_missing_textual_serve_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)  # makes the import fail
    assert main(["xor", "--serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "tui-backprop: error: --serve needs textual-serve: "
        "pip install 'tui-backprop[serve]' (or pip install textual-serve)"
    )


@pytest.mark.parametrize(
    "argv", [["--host", "0.0.0.0"], ["--serve", "--port", "0"], ["--serve", "--screenshot", "x.svg"]]
)
def test_serving_arguments_are_checked(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["xor", *argv])
    assert raised.value.code == 2


def test_defaults() -> None:
    args = app_parser().parse_args(["--serve"])
    assert (args.host, args.port) == (None, 8000)
