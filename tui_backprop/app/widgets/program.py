"""The program panel: one training step as a listing of ops, like a debugger's source view.

Ops are grouped by phase; the op about to run carries ``▶`` and is highlighted,
executed ops carry ``✓``. The highlight (cursor) can be moved to browse ops.
"""

from __future__ import annotations

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
        """Mark done ops and the op about to run; keep the highlight on it."""
        done = view.session.cursor.op_index
        current_row = 0
        for row, index in enumerate(self._rows):
            if index is None:
                continue
            if index == len(self._ops):
                complete = done == len(self._ops)
                label = "■ step complete: s starts the next step" if complete else "  end of step"
                self.replace_option_prompt_at_index(row, Text(label, style="bold" if complete else "dim"))
                if complete:
                    current_row = row
                continue
            op = self._ops[index]
            mark = Text("●", style="bold red") if index in view.breakpoint_ops else Text(" ")
            if index < done:
                prompt = mark + Text("✓ ", style="green") + Text(op.formula)
            elif index == done:
                prompt = mark + Text("▶ " + op.formula, style="bold reverse")
                current_row = row
            else:
                prompt = mark + Text("  " + op.formula, style="dim")
            self.replace_option_prompt_at_index(row, prompt)
        self.highlighted = current_row
