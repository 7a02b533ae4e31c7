"""Find the line of a key in TOML text, so that error messages can point at it.

``tomllib`` keeps no positions, so this scans the text for table headers and
``key =`` lines. It understands what scenario files use (tables, arrays of tables,
plain keys); for anything else it falls back to the enclosing table's header.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")
_PART = re.compile(r"([A-Za-z0-9_\-]+)(?:\[(\d+)\])?")


def key_line(text: str, key_path: str) -> int | None:
    """Return the 1-based line where ``key_path`` is set, or None if it can't be found.

    Args:
        text: The TOML source.
        key_path: A path such as ``training.loss`` or ``network.layers[2].weights``,
            where array-of-table indices count from 1.
    """
    parts = [(m.group(1), int(m.group(2)) if m.group(2) else None) for m in _PART.finditer(key_path)]
    if not parts:
        return None
    header_path = ".".join(name for name, _ in parts[:-1])
    index = next((i for _, i in parts[:-1] if i is not None), None)
    leaf, leaf_index = parts[-1]
    if leaf_index is not None:  # the path names a table in an array of tables
        header_path, index, leaf = ".".join(name for name, _ in parts), leaf_index, ""
    current = ""
    seen: dict[str, int] = {}
    header_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header.group(2).replace('"', "").replace(" ", "")
            seen[current] = seen.get(current, 0) + 1
            if current == header_path and (index is None or seen[current] == index):
                header_line = number
                if not leaf:
                    return number
            continue
        key = _KEY.match(line)
        if key and leaf and key.group(1) == leaf and current == header_path:
            if index is None or seen.get(current) == index:
                return number
    return header_line
