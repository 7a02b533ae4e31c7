"""The data panel: the current batch's inputs and targets, and the predictions once the forward pass is done."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui_backprop.app.view import CHANGED_STYLE, View


class DataView(DataTable[Text]):
    """One row per sample of the batch being shown; the selected sample is marked."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "app.repeat", "Repeat last", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def show(self, view: View) -> None:
        """Rebuild the rows (a batch is small; the whole table is redrawn)."""
        naming = view.naming
        values = view.values
        output = view.session.program.output
        if not self.columns:
            self.add_column("#", key="row")
            for label in naming.layers[0]:
                self.add_column(label)
            for label in naming.targets:
                self.add_column(f"target {label}")
            for label in naming.layers[-1]:
                self.add_column(f"ŷ {label}")
            self.add_column("loss")
        self.clear()
        if "x" not in values:
            return
        predictions = values.get(output)
        losses = values.get("losses")
        width = len(naming.layers[-1])
        for position, row in enumerate(values["rows"]):
            marker = "▶" if position == view.sample else " "
            cells = [Text(f"{marker}{int(row) + 1}")]
            cells += [Text(view.number(v)) for v in values["x"][position]]
            cells += [Text(view.number(v)) for v in values["y"][position]]
            if predictions is not None:
                cells += [
                    Text(view.number(v), style=CHANGED_STYLE if output in view.changed else "")
                    for v in predictions[position]
                ]
            else:
                cells += [Text("") for _ in range(width)]
            cells.append(Text(view.number(losses[position]) if losses is not None else ""))
            self.add_row(*cells)
        if len(values["rows"]):
            self.move_cursor(row=min(view.sample, len(values["rows"]) - 1))
