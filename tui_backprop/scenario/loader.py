"""Read a scenario TOML file (plus ``--set`` overrides) into a validated ``Scenario``.

Every key is checked; all problems are collected and raised together as one
``ScenarioError``. Files are data only: nothing in them is executed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui_backprop.engine.ops import ACTIVATION_ALIASES, ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZERS, REDUCTIONS
from tui_backprop.scenario import datasets
from tui_backprop.scenario.checker import Checker, as_float, describe, is_number
from tui_backprop.scenario.errors import Problem, ScenarioError
from tui_backprop.scenario.model import (
    Dataset,
    DebuggerSpec,
    FloatArray,
    LayerSpec,
    NetworkSpec,
    Scenario,
    TrainingSpec,
)
from tui_backprop.scenario.overrides import apply_overrides

# Limits that keep a typo (units = 1e9) from exhausting memory before anything is shown.
MAX_UNITS = 4096
MAX_PARAMETERS = 20_000_000
MAX_SAMPLES = 1_000_000
# Rows of one batch times the units of all layers: each step keeps a few arrays of this size
# (pre-activations, activations, their gradients), so 25 million values is about 200 MB each.
MAX_BATCH_VALUES = 25_000_000

TOP_KEYS = ("title", "description", "seed", "network", "data", "training", "debugger")
NETWORK_KEYS = ("inputs", "init", "init_scale", "layers")
LAYER_KEYS = ("units", "activation", "weights", "bias", "use_bias", "train_bias", "names")
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
TRAINING_KEYS = (
    "loss",
    "reduction",
    "optimizer",
    "learning_rate",
    "momentum",
    "beta1",
    "beta2",
    "epsilon",
    "batch_size",
    "shuffle",
    "max_epochs",
    "target_loss",
)
DEBUGGER_KEYS = ("history_mb",)
DEFAULT_INIT_SCALE = {"xavier": 1.0, "he": 1.0, "normal": 0.1, "uniform": 0.1, "zeros": 0.0, "constant": 1.0}
# The keys each kind of data source reads; any other source's keys in [data] are mistakes.
SOURCE_KEYS = {
    "inputs": ("inputs", "targets"),
    "file": ("file", "input_columns", "target_columns", "target_column"),
    "generator": ("generator", "samples", "noise"),
}
SOURCE_NAMES = {"inputs": "inline data", "file": "a data file", "generator": "a generator"}
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Load and validate a scenario file.

    Args:
        path: The TOML file.
        overrides: ``key.path=value`` strings applied on top of the file, as ``--set`` does.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: The file is missing, malformed or invalid; every problem is listed.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ScenarioError([Problem(str(path), "", f"cannot read the file: {reason}")]) from None
    return parse_scenario(text, file=str(path), base_dir=path.parent, name=path.stem, overrides=overrides)


def parse_scenario(
    text: str,
    file: str = "<string>",
    base_dir: Path | None = None,
    name: str = "scenario",
    overrides: list[str] | tuple[str, ...] = (),
) -> Scenario:
    """Validate scenario TOML text.

    Args:
        text: The TOML source.
        file: Name used in messages.
        base_dir: Directory that relative data file paths are resolved against.
        name: Short name of the scenario.
        overrides: ``key.path=value`` strings applied before validation.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: Every problem found.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError([_toml_problem(file, text, error)]) from None
    except ValueError as error:  # an integer longer than Python converts (4300 digits)
        raise ScenarioError([Problem(file, "", f"not valid TOML: {error}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(file, "", "not valid TOML: arrays or tables nested too deeply")]) from None
    check = Checker(file, text)
    apply_overrides(raw, overrides, check)
    scenario = _scenario(raw, check, base_dir or Path.cwd(), name, Path(file) if base_dir else None)
    if check.problems:
        # In file order; problems without a line (missing keys, --set values) come last.
        raise ScenarioError(sorted(check.problems, key=lambda problem: (problem.line is None, problem.line or 0)))
    return scenario


def _toml_problem(file: str, text: str, error: tomllib.TOMLDecodeError) -> Problem:
    """The decode error as a problem with its line (Python < 3.14 only has the line in the message)."""
    message = str(error)
    line: int | None = getattr(error, "lineno", None)
    position = _TOML_POSITION.search(message)
    if position:
        line = line or int(position.group(1))
        message = f"{message[: position.start()]} (column {position.group(2)})"
    elif message.endswith(" (at end of document)"):
        message = message.removesuffix(" (at end of document)") + " at the end of the file"
        line = line or max(1, len(text.splitlines()))
    return Problem(file, "", f"not valid TOML: {message}", line)


def _scenario(raw: dict[str, Any], check: Checker, base_dir: Path, name: str, source: Path | None) -> Scenario:
    check.known_keys(raw, "", TOP_KEYS)
    title = check.text_value(raw, "title", "title", None) or name
    description = check.text_value(raw, "description", "description", "") or ""
    seed = int(check.number(raw, "seed", "seed", 0, minimum=0, maximum=2**63 - 1, integer=True))
    network_table = check.table(raw, "network", "", required=True)
    training = _training(check.table(raw, "training", ""), check)
    # A missing or mistyped [network] is one problem: don't also report each key inside it.
    has_network = isinstance(raw.get("network"), dict)
    reported = len(check.problems)
    inputs = 1
    if has_network:
        inputs = int(check.number(network_table, "inputs", "network.inputs", None, 1, MAX_UNITS, integer=True))
    inputs_known = has_network and len(check.problems) == reported
    layers = _layers(network_table, inputs, check, training, seed) if has_network else []
    last_units = f"network.layers[{len(layers)}].units"
    outputs_known = bool(layers) and not any(problem.key == last_units for problem in check.problems)
    output_units = layers[-1].units if layers else 1
    data_table = check.table(raw, "data", "", required=True)
    if isinstance(raw.get("data"), dict):
        data = _data(
            data_table,
            check,
            base_dir,
            seed,
            inputs if inputs_known else None,
            output_units if outputs_known else None,
        )
        _check_batch_memory(layers, len(data.inputs), training, check)
    else:
        features, targets = _empty(inputs, output_units)
        data = Dataset(features, targets, (), (), "none")
    debugger_table = check.table(raw, "debugger", "")
    check.known_keys(debugger_table, "debugger.", DEBUGGER_KEYS)
    history_mb = check.number(debugger_table, "history_mb", "debugger.history_mb", 256.0, above=0.0, maximum=1 << 20)
    return Scenario(
        name=name,
        title=title,
        description=description,
        seed=seed,
        network=NetworkSpec(inputs, tuple(layers)),
        data=data,
        training=training,
        debugger=DebuggerSpec(history_mb),
        source=source,
    )


def _check_batch_memory(layers: list[LayerSpec], samples: int, training: TrainingSpec, check: Checker) -> None:
    """Reject a batch whose per-step arrays would not fit in memory (e.g. a million rows, full batch)."""
    rows = min(training.batch_size or samples, samples)
    units = sum(layer.units for layer in layers)
    if rows * units > MAX_BATCH_VALUES:
        largest = max(1, MAX_BATCH_VALUES // max(units, 1))
        check.report(
            "training.batch_size",
            f"a batch of {rows:,} rows through {units:,} units needs {rows * units:,} values per array; "
            f"at most {MAX_BATCH_VALUES:,} fit; expected batch_size <= {largest:,}",
        )


def _training(table: dict[str, Any], check: Checker) -> TrainingSpec:
    check.known_keys(table, "training.", TRAINING_KEYS)
    batch_raw = table.get("batch_size", "full")
    batch_size: int | None = None
    if batch_raw != "full":
        if isinstance(batch_raw, int) and not isinstance(batch_raw, bool) and batch_raw >= 1:
            batch_size = batch_raw
        else:
            check.report("training.batch_size", f'expected "full" or an integer >= 1, found {describe(batch_raw)}')
    return TrainingSpec(
        loss=check.choice(table, "loss", "training.loss", LOSSES, "half_sse"),
        reduction=check.choice(table, "reduction", "training.reduction", REDUCTIONS, "mean"),
        optimizer=check.choice(table, "optimizer", "training.optimizer", OPTIMIZERS, "sgd"),
        learning_rate=check.number(table, "learning_rate", "training.learning_rate", 0.5, above=0.0),
        momentum=check.number(table, "momentum", "training.momentum", 0.9, minimum=0.0, maximum=1.0),
        beta1=check.number(table, "beta1", "training.beta1", 0.9, minimum=0.0, maximum=1.0),
        beta2=check.number(table, "beta2", "training.beta2", 0.999, minimum=0.0, maximum=1.0),
        epsilon=check.number(table, "epsilon", "training.epsilon", 1e-8, above=0.0),
        batch_size=batch_size,
        shuffle=check.flag(table, "shuffle", "training.shuffle", False),
        max_epochs=int(check.number(table, "max_epochs", "training.max_epochs", 10000, 1, 10**9, integer=True)),
        target_loss=check.number(table, "target_loss", "training.target_loss", 1e-4, minimum=0.0),
    )


def _layers(table: dict[str, Any], inputs: int, check: Checker, training: TrainingSpec, seed: int) -> list[LayerSpec]:
    check.known_keys(table, "network.", NETWORK_KEYS)
    init = check.choice(table, "init", "network.init", INITIALIZERS, "xavier")
    init_scale = check.number(table, "init_scale", "network.init_scale", DEFAULT_INIT_SCALE[init], minimum=0.0)
    raw_layers = table.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers or not all(isinstance(x, dict) for x in raw_layers):
        check.report("network.layers", "expected at least one [[network.layers]] table")
        return []
    layers: list[LayerSpec] = []
    fan_in = inputs
    parameters = 0
    for number, raw in enumerate(raw_layers, start=1):
        prefix = f"network.layers[{number}]"
        check.known_keys(raw, prefix + ".", LAYER_KEYS)
        units = int(check.number(raw, "units", f"{prefix}.units", None, 1, MAX_UNITS, integer=True))
        activation_name = raw.get("activation", "sigmoid")
        if isinstance(activation_name, str):
            activation_name = ACTIVATION_ALIASES.get(activation_name, activation_name)
        activation = check.choice(
            {"activation": activation_name}, "activation", f"{prefix}.activation", ACTIVATIONS, "sigmoid"
        )
        use_bias = check.flag(raw, "use_bias", f"{prefix}.use_bias", True)
        weights = _matrix(raw, "weights", f"{prefix}.weights", (fan_in, units), check)
        bias = _bias(raw, f"{prefix}.bias", units, use_bias, check)
        default_names = _default_names(number, len(raw_layers), units)
        file_names = raw.get("names")
        if (
            f"{prefix}.units" in check.overridden
            and f"{prefix}.names" not in check.overridden
            and isinstance(file_names, list)
            and len(file_names) != units
        ):
            # --set changed the layer's size: the file's labels no longer fit, so use the defaults.
            names = tuple(default_names)
        else:
            names = check.names(raw, "names", f"{prefix}.names", units, default_names)
        layers.append(
            LayerSpec(
                units=units,
                activation=activation,
                weights=weights,
                bias=bias,
                use_bias=use_bias,
                train_bias=check.flag(raw, "train_bias", f"{prefix}.train_bias", True),
                names=names,
                init=init,
                init_scale=init_scale,
            )
        )
        parameters += (fan_in + 1) * units
        fan_in = units
    if parameters > MAX_PARAMETERS:
        check.report("network.layers", f"the network has {parameters:,} parameters; at most {MAX_PARAMETERS:,} fit")
    _check_pairings(layers, training, check)
    return layers


def _default_names(layer: int, count: int, units: int) -> list[str]:
    if layer == count:
        return ["o"] if units == 1 else [f"o{unit}" for unit in range(1, units + 1)]
    if count == 2:
        return [f"h{unit}" for unit in range(1, units + 1)]
    return [f"h{layer}.{unit}" for unit in range(1, units + 1)]


def _check_pairings(layers: list[LayerSpec], training: TrainingSpec, check: Checker) -> None:
    """Reject activation/loss pairs whose math the engine does not define."""
    last = len(layers)
    for number, layer in enumerate(layers, start=1):
        if layer.activation == "softmax" and number != last:
            check.report(f"network.layers[{number}].activation", "softmax is only allowed on the last layer")
    if not layers:
        return
    output = layers[-1]
    path = f"network.layers[{last}].activation"
    if output.activation == "softmax" and training.loss != "cross_entropy":
        check.report("training.loss", f'a softmax output needs loss = "cross_entropy", found {training.loss!r}')
    if output.activation == "softmax" and output.units < 2:
        check.report(f"network.layers[{last}].units", "a softmax output needs at least 2 units")
    if training.loss == "cross_entropy" and output.activation != "softmax":
        check.report(path, f'loss "cross_entropy" needs a softmax output layer, found {output.activation!r}')
    if training.loss == "bce" and output.activation != "sigmoid":
        check.report(path, f'loss "bce" needs a sigmoid output layer (outputs in (0, 1)), found {output.activation!r}')


def _matrix(table: dict[str, Any], key: str, path: str, shape: tuple[int, int], check: Checker) -> FloatArray | None:
    """An explicit (rows, cols) matrix of finite numbers, or None if absent or invalid."""
    if key not in table:
        return None
    value = table[key]
    rows, cols = shape
    expected = f"expected {_plural(rows, 'row')} (one per input) of {_plural(cols, 'number')} (one per unit)"
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        check.report(path, f"{expected}, found {describe(value)}")
        return None
    if len(value) != rows or any(len(row) != cols for row in value):
        found = f"{len(value)} rows of lengths {sorted({len(row) for row in value})}"
        check.report(path, f"{expected}, found {found}")
        return None
    return _finite_array(value, path, check)


def _finite_array(value: list[Any], path: str, check: Checker, rows: bool = True) -> FloatArray | None:
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


def _bias(table: dict[str, Any], path: str, units: int, use_bias: bool, check: Checker) -> FloatArray | None:
    if "bias" not in table:
        return None
    if not use_bias:
        check.report(path, "a bias is given but use_bias = false")
        return None
    value = table["bias"]
    if is_number(value):
        value = [value] * units
    if not isinstance(value, list) or len(value) != units:
        check.report(
            path, f"expected one number or a list of {_plural(units, 'number')} (one per unit), found {describe(value)}"
        )
        return None
    return _finite_array(value, path, check, rows=False)


def _plural(count: int, noun: str) -> str:
    """``1 number``, ``2 numbers``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _data(
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
        features, targets, origin, class_names = *_empty(inputs, outputs), "none", None
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


def _empty(inputs: int | None, outputs: int | None) -> tuple[FloatArray, FloatArray]:
    """Placeholder rows returned alongside a reported problem, so that validation can go on."""
    return np.zeros((1, inputs or 1)), np.zeros((1, outputs or 1))


def _inline(
    table: dict[str, Any], check: Checker, inputs: int | None, outputs: int | None
) -> tuple[FloatArray, FloatArray]:
    raw_inputs, raw_targets = table.get("inputs"), table.get("targets")
    if raw_targets is None:
        check.report("data.targets", "missing; inline inputs need targets (one row per input row)")
        return _empty(inputs, outputs)
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
        return _empty(inputs, outputs)
    if len(features) != len(targets):
        check.report("data.targets", f"expected {len(features)} rows (one per input row), found {len(targets)}")
        return _empty(inputs, outputs)
    return features, targets


def _rows(value: Any, path: str, width: int | None, what: str, check: Checker) -> FloatArray | None:
    """A non-empty list of equally long rows of finite numbers (``width`` long, when known)."""
    numbers = "numbers" if width is None else _plural(width, "number")
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
    return _finite_array(value, path, check)


def _from_file(
    table: dict[str, Any], check: Checker, base_dir: Path, inputs: int | None, outputs: int | None
) -> tuple[FloatArray, FloatArray, str, list[str] | None]:
    empty = _empty(inputs, outputs)
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
        return *_empty(inputs, outputs), name, None
    points, labels = datasets.generate(name, samples, noise, seed)
    targets = _encode(labels, 2, outputs, "data.generator", check)
    if targets is None:
        return *_empty(2, outputs), name, None
    return points, targets, f"generator {name} ({samples} samples, noise {noise:g})", None
