"""Training rows that come from somewhere other than inline arrays: CSV files and 2-D generators.

The generators draw the Playground-style toy problems from a seeded generator, so
a scenario file fully determines its data.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Labels = NDArray[np.int64]


class DataProblem(ValueError):
    """A data source could not be read; the message says why."""


def _xor(rng: np.random.Generator, samples: int, noise: float) -> tuple[FloatArray, Labels]:
    points = rng.uniform(-1.0, 1.0, size=(samples, 2))
    labels = ((points[:, 0] > 0) != (points[:, 1] > 0)).astype(np.int64)
    return points + rng.normal(0.0, noise, size=points.shape), labels


def _circle(rng: np.random.Generator, samples: int, noise: float) -> tuple[FloatArray, Labels]:
    inner = samples // 2
    radius = np.concatenate([rng.uniform(0.0, 0.5, inner), rng.uniform(0.7, 1.0, samples - inner)])
    angle = rng.uniform(0.0, 2.0 * np.pi, samples)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    labels = np.concatenate([np.ones(inner, np.int64), np.zeros(samples - inner, np.int64)])
    return points + rng.normal(0.0, noise, size=points.shape), labels


def _gaussian(rng: np.random.Generator, samples: int, noise: float) -> tuple[FloatArray, Labels]:
    half = samples // 2
    spread = 0.25 + noise
    points = np.concatenate(
        [rng.normal(0.5, spread, size=(half, 2)), rng.normal(-0.5, spread, size=(samples - half, 2))]
    )
    labels = np.concatenate([np.ones(half, np.int64), np.zeros(samples - half, np.int64)])
    return points, labels


def _spiral(rng: np.random.Generator, samples: int, noise: float) -> tuple[FloatArray, Labels]:
    half = samples // 2
    arms = []
    for arm, count in enumerate((half, samples - half)):
        t = np.linspace(0.0, 1.0, count, endpoint=False)
        radius = t
        angle = 1.75 * t * 2.0 * np.pi + arm * np.pi
        arms.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
    points = np.concatenate(arms)
    labels = np.concatenate([np.ones(half, np.int64), np.zeros(samples - half, np.int64)])
    return points + rng.normal(0.0, noise, size=points.shape), labels


GENERATORS: dict[str, Callable[[np.random.Generator, int, float], tuple[FloatArray, Labels]]] = {
    "xor": _xor,
    "circle": _circle,
    "gaussian": _gaussian,
    "spiral": _spiral,
}


def generate(name: str, samples: int, noise: float, seed: int) -> tuple[FloatArray, Labels]:
    """Draw a 2-D two-class toy problem.

    Args:
        name: One of ``GENERATORS``.
        samples: Number of points.
        noise: Standard deviation of the noise added to each coordinate.
        seed: The scenario's seed; the same seed gives the same points.

    Returns:
        Points shaped (samples, 2) and class labels 0/1 shaped (samples,).
    """
    rng = np.random.default_rng([seed, 7])
    return GENERATORS[name](rng, samples, noise)


def read_csv(
    path: Path, input_columns: list[str], target_columns: list[str], max_rows: int | None = None
) -> tuple[FloatArray, list[list[str]]]:
    """Read numeric input columns and raw target columns from a CSV file with a header row.

    Args:
        path: The CSV file.
        input_columns: Header names of the numeric inputs.
        target_columns: Header names of the targets (returned as text, for the caller to encode).
        max_rows: Refuse files with more data rows than this (a guard against exhausting memory).

    Returns:
        Inputs shaped (rows, len(input_columns)) and, per row, the target cells as strings.

    Raises:
        DataProblem: The file is unreadable, a column is missing or a cell is not a finite number.
    """
    if path.is_dir():
        raise DataProblem(f"cannot read {path}: Is a directory")
    if path.exists() and not path.is_file():  # a device or a pipe could block or never end
        raise DataProblem(f"cannot read {path}: not a regular file")
    rows: list[list[str]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                rows.append(row)
                if max_rows is not None and len(rows) > max_rows + 1:
                    raise DataProblem(f"{path} has more than {max_rows:,} data rows, the most allowed")
    except DataProblem:
        raise
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as error:
        # ValueError: a NUL character in the path; csv.Error: e.g. a field over the size limit.
        raise DataProblem(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    if not rows:
        raise DataProblem(f"{path} is empty; expected a header row and data rows")
    header = [cell.strip() for cell in rows[0]]
    missing = [name for name in (*input_columns, *target_columns) if name not in header]
    if missing:
        raise DataProblem(f"{path} has no column {', '.join(map(repr, missing))}; its columns are {header}")
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    if not body:
        raise DataProblem(f"{path} has a header but no data rows")
    inputs = np.empty((len(body), len(input_columns)))
    targets: list[list[str]] = []
    positions = [header.index(name) for name in input_columns]
    target_positions = [header.index(name) for name in target_columns]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataProblem(f"{path} line {number}: expected {len(header)} cells, found {len(row)}")
        for column, position in enumerate(positions):
            try:
                value = float(row[position])
            except ValueError:
                raise DataProblem(
                    f"{path} line {number}, column {input_columns[column]!r}: expected a number, "
                    f"found {row[position]!r}"
                ) from None
            if not np.isfinite(value):
                raise DataProblem(f"{path} line {number}, column {input_columns[column]!r}: {value} is not finite")
            inputs[number - 2, column] = value
        targets.append([row[position].strip() for position in target_positions])
    return inputs, targets
