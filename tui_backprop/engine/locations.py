"""Where to jump: ``step 120``, ``epoch 3``, ``epoch 3 step 2 op 5``, ``op 7``, or a bare step number.

Parsed here (not by the UI) so the same words work from the app's prompt and from tests.
"""

from __future__ import annotations

import re

from tui_backprop.engine.session import Session

_PART = re.compile(r"(epoch|step|op|e|s|o)\s*(\d+)")


class LocationError(ValueError):
    """The text names no place on the timeline; the message says what is accepted."""


HELP = "expected e.g. '120' (step), 'step 120', 'epoch 3', 'epoch 3 step 2 op 5' or 'op 7' (all from 1; op from 0)"


def parse_location(text: str, session: Session) -> int:
    """The position (ops executed since the start) that ``text`` names.

    Epochs and steps count from 1 as the status line shows them; with an epoch, ``step`` is the batch
    within that epoch; ``op`` is the number of ops of the step already executed (0 = its start).
    Without a step or epoch, ``op`` refers to the step being shown.

    Raises:
        LocationError: Unreadable text, or a place before the start or past max_epochs.
    """
    words = text.strip().lower()
    if words.isdigit():
        words = f"step {words}"
    parts = _PART.findall(words)
    if not parts or _PART.sub("", words).strip(" ,"):
        raise LocationError(f"cannot read {text!r}; {HELP}")
    found = {name[0]: int(number) for name, number in parts}
    per_epoch, per_step = session.batches_per_epoch, session.ops_per_step
    cursor = session.cursor
    if "e" in found:
        if found["e"] < 1 or found.get("s", 1) < 1 or found.get("s", 1) > per_epoch:
            raise LocationError(f"epochs count from 1 and an epoch has steps 1..{per_epoch}")
        step = (found["e"] - 1) * per_epoch + found.get("s", 1) - 1
    elif "s" in found:
        if found["s"] < 1:
            raise LocationError("steps count from 1")
        step = found["s"] - 1
    else:
        step = cursor.step
    op = found.get("o", 0)
    if op > per_step:
        raise LocationError(f"a step has ops 0..{per_step}")
    # Jumps re-execute from the nearest checkpoint: keep them within the scenario's training
    # (max_epochs), so a typo such as 'step 99999999' cannot freeze the debugger.
    last = session.scenario.training.max_epochs * per_epoch
    if step > last:
        raise LocationError(f"step {step + 1} is past the end of training (max_epochs ends at step {last})")
    return step * per_step + op
