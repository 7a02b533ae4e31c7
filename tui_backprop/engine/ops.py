"""The op table: every activation, loss and optimizer with its forward rule and its derivative side by side.

Adding an activation, a loss or an optimizer means adding one entry here; the
program builder, the scenario validator and the display all read these tables.
All functions are pure: they return new arrays and never write into their inputs,
which is what lets the debugger keep references to old values instead of copies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

LEAKY_RELU_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An activation f with its derivative.

    Attributes:
        name: Key used in scenario files.
        symbol: Short label used in formulas, e.g. ``σ``.
        definition: f(z) in words a learner reads, e.g. ``1/(1+e^−z)``.
        derivative_text: f'(z) in the form the engine computes it, e.g. ``a⊙(1−a)``.
        forward: a = f(z), row-wise for softmax, element-wise otherwise.
        derivative: f'(z) from (z, a); None where f has no element-wise derivative (softmax).
    """

    name: str
    symbol: str
    definition: str
    derivative_text: str
    forward: Callable[[FloatArray], FloatArray]
    derivative: Callable[[FloatArray, FloatArray], FloatArray] | None


# Each activation's rule and its derivative side by side. Derivatives take (z, a) and use whichever is
# cheaper; one-expression bodies let the fast run inline them (see ``inliner``).


def _identity(z: FloatArray) -> FloatArray:
    return z


def _identity_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return np.ones_like(z)


def _sigmoid(z: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-z))


def _sigmoid_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return a * (1.0 - a)


def _tanh_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return 1.0 - a * a


def _relu(z: FloatArray) -> FloatArray:
    return np.maximum(z, 0.0)


def _relu_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return np.where(z > 0.0, 1.0, 0.0)


def _leaky_relu(z: FloatArray) -> FloatArray:
    return np.where(z > 0.0, z, LEAKY_RELU_SLOPE * z)


def _leaky_relu_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return np.where(z > 0.0, 1.0, LEAKY_RELU_SLOPE)


def _softmax(z: FloatArray) -> FloatArray:
    # Subtracting the row maximum changes nothing mathematically and avoids overflow.
    shifted = np.exp(z - z.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


ACTIVATIONS: dict[str, Activation] = {
    activation.name: activation
    for activation in (
        Activation("identity", "id", "z", "1", _identity, _identity_slope),
        Activation("sigmoid", "σ", "1/(1+e^−z)", "a⊙(1−a)", _sigmoid, _sigmoid_slope),
        Activation("tanh", "tanh", "tanh(z)", "1−a²", np.tanh, _tanh_slope),
        Activation("relu", "relu", "max(0, z)", "[z>0]", _relu, _relu_slope),
        Activation(
            "leaky_relu",
            "lrelu",
            f"z if z>0 else {LEAKY_RELU_SLOPE}·z",
            f"1 if z>0 else {LEAKY_RELU_SLOPE}",
            _leaky_relu,
            _leaky_relu_slope,
        ),
        Activation("softmax", "softmax", "e^z / Σe^z", "(fused with cross-entropy)", _softmax, None),
    )
}
ACTIVATION_ALIASES = {"linear": "identity"}


@dataclass(frozen=True)
class Loss:
    """A per-sample loss ℓ(ŷ, y), summed or averaged over the output units.

    Attributes:
        name: Key used in scenario files.
        formula: ℓ per sample, e.g. ``½Σk(ŷ−y)²``.
        gradient_text: ∂ℓ/∂ŷ per sample, e.g. ``ŷ−y``.
        per_sample: Returns ℓ for each row, shape (batch,).
        gradient: Returns ∂ℓ/∂ŷ, shape (batch, outputs).
    """

    name: str
    formula: str
    gradient_text: str
    per_sample: Callable[[FloatArray, FloatArray], FloatArray]
    gradient: Callable[[FloatArray, FloatArray], FloatArray]


# Each loss per sample (out: the network output ŷ, y: the targets) and its gradient ∂ℓ/∂ŷ side by side.


def _sse(out: FloatArray, y: FloatArray) -> FloatArray:
    return np.sum((out - y) ** 2, axis=1)


def _sse_gradient(out: FloatArray, y: FloatArray) -> FloatArray:
    return 2.0 * (out - y)


def _half_sse(out: FloatArray, y: FloatArray) -> FloatArray:
    return 0.5 * np.sum((out - y) ** 2, axis=1)


def _half_sse_gradient(out: FloatArray, y: FloatArray) -> FloatArray:
    return out - y


def _mse(out: FloatArray, y: FloatArray) -> FloatArray:
    return np.mean((out - y) ** 2, axis=1)


def _mse_gradient(out: FloatArray, y: FloatArray) -> FloatArray:
    return 2.0 * (out - y) / out.shape[1]


def _half_mse(out: FloatArray, y: FloatArray) -> FloatArray:
    return 0.5 * np.mean((out - y) ** 2, axis=1)


def _half_mse_gradient(out: FloatArray, y: FloatArray) -> FloatArray:
    return (out - y) / out.shape[1]


def _bce(out: FloatArray, y: FloatArray) -> FloatArray:
    return -np.sum(y * np.log(out) + (1.0 - y) * np.log(1.0 - out), axis=1)


def _bce_gradient(out: FloatArray, y: FloatArray) -> FloatArray:
    return (out - y) / (out * (1.0 - out))


def _cross_entropy(out: FloatArray, y: FloatArray) -> FloatArray:
    return -np.sum(y * np.log(out), axis=1)


def _cross_entropy_gradient(out: FloatArray, y: FloatArray) -> FloatArray:
    return -y / out


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("sse", "Σk(ŷ−y)²", "2(ŷ−y)", _sse, _sse_gradient),
        Loss("half_sse", "½Σk(ŷ−y)²", "ŷ−y", _half_sse, _half_sse_gradient),
        Loss("mse", "meank(ŷ−y)²", "2(ŷ−y)/K", _mse, _mse_gradient),
        Loss("half_mse", "½·meank(ŷ−y)²", "(ŷ−y)/K", _half_mse, _half_mse_gradient),
        Loss("bce", "−Σk[y·ln ŷ + (1−y)·ln(1−ŷ)]", "(ŷ−y)/(ŷ(1−ŷ))", _bce, _bce_gradient),
        Loss("cross_entropy", "−Σk y·ln ŷ", "−y/ŷ", _cross_entropy, _cross_entropy_gradient),
    )
}

REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class OptimizerSettings:
    """The hyper-parameters an update rule may read."""

    learning_rate: float
    momentum: float
    beta1: float
    beta2: float
    epsilon: float


UpdateRule = Callable[
    [FloatArray, FloatArray, tuple[FloatArray, ...], OptimizerSettings, int],
    tuple[FloatArray, tuple[FloatArray, ...]],
]


@dataclass(frozen=True)
class Optimizer:
    """An update rule: the step Δθ from (θ, ∂L/∂θ, state); the engine then sets θ ← θ + Δθ.

    Returning the step rather than the new θ lets the debugger show Δθ exactly; θ + (−η·g) is
    bit-identical to θ − η·g in IEEE arithmetic.

    Attributes:
        name: Key used in scenario files.
        state_names: Per-parameter state it keeps, e.g. ``("v",)`` for momentum's velocity.
        formulas: Each line of the rule, in order, as templates: ``{p}`` is the parameter, ``{g}`` its
            gradient and ``{v}``, ``{m}``, ``{s}`` its state entries.
        update: (θ, g, state, settings, t) -> (Δθ, new state); t counts updates from 1.
    """

    name: str
    state_names: tuple[str, ...]
    formulas: tuple[str, ...]
    update: UpdateRule


def _sgd(
    param: FloatArray, grad: FloatArray, state: tuple[FloatArray, ...], settings: OptimizerSettings, t: int
) -> tuple[FloatArray, tuple[FloatArray, ...]]:
    # g·(−η) is bit-identical to −(η·g) and costs one array operation instead of two.
    return grad * -settings.learning_rate, state


def _momentum(
    param: FloatArray, grad: FloatArray, state: tuple[FloatArray, ...], settings: OptimizerSettings, t: int
) -> tuple[FloatArray, tuple[FloatArray, ...]]:
    velocity = settings.momentum * state[0] - settings.learning_rate * grad
    return velocity, (velocity,)


def _adam(
    param: FloatArray, grad: FloatArray, state: tuple[FloatArray, ...], settings: OptimizerSettings, t: int
) -> tuple[FloatArray, tuple[FloatArray, ...]]:
    first = settings.beta1 * state[0] + (1.0 - settings.beta1) * grad
    second = settings.beta2 * state[1] + (1.0 - settings.beta2) * grad * grad
    first_hat = first / (1.0 - settings.beta1**t)
    second_hat = second / (1.0 - settings.beta2**t)
    return first_hat * -settings.learning_rate / (np.sqrt(second_hat) + settings.epsilon), (first, second)


OPTIMIZERS: dict[str, Optimizer] = {
    optimizer.name: optimizer
    for optimizer in (
        Optimizer("sgd", (), ("{p} ← {p} − η·{g}",), _sgd),
        Optimizer("momentum", ("v",), ("{v} ← μ·{v} − η·{g}", "{p} ← {p} + {v}"), _momentum),
        Optimizer(
            "adam",
            ("m", "s"),
            (
                "{m} ← β1·{m} + (1−β1)·{g}",
                "{s} ← β2·{s} + (1−β2)·{g}²",
                "{p} ← {p} − η·m̂/(√ŝ + ε),  m̂ = {m}/(1−β1ᵗ), ŝ = {s}/(1−β2ᵗ)",
            ),
            _adam,
        ),
    )
}

INITIALIZERS = ("xavier", "he", "normal", "uniform", "zeros", "constant")
