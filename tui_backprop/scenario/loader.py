"""Read a scenario TOML file (plus ``--set`` overrides) into a validated ``Scenario``.

Every key is checked; all problems are collected and raised together as one
``ScenarioError``. Files are data only: nothing in them is executed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from tui_backprop.engine.ops import ACTIVATION_ALIASES, ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZERS, REDUCTIONS
from tui_backprop.scenario import datasets
from tui_backprop.scenario.checker import Checker, describe, is_number
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
        line = getattr(error, "lineno", None)
        message = str(error).split(" (at line")[0]
        raise ScenarioError([Problem(file, "", f"not valid TOML: {message}", line)]) from None
    check = Checker(file, text)
    apply_overrides(raw, overrides, check)
    scenario = _scenario(raw, check, base_dir or Path.cwd(), name, Path(file) if base_dir else None)
    if check.problems:
        raise ScenarioError(check.problems)
    return scenario


def _scenario(raw: dict[str, Any], check: Checker, base_dir: Path, name: str, source: Path | None) -> Scenario:
    check.known_keys(raw, "", TOP_KEYS)
    title = check.text_value(raw, "title", "title", None) or name
    description = check.text_value(raw, "description", "description", "") or ""
    seed = int(check.number(raw, "seed", "seed", 0, minimum=0, maximum=2**63 - 1, integer=True))
    network_table = check.table(raw, "network", "", required=True)
    training = _training(check.table(raw, "training", ""), check)
    inputs = int(check.number(network_table, "inputs", "network.inputs", None, 1, MAX_UNITS, integer=True))
    layers = _layers(network_table, inputs, check, training, seed)
    output_units = layers[-1].units if layers else 1
    data = _data(check.table(raw, "data", "", required=True), check, base_dir, seed, inputs, output_units)
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


def _layers(
    table: dict[str, Any], inputs: int, check: Checker, training: TrainingSpec, seed: int
) -> list[LayerSpec]:
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
        names = check.names(raw, "names", f"{prefix}.names", units, _default_names(number, len(raw_layers), units))
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


def _matrix(
    table: dict[str, Any], key: str, path: str, shape: tuple[int, int], check: Checker
) -> FloatArray | None:
    """An explicit (rows, cols) matrix of finite numbers, or None if absent or invalid."""
    if key not in table:
        return None
    value = table[key]
    rows, cols = shape
    expected = f"expected {rows} rows (one per input) of {cols} numbers (one per unit)"
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        check.report(path, f"{expected}, found {describe(value)}")
        return None
    if len(value) != rows or any(len(row) != cols for row in value):
        found = f"{len(value)} rows of lengths {sorted({len(row) for row in value})}"
        check.report(path, f"{expected}, found {found}")
        return None
    return _finite_array(value, path, check)


def _finite_array(value: list[Any], path: str, check: Checker) -> FloatArray | None:
    flat = [cell for row in value for cell in row] if value and isinstance(value[0], list) else value
    bad = next((cell for cell in flat if not is_number(cell)), None)
    if bad is not None:
        check.report(path, f"expected numbers, found {describe(bad)}")
        return None
    array = np.array(value, dtype=np.float64)
    if not np.isfinite(array).all():
        check.report(path, "expected finite numbers, found inf or nan")
        return None
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
        check.report(path, f"expected one number or a list of {units} numbers (one per unit), found {describe(value)}")
        return None
    return _finite_array(value, path, check)


def _data(
    table: dict[str, Any], check: Checker, base_dir: Path, seed: int, inputs: int, outputs: int
) -> Dataset:
    check.known_keys(table, "data.", DATA_KEYS)
    sources = [key for key in ("inputs", "file", "generator") if key in table]
    empty = np.zeros((1, inputs)), np.zeros((1, outputs))
    if len(sources) != 1:
        found = f"found {', '.join(sources)}" if sources else "found none"
        check.report("data", f"expected exactly one source: inputs + targets, file, or generator; {found}")
        features, targets, origin, class_names = *empty, "none", None
    elif sources[0] == "inputs":
        features, targets = _inline(table, check, inputs, outputs)
        origin, class_names = "inline", None
    elif sources[0] == "file":
        features, targets, origin, class_names = _from_file(table, check, base_dir, inputs, outputs)
    else:
        features, targets, origin, class_names = _generated(table, check, seed, inputs, outputs)
    input_names = check.names(
        table, "input_names", "data.input_names", inputs, [f"x{i}" for i in range(1, inputs + 1)]
    )
    default_targets = class_names or (["y"] if outputs == 1 else [f"y{k}" for k in range(1, outputs + 1)])
    target_names = check.names(table, "target_names", "data.target_names", outputs, default_targets)
    features.setflags(write=False)
    targets.setflags(write=False)
    return Dataset(features, targets, input_names, target_names, origin)


def _inline(table: dict[str, Any], check: Checker, inputs: int, outputs: int) -> tuple[FloatArray, FloatArray]:
    raw_inputs, raw_targets = table.get("inputs"), table.get("targets")
    if raw_targets is None:
        check.report("data.targets", "missing; inline inputs need targets (one row per input row)")
        return np.zeros((1, inputs)), np.zeros((1, outputs))
    if isinstance(raw_targets, list) and raw_targets and all(is_number(v) for v in raw_targets) and outputs == 1:
        raw_targets = [[value] for value in raw_targets]  # a plain list is one target per row
    features = _rows(raw_inputs, "data.inputs", inputs, "network.inputs", check)
    targets = _rows(raw_targets, "data.targets", outputs, "units in the last layer", check)
    if features is None or targets is None:
        return np.zeros((1, inputs)), np.zeros((1, outputs))
    if len(features) != len(targets):
        check.report("data.targets", f"expected {len(features)} rows (one per input row), found {len(targets)}")
        return np.zeros((1, inputs)), np.zeros((1, outputs))
    return features, targets


def _rows(value: Any, path: str, width: int, what: str, check: Checker) -> FloatArray | None:
    if not isinstance(value, list) or not value or not all(isinstance(row, list) for row in value):
        check.report(path, f"expected a non-empty list of rows of {width} numbers, found {describe(value)}")
        return None
    if len(value) > MAX_SAMPLES:
        check.report(path, f"{len(value):,} rows is more than the {MAX_SAMPLES:,} allowed")
        return None
    lengths = sorted({len(row) for row in value})
    if lengths != [width]:
        check.report(path, f"expected rows of {width} numbers ({what}), found rows of lengths {lengths}")
        return None
    return _finite_array(value, path, check)


def _from_file(
    table: dict[str, Any], check: Checker, base_dir: Path, inputs: int, outputs: int
) -> tuple[FloatArray, FloatArray, str, list[str] | None]:
    empty = np.zeros((1, inputs)), np.zeros((1, outputs))
    file = check.text_value(table, "file", "data.file", "") or ""
    input_columns = table.get("input_columns")
    if not isinstance(input_columns, list) or not all(isinstance(c, str) for c in input_columns):
        check.report("data.input_columns", f"expected a list of {inputs} column names, found {describe(input_columns)}")
        return *empty, file, None
    if len(input_columns) != inputs:
        check.report("data.input_columns", f"expected {inputs} column names (network.inputs), found {len(input_columns)}")
        return *empty, file, None
    has_columns, has_column = "target_columns" in table, "target_column" in table
    if has_columns == has_column:
        check.report("data", "a data file needs exactly one of target_columns (numbers) or target_column (labels)")
        return *empty, file, None
    key = "target_columns" if has_columns else "target_column"
    raw_targets = table[key]
    target_columns = raw_targets if has_columns else [raw_targets]
    if not isinstance(target_columns, list) or not target_columns or not all(isinstance(c, str) for c in target_columns):
        check.report(f"data.{key}", f"expected column names, found {describe(raw_targets)}")
        return *empty, file, None
    path = Path(file) if Path(file).is_absolute() else base_dir / file
    try:
        features, cells = datasets.read_csv(path, input_columns, target_columns)
    except datasets.DataProblem as problem:
        check.report("data.file", str(problem))
        return *empty, file, None
    if has_columns:
        if len(target_columns) != outputs:
            check.report("data.target_columns", f"expected {outputs} columns (units in the last layer), found {len(target_columns)}")
            return *empty, file, None
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
    targets = _encode(np.array([classes.index(label) for label in labels]), len(classes), outputs, "data.target_column", check)
    return features, targets, file, classes if outputs == len(classes) else None


def _encode(labels: np.ndarray, classes: int, outputs: int, path: str, check: Checker) -> FloatArray:
    """Class labels as targets: a 0/1 column for one output unit, one-hot rows otherwise."""
    if outputs == 1 and classes <= 2:
        return labels.reshape(-1, 1).astype(np.float64)
    if outputs != classes:
        check.report(path, f"the data has {classes} classes but the last layer has {outputs} units; expected equal")
        return np.zeros((len(labels), outputs))
    return np.eye(classes)[labels]


def _generated(
    table: dict[str, Any], check: Checker, seed: int, inputs: int, outputs: int
) -> tuple[FloatArray, FloatArray, str, list[str] | None]:
    name = check.choice(table, "generator", "data.generator", datasets.GENERATORS, "xor")
    samples = int(check.number(table, "samples", "data.samples", 200, 1, MAX_SAMPLES, integer=True))
    noise = check.number(table, "noise", "data.noise", 0.1, minimum=0.0, maximum=10.0)
    if inputs != 2:
        check.report("network.inputs", f"generator {name!r} makes 2-D points; expected inputs = 2, found {inputs}")
        return np.zeros((1, inputs)), np.zeros((1, outputs)), name, None
    points, labels = datasets.generate(name, samples, noise, seed)
    targets = _encode(labels, 2, outputs, "data.generator", check)
    return points, targets, f"generator {name} ({samples} samples, noise {noise:g})", None

