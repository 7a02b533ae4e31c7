"""The network panel: layers as columns of nodes, each with its z, a and δ for the selected sample.

Values appear only once computed in the step being shown. Nodes of the layer the
current op works on are marked, the value the op will write is pointed at, and the
selected node (arrow keys, h j k l, or a click) is drawn reversed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.message import Message
from textual.widgets import Static

from tui_backprop.app.view import CHANGED_STYLE, View
from tui_backprop.engine.program import activation_name

# Which value an op kind writes, per node row, so the row can be pointed at.
_WRITES_ROW = {"linear": "z", "activation": "a", "activation_grad": "δ", "softmax_cross_entropy_grad": "δ"}


class NetworkView(ScrollableContainer, can_focus=True):
    """Layers side by side; a node is selected with the arrow keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "move(-1, 0)", "Prev layer", show=False),
        Binding("right,l", "move(1, 0)", "Next layer", show=False),
        Binding("up,k", "move(0, -1)", "Prev node", show=False),
        Binding("down,j", "move(0, 1)", "Next node", show=False),
    ]
    DEFAULT_CSS = """
    NetworkView { border: round $secondary; }
    NetworkView:focus { border: round $accent; }
    NetworkView > Static { width: 100%; }
    """

    class NodeSelected(Message):
        """The user moved the selection to (layer, unit)."""

        def __init__(self, layer: int, unit: int) -> None:
            super().__init__()
            self.layer = layer
            self.unit = unit

    def __init__(self, layer_sizes: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sizes = layer_sizes
        self._selected = (0, 0)
        self._body = Static()
        self._columns = False
        self._signature: tuple[bool, int, int] | None = None
        self.border_title = "Network"

    def compose(self):  # type: ignore[no-untyped-def]
        """The single Static holding the drawing."""
        yield self._body

    def action_move(self, layers: int, units: int) -> None:
        """Move the selection, clamped to the network."""
        layer = min(max(self._selected[0] + layers, 0), len(self._sizes) - 1)
        unit = min(max(self._selected[1] + units, 0), self._sizes[layer] - 1)
        self._selected = (layer, unit)  # so an auto-repeated key moves on before the redraw
        self.post_message(self.NodeSelected(layer, unit))

    def on_click(self, event: events.Click) -> None:
        """Select the node under the mouse."""
        line = int(event.y + self.scroll_y)
        if self._columns:
            column_width = max(self._body.size.width // len(self._sizes), 1)
            layer = min(event.x // column_width, len(self._sizes) - 1)
            unit = min(max((line - 1) // 4, 0), self._sizes[layer] - 1)
        else:
            rows = [(layer, max(unit, 0)) for layer, size in enumerate(self._sizes) for unit in range(-1, size)]
            layer, unit = rows[min(max(line - 1, 0), len(rows) - 1)]
        self.post_message(self.NodeSelected(layer, unit))

    def show(self, view: View) -> None:
        """Redraw every node from ``view``: layer columns when there is room, else one line per node."""
        self._selected = view.selected
        values = view.values
        op = view.current_op
        column_width = view.digits + 12
        if self._body.size.width >= column_width * len(self._sizes) and sum(self._sizes) <= 40:
            self._columns = True
            grid = Table.grid(expand=True, padding=(0, 1))
            for _ in self._sizes:
                grid.add_column(ratio=1)
            grid.add_row(*[self._layer_text(view, layer, values, op) for layer in range(len(self._sizes))])
            drawing: Table | Text = grid
        else:
            self._columns = False
            drawing = self._node_table(view, values, op)
        # The node table never wraps: a panel narrower than it scrolls sideways instead.
        wanted = None if self._columns else self._table_width(view)
        if wanted is not None and wanted > self.scrollable_content_region.width:
            self._body.styles.width = wanted
        else:
            self._body.styles.width = "100%"
        detail = self._selected_detail(view, values)
        # Same number of lines as last time: no relayout needed (the node count never changes).
        signature = (self._columns, self.size.width, view.digits)
        self._body.update(Group(drawing, detail), layout=signature != self._signature)
        self._signature = signature
        batch = len(values["x"]) if "x" in values else 0
        self.border_subtitle = f"sample {view.sample + 1} of {batch} (x/X)" if batch > 1 else ""

    def _selected_detail(self, view: View, values: dict[str, Any]) -> Text:
        """The selected node's values for every sample of the batch."""
        layer, unit = view.selected
        label = view.naming.node(layer, unit)
        names = (("x", "x"),) if layer == 0 else (("z", f"z{layer}"), ("a", f"a{layer}"), ("δ", f"delta{layer}"))
        text = Text(f"\n{label} ({self._title(layer)})", style="bold")
        for symbol, name in names:
            value = values.get(name)
            if value is not None:
                shown = ", ".join(view.number(v).strip() for v in value[:8, unit])
                more = f" … ({len(value)})" if len(value) > 8 else ""
                text.append(f"\n {symbol} per sample: {shown}{more}", style="")
            else:
                text.append(f"\n {symbol} per sample: not computed yet", style="dim")
        text.append("\n" * (3 - len(names)))  # always three lines, so the panel keeps its height
        return text

    def _title(self, layer: int) -> str:
        if layer == 0:
            return "inputs"
        return "output" if layer == len(self._sizes) - 1 else f"hidden {layer}"

    def _cell(self, view: View, values: dict[str, Any], name: str, unit: int, pad: bool = True) -> Text:
        value = values.get(name)
        if value is None:
            return Text(" " * (view.digits + 7) if pad else "")
        shown = view.number(value[min(view.sample, len(value) - 1), unit])
        return Text(shown if pad else shown.strip(), style=CHANGED_STYLE if name in view.changed else "")

    @staticmethod
    def _table_width(view: View) -> int:
        label_width = max(len(name) for names in view.naming.layers for name in names) + 2
        return label_width + 3 * (view.digits + 8)

    def _node_table(self, view: View, values: dict[str, Any], op: Any) -> Text:
        """A title line per layer, then one line per node with its z, a and δ (the narrow layout).

        Built as plain padded text rather than a Rich table: a 64-32-10 net has over a hundred
        lines, and this is redrawn on every step.
        """
        width = view.digits + 8
        label_width = max(len(name) for names in view.naming.layers for name in names) + 2
        text = Text(no_wrap=True, overflow="ignore")
        header = "node".ljust(label_width) + "".join(symbol.rjust(width) for symbol in ("z", "a", "δ"))
        text.append(header + "\n", style="bold")
        pointed = _WRITES_ROW.get(op.kind) if op is not None else None
        for layer, size in enumerate(self._sizes):
            active = op is not None and op.layer == layer
            title = f"▶ {self._title(layer)}" if active else self._title(layer)
            text.append(title + "\n", style="bold underline" if active else "dim")
            names = ("", "x", "") if layer == 0 else (f"z{layer}", f"a{layer}", f"delta{layer}")
            for unit in range(size):
                selected = (layer, unit) == view.selected
                text.append(
                    f" {view.naming.node(layer, unit)}".ljust(label_width), style="reverse bold" if selected else ""
                )
                for symbol, name in zip(("z", "a", "δ"), names, strict=True):
                    value = values.get(name) if name else None
                    marker = "◂" if active and symbol == pointed else " "
                    if value is None:
                        text.append(" " * width)
                        continue
                    shown = view.number(value[min(view.sample, len(value) - 1), unit]).strip()
                    text.append(shown.rjust(width - 1), style=CHANGED_STYLE if name in view.changed else "")
                    text.append(marker)
                text.append("\n")
        return text

    def _layer_text(self, view: View, layer: int, values: dict[str, Any], op: Any) -> Text:
        text = Text()
        title = "inputs" if layer == 0 else ("output" if layer == len(self._sizes) - 1 else f"hidden {layer}")
        active = op is not None and op.layer == layer
        text.append(f"{title}{' ◀' if active else ''}\n", style="bold underline" if active else "bold")
        rows = (
            [("x", activation_name(0))]
            if layer == 0
            else [("z", f"z{layer}"), ("a", f"a{layer}"), ("δ", f"delta{layer}")]
        )
        pointed = _WRITES_ROW.get(op.kind) if active and op is not None else None
        for unit in range(self._sizes[layer]):
            selected = (layer, unit) == view.selected
            label = view.naming.node(layer, unit)
            text.append(f" {label} \n", style="reverse bold" if selected else ("bold" if active else ""))
            for symbol, name in rows:
                value = values.get(name)
                shown = (
                    view.number(value[min(view.sample, len(value) - 1), unit])
                    if value is not None
                    else " " * (view.digits + 7)
                )
                changed = name in view.changed
                marker = "◂" if symbol == pointed else " "
                text.append(f"  {symbol} ", style="dim")
                text.append(shown, style=CHANGED_STYLE if changed else "")
                text.append(f" {marker}\n")
            if layer == 0:
                text.append("\n\n")
        return text
