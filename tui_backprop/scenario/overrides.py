"""``--set key.path=value`` overrides, applied to the parsed TOML before validation.

Because overrides change the raw tables, an overridden value is validated by
exactly the same code as a value written in the file.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from tui_backprop.scenario.checker import Checker

_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


def parse_value(text: str) -> Any:
    """A TOML value (``0.1``, ``true``, ``[1, 2]``, ``"x"``), or the bare text when it is not one."""
    if "\n" in text or "\r" in text:
        return text  # one value only: a line break could smuggle in more keys
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except (ValueError, RecursionError):  # TOMLDecodeError, an over-long integer, absurd nesting
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...], check: Checker) -> None:
    """Apply each ``key.path=value`` to ``raw`` in order, reporting malformed ones to ``check``.

    Array-of-table indices count from 1, as in error messages: ``network.layers[2].units=8``.
    Every path set is recorded in ``check.overridden``, so that a problem with the new value
    names the override instead of pointing at a line of the file that no longer applies.
    """
    for override in overrides:
        path, sep, value = override.partition("=")
        path = path.strip()
        segments = [_SEGMENT.match(part) for part in path.split(".")]
        if not sep or not path or not all(segments):
            check.report(f"--set {override}", "expected key.path=value, e.g. training.learning_rate=0.1", locate=False)
            continue
        check.overridden[path] = override.strip()
        table: Any = raw
        for position, match in enumerate(segments):
            assert match is not None
            key, index = match.group(1), match.group(2)
            last = position == len(segments) - 1
            if index is not None:
                items = table.get(key) if isinstance(table, dict) else None
                if not isinstance(items, list) or not 1 <= int(index) <= len(items):
                    count = len(items) if isinstance(items, list) else 0
                    check.report(
                        f"--set {path}",
                        f"{key}[{index}] does not exist; there are {count} (counting from 1)",
                        locate=False,
                    )
                    break
                if last:
                    items[int(index) - 1] = parse_value(value.strip())
                else:
                    table = items[int(index) - 1]
                continue
            if not isinstance(table, dict):
                check.report(f"--set {path}", f"{key!r} is not inside a table", locate=False)
                break
            if last:
                table[key] = parse_value(value.strip())
            else:
                table = table.setdefault(key, {})
