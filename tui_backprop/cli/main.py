"""Argument parsing and dispatch for ``tui-backprop``.

``tui-backprop [SCENARIO]`` opens the debugger; ``check``, ``trace``, ``train`` and
``list`` work without the UI. A bad scenario or bad arguments print one clear
message per problem and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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


def run_app(argv: list[str]) -> int:
    """Open the debugger on the scenario named in ``argv``."""
    args = app_parser().parse_args(argv)
    scenario = open_scenario(args.scenario, args.overrides)
    from tui_backprop.app.app import make_app

    make_app(scenario, history_mb=args.history_mb).run()
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
