"""Engine throughput: the session's fast path next to a hand-written fused numpy loop of the same math.

Run from the repository root::

    python benchmarks/engine_throughput.py [--repeats 7] [--xor-steps 20000] [--digits-steps 3000] [--clock wall|cpu]

For XOR (``scenarios/xor.toml``: 2-2-1 sigmoid, full batch, half_sse, sgd) and the handwritten
digits (``scenarios/digits.toml``: 64-32-10 tanh + softmax, 1797 rows, shuffled batches of 32,
momentum), it times ``Session(scenario, history_mb=0).run_steps(N)`` — the loop behind
``tui-backprop train`` — and a plain numpy loop written out by hand that does exactly the same
floating-point operations in the same order (same initial parameters, same shuffled batches, same
per-step and per-epoch losses). Both run in this process, interleaved, ``--repeats`` times; the best
time of each counts. Before timing, the final parameters and loss histories of both are asserted
equal bit for bit, so the comparison is of machinery, not of math.

The target from issue 2 is engine/fused >= 0.9 on both.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tui_backprop.engine import Session
from tui_backprop.engine.network import initial_parameters
from tui_backprop.scenario import Scenario, load_scenario

FloatArray = NDArray[np.float64]
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@dataclass
class Outcome:
    """What a training loop ends with: parameters and loss histories."""

    params: dict[str, FloatArray]
    step_losses: list[float]
    epoch_losses: list[float]


# --------------------------------------------------------------------------- the fused loops


def fused_xor(scenario: Scenario, steps: int) -> Outcome:
    """2-2-1 sigmoid, half_sse averaged over the batch, sgd, full batch: every op written out."""
    assert scenario.training.batch_size is None and scenario.training.optimizer == "sgd"
    params = initial_parameters(scenario)
    w1, b1, w2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    x, y = scenario.data.inputs, scenario.data.targets
    learning_rate = scenario.training.learning_rate
    step_losses: list[float] = []
    for _ in range(steps):
        z1 = x @ w1 + b1
        a1 = 1.0 / (1.0 + np.exp(-z1))
        z2 = a1 @ w2 + b2
        a2 = 1.0 / (1.0 + np.exp(-z2))
        losses = 0.5 * np.sum((a2 - y) ** 2, axis=1)
        loss = np.mean(losses)
        error = a2 - y
        delta2 = error / len(error) * (a2 * (1.0 - a2))
        dw2 = a1.T @ delta2
        db2 = delta2.sum(axis=0)
        delta1 = (delta2 @ w2.T) * (a1 * (1.0 - a1))
        dw1 = x.T @ delta1
        db1 = delta1.sum(axis=0)
        w1 = w1 - learning_rate * dw1
        b1 = b1 - learning_rate * db1
        w2 = w2 - learning_rate * dw2
        b2 = b2 - learning_rate * db2
        step_losses.append(float(loss))
    # Full batch: one step per epoch, so the epoch losses are the step losses.
    return Outcome({"W1": w1, "b1": b1, "W2": w2, "b2": b2}, step_losses, list(step_losses))


def fused_digits(scenario: Scenario, steps: int) -> Outcome:
    """64-32-10 tanh + softmax/cross-entropy (fused δ = ŷ − y), mean, momentum, shuffled mini-batches."""
    training = scenario.training
    assert training.optimizer == "momentum" and training.reduction == "mean" and training.shuffle
    params = initial_parameters(scenario)
    w1, b1, w2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    v_w1, v_b1, v_w2, v_b2 = (np.zeros_like(p) for p in (w1, b1, w2, b2))
    inputs, targets = scenario.data.inputs, scenario.data.targets
    samples, batch_size = len(inputs), training.batch_size or len(inputs)
    batches_per_epoch = math.ceil(samples / batch_size)
    learning_rate, momentum = training.learning_rate, training.momentum
    step_losses: list[float] = []
    epoch_losses: list[float] = []
    batches: list[tuple[FloatArray, FloatArray]] = []
    parts: list[FloatArray] = []
    for step in range(steps):
        epoch, index = divmod(step, batches_per_epoch)
        if index == 0:  # a new epoch: a new permutation, drawn from (seed, epoch) like the engine's
            order = np.random.default_rng([scenario.seed, 1, epoch]).permutation(samples)
            slices = [order[start : start + batch_size] for start in range(0, samples, batch_size)]
            batches = [(inputs[rows], targets[rows]) for rows in slices]
        x, y = batches[index]
        z1 = x @ w1 + b1
        a1 = np.tanh(z1)
        z2 = a1 @ w2 + b2
        exp = np.exp(z2 - z2.max(axis=-1, keepdims=True))
        a2 = exp / exp.sum(axis=-1, keepdims=True)
        losses = -np.sum(y * np.log(a2), axis=1)
        loss = np.mean(losses)
        error = a2 - y
        delta2 = error / len(error)
        dw2 = a1.T @ delta2
        db2 = delta2.sum(axis=0)
        delta1 = (delta2 @ w2.T) * (1.0 - a1 * a1)
        dw1 = x.T @ delta1
        db1 = delta1.sum(axis=0)
        v_w1 = momentum * v_w1 - learning_rate * dw1
        w1 = w1 + v_w1
        v_b1 = momentum * v_b1 - learning_rate * db1
        b1 = b1 + v_b1
        v_w2 = momentum * v_w2 - learning_rate * dw2
        w2 = w2 + v_w2
        v_b2 = momentum * v_b2 - learning_rate * db2
        b2 = b2 + v_b2
        step_losses.append(float(loss))
        parts.append(losses)
        if index == batches_per_epoch - 1:
            epoch_losses.append(float(np.mean(np.concatenate(parts))))
            parts = []
    return Outcome({"W1": w1, "b1": b1, "W2": w2, "b2": b2}, step_losses, epoch_losses)


# --------------------------------------------------------------------------- the engine and the timing


def engine(scenario: Scenario, steps: int) -> Outcome:
    """The engine's fast path with no history, as ``tui-backprop train`` runs it."""
    session = Session(scenario, history_mb=0)
    result = session.run_steps(steps)
    assert result.steps == steps, result.message
    return Outcome(dict(session.params), list(session.step_losses), list(session.epoch_losses))


def assert_identical(engine_outcome: Outcome, fused_outcome: Outcome, name: str) -> None:
    """Same parameters and losses, bit for bit: the fused loop really is the same math."""
    assert engine_outcome.params.keys() == fused_outcome.params.keys(), name
    for key, value in engine_outcome.params.items():
        assert np.array_equal(value, fused_outcome.params[key]), f"{name}: {key} differs from the fused loop"
    assert engine_outcome.step_losses == fused_outcome.step_losses, f"{name}: step losses differ"
    assert engine_outcome.epoch_losses == fused_outcome.epoch_losses, f"{name}: epoch losses differ"


def timed(run: Callable[[], object], clock: Callable[[], float], timings: list[float]) -> None:
    started = clock()
    run()
    timings.append(clock() - started)


def compare(
    name: str,
    scenario: Scenario,
    fused: Callable[[Scenario, int], Outcome],
    steps: int,
    repeats: int,
    clock: Callable[[], float],
) -> float:
    """Check equality, time both loops ``repeats`` times (interleaved), print steps/s; return the ratio."""
    assert_identical(engine(scenario, steps), fused(scenario, steps), name)
    engine_times: list[float] = []
    fused_times: list[float] = []
    for _ in range(repeats):
        timed(lambda: engine(scenario, steps), clock, engine_times)
        timed(lambda: fused(scenario, steps), clock, fused_times)
    engine_rate, fused_rate = steps / min(engine_times), steps / min(fused_times)
    ratio = engine_rate / fused_rate
    print(
        f"{name:<8} {steps:>7} steps   engine {engine_rate:>10,.0f} steps/s   fused {fused_rate:>10,.0f} steps/s"
        f"   engine/fused {ratio:.3f}   (median ratio {np.median(fused_times) / np.median(engine_times):.3f})"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each loop; the best counts")
    parser.add_argument("--xor-steps", type=int, default=20_000)
    parser.add_argument("--digits-steps", type=int, default=3_000)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: time.perf_counter; cpu: time.process_time (steadier on a busy machine)",
    )
    args = parser.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(
        f"bit-identical final parameters and losses checked before timing; best of {args.repeats}, {args.clock} clock"
    )
    ratios = [
        compare("xor", load_scenario(SCENARIOS / "xor.toml"), fused_xor, args.xor_steps, args.repeats, clock),
        compare(
            "digits", load_scenario(SCENARIOS / "digits.toml"), fused_digits, args.digits_steps, args.repeats, clock
        ),
    ]
    print("target engine/fused >= 0.9:", "met" if min(ratios) >= 0.9 else "NOT met")


if __name__ == "__main__":
    main()
