"""The program panel: one training step as a listing of ops, like a debugger's source view.

Ops are grouped by phase; the op about to run carries ``▶`` and is highlighted,
executed ops carry ``✓``. The highlight (cursor) can be moved to browse ops.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui_backprop.app.view import View
from tui_backprop.engine import Op


class ProgramView(OptionList):
    """The listing of the current step's ops."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        # enter repeats the last command, as in pdb, rather than selecting a line.
        Binding("enter", "app.repeat", "Repeat last", show=False),
    ]
    DEFAULT_CSS = """
    ProgramView { border: round $secondary; }
    ProgramView:focus { border: round $accent; }
    """

    def __init__(self, ops: tuple[Op, ...], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._ops = ops
        self._rows: list[int | None] = []  # option index -> op index (None for headers)
        self._states: dict[int, tuple[object, ...]] = {}  # what each row's prompt shows now
        self._current_row = -1
        self.border_title = "Program"

    def on_mount(self) -> None:
        """Build the listing once; later redraws only change prompts."""
        options: list[Option] = []
        phase = None
        for op in self._ops:
            if op.phase is not phase:
                phase = op.phase
                options.append(Option(Text(f"── {phase} ──", style="dim"), disabled=True))
                self._rows.append(None)
            options.append(Option(op.formula, id=f"op{op.index}"))
            self._rows.append(op.index)
        options.append(Option(Text("── end of step ──", style="dim"), id="end"))
        self._rows.append(len(self._ops))
        self.add_options(options)

    def highlighted_op(self) -> int | None:
        """The op index on the highlighted line, or None on a header or the end line."""
        row = self.highlighted
        if row is None or row >= len(self._rows):
            return None
        index = self._rows[row]
        return index if index is not None and index < len(self._ops) else None

    def show(self, view: View) -> None:
        """Mark done ops and the op about to run; move the highlight to it when it moved.

        Only prompts whose marks changed are replaced, and a highlight the user moved (to set a
        breakpoint, say) stays put until the cursor itself moves.
        """
        done = view.session.cursor.op_index
        current_row = 0
        for row, index in enumerate(self._rows):
            if index is None:
                continue
            if index == len(self._ops):
                complete = done == len(self._ops)
                if complete:
                    current_row = row
                self._set_prompt(row, ("end", complete), partial(self._end_prompt, complete))
                continue
            state = ("done" if index < done else "next" if index == done else "todo", index in view.breakpoint_ops)
            if index == done:
                current_row = row
            self._set_prompt(row, state, partial(self._op_prompt, index, *state))
        if current_row != self._current_row:
            self._current_row = current_row
            self.highlighted = current_row

    def _set_prompt(self, row: int, state: tuple[object, ...], prompt: Callable[[], Text]) -> None:
        if self._states.get(row) != state:
            self._states[row] = state
            self.replace_option_prompt_at_index(row, prompt())

    @staticmethod
    def _end_prompt(complete: bool) -> Text:
        label = "■ step complete: s starts the next step" if complete else "  end of step"
        return Text(label, style="bold" if complete else "dim")

    def _op_prompt(self, index: int, progress: str, breakpoint: bool) -> Text:
        formula = self._ops[index].formula
        mark = Text("●", style="bold red") if breakpoint else Text(" ")
        if progress == "done":
            return mark + Text("✓ ", style="green") + Text(formula)
        if progress == "next":
            return mark + Text("▶ " + formula, style="bold reverse")
        return mark + Text("  " + formula, style="dim")
