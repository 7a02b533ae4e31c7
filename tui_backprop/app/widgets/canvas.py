"""A braille dot canvas with text overlays, turned into Textual strips: what the loss plot and the diagram draw on.

Each terminal cell holds 2x4 braille dots, so a 60x15 panel is a 120x60 dot
picture. Every dot is drawn under an integer key; a cell takes the style of the
highest key drawn in it, so callers decide which series or edge wins a shared
cell by the order of their keys. Drawing is vectorised with numpy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

# Bit of each dot (column dx, row dy) inside a braille cell, from the Unicode braille pattern block.
_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)
_BRAILLE = 0x2800
_NONE = -1


class BrailleCanvas:
    """A ``width`` x ``height`` cell canvas of braille dots plus text written over it.

    Args:
        width: Cells across.
        height: Cells down.
    """

    def __init__(self, width: int, height: int) -> None:
        self.width = max(width, 0)
        self.height = max(height, 0)
        self._bits = np.zeros((self.height, self.width), dtype=np.uint8)
        self._keys = np.full((self.height, self.width), _NONE, dtype=np.int64)
        self._text: dict[tuple[int, int], tuple[str, Style | None]] = {}

    @property
    def dot_width(self) -> int:
        """Dots across."""
        return 2 * self.width

    @property
    def dot_height(self) -> int:
        """Dots down."""
        return 4 * self.height

    def dots(self, xs: NDArray[np.float64], ys: NDArray[np.float64], key: int) -> None:
        """Set the dots at (xs, ys) (dot coordinates, rounded; outside ones are dropped) under ``key``."""
        x = np.rint(np.asarray(xs, dtype=np.float64)).astype(np.int64)
        y = np.rint(np.asarray(ys, dtype=np.float64)).astype(np.int64)
        inside = (x >= 0) & (x < self.dot_width) & (y >= 0) & (y < self.dot_height)
        x, y = x[inside], y[inside]
        rows, columns = y // 4, x // 2
        np.bitwise_or.at(self._bits, (rows, columns), _BITS[y % 4, x % 2])
        np.maximum.at(self._keys, (rows, columns), key)

    def polyline(
        self, xs: NDArray[np.float64], ys: NDArray[np.float64], key: int, dash: int = 0, thickness: int = 1
    ) -> None:
        """Join consecutive points (dot coordinates) with straight lines.

        Args:
            xs: Dot x of each vertex.
            ys: Dot y of each vertex.
            key: Style key of the line.
            dash: 0 for a solid line, else draw ``dash`` dots and skip ``dash`` dots in turn.
            thickness: 1, or 2 for a line doubled one dot lower.
        """
        x = np.asarray(xs, dtype=np.float64)
        y = np.asarray(ys, dtype=np.float64)
        if len(x) == 1:
            self.dots(x, y, key)
            return
        if len(x) == 0:
            return
        dx, dy = np.diff(x), np.diff(y)
        counts = np.maximum(np.abs(dx), np.abs(dy)).astype(np.int64) + 1
        segment = np.repeat(np.arange(len(counts)), counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        fraction = offset / np.maximum(counts - 1, 1)[segment]
        px = x[segment] + dx[segment] * fraction
        py = y[segment] + dy[segment] * fraction
        if dash:
            keep = (offset // dash) % 2 == 0
            px, py = px[keep], py[keep]
        self.dots(px, py, key)
        if thickness > 1:
            self.dots(px, py + 1, key)

    def text(self, column: int, row: int, text: str, style: Style | None = None) -> None:
        """Write ``text`` from cell (column, row) rightwards, over any dots (clipped to the canvas)."""
        if not 0 <= row < self.height:
            return
        for offset, character in enumerate(text):
            if 0 <= column + offset < self.width:
                self._text[(column + offset, row)] = (character, style)

    def strips(self, styles: Mapping[int, Style], base: Style | None = None) -> list[Strip]:
        """One strip per row: braille characters styled by their cell's key, text on top.

        Args:
            styles: Style of each key (keys without one draw unstyled).
            base: Style of empty cells and of unstyled dots.
        """
        result = []
        plain = base or Style()
        for row in range(self.height):
            segments: list[Segment] = []
            run = ""
            run_style: Style | None = None
            bits, keys = self._bits[row].tolist(), self._keys[row].tolist()
            for column in range(self.width):
                overlay = self._text.get((column, row))
                if overlay is not None:
                    character, style = overlay[0], plain + overlay[1] if overlay[1] else plain
                elif bits[column]:
                    character, style = chr(_BRAILLE + bits[column]), plain + styles.get(keys[column], Style())
                else:
                    character, style = " ", plain
                if style != run_style and run:
                    segments.append(Segment(run, run_style))
                    run = ""
                run_style = style
                run += character
            if run:
                segments.append(Segment(run, run_style))
            result.append(Strip(segments, self.width))
        return result
