"""The decision-boundary panel: the network's output over the input plane, with the data on top.

For a scenario with two inputs, every cell of the panel shows the output at two
points of the plane (upper and lower half-block), shaded from blue (class 0, or
the lowest target) through grey to orange (class 1, or the highest target), as
TensorFlow Playground does; each training point is drawn over it as ``●`` (class 1
or upper half of the targets) or ``○`` in its class colour. With NO_COLOR the
field is drawn with the shade characters `` ░▒▓█`` instead of colours, so the
picture stays legible in characters alone. For regression the same picture is
the output surface, scaled to the targets' range.

The surface comes from ``tui_backprop.engine.surface`` (the engine's own forward
ops over the grid). It is computed lazily when Textual asks for lines, so a hidden
panel costs nothing, and during a run from the parameter snapshot that each
progress message carries, at most ``MAX_REDRAWS_PER_SECOND`` times a second.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from tui_backprop.app.view import View
from tui_backprop.engine.program import Program
from tui_backprop.engine.surface import Bounds, evaluate_surface, forward_function, plane_bounds
from tui_backprop.scenario.model import Scenario

FloatArray = NDArray[np.float64]
MAX_REDRAWS_PER_SECOND = 3  # during runs; the run itself comes first
LEVELS = 17  # shades of the field from one end of the scale to the other
SHADES = " ░▒▓█"  # NO_COLOR: the field as characters, low to high
GLYPHS = ("○", "●")  # a point below / above the middle of the scale (class 0 / class 1)
BLUE, ORANGE = (8, 119, 189), (245, 147, 34)  # TensorFlow Playground's class colours
NEUTRAL_DARK, NEUTRAL_LIGHT = (40, 40, 44), (232, 234, 235)
PLAIN = Style()
FIELD_STRENGTH = 0.6  # the field is a paler version of the class colours, so points stand out


def _mix(base: tuple[int, int, int], target: tuple[int, int, int], amount: float) -> Color:
    return Color.from_rgb(*(b + (t - b) * amount for b, t in zip(base, target, strict=True)))


@lru_cache(maxsize=4)
def _palette(dark: bool) -> tuple[list[Color], tuple[Color, Color]]:
    """Field colour of each level and the two point colours, for a dark or light background."""
    neutral = NEUTRAL_DARK if dark else NEUTRAL_LIGHT
    field = []
    for level in range(LEVELS):
        signed = 2.0 * level / (LEVELS - 1) - 1.0
        field.append(_mix(neutral, ORANGE if signed > 0 else BLUE, abs(signed) * FIELD_STRENGTH))
    return field, (Color.from_rgb(*BLUE), Color.from_rgb(*ORANGE))


class BoundaryView(Widget, can_focus=True):
    """Heat map of the network's output over the plane of its two inputs, with the training points.

    Args:
        scenario: Supplies the data (points and targets) and the names for the legend.
        program: Whose forward ops compute the surface.
    """

    DEFAULT_CSS = """
    BoundaryView { height: 1fr; min-height: 4; }
    BoundaryView:focus { background-tint: $foreground 3%; }
    """

    def __init__(self, scenario: Scenario, program: Program, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        data = scenario.data
        self.available = scenario.network.inputs == 2
        self._inputs = scenario.network.inputs
        self._forward = forward_function(program)
        self._points = data.inputs[:, :2] if self.available else np.zeros((0, 2))
        self._targets = data.targets
        self._input_names = data.input_names
        self._output_names = scenario.network.layers[-1].names
        self._target_names = data.target_names
        self.bounds: Bounds | None = plane_bounds(self._points) if self.available and len(self._points) else None
        self._params: Mapping[str, Any] | None = None
        self.unit = 0
        self._lines: list[Strip] | None = None
        self._drawn_for: tuple[int, int, bool, bool] = (0, 0, False, False)
        self._last_live = 0.0

    # -- data in --------------------------------------------------------------------------------------

    def show_params(self, params: Mapping[str, Any], unit: int = 0) -> None:
        """Draw the surface for these parameters and output unit (on the next paint, if visible)."""
        self._params = params
        self.unit = unit
        self._lines = None
        self._update_titles()
        self.refresh()

    def show_live(self, params: Mapping[str, Any]) -> None:
        """Like ``show_params``, but skipped if the last live redraw was too recent (used during runs)."""
        now = time.monotonic()
        if now - self._last_live < 1.0 / MAX_REDRAWS_PER_SECOND:
            return
        self._last_live = now
        self.show_params(params, self.unit)

    def _scale(self) -> tuple[float, float]:
        """The output values at the two ends of the colour scale: 0 and 1 for 0/1 class targets."""
        targets = self._targets[:, min(self.unit, self._targets.shape[1] - 1)]
        if np.isin(targets, (0.0, 1.0)).all():
            return 0.0, 1.0
        low, high = float(targets.min()), float(targets.max())
        return (low, high) if high > low else (low - 1.0, low + 1.0)

    def _update_titles(self) -> None:
        if not self.available:
            self.border_title = "Decision boundary"
            self.border_subtitle = ""
            return
        output = self._output_names[min(self.unit, len(self._output_names) - 1)]
        first, second = self._input_names[:2]
        self.border_title = f"Decision boundary: {output}({first}, {second})"
        target = self._target_names[min(self.unit, len(self._target_names) - 1)]
        low, high = self._scale()
        middle = (low + high) / 2
        if (low, high) == (0.0, 1.0):
            legend = f"● {target}=1 ○ {target}=0"
        else:
            legend = f"● {target}≥{middle:.3g} ○ {target}<{middle:.3g}"
        bounds = self.bounds
        assert bounds is not None
        self.border_subtitle = (
            f"{legend}  {first} {bounds.x_min:.2g}…{bounds.x_max:.2g}, {second} {bounds.y_min:.2g}…{bounds.y_max:.2g}"
        )

    # -- drawing ----------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Compute the picture lazily, once per change of parameters or size, then hand out its rows."""
        key = (self.size.width, self.size.height, self.app.no_color, self.app.current_theme.dark)
        if self._lines is None or self._drawn_for != key:
            self._lines = self.draw(self.size.width, self.size.height, no_color=key[2], dark=key[3])
            self._drawn_for = key
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width)

    def _message(self, text: str, width: int, height: int) -> list[Strip]:
        return [Strip([Segment(text[:width], Style(dim=True))], width)] + [Strip.blank(width)] * (height - 1)

    def draw(self, width: int, height: int, no_color: bool = False, dark: bool = True) -> list[Strip]:
        """The picture as ``height`` strips of ``width`` cells.

        Args:
            width: Cells across (one grid column each).
            height: Cells down (two grid rows each, as upper and lower half-blocks).
            no_color: Draw the field with shade characters and no colours.
            dark: Pick the neutral colour for a dark background.
        """
        if width < 1 or height < 1:
            return []
        if not self.available or self.bounds is None:
            return self._message(
                f"The decision boundary needs a network with 2 inputs; this one has {self._inputs}.", width, height
            )
        if self._params is None:
            return self._message("(no parameters yet)", width, height)
        surface = evaluate_surface(self._forward, self._params, self.bounds, width, 2 * height)
        low, high = self._scale()
        unit = min(self.unit, surface.outputs.shape[2] - 1)
        field = np.nan_to_num((surface.outputs[:, :, unit] - low) / (high - low), nan=0.5)
        levels = np.clip(np.rint(field * (LEVELS - 1)), 0, LEVELS - 1).astype(np.int64)
        return self._strips(levels, width, height, no_color, dark)

    def _glyphs(self, width: int, height: int) -> NDArray[np.int64]:
        """The glyph (0 or 1) of the training point in each cell, -1 where there is none (a later point wins)."""
        bounds = self.bounds
        assert bounds is not None
        low, high = self._scale()
        targets = self._targets[:, min(self.unit, self._targets.shape[1] - 1)]
        upper = (targets >= (low + high) / 2).astype(np.int64)
        columns = np.floor((self._points[:, 0] - bounds.x_min) / (bounds.x_max - bounds.x_min) * width).astype(np.int64)
        rows = np.floor((bounds.y_max - self._points[:, 1]) / (bounds.y_max - bounds.y_min) * height).astype(np.int64)
        inside = (columns >= 0) & (columns < width) & (rows >= 0) & (rows < height)
        glyphs = np.full((height, width), -1, dtype=np.int64)
        glyphs[rows[inside], columns[inside]] = upper[inside]
        return glyphs

    def _strips(self, levels: NDArray[np.int64], width: int, height: int, no_color: bool, dark: bool) -> list[Strip]:
        """Rows of segments, one per run of equal cells (the cells are classified with numpy, not one by one)."""
        field_colours, point_colours = _palette(dark)
        glyphs = self._glyphs(width, height)
        top, bottom = levels[0::2], levels[1::2]
        middle = (top + bottom) // 2
        point_base = LEVELS * LEVELS
        if no_color:
            shade = (top + bottom) * len(SHADES) // (2 * LEVELS)
            keys = np.where(glyphs >= 0, len(SHADES) + glyphs, shade)
        else:
            keys = np.where(glyphs >= 0, point_base + glyphs * LEVELS + middle, top * LEVELS + bottom)
        looks: dict[int, tuple[str, Style]] = {}

        def look(key: int) -> tuple[str, Style]:
            if no_color:
                return (SHADES[key], PLAIN) if key < len(SHADES) else (GLYPHS[key - len(SHADES)], PLAIN)
            if key >= point_base:
                glyph, background = divmod(key - point_base, LEVELS)
                style = Style(color=point_colours[glyph], bgcolor=field_colours[background], bold=True)
                return GLYPHS[glyph], style
            upper, lower = divmod(key, LEVELS)
            return "▀", Style(color=field_colours[upper], bgcolor=field_colours[lower])

        strips = []
        for row in keys:
            cuts = [0, *(np.flatnonzero(row[1:] != row[:-1]) + 1).tolist(), width]
            values = row.tolist()
            segments = []
            for start, end in itertools.pairwise(cuts):
                key = values[start]
                shape = looks.get(key)
                if shape is None:
                    shape = looks[key] = look(key)
                segments.append(Segment(shape[0] * (end - start), shape[1]))
            strips.append(Strip(segments, width))
        return strips

    def show(self, view: View) -> None:
        """Draw the current parameters; a selected output node picks the output unit shown."""
        layer, unit = view.selected
        self.show_params(view.session.params, unit if layer == len(view.session.scenario.layer_sizes) - 1 else 0)
