"""Argument parsing and dispatch for ``tui-backprop``.

``tui-backprop [SCENARIO]`` opens the debugger; ``check``, ``trace``, ``train`` and
``list`` work without the UI. A bad scenario or bad arguments print one clear
message per problem and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tui_backprop import __version__
from tui_backprop.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    builtin_titles,
    load_scenario,
    resolve_scenario,
)

COMMANDS = ("check", "trace", "train", "list")
USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and one line (it already does), named for the subcommand."""


def _add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. --set training.learning_rate=0.1 (repeatable)",
    )


def _command_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tui-backprop", description="Headless commands of tui-backprop.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate scenario files; exit 0 if all are valid, else 2")
    check.add_argument("files", nargs="+", metavar="FILE")
    _add_set(check)
    trace = commands.add_parser("trace", help="print every op of the first training steps")
    trace.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a built-in name")
    trace.add_argument("--steps", type=int, default=1, help="training steps to trace (default 1)")
    trace.add_argument("--format", choices=("text", "json"), default="text")
    trace.add_argument("--digits", type=int, default=6, help="significant digits in text (default 6)")
    _add_set(trace)
    train = commands.add_parser("train", help="run to convergence and print a summary")
    train.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a built-in name")
    train.add_argument("--epochs", type=int, help="override training.max_epochs")
    train.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_set(train)
    commands.add_parser("list", help="list the built-in scenarios")
    return parser


def app_parser() -> argparse.ArgumentParser:
    """The parser of the default command, which opens the debugger."""
    parser = _Parser(
        prog="tui-backprop",
        description="Step through backpropagation op by op. Commands: check, trace, train, list "
        "(see 'tui-backprop COMMAND --help').",
    )
    parser.add_argument(
        "scenario", nargs="?", default=DEFAULT_SCENARIO, metavar="SCENARIO", help="a scenario file or a built-in name"
    )
    parser.add_argument("--version", action="version", version=f"tui-backprop {__version__}")
    parser.add_argument("--history-mb", type=float, help="memory budget of the time-travel history (default 256)")
    _add_set(parser)
    demo = parser.add_argument_group("demos and screenshots")
    demo.add_argument(
        "--keys",
        metavar="SCRIPT",
        help='press keys after start-up, e.g. "s s n f c": Textual key names, KEY*N repeats, wait:MS pauses',
    )
    demo.add_argument(
        "--screenshot", metavar="PATH.svg", help="save an SVG of the screen after --keys (and any run) and exit"
    )
    demo.add_argument("--stay", action="store_true", help="keep the app open after --screenshot")
    demo.add_argument(
        "--autoplay", type=float, metavar="SECONDS", help="step one op every SECONDS until convergence; a key stops it"
    )
    demo.add_argument(
        "--autoplay-unit", choices=("op", "step"), default="op", help="what --autoplay steps (default: op)"
    )
    demo.add_argument("--size", metavar="COLSxROWS", help="terminal size, e.g. 80x24 (headless screenshots: 80x24)")
    web = parser.add_argument_group("in the browser (needs the [serve] extra)")
    web.add_argument("--serve", action="store_true", help="serve the debugger as a web page (textual-serve)")
    web.add_argument("--host", help="address to bind with --serve (default 127.0.0.1: this machine only)")
    web.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000)")
    return parser


def open_scenario(argument: str, overrides: Sequence[str]) -> Scenario:
    """Load a scenario named by a path or a built-in name, with overrides."""
    return load_scenario(resolve_scenario(argument), list(overrides))


def _positive(parser: argparse.ArgumentParser, name: str, value: int | None) -> None:
    if value is not None and value < 1:
        parser.error(f"{name} must be >= 1, got {value}")


def run_command(argv: list[str]) -> int:
    """Run one headless command and return its exit code."""
    from tui_backprop.cli.trace import trace_json, trace_text
    from tui_backprop.cli.train import train
    from tui_backprop.engine import Session

    parser = _command_parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, title in builtin_titles():
            print(f"{name:<16} {title}")
        return 0
    if args.command == "check":
        failed = False
        for file in args.files:
            try:
                open_scenario(file, args.overrides)
                print(f"{file}: ok")
            except ScenarioError as error:
                print(error, file=sys.stderr)
                failed = True
        return USAGE_ERROR if failed else 0
    _positive(parser, "--steps", getattr(args, "steps", None))
    _positive(parser, "--epochs", getattr(args, "epochs", None))
    scenario = open_scenario(args.scenario, args.overrides)
    if args.command == "trace":
        session = Session(scenario, history_mb=0)
        text = (
            trace_json(session, args.steps) if args.format == "json" else trace_text(session, args.steps, args.digits)
        )
        print(text)
        return 0
    session = Session(scenario, history_mb=0)
    return train(session, args.epochs or scenario.training.max_epochs, args.json, sys.stdout, sys.stderr)


def _served_argv(args: argparse.Namespace) -> list[str]:
    """The arguments each browser tab's debugger process gets: everything but the serving ones."""
    scenario = args.scenario
    if Path(scenario).exists():
        scenario = str(Path(scenario).resolve())
    argv = [scenario, *[item for override in args.overrides for item in ("--set", override)]]
    if args.history_mb is not None:
        argv += ["--history-mb", str(args.history_mb)]
    if args.keys:
        argv += ["--keys", args.keys]
    if args.autoplay is not None:
        argv += ["--autoplay", str(args.autoplay), "--autoplay-unit", args.autoplay_unit]
    return argv


def run_app(argv: list[str]) -> int:
    """Open the debugger on the scenario named in ``argv`` (or serve it, or take a screenshot)."""
    parser = app_parser()
    args = parser.parse_args(argv)
    from tui_backprop.app.demo import DemoOptions, parse_size, run_with_demo
    from tui_backprop.app.keyscript import KeyScriptError, parse_key_script

    try:
        size = parse_size(args.size) if args.size else None
        keys = parse_key_script(args.keys) if args.keys else None
    except (KeyScriptError, ValueError) as error:
        message = str(error) if isinstance(error, KeyScriptError) else f"--size: {error}"
        print(f"tui-backprop: error: {message}", file=sys.stderr)
        return USAGE_ERROR
    if args.autoplay is not None and not args.autoplay > 0:
        parser.error(f"--autoplay must be a positive number of seconds, got {args.autoplay:g}")
    if args.stay and not args.screenshot:
        parser.error("--stay only makes sense with --screenshot")
    if args.host is not None and not args.serve:
        parser.error("--host only makes sense with --serve")
    if args.serve and (args.screenshot or args.size):
        parser.error("--serve does not take --screenshot or --size (the browser sets the size)")
    if not 0 < args.port < 65536:
        parser.error(f"--port must be 1..65535, got {args.port}")
    scenario = open_scenario(args.scenario, args.overrides)
    if args.serve:
        from tui_backprop.app.serve import LOCAL_HOST, ServeUnavailableError, serve

        try:
            serve(_served_argv(args), scenario.title, host=args.host or LOCAL_HOST, port=args.port)
        except ServeUnavailableError as error:
            print(f"tui-backprop: error: {error}", file=sys.stderr)
            return USAGE_ERROR
        except OSError as error:
            print(f"tui-backprop: error: cannot serve on port {args.port}: {error.strerror or error}", file=sys.stderr)
            return 1
        return 0
    from tui_backprop.app.app import make_app

    options = DemoOptions(
        keys=keys,
        screenshot=Path(args.screenshot) if args.screenshot else None,
        stay=args.stay,
        autoplay=args.autoplay,
        autoplay_unit=args.autoplay_unit,
        size=size,
    )
    run_with_demo(make_app(scenario, history_mb=args.history_mb), options)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tui-backprop`` console script.

    Returns:
        0 on success, 1 if training diverged, 2 for a bad scenario or bad arguments.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            return run_command(argv)
        return run_app(argv)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
