"""A one-line prompt over the debugger: jump targets, breakpoint conditions, edits, file names.

The caller passes a ``check`` that returns an error message for bad input, so a
wrong entry is explained in the prompt and can be corrected without losing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line; dismiss with the text (enter) or None (escape).

    Args:
        title: What is asked, e.g. ``Go to``.
        hint: Examples of accepted input.
        value: Initial text.
        check: Returns an error message for unacceptable text, or None.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 80%; max-width: 90; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    PromptScreen #prompt-error { color: $error; text-style: bold; }
    """

    def __init__(
        self, title: str, hint: str = "", value: str = "", check: Callable[[str], str | None] | None = None
    ) -> None:
        super().__init__()
        self._title = title
        self._hint = hint
        self._value = value
        self._check = check

    def compose(self) -> ComposeResult:
        """Title, input, hint and the error line."""
        with Vertical():
            yield Label(self._title, id="prompt-title")
            yield Input(value=self._value, id="prompt-input")
            yield Static(self._hint, id="prompt-hint")
            yield Static("", id="prompt-error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        error = self._check(event.value) if self._check else None
        if error:
            self.query_one("#prompt-error", Static).update(f"✗ {error}")
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)
