"""The network diagram: layers as columns of nodes, the weights as the edges between them.

An edge's colour and line say its weight: orange and solid for positive, blue and
dashed for negative (so the sign survives NO_COLOR), doubled when its magnitude is
at least half the layer's largest; where two edges share a cell the stronger one's
colour wins. The nodes and edges the next op reads are drawn cyan and underlined,
the ones it writes yellow and reversed, and the op itself is spelled out on the top
line. Between layers of more than ``MAX_DRAWN_UNITS`` units the edges would be a
hairball, so the weight matrix is shown as a heat map instead (rows: the units it
comes from, columns: the units it goes to; sign by colour, or by ``- = · + #``
without colour).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.color import Color
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from tui_backprop.app.view import View
from tui_backprop.app.widgets.canvas import BrailleCanvas
from tui_backprop.engine.program import Op

FloatArray = NDArray[np.float64]
MAX_DRAWN_UNITS = 8
MAX_REDRAWS_PER_SECOND = 3  # during runs; the run itself comes first
STRONG = 0.5  # edges at least this fraction of the layer's largest |w| are drawn doubled
BLUE, ORANGE, GREY = (8, 119, 189), (245, 147, 34), (110, 110, 110)
READ_STYLE = Style(color="cyan", bold=True, underline=True)
WRITE_STYLE = Style(color="yellow", bold=True, reverse=True)
SELECTED_STYLE = Style(reverse=True)
NO_COLOR_HEAT = "=-·+#"  # strongly negative .. strongly positive

_NODE_VALUE = re.compile(r"^(?:z|a|delta|dA)(\d+)$")
_EDGE_VALUE = re.compile(r"^(?:d|step|v|m|s)?W(\d+)$")
_BIAS_VALUE = re.compile(r"^(?:d|step|v|m|s)?b(\d+)$")


@dataclass(frozen=True)
class Touched:
    """The layers whose nodes, and the weight matrices whose edges, an op reads and writes."""

    read_nodes: frozenset[int]
    write_nodes: frozenset[int]
    read_edges: frozenset[int]
    write_edges: frozenset[int]


def touched_by(op: Op | None, layers: int) -> Touched:
    """What ``op`` reads and writes, as layers (0 = inputs) and weight matrices (``W2`` is 2).

    Args:
        op: The next op, or None when the step is complete.
        layers: Number of layers after the inputs.
    """

    def sort(names: tuple[str, ...]) -> tuple[frozenset[int], frozenset[int]]:
        nodes, edges = set(), set()
        for name in names:
            if name == "x":
                nodes.add(0)
            elif name in ("y", "loss", "losses"):
                nodes.add(layers)
            elif match := _NODE_VALUE.match(name) or _BIAS_VALUE.match(name):
                nodes.add(int(match.group(1)))
            elif match := _EDGE_VALUE.match(name):
                edges.add(int(match.group(1)))
        return frozenset(nodes), frozenset(edges)

    if op is None:
        return Touched(frozenset(), frozenset(), frozenset(), frozenset())
    read_nodes, read_edges = sort(op.reads)
    write_nodes, write_edges = sort(op.writes)
    return Touched(read_nodes, write_nodes, read_edges, write_edges)


def _colour(weight: float, scale: float) -> Color:
    strength = min(abs(weight) / scale, 1.0) if scale > 0 else 0.0
    target = ORANGE if weight > 0 else BLUE
    amount = 0.35 + 0.65 * strength
    return Color.from_rgb(*(g + (t - g) * amount for g, t in zip(GREY, target, strict=True)))


def summarise(matrix: FloatArray, rows: int, columns: int) -> FloatArray:
    """Shrink a weight matrix to at most ``rows`` x ``columns`` blocks, keeping each block's largest |w| with its sign."""
    result = np.asarray(matrix, dtype=np.float64)
    for axis, count in ((0, rows), (1, columns)):
        if result.shape[axis] > count:
            starts = np.linspace(0, result.shape[axis], count, endpoint=False).astype(np.int64)
            high = np.maximum.reduceat(result, starts, axis=axis)
            low = np.minimum.reduceat(result, starts, axis=axis)
            result = np.where(np.abs(high) >= np.abs(low), high, low)
    return result


class DiagramView(Widget, can_focus=True):
    """Nodes and weighted edges of the whole network, with the next op's reads and writes highlighted.

    Args:
        layer_sizes: Units per layer, inputs first.
        labels: Node labels per layer, inputs first.
    """

    DEFAULT_CSS = """
    DiagramView { height: 1fr; min-height: 4; }
    DiagramView:focus { background-tint: $foreground 3%; }
    """

    def __init__(self, layer_sizes: tuple[int, ...], labels: list[tuple[str, ...]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sizes = layer_sizes
        self.labels = labels
        self._params: Mapping[str, Any] | None = None
        self._op: Op | None = None
        self._selected = (0, 0)
        self._lines: list[Strip] | None = None
        self._drawn_for: tuple[int, int, bool] = (0, 0, False)
        self._last_live = 0.0
        self.border_title = "Network diagram"
        self.border_subtitle = "+w orange ⠒⠒ solid · −w blue ⠒ ⠒ dashed · doubled: strong · cyan reads, yellow writes"

    def show(self, view: View) -> None:
        """Draw the current parameters with the next op's reads and writes (on the next paint, if visible)."""
        self.show_params(view.session.params, view.current_op, view.selected)

    def show_params(self, params: Mapping[str, Any], op: Op | None = None, selected: tuple[int, int] = (0, 0)) -> None:
        """Draw these parameters; ``op`` is the op about to run (None: nothing to highlight)."""
        self._params, self._op, self._selected = params, op, selected
        self._lines = None
        self.refresh()

    def show_live(self, params: Mapping[str, Any]) -> None:
        """Like ``show_params`` without highlights, skipped if the last live redraw was too recent (runs)."""
        now = time.monotonic()
        if now - self._last_live >= 1.0 / MAX_REDRAWS_PER_SECOND:
            self._last_live = now
            self.show_params(params, None, self._selected)

    def render_line(self, y: int) -> Strip:
        """Draw lazily, once per change of parameters or size, then hand out rows."""
        key = (self.size.width, self.size.height, self.app.no_color)
        if self._lines is None or self._drawn_for != key:
            self._lines = self.draw(self.size.width, self.size.height, no_color=key[2])
            self._drawn_for = key
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width)

    # -- drawing ----------------------------------------------------------------------------------------

    def _node_text(self, layer: int) -> list[str]:
        size = self.sizes[layer]
        if size > MAX_DRAWN_UNITS:
            return [f"{size} units"]
        return list(self.labels[layer])

    def draw(self, width: int, height: int, no_color: bool = False) -> list[Strip]:
        """The diagram as ``height`` strips of ``width`` cells."""
        if width < 1 or height < 1:
            return []
        if self._params is None:
            return [Strip.blank(width) for _ in range(height)]
        canvas = BrailleCanvas(width, height)
        touched = touched_by(self._op, len(self.sizes) - 1)
        if self._op is not None:
            canvas.text(0, 0, f"next op: {self._op.formula}"[:width], Style(bold=True))
        top = 1 if height > 4 else 0
        texts = [self._node_text(layer) for layer in range(len(self.sizes))]
        node_width = max(len(text) for layer in texts for text in layer) + 2
        count = len(self.sizes)
        span = max(width - node_width, 1)
        lefts = [round(layer * span / max(count - 1, 1)) for layer in range(count)]
        area = height - top
        rows = [[top + (2 * unit + 1) * area // (2 * len(text)) for unit in range(len(text))] for text in texts]
        styles: dict[int, Style] = {}
        key = 0
        for layer in range(1, count):
            weights = np.asarray(self._params.get(f"W{layer}", np.zeros((1, 1))), dtype=np.float64)
            start, end = lefts[layer - 1] + node_width, lefts[layer]
            if end - start < 2:
                continue
            highlight = layer in touched.write_edges or layer in touched.read_edges
            edge_colour = Style(color="yellow" if layer in touched.write_edges else "cyan", bold=True)
            if max(self.sizes[layer - 1], self.sizes[layer]) > MAX_DRAWN_UNITS:
                self._heat_map(canvas, layer, weights, (start, end, top, area), no_color, highlight)
                continue
            scale = float(np.abs(weights).max()) or 1.0
            order = np.argsort(np.abs(weights), axis=None)
            for flat in order.tolist():
                source, target = divmod(flat, weights.shape[1])
                weight = float(weights[source, target])
                key += 1
                styles[key] = edge_colour if highlight else Style(color=_colour(weight, scale))
                xs = np.array([2.0 * start, 2.0 * end - 1])
                ys = np.array([4.0 * rows[layer - 1][source] + 1.5, 4.0 * rows[layer][target] + 1.5])
                strong = abs(weight) >= STRONG * scale
                canvas.polyline(xs, ys, key, dash=0 if weight >= 0 else 2, thickness=2 if strong else 1)
        for layer, text in enumerate(texts):
            for unit, label in enumerate(text):
                style = (
                    WRITE_STYLE
                    if layer in touched.write_nodes
                    else READ_STYLE
                    if layer in touched.read_nodes
                    else Style(bold=True)
                )
                if (layer, unit) == self._selected and len(text) == self.sizes[layer]:
                    style = style + SELECTED_STYLE if style is not WRITE_STYLE else style
                canvas.text(lefts[layer], rows[layer][unit], f"({label})".center(node_width), style)
        return canvas.strips(styles)

    def _heat_map(
        self,
        canvas: BrailleCanvas,
        layer: int,
        weights: FloatArray,
        box: tuple[int, int, int, int],
        no_color: bool,
        highlight: bool,
    ) -> None:
        """``W{layer}`` as a block of cells inside box (start, end, top, height): rows = from-units, columns = to-units."""
        start, end, top, area = box
        columns = max(min(weights.shape[1], end - start - 2), 1)
        rows = max(min(weights.shape[0], area - 1), 1)
        block = summarise(weights, rows, columns)
        scale = float(np.abs(block).max()) or 1.0
        left = start + (end - start - block.shape[1]) // 2
        first = top + 1 + (area - 1 - block.shape[0]) // 2
        label = f"W{layer} {weights.shape[0]}×{weights.shape[1]}"[: end - start]
        style = Style(bold=True, underline=highlight, color="yellow" if highlight and not no_color else None)
        canvas.text(start + max((end - start - len(label)) // 2, 0), first - 1, label, style)
        for row, values in enumerate(block.tolist()):
            for column, weight in enumerate(values):
                if no_color:
                    index = int(np.clip(np.rint((weight / scale + 1.0) * 2.0), 0, 4))
                    canvas.text(left + column, first + row, NO_COLOR_HEAT[index])
                else:
                    canvas.text(left + column, first + row, " ", Style(bgcolor=_colour(weight, scale)))
