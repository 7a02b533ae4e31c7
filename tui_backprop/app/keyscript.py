"""Key scripts for ``--keys``: parse ``"s s s n f c"`` into the keys to press, checked before the app starts.

A script is Textual key names separated by spaces. ``KEY*N`` presses a key ``N`` times and
``wait:MS`` pauses for ``MS`` milliseconds (both as Textual's own ``Pilot.press`` understands
them). Every key must be one Textual can deliver and one the debugger does something with, so a
typo (``ss``, ``ctlr+r``, ``z``) is reported before the app opens instead of being silently ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from textual.binding import Binding, BindingType
from textual.keys import Keys, _character_to_key, key_to_character

MAX_REPEAT = 9999
MAX_WAIT_MS = 600_000
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
_REPEAT = re.compile(r"^(?P<key>.+?)\*(?P<count>[^*]*)$")
_WAIT = re.compile(r"^wait:(?P<ms>.*)$")


class KeyScriptError(ValueError):
    """A ``--keys`` script is malformed; the message is one line saying which item and why."""


@dataclass(frozen=True)
class KeyScript:
    """A parsed key script.

    Attributes:
        source: The script as given.
        keys: What to hand to ``Pilot.press``, in order: Textual key names and ``wait:MS`` items.
    """

    source: str
    keys: tuple[str, ...]

    @property
    def presses(self) -> tuple[str, ...]:
        """The key presses alone, without the pauses."""
        return tuple(key for key in self.keys if not key.startswith("wait:"))


def _textual_key_names() -> frozenset[str]:
    return frozenset(str(key.value) for key in Keys)


def normalize_key(name: str) -> str | None:
    """The Textual key name for ``name`` (``?`` -> ``question_mark``), or None if Textual has no such key.

    Args:
        name: A key as a user writes it: ``s``, ``S``, ``?``, ``enter``, ``ctrl+r``, ``question_mark``.

    Returns:
        The name Textual uses in key events and bindings, or None.
    """
    if len(name) == 1:
        return _character_to_key(name) if name.isprintable() and not name.isspace() else None
    *modifiers, base = name.split("+")
    if any(modifier not in MODIFIERS for modifier in modifiers) or len(set(modifiers)) != len(modifiers):
        return None
    if not base:
        return None
    if len(base) == 1:
        base = _character_to_key(base) if base.isprintable() and not base.isspace() else ""
    elif base not in _textual_key_names() and key_to_character(base) is None:
        return None
    if not base:
        return None
    return "+".join([*modifiers, base])


def _binding_keys(bindings: Iterable[BindingType]) -> set[str]:
    keys: set[str] = set()
    for binding in bindings:
        key = binding.key if isinstance(binding, Binding) else binding[0]
        for part in key.split(","):
            normalized = normalize_key(part.strip())
            if normalized is not None:
                keys.add(normalized)
    return keys


def _subclasses(cls: type) -> Iterator[type]:
    subclass: type
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


@cache
def app_keys() -> frozenset[str]:
    """Every key the debugger binds: its own, its widgets' and screens' (with their Textual bases'), Textual's."""
    from textual.app import App
    from textual.screen import Screen
    from textual.widget import Widget
    from textual.widgets import Tabs

    from tui_backprop.app.app import DebuggerApp

    ours = [cls for cls in _subclasses(Widget) if cls.__module__.startswith("tui_backprop.")]
    keys: set[str] = {DebuggerApp.COMMAND_PALETTE_BINDING}
    for cls in (DebuggerApp, App, Screen, Tabs, *ours):
        for klass in cls.__mro__:
            keys |= _binding_keys(klass.__dict__.get("BINDINGS", ()))
    return frozenset(keys)


def _describe(key: str) -> str:
    """A printable rendering of a user's key for an error message."""
    return "".join(char if char.isprintable() else unicodedata.name(char, repr(char)) for char in key)


def _parse_count(item: str, text: str, position: int) -> int:
    if not text.isdigit():
        raise KeyScriptError(
            f"--keys: item {position} {item!r}: the repeat count after '*' must be a whole number, got {text!r}"
        )
    count = int(text)
    if not 1 <= count <= MAX_REPEAT:
        raise KeyScriptError(f"--keys: item {position} {item!r}: the repeat count must be 1..{MAX_REPEAT}, got {count}")
    return count


def _parse_wait(item: str, text: str, position: int) -> str:
    if not text.isdigit():
        raise KeyScriptError(
            f"--keys: item {position} {item!r}: wait takes whole milliseconds, e.g. wait:500, got {text!r}"
        )
    milliseconds = int(text)
    if milliseconds > MAX_WAIT_MS:
        raise KeyScriptError(f"--keys: item {position} {item!r}: wait is at most {MAX_WAIT_MS} ms, got {milliseconds}")
    return f"wait:{milliseconds}"


def parse_key_script(script: str, known_keys: Iterable[str] | None = None) -> KeyScript:
    """Parse a key script, checking every item.

    Args:
        script: Items separated by whitespace: a key (``s``, ``S``, ``enter``, ``ctrl+r``, ``?``),
            ``KEY*N`` (the key ``N`` times) or ``wait:MS`` (pause ``MS`` milliseconds).
        known_keys: Keys accepted, as Textual names; default: every key the debugger binds.

    Returns:
        The keys to press, repeats expanded.

    Raises:
        KeyScriptError: An unknown or unbound key, a bad repeat or a bad wait, naming the item.
    """
    known = frozenset(app_keys() if known_keys is None else known_keys)
    keys: list[str] = []
    for position, item in enumerate(script.split(), start=1):
        wait = _WAIT.match(item)
        if wait:
            keys.append(_parse_wait(item, wait["ms"], position))
            continue
        count = 1
        name = item
        repeat = _REPEAT.match(item) if len(item) > 1 else None
        if repeat:
            name = repeat["key"]
            count = _parse_count(item, repeat["count"], position)
        elif "*" in item and len(item) > 1:
            raise KeyScriptError(f"--keys: item {position} {item!r}: write a repeat as KEY*N, e.g. s*5")
        key = normalize_key(name)
        if key is None:
            raise KeyScriptError(
                f"--keys: item {position}: {_describe(name)!r} is not a key name Textual knows "
                "(use e.g. s, S, enter, space, escape, ctrl+r, question_mark)"
            )
        if key not in known:
            raise KeyScriptError(
                f"--keys: item {position}: key {_describe(name)!r} does nothing in tui-backprop "
                "(press ? in the app for the keys)"
            )
        keys.extend([key] * count)
    return KeyScript(script, tuple(keys))
