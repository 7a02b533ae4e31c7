"""Validated, immutable scenario records: what the loader produces and the engine consumes.

Arrays held here are read-only, so a scenario can be shared between sessions and
threads without anyone changing it underneath the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the network (the input layer is not a layer).

    Attributes:
        units: Number of nodes.
        activation: Key into the engine's activation table.
        weights: Explicit initial weights, shaped (inputs, units), or None to initialise.
        bias: Explicit initial biases, shaped (units,), or None for zeros.
        use_bias: False means the layer has no bias term at all.
        train_bias: False keeps the bias fixed during training.
        names: One display label per unit.
        init: Initialiser used when ``weights`` is None.
        init_scale: The initialiser's parameter (gain, std, half-width or value).
    """

    units: int
    activation: str
    weights: FloatArray | None
    bias: FloatArray | None
    use_bias: bool
    train_bias: bool
    names: tuple[str, ...]
    init: str
    init_scale: float


@dataclass(frozen=True)
class NetworkSpec:
    """The layer stack: ``inputs`` features feeding ``layers`` in order."""

    inputs: int
    layers: tuple[LayerSpec, ...]


@dataclass(frozen=True)
class Dataset:
    """All training rows, already numeric.

    Attributes:
        inputs: Shaped (samples, inputs).
        targets: Shaped (samples, outputs); class labels arrive one-hot encoded.
        input_names: One label per input column.
        target_names: One label per target column.
        origin: Where the rows came from, for display ("inline", a file, a generator).
    """

    inputs: FloatArray
    targets: FloatArray
    input_names: tuple[str, ...]
    target_names: tuple[str, ...]
    origin: str


@dataclass(frozen=True)
class TrainingSpec:
    """How one training step is computed and when a run stops.

    ``batch_size`` is None for full-batch training.
    """

    loss: str
    reduction: str
    optimizer: str
    learning_rate: float
    momentum: float
    beta1: float
    beta2: float
    epsilon: float
    batch_size: int | None
    shuffle: bool
    max_epochs: int
    target_loss: float


@dataclass(frozen=True)
class DebuggerSpec:
    """Settings of the interactive debugger that travel with a scenario."""

    history_mb: float


@dataclass(frozen=True)
class Scenario:
    """A whole scenario file, validated.

    Attributes:
        name: Short name (the file's stem), e.g. ``xor``.
        title: One-line title.
        description: Free text shown in the app.
        seed: Drives initialisation, shuffling and generated data.
        network: Layer stack.
        data: Training rows.
        training: Loss, optimizer and stopping rules.
        debugger: Debugger settings.
        source: The file it was read from, if any.
    """

    name: str
    title: str
    description: str
    seed: int
    network: NetworkSpec
    data: Dataset
    training: TrainingSpec
    debugger: DebuggerSpec
    source: Path | None

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Units per layer including the input layer, e.g. (2, 2, 1)."""
        return (self.network.inputs, *(layer.units for layer in self.network.layers))
