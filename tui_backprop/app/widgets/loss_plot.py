"""The loss plot: loss per step and per epoch against the step, with axes, ticks and a log scale.

Drawn with braille dots on our own small canvas rather than with textual-plotext:
that would add two runtime dependencies for one line chart, and plotext renders
through ANSI text that Textual must parse back on every redraw. Here the picture
is a few numpy calls plus one strip per row, identical in every colour mode (the
step and epoch series can be shown one at a time where colour cannot tell them apart).

During a run the app feeds the plot thinned loss lists from the worker's progress
messages; the plot redraws at most ``MAX_REDRAWS_PER_SECOND`` times and only while
it is on screen (drawing happens lazily, when Textual asks for lines).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widget import Widget

from tui_backprop.app.view import View
from tui_backprop.app.widgets.canvas import BrailleCanvas

FloatArray = NDArray[np.float64]
MAX_REDRAWS_PER_SECOND = 3  # during runs; the run itself comes first
SERIES_MODES = ("both", "step", "epoch")
STEP_KEY, EPOCH_KEY = 1, 2
STEP_STYLE = Style(color="#5f87af")
EPOCH_STYLE = Style(color="#f59322", bold=True)
AXIS_STYLE = Style(dim=True)


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """About ``count`` round tick values (1, 2 or 5 times a power of ten apart) inside [low, high]."""
    if not high > low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def log_ticks(low: float, high: float, count: int) -> list[float]:
    """Tick values for a log axis over [low, high] > 0: powers of ten, with 2 and 5 (or more) when too few."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    for multipliers in ((1.0,), (1.0, 2.0, 5.0), tuple(float(m) for m in range(1, 10))):
        ticks = [m * 10.0**p for p in range(first, last + 1) for m in multipliers]
        ticks = [t for t in ticks if low * (1 - 1e-9) <= t <= high * (1 + 1e-9)]
        if len(ticks) >= 2:
            stride = max(math.ceil(len(ticks) / max(count, 2)), 1)
            return ticks[::stride]
    return [low, high]


def tick_label(value: float) -> str:
    """A short label: 3 significant digits, no trailing zeros."""
    return f"{value:.3g}".replace("e-0", "e-").replace("e+0", "e")


def envelope(values: FloatArray, xs: FloatArray, bins: int) -> tuple[FloatArray, FloatArray]:
    """Thin a long series to ``bins`` bins, keeping each bin's minimum and maximum (spikes survive).

    Returns:
        (xs, values) with two points per bin (or the inputs, when they are short enough).
    """
    if len(values) <= 2 * bins:
        return xs, values
    starts = np.linspace(0, len(values), bins, endpoint=False).astype(np.int64)
    low, high = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
    where = xs[starts]
    return np.repeat(where, 2), np.column_stack((low, high)).ravel()


class LossPlot(Widget, can_focus=True):
    """Loss per step (thin, blue) and per epoch (bold, orange) against the step; ``L`` toggles a log scale."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "cycle_series", "Series", tooltip="show step and epoch loss, only steps, or only epochs"),
    ]
    DEFAULT_CSS = """
    LossPlot { height: 1fr; min-height: 6; }
    LossPlot:focus { background-tint: $foreground 3%; }
    """

    def __init__(self, batches_per_epoch: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.batches_per_epoch = batches_per_epoch
        self.log_scale = False
        self.series = SERIES_MODES[0]
        self._step_losses: FloatArray = np.zeros(0)
        self._step_stride = 1
        self._epoch_stride = 1
        self._epoch_losses: FloatArray = np.zeros(0)
        self._lines: list[Strip] | None = None
        self._drawn_for: tuple[int, int] = (0, 0)
        self._last_live = 0.0

    # -- data in --------------------------------------------------------------------------------------

    def show_losses(
        self, step_losses: Sequence[float], epoch_losses: Sequence[float], step_stride: int = 1, epoch_stride: int = 1
    ) -> None:
        """Plot these losses.

        Args:
            step_losses: The loss of every ``step_stride``-th step, from the first (thinned by the sender).
            epoch_losses: The loss of every ``epoch_stride``-th epoch, from the ``epoch_stride``-th.
            step_stride: See ``step_losses``.
            epoch_stride: See ``epoch_losses``.
        """
        self._step_losses = np.asarray(step_losses, dtype=np.float64)
        self._epoch_losses = np.asarray(epoch_losses, dtype=np.float64)
        self._step_stride = max(step_stride, 1)
        self._epoch_stride = max(epoch_stride, 1)
        self._lines = None
        self.refresh()

    def show_live(
        self, step_losses: Sequence[float], epoch_losses: Sequence[float], step_stride: int, epoch_stride: int
    ) -> None:
        """Like ``show_losses``, but skipped if the last live redraw was too recent (used during runs)."""
        now = time.monotonic()
        if now - self._last_live < 1.0 / MAX_REDRAWS_PER_SECOND:
            return
        self._last_live = now
        self.show_losses(step_losses, epoch_losses, step_stride, epoch_stride)

    def toggle_log_scale(self) -> None:
        """Switch the loss axis between linear and logarithmic."""
        self.log_scale = not self.log_scale
        self._lines = None
        self._update_title()
        self.refresh()

    def action_cycle_series(self) -> None:
        """Show both series, only the step loss, or only the epoch loss."""
        self.series = SERIES_MODES[(SERIES_MODES.index(self.series) + 1) % len(SERIES_MODES)]
        self._lines = None
        self._update_title()
        self.refresh()

    def on_mount(self) -> None:
        """Set the title."""
        self._update_title()

    def _update_title(self) -> None:
        scale = "log" if self.log_scale else "linear"
        shown = {"both": "step ⠒ · epoch ━", "step": "step loss only", "epoch": "epoch loss only"}[self.series]
        self.border_title = f"Loss plot ({shown}, {scale}: L, series: e)"
        self.border_subtitle = f"x: step ({self.batches_per_epoch} per epoch)"

    # -- drawing ----------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Draw the plot lazily, once per change of data or size, then hand out its rows."""
        size = (self.size.width, self.size.height)
        if self._lines is None or self._drawn_for != size:
            self._lines = self.draw(*size)
            self._drawn_for = size
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width)

    def _series(self) -> list[tuple[FloatArray, FloatArray, int]]:
        """(x, loss, key) of each shown series; x counts steps from 1."""
        result = []
        if self.series in ("both", "step") and len(self._step_losses):
            xs = 1.0 + np.arange(len(self._step_losses), dtype=np.float64) * self._step_stride
            result.append((xs, self._step_losses, STEP_KEY))
        if self.series in ("both", "epoch") and len(self._epoch_losses):
            xs = (
                np.arange(1, len(self._epoch_losses) + 1, dtype=np.float64)
                * self._epoch_stride
                * self.batches_per_epoch
            )
            result.append((xs, self._epoch_losses, EPOCH_KEY))
        return result

    def draw(self, width: int, height: int) -> list[Strip]:
        """The whole plot as ``height`` strips of ``width`` cells."""
        series = self._series()
        if width < 12 or height < 4 or not series:
            message = "no loss yet: step through a training step or press c to run" if not series else "too small"
            return [Strip([Segment(message[:width], AXIS_STYLE)], width)] + [
                Strip.blank(width) for _ in range(height - 1)
            ]
        losses = np.concatenate([values for _, values, _ in series])
        finite = losses[np.isfinite(losses)]
        if self.log_scale:
            finite = finite[finite > 0]
        if not len(finite):
            return [Strip([Segment("no finite loss to plot"[:width], AXIS_STYLE)], width)] + [
                Strip.blank(width) for _ in range(height - 1)
            ]
        low, high = float(finite.min()), float(finite.max())
        if self.log_scale:
            if high <= low:
                low, high = low / 2, high * 2
            transform: Callable[[FloatArray], FloatArray] = np.log10
            y_ticks = log_ticks(low, high, max((height - 2) // 2, 2))
        else:
            low = min(low, 0.0)
            if high <= low:
                high = low + 1.0
            transform = np.asarray
            y_ticks = nice_ticks(low, high, max((height - 2) // 3, 2))
        labels = [tick_label(t) for t in y_ticks]
        gutter = max(len(label) for label in labels) + 1
        plot_width, plot_height = width - gutter - 1, height - 2
        x_end = float(max(xs[-1] for xs, _, _ in series))
        # Steps are whole numbers: never ask for ticks closer than one step apart.
        x_ticks = [t for t in nice_ticks(1.0, max(x_end, 2.0), max(min(plot_width // 12, int(x_end) - 1), 1)) if t >= 1]
        canvas = BrailleCanvas(width, height)
        bottom, top = (float(end) for end in transform(np.array([low, high])))
        dots_high = 4 * plot_height - 1
        dots_wide = 2 * plot_width - 1

        def to_dots(xs: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
            clipped = np.clip(values, low, high)
            fy = (np.asarray(transform(clipped), dtype=np.float64) - bottom) / (top - bottom)
            fx = (xs - 1.0) / max(x_end - 1.0, 1.0)
            return 2 * (gutter + 1) + fx * dots_wide, (1.0 - fy) * dots_high

        for xs, values, key in series:
            keep = np.isfinite(values) & ((values > 0) if self.log_scale else True)
            xs, values = envelope(values[keep], xs[keep], plot_width)
            canvas.polyline(*to_dots(xs, values), key)
        tick_rows = set()
        for value, label in zip(y_ticks, labels, strict=True):
            row = int(to_dots(np.ones(1), np.array([value]))[1][0]) // 4
            tick_rows.add(row)
            canvas.text(gutter - 1 - len(label), row, label, AXIS_STYLE)
        for row in range(plot_height):
            canvas.text(gutter, row, "┤" if row in tick_rows else "│", AXIS_STYLE)
        canvas.text(gutter, plot_height, "└" + "─" * plot_width, AXIS_STYLE)
        taken = -1
        for tick in x_ticks:
            column = int(to_dots(np.array([tick]), np.array([high]))[0][0]) // 2
            canvas.text(column, plot_height, "┬", AXIS_STYLE)
            label = tick_label(tick)
            start = min(max(column - len(label) // 2, taken + 2), width - len(label))
            if start > taken + 1:
                canvas.text(start, plot_height + 1, label, AXIS_STYLE)
                taken = start + len(label)
        return canvas.strips({STEP_KEY: STEP_STYLE, EPOCH_KEY: EPOCH_STYLE})

    def show(self, view: View) -> None:
        """Plot every step's and every epoch's loss so far (on the next paint, if visible)."""
        session = view.session
        self.show_losses(session.step_losses, session.epoch_losses)
