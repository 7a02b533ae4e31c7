"""Initial parameters of a scenario's network, drawn from the scenario's seed.

Explicit weights and biases from the file are used as they are; the others come
from the named initialiser, so the same file always starts from the same network.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tui_backprop.scenario.model import LayerSpec, Scenario

FloatArray = NDArray[np.float64]


def weight_name(layer: int) -> str:
    """``W2`` for layer 2 (layers count from 1)."""
    return f"W{layer}"


def bias_name(layer: int) -> str:
    """``b2`` for layer 2."""
    return f"b{layer}"


def _draw(layer: LayerSpec, fan_in: int, rng: np.random.Generator) -> FloatArray:
    shape = (fan_in, layer.units)
    scale = layer.init_scale
    if layer.init == "xavier":  # Glorot & Bengio's uniform limit, times a gain
        limit = scale * np.sqrt(6.0 / (fan_in + layer.units))
        return rng.uniform(-limit, limit, size=shape)
    if layer.init == "he":  # He et al.'s normal, suited to ReLU layers
        return rng.normal(0.0, scale * np.sqrt(2.0 / fan_in), size=shape)
    if layer.init == "normal":
        return rng.normal(0.0, scale, size=shape)
    if layer.init == "uniform":
        return rng.uniform(-scale, scale, size=shape)
    if layer.init == "zeros":
        return np.zeros(shape)
    return np.full(shape, scale)  # constant


def initial_parameters(scenario: Scenario) -> dict[str, FloatArray]:
    """Weights ``W1..WL`` shaped (inputs, units) and biases ``b1..bL`` (only for layers with a bias).

    Args:
        scenario: The validated scenario.

    Returns:
        Fresh, read-only arrays keyed by parameter name.
    """
    rng = np.random.default_rng(scenario.seed)
    parameters: dict[str, FloatArray] = {}
    fan_in = scenario.network.inputs
    for number, layer in enumerate(scenario.network.layers, start=1):
        weights = layer.weights if layer.weights is not None else _draw(layer, fan_in, rng)
        parameters[weight_name(number)] = weights
        if layer.use_bias:
            parameters[bias_name(number)] = layer.bias if layer.bias is not None else np.zeros(layer.units)
        fan_in = layer.units
    for array in parameters.values():
        array.setflags(write=False)
    return parameters
