"""``tui-backprop trace``: every op of the first training steps, as text that reads like a worked example, or JSON.

The JSON form is a stable public interface (see docs/scenario-format.md).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from tui_backprop.engine import OpRecord, Session
from tui_backprop.naming import Naming
from tui_backprop.numbers import format_number


def to_lists(value: Any) -> Any:
    """A numpy value as plain nested lists / floats, for JSON."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def trace_steps(session: Session, steps: int) -> list[tuple[list[OpRecord], dict[str, Any]]]:
    """Execute ``steps`` training steps op by op, from a step boundary.

    Returns:
        Per step, its op records and the parameters after its update.
    """
    traced = []
    for _ in range(steps):
        records = [session.step() for _ in range(session.ops_per_step)]
        traced.append((records, session.params))
    return traced


def trace_json(session: Session, steps: int) -> str:
    """The JSON trace of the first ``steps`` steps."""
    out_steps = []
    for records, params in trace_steps(session, steps):
        values = {name: value for record in records for name, value in record.writes.items()}
        grads = {name: to_lists(values[f"d{name}"]) for name in params if f"d{name}" in values}
        out_steps.append(
            {
                "epoch": records[0].epoch + 1,
                "step": records[0].step + 1,
                "samples": to_lists(values["rows"]),
                "ops": [
                    {
                        "phase": str(record.op.phase),
                        "layer": record.op.layer,
                        "name": record.op.kind,
                        "formula": record.op.formula,
                        "writes": {name: to_lists(value) for name, value in record.writes.items()},
                    }
                    for record in records
                ],
                "loss": float(values["loss"]),
                "grads": grads,
                "params_after": {name: to_lists(value) for name, value in params.items()},
            }
        )
    final = {
        "epoch": session.epochs_done,
        "step": session.steps_done,
        "loss": session.step_losses[-1] if session.step_losses else None,
        "params": {name: to_lists(value) for name, value in session.params.items()},
    }
    return json.dumps({"scenario": session.scenario.title, "steps": out_steps, "final": final}, indent=1)


def _describe(name: str, value: Any, naming: Naming, digits: int) -> list[str]:
    """Lines showing one value node by node, e.g. ``  a1[h1] = 0.5933``."""
    array = np.asarray(value)
    if array.ndim == 0:
        return [f"  {name} = {format_number(float(array), digits).strip()}"]
    if name == "rows":
        return [f"  samples = {', '.join(str(int(i)) for i in array)}"]
    columns = naming.columns(name)
    rows = naming.rows(name)
    lines = []
    if array.ndim == 1:
        labels = columns if columns and len(columns) == len(array) else [str(i + 1) for i in range(len(array))]
        what = "sample " if columns is None else ""
        cells = [
            f"{name}[{what}{label}] = {format_number(float(v), digits).strip()}"
            for label, v in zip(labels, array, strict=True)
        ]
        return ["  " + "   ".join(cells)]
    for row_index, row in enumerate(array):
        row_label = rows[row_index] if rows else f"sample {row_index + 1}"
        labels = columns or tuple(str(i + 1) for i in range(len(row)))
        cells = [
            f"{name}[{label}] = {format_number(float(v), digits).strip()}" for label, v in zip(labels, row, strict=True)
        ]
        prefix = f"  {row_label}:" if not rows else f"  from {row_label}:"
        lines.append(prefix + " " + "   ".join(cells))
    return lines


def trace_text(session: Session, steps: int, digits: int = 6) -> str:
    """The text trace of the first ``steps`` steps: each op's formula, then its values node by node."""
    naming = Naming(session.scenario)
    lines = [session.scenario.title, ""]
    for records, _ in trace_steps(session, steps):
        first = records[0]
        lines.append(
            f"== step {first.step + 1} (epoch {first.epoch + 1}, batch "
            f"{first.step % session.batches_per_epoch + 1} of {session.batches_per_epoch}) =="
        )
        for record in records:
            op = record.op
            lines.append(f"[{op.phase:<8}] {op.formula}")
            for name, value in record.writes.items():
                if name != "step":
                    lines.extend(_describe(name, value, naming, digits))
        lines.append("")
    return "\n".join(lines)
