"""The [data] table: inline rows, a CSV file or a generator, validated into a ``Dataset``.

Split from the loader because data sources are a job of their own: each has its
keys, its failure modes (unreadable files, non-numeric cells, class labels) and
its limits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui_backprop.scenario import datasets
from tui_backprop.scenario.checker import Checker, as_float, describe, is_number
from tui_backprop.scenario.model import Dataset, FloatArray

MAX_SAMPLES = 1_000_000

DATA_KEYS = (
    "inputs",
    "targets",
    "input_names",
    "target_names",
    "file",
    "input_columns",
    "target_columns",
    "target_column",
    "generator",
    "samples",
    "noise",
)

SOURCE_KEYS = {
    "inputs": ("inputs", "targets"),
    "file": ("file", "input_columns", "target_columns", "target_column"),
    "generator": ("generator", "samples", "noise"),
}
SOURCE_NAMES = {"inputs": "inline data", "file": "a data file", "generator": "a generator"}


def finite_array(value: list[Any], path: str, check: Checker, rows: bool = True) -> FloatArray | None:
    """``value`` (a list of row lists, or a flat list if not ``rows``) as a read-only float array.

    Reports a non-number or a non-finite number (TOML allows inf and nan, and integers
    too large for a float) and returns None then.
    """
    flat = [cell for row in value for cell in row] if rows else value
    bad = next((cell for cell in flat if not is_number(cell)), None)
    if bad is not None:
        check.report(path, f"expected numbers, found {describe(bad)}")
        return None
    array = np.array([as_float(cell) for cell in flat], dtype=np.float64)
    if not np.isfinite(array).all():
        check.report(path, "expected finite numbers, found inf, nan or a number too large for a float")
        return None
    if rows:
        array = array.reshape(len(value), -1)
    array.setflags(write=False)
    return array


def plural(count: int, noun: str) -> str:
    """``1 number``, ``2 numbers``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def data_table(
    table: dict[str, Any], check: Checker, base_dir: Path, seed: int, inputs: int | None, outputs: int | None
) -> Dataset:
    """The training rows from the one source in ``[data]``.

    ``inputs`` and ``outputs`` are None when the network's own sizes are invalid: the data is then
    checked only for its own consistency, so a bad ``network.inputs`` is not reported twice.
    """
    check.known_keys(table, "data.", DATA_KEYS)
    sources = [key for key in ("inputs", "file", "generator") if key in table]
    if len(sources) != 1:
        found = f"found {', '.join(sources)}" if sources else "found none"
        check.report("data", f"expected exactly one source: inputs + targets, file, or generator; {found}")
        features, targets, origin, class_names = *empty_data(inputs, outputs), "none", None
    elif sources[0] == "inputs":
        features, targets = _inline(table, check, inputs, outputs)
        origin, class_names = "inline", None
    elif sources[0] == "file":
        features, targets, origin, class_names = _from_file(table, check, base_dir, inputs, outputs)
    else:
        features, targets, origin, class_names = _generated(table, check, seed, inputs, outputs)
    if len(sources) == 1:
        for other, keys in SOURCE_KEYS.items():
            for key in keys:
                if other != sources[0] and key in table:
                    check.report(f"data.{key}", f"does not apply to {SOURCE_NAMES[sources[0]]} (data.{sources[0]})")
    width, outputs = features.shape[1], targets.shape[1]
    input_names = check.names(table, "input_names", "data.input_names", width, [f"x{i}" for i in range(1, width + 1)])
    default_targets = class_names or (["y"] if outputs == 1 else [f"y{k}" for k in range(1, outputs + 1)])
    target_names = check.names(table, "target_names", "data.target_names", outputs, default_targets)
    features.setflags(write=False)
    targets.setflags(write=False)
    return Dataset(features, targets, input_names, target_names, origin)


def empty_data(inputs: int | None, outputs: int | None) -> tuple[FloatArray, FloatArray]:
    """Placeholder rows returned alongside a reported problem, so that validation can go on."""
    return np.zeros((1, inputs or 1)), np.zeros((1, outputs or 1))


def _inline(
    table: dict[str, Any], check: Checker, inputs: int | None, outputs: int | None
) -> tuple[FloatArray, FloatArray]:
    raw_inputs, raw_targets = table.get("inputs"), table.get("targets")
    if raw_targets is None:
        check.report("data.targets", "missing; inline inputs need targets (one row per input row)")
        return empty_data(inputs, outputs)
    if (
        isinstance(raw_targets, list)
        and raw_targets
        and all(is_number(v) for v in raw_targets)
        and outputs in (1, None)
    ):
        raw_targets = [[value] for value in raw_targets]  # a plain list is one target per row
    features = _rows(raw_inputs, "data.inputs", inputs, "network.inputs", check)
    targets = _rows(raw_targets, "data.targets", outputs, "units in the last layer", check)
    if features is None or targets is None:
        return empty_data(inputs, outputs)
    if len(features) != len(targets):
        check.report("data.targets", f"expected {len(features)} rows (one per input row), found {len(targets)}")
        return empty_data(inputs, outputs)
    return features, targets


def _rows(value: Any, path: str, width: int | None, what: str, check: Checker) -> FloatArray | None:
    """A non-empty list of equally long rows of finite numbers (``width`` long, when known)."""
    numbers = "numbers" if width is None else plural(width, "number")
    if not isinstance(value, list) or not value or not all(isinstance(row, list) for row in value):
        check.report(path, f"expected a non-empty list of rows of {numbers}, found {describe(value)}")
        return None
    if len(value) > MAX_SAMPLES:
        check.report(path, f"{len(value):,} rows is more than the {MAX_SAMPLES:,} allowed")
        return None
    lengths = sorted({len(row) for row in value})
    if width is not None and lengths != [width]:
        check.report(path, f"expected rows of {numbers} ({what}), found rows of lengths {lengths}")
        return None
    if len(lengths) != 1 or lengths == [0]:
        check.report(path, f"expected non-empty rows all of the same length, found rows of lengths {lengths}")
        return None
    return finite_array(value, path, check)


def _from_file(
    table: dict[str, Any], check: Checker, base_dir: Path, inputs: int | None, outputs: int | None
) -> tuple[FloatArray, FloatArray, str, list[str] | None]:
    empty = empty_data(inputs, outputs)
    file = check.text_value(table, "file", "data.file", "") or ""
    if not file:
        if isinstance(table.get("file"), str):
            check.report("data.file", "expected a file name, found an empty string")
        return *empty, file, None
    input_columns = table.get("input_columns")
    count = "" if inputs is None else f"{inputs} "
    if not isinstance(input_columns, list) or not input_columns or not all(isinstance(c, str) for c in input_columns):
        check.report("data.input_columns", f"expected a list of {count}column names, found {describe(input_columns)}")
        return *empty, file, None
    if inputs is not None and len(input_columns) != inputs:
        check.report(
            "data.input_columns", f"expected {inputs} column names (network.inputs), found {len(input_columns)}"
        )
        return *empty, file, None
    has_columns, has_column = "target_columns" in table, "target_column" in table
    if has_columns == has_column:
        check.report("data", "a data file needs exactly one of target_columns (numbers) or target_column (labels)")
        return *empty, file, None
    key = "target_columns" if has_columns else "target_column"
    raw_targets = table[key]
    target_columns = raw_targets if has_columns else [raw_targets]
    if (
        not isinstance(target_columns, list)
        or not target_columns
        or not all(isinstance(c, str) for c in target_columns)
    ):
        check.report(f"data.{key}", f"expected column names, found {describe(raw_targets)}")
        return *empty, file, None
    if has_columns and outputs is not None and len(target_columns) != outputs:
        check.report(
            "data.target_columns",
            f"expected {outputs} columns (units in the last layer), found {len(target_columns)}",
        )
        return *empty, file, None
    path = Path(file) if Path(file).is_absolute() else base_dir / file
    try:
        features, cells = datasets.read_csv(path, input_columns, target_columns, MAX_SAMPLES)
    except datasets.DataProblem as problem:
        check.report("data.file", str(problem))
        return *empty, file, None
    if has_columns:
        try:
            targets = np.array([[float(cell) for cell in row] for row in cells])
        except ValueError:
            check.report("data.target_columns", "expected numbers in the target columns; use target_column for labels")
            return *empty, file, None
        if not np.isfinite(targets).all():
            check.report("data.target_columns", "expected finite numbers, found inf or nan")
            return *empty, file, None
        return features, targets, file, None
    labels = [row[0] for row in cells]
    classes = sorted(set(labels))
    index = {label: number for number, label in enumerate(classes)}
    encoded = _encode(np.array([index[label] for label in labels]), len(classes), outputs, "data.target_column", check)
    if encoded is None:
        return *empty, file, None
    return features, encoded, file, classes if encoded.shape[1] == len(classes) else None


def _encode(
    labels: NDArray[np.int64], classes: int, outputs: int | None, path: str, check: Checker
) -> FloatArray | None:
    """Class labels as targets: a 0/1 column for one output unit, one-hot rows otherwise.

    Returns None when the classes do not match the output layer (or the layer is invalid).
    """
    if outputs == 1 and classes <= 2:
        return labels.reshape(-1, 1).astype(np.float64)
    if outputs is None:
        return None
    if outputs != classes:
        check.report(path, f"the data has {classes} classes but the last layer has {outputs} units; expected equal")
        return None
    return np.eye(classes)[labels]


def _generated(
    table: dict[str, Any], check: Checker, seed: int, inputs: int | None, outputs: int | None
) -> tuple[FloatArray, FloatArray, str, list[str] | None]:
    name = check.choice(table, "generator", "data.generator", datasets.GENERATORS, "xor")
    samples = int(check.number(table, "samples", "data.samples", 200, 1, MAX_SAMPLES, integer=True))
    noise = check.number(table, "noise", "data.noise", 0.1, minimum=0.0, maximum=10.0)
    if inputs not in (2, None):
        check.report("network.inputs", f"generator {name!r} makes 2-D points; expected inputs = 2, found {inputs}")
        return *empty_data(inputs, outputs), name, None
    points, labels = datasets.generate(name, samples, noise, seed)
    targets = _encode(labels, 2, outputs, "data.generator", check)
    if targets is None:
        return *empty_data(2, outputs), name, None
    return points, targets, f"generator {name} ({samples} samples, noise {noise:g})", None
