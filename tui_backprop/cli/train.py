"""``tui-backprop train``: run to convergence without the UI, with a progress bar on a terminal."""

from __future__ import annotations

import json
import time
from typing import TextIO

from tui_backprop.cli.trace import to_lists
from tui_backprop.engine import RunResult, Session, StopReason

PROGRESS_SECONDS = 0.1


def _progress(stream: TextIO, session: Session, max_epochs: int, started: float) -> None:
    done = session.epochs_done
    width = 30
    filled = int(width * done / max_epochs) if max_epochs else width
    loss = f"{session.epoch_losses[-1]:.6g}" if session.epoch_losses else "-"
    elapsed = time.perf_counter() - started
    stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] epoch {done}/{max_epochs}  loss {loss}  {elapsed:.1f}s ")
    stream.flush()


def train(session: Session, max_epochs: int, as_json: bool, out: TextIO, err: TextIO) -> int:
    """Run ``session`` until it converges, diverges or reaches ``max_epochs``; print a summary.

    Returns:
        The exit code: 0, or 1 if training diverged.
    """
    show_progress = err.isatty() and not as_json
    started = time.perf_counter()
    training_seconds = 0.0
    steps = 0
    while True:
        slice_start = time.perf_counter()
        result: RunResult = session.run(max_epochs=max_epochs, seconds=PROGRESS_SECONDS if show_progress else None)
        training_seconds += time.perf_counter() - slice_start
        steps += result.steps
        if show_progress:
            _progress(err, session, max_epochs, started)
        if result.reason is not StopReason.TIME_LIMIT:
            break
    if show_progress:
        err.write("\n")
    loss = session.epoch_losses[-1] if session.epoch_losses else None
    rate = steps / training_seconds if training_seconds > 0 else 0.0
    if as_json:
        summary = {
            "epochs": session.epochs_done,
            "steps": session.steps_done,
            "loss": loss,
            "stop_reason": str(result.reason),
            "message": result.message,
            "seconds": training_seconds,
            "steps_per_second": rate,
            "loss_history": session.epoch_losses,
            "params": {name: to_lists(value) for name, value in session.params.items()},
        }
        out.write(json.dumps(summary) + "\n")
    else:
        out.write(
            f"{session.scenario.title}\n"
            f"stopped: {result.message}\n"
            f"epochs: {session.epochs_done}   steps: {session.steps_done}   final loss: "
            f"{'-' if loss is None else f'{loss:.6g}'}\n"
            f"time: {training_seconds:.3f} s   {rate:,.0f} steps/s\n"
        )
    return 1 if result.reason is StopReason.DIVERGED else 0
