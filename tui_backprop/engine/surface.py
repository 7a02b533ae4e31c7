"""The network's output over a grid of the 2-D input plane: what the decision-boundary picture draws.

The grid is pushed through the program's own forward ops (the same ``linear`` and
``activation`` functions, built from the op table, that a training step runs), as one
batch, so the picture shows exactly what the engine would compute at those points.
Everything is vectorised, in chunks of ``CHUNK`` points: an 80x80-point grid through
the circle network takes about a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui_backprop.engine.program import Phase, Program, activation_name

FloatArray = NDArray[np.float64]

MARGIN = 0.1  # the plane shows the data's extent plus this fraction on every side
# Points per batch through the network. Small enough that BLAS stays on one thread (threads fight the
# training worker for the cores) and the arrays stay in cache; each row's result is the same either way.
CHUNK = 512


@dataclass(frozen=True)
class Bounds:
    """A rectangle of the input plane: ``x1`` across, ``x2`` up."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float


@dataclass(frozen=True)
class Surface:
    """The network's output sampled on a grid.

    Attributes:
        bounds: The rectangle covered.
        xs: Centre of each grid column along the first input, left to right, shape (columns,).
        ys: Centre of each grid row along the second input, top (largest) to bottom, shape (rows,).
        outputs: The network output at each grid point, shape (rows, columns, output units).
    """

    bounds: Bounds
    xs: FloatArray
    ys: FloatArray
    outputs: FloatArray


def forward_function(program: Program) -> Callable[[Mapping[str, Any], FloatArray], FloatArray]:
    """The network's forward pass as one function of (parameters, inputs), built from ``program``'s own ops.

    Args:
        program: The compiled training step; its forward ops (all but the batch op) are reused as they are.

    Returns:
        A function mapping the parameters (``W1``, ``b1``, ...) and inputs shaped (points, inputs) to the
        output shaped (points, output units).
    """
    runs = tuple(op.run for op in program.ops if op.phase is Phase.FORWARD and op.kind != "batch")
    output = program.output
    inputs = activation_name(0)

    def forward(params: Mapping[str, Any], points: FloatArray) -> FloatArray:
        values: dict[str, Any] = dict(params)
        values[inputs] = points
        for run in runs:
            run(values)
        result: FloatArray = values[output]
        return result

    return forward


def plane_bounds(points: FloatArray, margin: float = MARGIN) -> Bounds:
    """The data's extent in its first two columns, padded by ``margin`` of the span on every side.

    Args:
        points: Inputs shaped (samples, >= 2).
        margin: Padding as a fraction of each axis' span.

    Returns:
        The rectangle to draw; a degenerate axis gets a span of 1 around its value.
    """
    low = points[:, :2].min(axis=0)
    high = points[:, :2].max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    centre = (low + high) / 2.0
    half = span * (0.5 + margin)
    return Bounds(
        float(centre[0] - half[0]), float(centre[0] + half[0]), float(centre[1] - half[1]), float(centre[1] + half[1])
    )


def grid_points(bounds: Bounds, columns: int, rows: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The centres of a ``columns`` x ``rows`` grid over ``bounds``, row by row from the top.

    Returns:
        (xs, ys, points): column centres, row centres (top first) and all points shaped (rows·columns, 2).
    """
    x_step = (bounds.x_max - bounds.x_min) / columns
    y_step = (bounds.y_max - bounds.y_min) / rows
    xs = bounds.x_min + (np.arange(columns) + 0.5) * x_step
    ys = bounds.y_max - (np.arange(rows) + 0.5) * y_step
    grid_x, grid_y = np.meshgrid(xs, ys)
    points: FloatArray = np.column_stack((grid_x.ravel(), grid_y.ravel())).astype(np.float64)
    return xs.astype(np.float64), ys.astype(np.float64), points


def evaluate_surface(
    forward: Callable[[Mapping[str, Any], FloatArray], FloatArray],
    params: Mapping[str, Any],
    bounds: Bounds,
    columns: int,
    rows: int,
) -> Surface:
    """The network output at every point of a ``columns`` x ``rows`` grid, in one batch.

    Args:
        forward: From ``forward_function``.
        params: Parameters to evaluate with (a snapshot is fine: arrays are never changed in place).
        bounds: The rectangle of the input plane.
        columns: Grid points across (>= 1).
        rows: Grid points up (>= 1).

    Returns:
        The sampled surface.

    Raises:
        ValueError: The grid is empty.
    """
    if columns < 1 or rows < 1:
        raise ValueError(f"a grid needs at least one point each way, got {columns}x{rows}")
    xs, ys, points = grid_points(bounds, columns, rows)
    outputs = np.concatenate([forward(params, points[start : start + CHUNK]) for start in range(0, len(points), CHUNK)])
    return Surface(bounds, xs, ys, outputs.reshape(rows, columns, -1))
