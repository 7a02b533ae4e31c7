"""Exact comparison of engine sessions, shared by the engine and the app tests.

The debugger promises that any state it shows again is the same, bit for bit, however it got there
(stepping, going back, jumping, replaying edits, undo). These helpers record everything a session
shows and compare two records with no tolerance at all: arrays by dtype and every bit (NaN equal to
NaN, as a diverged value is still the same value), everything else by ``==``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tui_backprop.engine import Session


def session_state(session: Session) -> dict[str, Any]:
    """Everything that says where a session stands and what it shows."""
    return {
        "position": session.position,
        "cursor": session.cursor,
        "params": dict(session.params),
        "optimizer_state": dict(session.optimizer_state),
        "values": dict(session.values),
        "step_start_params": dict(session.step_start_params),
        "step_losses": list(session.step_losses),
        "epoch_losses": list(session.epoch_losses),
        "learning_rate": session.learning_rate,
        "edits": list(session.edits),
    }


def same(a: Any, b: Any) -> bool:
    """Exactly equal: arrays of the same dtype and bits, lists item by item, NaN equal to NaN."""
    if isinstance(a, np.ndarray | np.generic) or isinstance(b, np.ndarray | np.generic):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return a == b or (len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True)))
    return bool(a == b)


def assert_same_state(actual: dict[str, Any], expected: dict[str, Any], where: str = "") -> None:
    """Exact equality of two ``session_state`` records, naming the first difference (after ``where``)."""
    assert actual.keys() == expected.keys()
    for key, value in actual.items():
        if isinstance(value, dict):
            assert value.keys() == expected[key].keys(), f"{where}{key}: names differ"
            for name in value:
                assert same(value[name], expected[key][name]), f"{where}{key}[{name!r}] differs"
        else:
            assert same(value, expected[key]), f"{where}{key}: {value!r} != {expected[key]!r}"
