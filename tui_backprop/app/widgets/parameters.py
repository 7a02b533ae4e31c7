"""The parameters panel: every weight and bias with its gradient, its update and its new value.

One row per parameter entry (``W2 h1→o``), so a learner reads a weight's whole
story along a line, as the worked examples tell it. Columns fill in as the step
computes them; cells the last command changed are highlighted. Rows are built
once and only changed cells are rewritten, so large layers stay fast.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui_backprop.app.view import View

COLUMNS = (("start", "value"), ("grad", "∂L/∂w"), ("step", "Δw"), ("new", "new value"))


class ParametersView(DataTable[Text]):
    """Weights and biases, layer by layer, with ∂L/∂w, Δw and the new value."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "app.edit_value", "Edit value", show=False)]
    DEFAULT_CSS = """
    ParametersView { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._entries: list[tuple[str, tuple[int, ...]]] = []
        self._shown: dict[tuple[int, str], str] = {}
        self._digits = 0
        self._selected: tuple[int, int] | None = None

    def build(self, view: View) -> None:
        """Create the columns (sized for the precision) and one row per parameter entry."""
        self.clear(columns=True)
        self._entries.clear()
        self._shown.clear()
        self._digits = view.digits
        self.add_column("parameter", key="name")
        for key, label in COLUMNS:
            self.add_column(label, key=key, width=view.digits + 8)
        for name, value in view.session.params.items():
            for index in np.ndindex(value.shape):
                self._entries.append((name, index))
                self.add_row(Text(""), *[Text("") for _ in COLUMNS], key=str(len(self._entries) - 1))
        self._selected = None

    def show(self, view: View) -> None:
        """Fill in values; rewrite only the cells whose text changed."""
        if self._digits != view.digits:
            self.build(view)
        if self._selected != view.selected:
            self._mark_selected(view)
        start = view.session.step_start_params
        values = view.values
        sources: dict[str, tuple[dict[str, Any], str]] = {
            "start": (start, ""),
            "grad": (values, "d"),
            "step": (values, "step"),
            "new": (values, ""),
        }
        for row, (name, index) in enumerate(self._entries):
            for key, (table, prefix) in sources.items():
                source = table.get(prefix + name)
                text = view.number(source[index]) if source is not None else ""
                changed = key != "start" and (prefix + name) in view.changed and source is not None
                signature = f"{text}|{changed}"
                if self._shown.get((row, key)) != signature:
                    self._shown[(row, key)] = signature
                    self.update_cell(str(row), key, Text(text, style="bold yellow" if changed else ""))

    def entry_at_cursor(self) -> tuple[str, tuple[int, ...]] | None:
        """The (parameter name, index) on the cursor row."""
        return self._entries[self.cursor_row] if 0 <= self.cursor_row < len(self._entries) else None

    def label_of(self, entry: tuple[str, tuple[int, ...]]) -> str:
        """The label shown for a parameter entry, e.g. ``W2 h1→o1``."""
        return self.get_cell(str(self._entries.index(entry)), "name").plain.strip("• ").strip()

    def _mark_selected(self, view: View) -> None:
        """Mark the parameters entering or leaving the selected node and move the cursor to the first."""
        self._selected = view.selected
        layer, unit = view.selected
        first = None
        for row, (name, index) in enumerate(self._entries):
            number = int(name[1:])
            rows, columns = view.naming.rows(name), view.naming.columns(name) or ()
            if rows is not None:
                label = f"{name} {rows[index[0]]}→{columns[index[1]]}"
                touches = (number == layer and index[1] == unit) or (number == layer + 1 and index[0] == unit)
            else:
                label = f"{name} {columns[index[0]]}"
                touches = number == layer and index[0] == unit
            if touches and first is None:
                first = row
            self.update_cell(
                str(row), "name", Text(("• " if touches else "  ") + label, style="bold" if touches else "")
            )
        if first is not None:
            self.move_cursor(row=first, scroll=True)
