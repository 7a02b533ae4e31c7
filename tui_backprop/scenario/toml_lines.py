"""Find the line of a key in TOML text, so that error messages can point at it.

``tomllib`` keeps no positions, so this scans the text itself: table headers,
arrays of tables, plain and dotted keys. Lines inside multi-line strings and
multi-line arrays or inline tables are skipped, so a value such as
``weights = [\\n  [1],\\n  [2],\\n]`` is not mistaken for a table header. When the
key itself is not written in the file (it is missing, or set inside an inline
table), the line of the nearest enclosing table or key is returned instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*(\]\]?)\s*(?:#.*)?$")
_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_\-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*=")
_KEY_PART = re.compile(r"""[A-Za-z0-9_\-]+|"((?:[^"\\]|\\.)*)"|'([^']*)'""")
_PATH_PART = re.compile(r"^(.*?)(?:\[(\d+)\])?$", re.DOTALL)

Part = tuple[str, int | None]


def _key_parts(dotted: str) -> list[str]:
    """``a."b c".d`` -> ``["a", "b c", "d"]``."""
    parts = []
    for match in _KEY_PART.finditer(dotted):
        if match.group(1) is not None:
            parts.append(match.group(1))
        elif match.group(2) is not None:
            parts.append(match.group(2))
        else:
            parts.append(match.group(0))
    return parts


def _path_parts(key_path: str) -> list[Part]:
    """``network.layers[2].weights`` -> ``[("network", None), ("layers", 2), ("weights", None)]``."""
    parts: list[Part] = []
    for segment in key_path.split("."):
        match = _PATH_PART.match(segment)
        assert match is not None  # the pattern matches every string
        parts.append((match.group(1), int(match.group(2)) if match.group(2) else None))
    return parts


def _scan(line: str, string: str | None, depth: int) -> tuple[str | None, int]:
    """Carry the open multi-line string and the bracket depth across one line."""
    position, length = 0, len(line)
    while position < length:
        if string is not None:  # inside a multi-line string: look for its end
            if string == '"""' and line[position] == "\\":
                position += 2
                continue
            if line.startswith(string, position):
                string = None
                position += 3
                continue
            position += 1
            continue
        char = line[position]
        if char == "#":
            break
        if line.startswith('"""', position) or line.startswith("'''", position):
            string = line[position : position + 3]
            position += 3
            continue
        if char in "\"'":  # a one-line string: skip to its closing quote
            position += 1
            while position < length and line[position] != char:
                position += 2 if char == '"' and line[position] == "\\" else 1
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        position += 1
    return string, depth


def _statements(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line that starts a statement, not a continuation."""
    string: str | None = None
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if string is None and depth == 0:
            yield number, line
        string, depth = _scan(line, string, depth)


def _matches(found: list[Part], wanted: list[Part]) -> bool:
    """True if ``found`` names the same keys as ``wanted``; an index missing on either side matches any."""
    if len(found) != len(wanted):
        return False
    return all(
        name == want_name and (index is None or want_index is None or index == want_index)
        for (name, index), (want_name, want_index) in zip(found, wanted, strict=True)
    )


def key_line(text: str, key_path: str) -> int | None:
    """Return the 1-based line where ``key_path`` is set, or the nearest enclosing one, or None.

    Args:
        text: The TOML source.
        key_path: A path such as ``training.loss`` or ``network.layers[2].weights``,
            where array-of-table indices count from 1.
    """
    wanted = _path_parts(key_path)
    table: list[Part] = []
    counts: dict[tuple[str, ...], int] = {}  # tables seen so far in each array of tables
    best_line: int | None = None
    best_length = 0
    for number, line in _statements(text):
        header = _HEADER.match(line)
        if header and len(header.group(1)) == len(header.group(3)):
            names = _key_parts(header.group(2))
            if header.group(1) == "[[":
                counts[tuple(names)] = counts.get(tuple(names), 0) + 1
            table = [(name, counts.get(tuple(names[: i + 1]))) for i, name in enumerate(names)]
            candidate = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            candidate = table + [(name, None) for name in _key_parts(key.group(1))]
        if _matches(candidate, wanted):
            return number
        # The deepest table or key enclosing the wanted path is the fallback.
        if len(candidate) > best_length and _matches(candidate, wanted[: len(candidate)]):
            best_line, best_length = number, len(candidate)
    return best_line
