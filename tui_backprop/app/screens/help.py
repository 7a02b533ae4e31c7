"""The help screen: every key the debugger understands, with what it does."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

EXTRA_KEYS = (
    ("0-9", "count prefix: 10s steps ten ops, 3f finishes three steps"),
    ("enter", "repeat the last command (with its count)"),
    ("tab / shift+tab", "move between panels"),
    ("arrows / h j k l", "move the selection inside a panel (node, weight, sample, op)"),
    ("ctrl+p", "command palette: every action by name"),
)


class HelpScreen(ModalScreen[None]):
    """A scrollable table of keys; any of escape, q, ? or F1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "dismiss", "Close help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        """The key table."""
        table = Table(title="tui-backprop keys", expand=True, show_edge=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what it does")
        for key, description in [*self._keys, *EXTRA_KEYS]:
            table.add_row(key, description)
        with VerticalScroll():
            yield Static(table)
            yield Static("\nLowercase goes forward, uppercase goes back (as in gdb). Press escape to close.")

    def action_dismiss(self) -> None:  # type: ignore[override]
        """Close the help screen."""
        self.dismiss(None)
