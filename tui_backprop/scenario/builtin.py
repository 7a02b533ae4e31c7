"""Find the scenarios shipped with tui-backprop, by name, in a checkout or an installed wheel.

The top-level ``scenarios/`` folder is copied into the wheel as
``tui_backprop/scenarios``; in an editable install the folder is read in place.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tui_backprop.scenario.errors import Problem, ScenarioError

DEFAULT_SCENARIO = "xor"


def builtin_dir() -> Path:
    """The folder holding the built-in scenario files."""
    packaged = Path(__file__).resolve().parents[1] / "scenarios"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "scenarios"


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return sorted(path.stem for path in builtin_dir().glob("*.toml"))


def builtin_titles() -> list[tuple[str, str]]:
    """(name, title) for every built-in scenario; the title is read without full validation."""
    titles = []
    for name in builtin_names():
        try:
            title = tomllib.loads((builtin_dir() / f"{name}.toml").read_text(encoding="utf-8")).get("title", "")
        except (OSError, tomllib.TOMLDecodeError):
            title = "(unreadable)"
        titles.append((name, str(title)))
    return titles


def resolve_scenario(argument: str) -> Path:
    """Turn a command-line argument into a scenario file: an existing path, or a built-in's name.

    Raises:
        ScenarioError: Neither a file nor a built-in of that name exists.
    """
    path = Path(argument)
    if path.is_file():
        return path
    builtin = builtin_dir() / f"{argument.removesuffix('.toml')}.toml"
    if "/" not in argument and builtin.is_file():
        return builtin
    names = ", ".join(builtin_names())
    raise ScenarioError(
        [Problem(argument, "", f"no such file, and no built-in scenario of that name (built-ins: {names})")]
    )
