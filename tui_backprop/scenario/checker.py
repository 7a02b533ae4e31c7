"""Typed reads from a parsed TOML table that collect problems instead of stopping at the first.

The loader asks a ``Checker`` for each key with the type it expects; a wrong
value becomes a ``Problem`` (file, key path, line, expectation) and a harmless
default, so validation carries on and reports everything at once.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

from tui_backprop.scenario.errors import Problem
from tui_backprop.scenario.toml_lines import key_line


def describe(value: object) -> str:
    """A short description of a TOML value for 'found ...' messages."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_number(value: object) -> bool:
    """True for TOML integers and floats, false for booleans (which Python counts as ints)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_float(value: int | float) -> float:
    """``value`` as a float; integers too large for a float (TOML allows any size) become infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _bound(value: float, integer: bool) -> str:
    """A bound as a person reads it: ``1,000,000`` for integers, ``1e-08`` style for the rest."""
    return f"{int(value):,}" if integer else f"{value:g}"


class Checker:
    """Collects problems for one scenario file.

    Args:
        file: The file name to put in messages.
        text: The TOML text, used to find line numbers.
    """

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.problems: list[Problem] = []
        # Key paths whose value came from ``--set``, with the override that set it: their problems
        # must not point at the (overridden) line of the file.
        self.overridden: dict[str, str] = {}

    def report(self, key: str, message: str, line: int | None = None, locate: bool = True) -> None:
        """Record one problem at ``key``.

        Args:
            key: The key path, or "" for the whole file.
            message: What was expected and what was found.
            line: The line, when the caller knows it.
            locate: Look the line up in the text when ``line`` is not given.
        """
        origin = self._override_of(key)
        if origin is not None:
            message, line = f"{message} (set by --set {origin})", None
        elif line is None and locate and key:
            line = key_line(self.text, key)
        self.problems.append(Problem(self.file, key, message, line))

    def _override_of(self, key: str) -> str | None:
        """The ``--set`` text that produced ``key`` (or a table enclosing it), if any."""
        for path, override in self.overridden.items():
            if key == path or key.startswith((path + ".", path + "[")):
                return override
        return None

    def known_keys(self, table: dict[str, Any], prefix: str, allowed: Iterable[str]) -> None:
        """Report every key of ``table`` that is not in ``allowed``, with a 'did you mean' hint."""
        allowed = list(allowed)
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
                self.report(f"{prefix}{key}", f"unknown key{hint}")

    def table(self, parent: dict[str, Any], key: str, prefix: str, required: bool = False) -> dict[str, Any]:
        """The sub-table ``parent[key]``, or an empty one (reporting it if required or mistyped)."""
        value = parent.get(key)
        if value is None:
            if required:
                self.report(f"{prefix}{key}", "missing; expected a table")
            return {}
        if not isinstance(value, dict):
            self.report(f"{prefix}{key}", f"expected a table, found {describe(value)}")
            return {}
        return value

    def text_value(self, table: dict[str, Any], key: str, path: str, default: str | None) -> str | None:
        """A string, or ``default`` when absent (missing required strings are reported)."""
        if key not in table:
            if default is None:
                self.report(path, "missing; expected a string")
            return default
        value = table[key]
        if not isinstance(value, str):
            self.report(path, f"expected a string, found {describe(value)}")
            return default
        return value

    def choice(self, table: dict[str, Any], key: str, path: str, options: Iterable[str], default: str) -> str:
        """One of ``options`` (a string), or ``default``."""
        options = list(options)
        value = table.get(key, default)
        if not isinstance(value, str) or value not in options:
            close = difflib.get_close_matches(str(value), options, n=1) if isinstance(value, str) else []
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.report(path, f"expected one of {', '.join(options)}, found {describe(value)}{hint}")
            return default
        return value

    def flag(self, table: dict[str, Any], key: str, path: str, default: bool) -> bool:
        """A boolean, or ``default``."""
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.report(path, f"expected true or false, found {describe(value)}")
            return default
        return value

    def number(
        self,
        table: dict[str, Any],
        key: str,
        path: str,
        default: float | None,
        minimum: float | None = None,
        maximum: float | None = None,
        above: float | None = None,
        integer: bool = False,
    ) -> float:
        """A finite number within bounds, or ``default`` (missing required numbers are reported).

        Args:
            table: The table to read from.
            key: The key in it.
            path: Full key path for messages.
            default: Value when absent; None makes the key required.
            minimum: Inclusive lower bound.
            maximum: Inclusive upper bound.
            above: Exclusive lower bound.
            integer: Require a whole number.
        """
        kind = "an integer" if integer else "a number"
        fallback = default if default is not None else (minimum if minimum is not None else 1.0)
        if key not in table:
            if default is None:
                self.report(path, f"missing; expected {kind}")
            return fallback
        value = table[key]
        if not is_number(value) or (integer and not isinstance(value, int)):
            self.report(path, f"expected {kind}, found {describe(value)}")
            return fallback
        if not math.isfinite(as_float(value)):
            what = "a finite number" if isinstance(value, float) else f"{kind} small enough for a float"
            self.report(path, f"expected {what}, found {describe(value)}")
            return fallback
        if (
            (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
            or (above is not None and value <= above)
        ):
            bounds = [
                f">= {_bound(minimum, integer)}" if minimum is not None else "",
                f"> {_bound(above, integer)}" if above is not None else "",
                f"<= {_bound(maximum, integer)}" if maximum is not None else "",
            ]
            self.report(path, f"expected {kind} {' and '.join(b for b in bounds if b)}, found {describe(value)}")
            return fallback
        return value

    def names(self, table: dict[str, Any], key: str, path: str, count: int, default: list[str]) -> tuple[str, ...]:
        """A list of ``count`` distinct strings, or ``default``."""
        value = table.get(key)
        if value is None:
            return tuple(default)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.report(path, f"expected a list of {count} strings, found {describe(value)}")
            return tuple(default)
        if len(value) != count:
            self.report(path, f"expected {count} names (one per unit), found {len(value)}")
            return tuple(default)
        if len(set(value)) != len(value):
            self.report(path, "names must be distinct")
            return tuple(default)
        return tuple(value)
