"""Explain one op for one node or weight: the formula, the same formula with live numbers, the result.

This is how the articles the project grew from teach backprop ("δ = −(0.9 − 0.7164) · 0.7164·(1 −
0.7164) · 0.5399 = ..."). Every op kind, activation, loss, reduction and optimizer has its form, one
module per family of ops (``forward``, ``loss``, ``backward``, ``update``); this module picks the form
for an op and gathers the value tables it reads. The numbers come from the session's value table (for an op not yet run, from running it on a copy),
so the result shown is always the engine's own value, rounded for display.

Pure: numpy only, no UI. The app renders the returned ``Explanation``; tests parse the substituted
line back into arithmetic and recompute it independently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tui_backprop.engine.explain.backward import activation_grad_parts, propagate_parts, weight_grad_parts
from tui_backprop.engine.explain.context import Context, Parts
from tui_backprop.engine.explain.forward import activation_parts, batch_parts, linear_parts
from tui_backprop.engine.explain.loss import loss_grad_parts, loss_parts, softmax_cross_entropy_grad_parts
from tui_backprop.engine.explain.record import MAX_TERMS, Equation, Explanation, Numbers, Table
from tui_backprop.engine.explain.update import update_parts
from tui_backprop.engine.program import Op, initial_settings
from tui_backprop.engine.session import Session
from tui_backprop.naming import Naming
from tui_backprop.scenario.model import Scenario

__all__ = [
    "MAX_TERMS",
    "Equation",
    "Explanation",
    "Numbers",
    "current_settings",
    "explain",
    "explain_tables",
    "values_before",
]

_NODE_KINDS: dict[str, Callable[[Context, Op, int], Parts]] = {
    "batch": batch_parts,
    "linear": linear_parts,
    "activation": activation_parts,
    "loss": loss_parts,
    "loss_grad": loss_grad_parts,
    "softmax_cross_entropy_grad": softmax_cross_entropy_grad_parts,
    "activation_grad": activation_grad_parts,
    "propagate": propagate_parts,
}
_PARAMETER_KINDS: dict[str, Callable[[Context, Op, tuple[str, tuple[int, ...]]], Parts]] = {
    "weight_grad": weight_grad_parts,
    "update": update_parts,
}


# -- the value tables --------------------------------------------------------------------------------


def current_settings(session: Session) -> Any:
    """The optimizer settings in force: the scenario's, with the learning rate as (live-)edited."""
    return replace(initial_settings(session.scenario), learning_rate=session.learning_rate)


def values_before(session: Session, op_index: int) -> dict[str, Any]:
    """The value table as op ``op_index`` of the shown step finds it (ops not run yet run on a copy).

    Args:
        session: The session (not changed).
        op_index: An op of the step, 0 .. ops per step − 1.

    Returns:
        A new dict: parameters, optimizer state, ``step``, ``settings`` and what earlier ops wrote.
    """
    cursor = session.cursor
    done = cursor.op_index
    table: dict[str, Any] = {**session.params, **session.optimizer_state}
    table["settings"] = current_settings(session)
    table["step"] = cursor.step - 1
    if done:
        # Persistent values an op of this step already overwrote (the batch's step counter, updated
        # parameters and optimizer state) are wanted as they were, if the op asked about precedes it.
        start: dict[str, Any] = session._step_start
        writers = {name: op.index for op in session.ops[:done] for name in op.writes}
        values = session.values
        for name, writer in writers.items():
            if writer < op_index:
                table[name] = values[name]
            elif name in start:
                table[name] = start[name]
    for op in session.ops[done:op_index]:
        op.run(table)
    return table


def _focus_label(ctx: Context, op: Op, node: tuple[int, int]) -> str:
    layer, unit = node
    batch = ctx.batch_size
    sample = f"sample {ctx.sample + 1} of {batch}"
    if op.kind in ("batch", "loss"):
        return sample
    return f"{ctx.node(layer, unit)}, {sample}"


def _node_for(op: Op, node: tuple[int, int], sizes: tuple[int, ...]) -> tuple[int, int]:
    """The node of the op's layer to explain: the selected one if it is in that layer, else its first."""
    layer = op.layer - 1 if op.kind == "propagate" else op.layer
    unit = node[1] if node[0] == layer else 0
    return layer, min(unit, sizes[layer] - 1)


def _parameter_for(
    op: Op, parameter: tuple[str, tuple[int, ...]] | None, node: tuple[int, int], table: Table
) -> tuple[str, tuple[int, ...]]:
    """The parameter entry of the op's layer to explain: the given one if it belongs there, else one of the node's."""
    layer = op.layer
    if parameter is not None and parameter[0] in (f"W{layer}", f"b{layer}"):
        return parameter
    weights = table[f"W{layer}"]
    selected_layer, unit = node
    if selected_layer == layer:
        return f"W{layer}", (0, min(unit, weights.shape[1] - 1))
    if selected_layer == layer - 1:
        return f"W{layer}", (min(unit, weights.shape[0] - 1), 0)
    return f"W{layer}", (0, 0)


def explain_tables(
    scenario: Scenario,
    op: Op,
    before: Table,
    after: Table,
    node: tuple[int, int] = (0, 0),
    sample: int = 0,
    parameter: tuple[str, tuple[int, ...]] | None = None,
    digits: int = 4,
    executed: bool = True,
) -> Explanation:
    """Explain ``op`` from the value tables before and after it ran (the pure core of ``explain``).

    Args:
        scenario: Supplies names, activations, loss, reduction and optimizer.
        op: The op.
        before: The value table as the op found it.
        after: The value table after it ran.
        node: The selected node as (layer, unit); used by node-wise ops if it is in their layer.
        sample: Which row of the batch node-wise ops explain.
        parameter: A parameter entry such as ``("W2", (0, 1))`` for ``weight_grad`` and ``update`` ops.
        digits: Significant digits of parameters (computed values get one decimal more).
        executed: Whether the op has run in the session (only changes a remark).

    Returns:
        The explanation.
    """
    batch = len(after["x"])
    ctx = Context(scenario, Naming(scenario), Numbers(digits), before, after, min(max(sample, 0), batch - 1))
    if op.kind in _PARAMETER_KINDS:
        entry = _parameter_for(op, parameter, node, before)
        equations, main, plain, note = _PARAMETER_KINDS[op.kind](ctx, op, entry)
        focus = ctx.parameter_label(*entry)
    else:
        chosen = _node_for(op, node, scenario.layer_sizes)
        equations, main, plain, note = _NODE_KINDS[op.kind](ctx, op, chosen[1])
        focus = _focus_label(ctx, op, chosen)
    if not executed:
        note = " ".join(part for part in (note, "(not run yet: the numbers are what this op will compute)") if part)
    return Explanation(op.index, op.kind, focus, tuple(equations), main, plain, executed, note)


def explain(
    session: Session,
    op: Op,
    node: tuple[int, int] = (0, 0),
    sample: int = 0,
    parameter: tuple[str, tuple[int, ...]] | None = None,
    digits: int = 4,
) -> Explanation:
    """Explain an op of the step being shown, for a node and sample or a parameter entry.

    An op that has not run yet is run on a copy of the value table, so its numbers are what stepping
    to it will produce; the session is never changed.

    Args:
        session: The session.
        op: An op of the session's program.
        node: The selected node (layer, unit), layer 0 being the inputs.
        sample: Which row of the batch.
        parameter: The parameter entry for ``weight_grad`` and ``update`` ops, e.g. ``("W2", (0, 1))``.
        digits: Significant digits of parameters.

    Returns:
        The explanation.
    """
    before = values_before(session, op.index)
    after = dict(before)
    op.run(after)
    executed = op.index < session.cursor.op_index
    if executed:
        values = session.values
        after.update({name: values[name] for name in op.writes})
    return explain_tables(session.scenario, op, before, after, node, sample, parameter, digits, executed)
