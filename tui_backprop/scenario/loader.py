"""Read a scenario TOML file (plus ``--set`` overrides) into a validated ``Scenario``.

Every key is checked; all problems are collected and raised together as one
``ScenarioError``. Files are data only: nothing in them is executed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from tui_backprop.engine.ops import ACTIVATION_ALIASES, ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZERS, REDUCTIONS
from tui_backprop.scenario.checker import Checker, describe, is_number
from tui_backprop.scenario.data_table import data_table, empty_data, finite_array, plural
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
# Rows of one batch times the units of all layers: each step keeps a few arrays of this size
# (pre-activations, activations, their gradients), so 25 million values is about 200 MB each.
MAX_BATCH_VALUES = 25_000_000

TOP_KEYS = ("title", "description", "seed", "network", "data", "training", "debugger")
NETWORK_KEYS = ("inputs", "init", "init_scale", "layers")
LAYER_KEYS = ("units", "activation", "weights", "bias", "use_bias", "train_bias", "names")
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
    data_raw = check.table(raw, "data", "", required=True)
    if isinstance(raw.get("data"), dict):
        data = data_table(
            data_raw,
            check,
            base_dir,
            seed,
            inputs if inputs_known else None,
            output_units if outputs_known else None,
        )
        _check_batch_memory(layers, len(data.inputs), training, check)
    else:
        features, targets = empty_data(inputs, output_units)
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
    expected = f"expected {plural(rows, 'row')} (one per input) of {plural(cols, 'number')} (one per unit)"
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        check.report(path, f"{expected}, found {describe(value)}")
        return None
    if len(value) != rows or any(len(row) != cols for row in value):
        found = f"{len(value)} rows of lengths {sorted({len(row) for row in value})}"
        check.report(path, f"{expected}, found {found}")
        return None
    return finite_array(value, path, check)


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
            path, f"expected one number or a list of {plural(units, 'number')} (one per unit), found {describe(value)}"
        )
        return None
    return finite_array(value, path, check, rows=False)
