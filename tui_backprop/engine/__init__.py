"""The backprop engine: numpy only, no UI. A session executes a training step op by op or fast."""

from tui_backprop.engine.ops import ACTIVATIONS, LOSSES, OPTIMIZERS
from tui_backprop.engine.program import Op, Phase, Program, build_program
from tui_backprop.engine.running import RunResult, StopReason
from tui_backprop.engine.session import Cursor, OpRecord, Session

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "Cursor",
    "Op",
    "OpRecord",
    "Phase",
    "Program",
    "RunResult",
    "Session",
    "StopReason",
    "build_program",
]
