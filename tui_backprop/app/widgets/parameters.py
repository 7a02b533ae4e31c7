"""The parameters panel: every weight and bias with its gradient, its update and its new value.

One row per parameter entry (``W2 h1→o``), so a learner reads a weight's whole
story along a line, as the worked examples tell it. Columns fill in as the step
computes them; cells the last command changed are highlighted, and entries of the
selected node are marked. Only the visible rows are ever formatted (Textual's line
API), so a 64x32 layer costs no more to redraw than a 2x2 one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui_backprop.app.view import CHANGED_STYLE, View

COLUMNS = (("start", "", "value"), ("grad", "d", "∂L/∂w"), ("step", "step", "Δw"), ("new", "", "new value"))
HEADER = Style(bold=True, underline=True)
CHANGED = Style.parse(CHANGED_STYLE)
MARKED = Style(bold=True)
CURSOR = Style(reverse=True)


class ParametersView(ScrollView, can_focus=True):
    """Weights and biases, layer by layer, with ∂L/∂w, Δw and the new value."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("home", "cursor(-1000000000)", "First", show=False),
        Binding("end", "cursor(1000000000)", "Last", show=False),
        Binding("enter", "app.edit_value", "Edit value", show=False),
    ]
    DEFAULT_CSS = """
    ParametersView { height: 1fr; }
    """
    cursor_row: reactive[int] = reactive(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._entries: list[tuple[str, tuple[int, ...]]] = []
        self._labels: list[str] = []
        self._marked: set[int] = set()
        self._view: View | None = None
        self._values: dict[str, Any] = {}
        self._start: dict[str, Any] = {}
        self._selected: tuple[int, int] | None = None
        self._label_width = 10

    # -- data ---------------------------------------------------------------------------------------

    def show(self, view: View) -> None:
        """Take a new picture of the engine state; only visible rows will be formatted."""
        if not self._entries:
            for name, value in view.session.params.items():
                rows, columns = view.naming.rows(name), view.naming.columns(name) or ()
                for index in np.ndindex(value.shape):
                    self._entries.append((name, index))
                    label = f"{rows[index[0]]}→{columns[index[1]]}" if rows is not None else columns[index[0]]
                    self._labels.append(f"{name} {label}")
            self._label_width = max((len(text) for text in self._labels), default=10) + 3
            self.virtual_size = Size(self._width(view), len(self._entries) + 1)
        if self._selected != view.selected:
            self._mark_selected(view)
        self._view = view
        self._values = view.values
        self._start = view.session.step_start_params
        self.virtual_size = Size(self._width(view), len(self._entries) + 1)
        self.refresh()

    def _width(self, view: View) -> int:
        return self._label_width + len(COLUMNS) * (view.digits + 8)

    def _mark_selected(self, view: View) -> None:
        """Mark the parameters entering or leaving the selected node and move the cursor to the first."""
        self._selected = view.selected
        layer, unit = view.selected
        self._marked = set()
        for row, (name, index) in enumerate(self._entries):
            number = int(name[1:])
            if len(index) == 2:
                touches = (number == layer and index[1] == unit) or (number == layer + 1 and index[0] == unit)
            else:
                touches = number == layer and index[0] == unit
            if touches:
                self._marked.add(row)
        if self._marked:
            self.cursor_row = min(self._marked)

    def entry_at_cursor(self) -> tuple[str, tuple[int, ...]] | None:
        """The (parameter name, index) on the cursor row."""
        return self._entries[self.cursor_row] if 0 <= self.cursor_row < len(self._entries) else None

    def label_of(self, entry: tuple[str, tuple[int, ...]]) -> str:
        """The label shown for a parameter entry, e.g. ``W2 h1→o1``."""
        return self._labels[self._entries.index(entry)]

    # -- cursor -------------------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by ``delta`` rows (clamped)."""
        self.cursor_row = min(max(self.cursor_row + delta, 0), max(len(self._entries) - 1, 0))

    def watch_cursor_row(self, row: int) -> None:
        """Keep the cursor row on screen."""
        # Lines 0 and row + 1 together: the fixed header line must not cover the cursor row.
        self.scroll_to_region(Region(0, row, 1, 2), spacing=None, animate=False, top=False)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        """Put the cursor on the clicked row."""
        row = int(event.y + self.scroll_offset.y) - 1
        if 0 <= row < len(self._entries):
            self.cursor_row = row

    # -- drawing ------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Row ``y`` of the visible window; row 0 is the (fixed) header."""
        view = self._view
        width = self.size.width
        if view is None:
            return Strip.blank(width, self.rich_style)
        label_width = self._label_width
        cell = view.digits + 8
        scroll_x = int(self.scroll_offset.x)
        if y == 0:
            text = "parameter".ljust(label_width) + "".join(title.rjust(cell) for _, _, title in COLUMNS)
            segments = [Segment(text, HEADER)]
        else:
            row = y - 1 + int(self.scroll_offset.y)
            if row >= len(self._entries):
                return Strip.blank(width, self.rich_style)
            segments = self._row_segments(view, row, label_width, cell)
        strip = Strip(segments).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, self.rich_style).apply_style(self.rich_style)

    def _row_segments(self, view: View, row: int, label_width: int, cell: int) -> list[Segment]:
        name, index = self._entries[row]
        values, start = self._values, self._start
        cursor = row == self.cursor_row and self.has_focus
        marked = row in self._marked
        base = CURSOR if cursor else Style()
        label = ("• " if marked else "  ") + self._labels[row]
        segments = [Segment(label.ljust(label_width), base + (MARKED if marked else Style()))]
        for key, prefix, _ in COLUMNS:
            source = start.get(name) if key == "start" else values.get(prefix + name)
            text = view.number(source[index]).rjust(cell) if source is not None else " " * cell
            changed = key != "start" and source is not None and (prefix + name) in view.changed
            segments.append(Segment(text, base + (CHANGED if changed else Style())))
        return segments
