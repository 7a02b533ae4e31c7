"""Time travel after a long run: how fast going back and jumping are, and what the history costs.

For XOR and the 64-32-10 digits scenario, after 10,000 training steps:

* the median latency of ``S`` (``Session.back``: one op back, rebuilt by replay from the
  nearest checkpoint), consecutively from the end and at random places;
* the median latency of a jump (``Session.goto``) to a random step, including the
  re-execution, in random order, and split into jumps backwards and forwards;
* the history's memory: its own account (``history.nbytes``, checked against the budget)
  and the tracemalloc peak of the whole run above what the session held before it;
* run throughput with the history on (the default budget) against off (``history_mb=0``).

Targets (issue 4): <= 50 ms per back step or jump, history <= 64 MiB for 10,000 steps of
64-32-10, throughput with history >= 0.8x without.

``--start-spacing K`` starts the history with a checkpoint every K steps instead of the engine's
default (the budget still doubles it when full), to weigh memory against going-back latency.

    python benchmarks/history.py [--steps 10000] [--samples 200] [--seed 0] [--start-spacing 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tui_backprop.engine import Session
from tui_backprop.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
NO_END = ["training.max_epochs=100000000", "training.target_loss=0"]
TARGET_MS = 50.0
TARGET_HISTORY_MIB = 64.0
TARGET_RATIO = 0.8


def digits() -> Scenario:
    """The shipped 64-32-10 scenario (scenarios/digits.toml), set never to stop on its own."""
    return load_scenario(SCENARIOS / "digits.toml", NO_END)


START_SPACING: int | None = None  # set from --start-spacing; None = the engine's default


def new_session(scenario: Scenario, history_mb: float | None = None) -> Session:
    """A fresh session whose history starts at ``START_SPACING`` steps between checkpoints."""
    return Session(scenario, history_mb=history_mb, history_spacing=START_SPACING)


def median_ms(action: Callable[[], object], setups: list[Callable[[], object]]) -> float:
    """Median wall time of ``action`` in milliseconds, each run after its (untimed) setup."""
    times = []
    for setup in setups:
        setup()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def throughput(scenario: Scenario, steps: int, history_mb: float | None, repeats: int = 3) -> float:
    """Best-of-``repeats`` steps per second of ``run_steps`` from the start."""
    best = 0.0
    for _ in range(repeats):
        session = new_session(scenario, history_mb)
        start = time.perf_counter()
        session.run_steps(steps)
        best = max(best, steps / (time.perf_counter() - start))
    return best


def history_memory(scenario: Scenario, steps: int) -> tuple[int, int, int, int]:
    """(history.nbytes, budget, checkpoint spacing, tracemalloc peak above the start) after ``steps``."""
    session = new_session(scenario)
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    session.run_steps(steps)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return session.history.nbytes, session.history.budget_bytes or 0, session.history.spacing, peak - baseline


def bench(name: str, scenario: Scenario, steps: int, samples: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    session = new_session(scenario)
    count = session.ops_per_step
    session.run_steps(steps)
    end = session.position

    def back() -> None:
        session.back()

    # S from the end, one op after another (across step boundaries), then at random places.
    s_consecutive = median_ms(back, [lambda: None] * samples)
    places = [int(p) for p in rng.integers(1, end + 1, samples)]
    s_random = median_ms(back, [lambda p=p: session.goto(p) for p in places])

    # Jumps to a random step, in random order (so some go back and some forward).
    targets = [int(step) * count for step in rng.integers(0, steps + 1, samples)]
    directions: list[bool] = []
    times: list[float] = []
    session.goto(end)
    for target in targets:
        directions.append(target > session.position)
        start = time.perf_counter()
        session.goto(target)
        times.append(time.perf_counter() - start)
    jump = statistics.median(times) * 1000
    forward = [t for t, ahead in zip(times, directions, strict=True) if ahead]
    backward = [t for t, ahead in zip(times, directions, strict=True) if not ahead]
    jump_back = statistics.median(backward) * 1000 if backward else float("nan")
    jump_forward = statistics.median(forward) * 1000 if forward else float("nan")

    nbytes, budget, spacing, peak = history_memory(scenario, steps)
    with_history = throughput(scenario, steps, None)
    without = throughput(scenario, steps, 0)
    print(f"\n{name}: {scenario.layer_sizes} after {steps:,} steps ({count} ops a step)")
    print(f"  S (back one op), consecutive from the end   {s_consecutive:8.3f} ms median")
    print(f"  S at {samples} random places                    {s_random:8.3f} ms median")
    print(f"  jump to a random step (random order)        {jump:8.3f} ms median")
    print(f"    backwards ({len(backward):3d} jumps)                     {jump_back:8.3f} ms median")
    print(f"    forwards  ({len(forward):3d} jumps)                     {jump_forward:8.3f} ms median")
    print(
        f"  history: {nbytes / 2**20:.2f} MiB of {budget / 2**20:.0f} MiB budget, a checkpoint every {spacing} step(s);"
        f" tracemalloc peak of the run {peak / 2**20:.2f} MiB"
    )
    print(
        f"  throughput: {with_history:,.0f} steps/s with history, {without:,.0f} without"
        f" -> ratio {with_history / without:.2f}"
    )
    return {
        "s": max(s_consecutive, s_random),
        "jump": jump,
        "jump_forward": jump_forward,
        "history_mib": max(nbytes, peak) / 2**20,
        "ratio": with_history / without,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start-spacing", type=int, default=None, help="default: the engine's own")
    args = parser.parse_args()
    global START_SPACING
    START_SPACING = args.start_spacing
    xor = bench("XOR", load_scenario(SCENARIOS / "xor.toml", NO_END), args.steps, args.samples, args.seed)
    big = bench("64-32-10", digits(), args.steps, args.samples, args.seed)

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print("\nTargets")
    for name, result in (("XOR", xor), ("64-32-10", big)):
        print(
            f"  {name:9s} S {result['s']:.3f} ms ({result['s'] / TARGET_MS:.2f}x of {TARGET_MS:.0f} ms) {verdict(result['s'] <= TARGET_MS)}"
        )
        print(
            f"  {name:9s} jump {result['jump']:.3f} ms ({result['jump'] / TARGET_MS:.2f}x) {verdict(result['jump'] <= TARGET_MS)};"
            f" forward jumps alone {result['jump_forward']:.3f} ms {verdict(result['jump_forward'] <= TARGET_MS)}"
        )
        print(
            f"  {name:9s} throughput ratio {result['ratio']:.2f} (target >= {TARGET_RATIO}) {verdict(result['ratio'] >= TARGET_RATIO)}"
        )
    mib = big["history_mib"]
    print(
        f"  64-32-10  history {mib:.2f} MiB ({mib / TARGET_HISTORY_MIB:.2f}x of {TARGET_HISTORY_MIB:.0f} MiB)"
        f" {verdict(mib <= TARGET_HISTORY_MIB)}"
    )


if __name__ == "__main__":
    main()
