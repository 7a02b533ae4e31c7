"""The breakpoints panel: every breakpoint with its hit count; enable, disable or delete it here."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList

from tui_backprop.app.view import View
from tui_backprop.engine.breakpoints import Breakpoints


class BreakpointsView(OptionList):
    """One line per breakpoint; space toggles it, d or delete removes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_enabled", "Enable/disable"),
        Binding("d,delete", "delete", "Delete"),
        Binding("enter", "toggle_enabled", "Enable/disable", show=False),
    ]

    class Changed(Message):
        """The user changed the breakpoints here; the app redraws."""

    def __init__(self, breakpoints: Breakpoints, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._breakpoints = breakpoints

    def show(self, view: View | None = None) -> None:
        """Redraw the list, keeping the highlight (the breakpoints hold all it needs)."""
        highlighted = self.highlighted
        self.clear_options()
        session = self._breakpoints.session
        if not self._breakpoints.items:
            self.add_option(Text("No breakpoints. b sets one on the program line; : adds a condition.", style="dim"))
            return
        for number, item in enumerate(self._breakpoints.items, start=1):
            marker = "●" if item.enabled else "○"
            self.add_option(Text(f"{marker} {number}. {item.describe(session)}"))
        if highlighted is not None:
            self.highlighted = min(highlighted, len(self._breakpoints.items) - 1)

    def _selected(self) -> int | None:
        index = self.highlighted
        return index if index is not None and index < len(self._breakpoints.items) else None

    def action_toggle_enabled(self) -> None:
        """Enable or disable the highlighted breakpoint."""
        index = self._selected()
        if index is not None:
            item = self._breakpoints.items[index]
            item.enabled = not item.enabled
            self.post_message(self.Changed())

    def action_delete(self) -> None:
        """Delete the highlighted breakpoint."""
        index = self._selected()
        if index is not None:
            del self._breakpoints.items[index]
            self.post_message(self.Changed())
