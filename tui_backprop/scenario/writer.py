"""Write a scenario back out as TOML, with the network's current weights made explicit.

A trained or hand-edited network can thus be saved and reopened later. The file
is written atomically (a temporary file renamed into place), so a crash never
leaves half a scenario behind, and an existing file is only replaced on request.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tui_backprop.scenario.model import Scenario

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _control(char: str) -> str:
    return f"\\u{ord(char):04x}" if ord(char) < 0x20 or ord(char) == 0x7F else char


def toml_value(value: Any) -> str:
    """A TOML literal for a string, bool, number or (nested) list; floats round-trip exactly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        text = repr(float(value))
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(text, text)
    if isinstance(value, str):
        # TOML basic strings may not hold raw control characters (a title with "\r" would not reopen).
        return '"' + "".join(_ESCAPES.get(char, _control(char)) for char in value) + '"'
    if isinstance(value, np.ndarray):
        return toml_value(value.tolist())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def scenario_toml(scenario: Scenario, params: Mapping[str, Any], learning_rate: float, origin: str) -> str:
    """The TOML text of ``scenario`` with ``params`` as explicit weights and biases.

    Args:
        scenario: The scenario the parameters belong to.
        params: ``W1``, ``b1``, ... as the session holds them.
        learning_rate: The learning rate in force (it may have been edited).
        origin: A line saying where the file came from, written as a comment.
    """
    lines = [f"# {origin}", f"title = {toml_value(scenario.title)}"]
    lines.append(f"description = {toml_value(scenario.description)}")
    lines.append(f"seed = {scenario.seed}")
    lines += ["", "[network]", f"inputs = {scenario.network.inputs}"]
    for number, layer in enumerate(scenario.network.layers, start=1):
        lines += ["", "[[network.layers]]", f"units = {layer.units}", f"activation = {toml_value(layer.activation)}"]
        lines.append(f"weights = {toml_value(params[f'W{number}'])}")
        if layer.use_bias:
            lines.append(f"bias = {toml_value(params[f'b{number}'])}")
        lines += [f"use_bias = {toml_value(layer.use_bias)}", f"train_bias = {toml_value(layer.train_bias)}"]
        lines.append(f"names = {toml_value(list(layer.names))}")
    data = scenario.data
    lines += ["", "[data]", f"# rows from {data.origin}", f"inputs = {toml_value(data.inputs)}"]
    lines += [f"targets = {toml_value(data.targets)}", f"input_names = {toml_value(list(data.input_names))}"]
    lines.append(f"target_names = {toml_value(list(data.target_names))}")
    training = scenario.training
    lines += ["", "[training]"]
    settings: dict[str, Any] = {
        "loss": training.loss,
        "reduction": training.reduction,
        "optimizer": training.optimizer,
        "learning_rate": learning_rate,
        "momentum": training.momentum,
        "beta1": training.beta1,
        "beta2": training.beta2,
        "epsilon": training.epsilon,
        "batch_size": training.batch_size if training.batch_size is not None else "full",
        "shuffle": training.shuffle,
        "max_epochs": training.max_epochs,
        "target_loss": training.target_loss,
    }
    lines += [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    lines += ["", "[debugger]", f"history_mb = {toml_value(scenario.debugger.history_mb)}", ""]
    return "\n".join(lines)


def write_atomically(path: Path, text: str, overwrite: bool = False) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        OSError: The folder is not writable, the disk is full, ...
    """
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
