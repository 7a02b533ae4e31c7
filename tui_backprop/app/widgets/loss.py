"""The loss panel: batch loss, per-sample losses, epoch loss, and the loss over steps as a sparkline."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Sparkline, Static

from tui_backprop.app.view import CHANGED_STYLE, View

SPARKLINE_POINTS = 400


def loss_summary(view: View) -> Text:
    """The loss figures of the step being shown and of the run so far."""
    session = view.session
    values = view.values
    text = Text()
    loss = values.get("loss")
    text.append("batch loss  ", style="bold")
    text.append(
        view.number(loss) if loss is not None else "(not computed yet)",
        style=CHANGED_STYLE if "loss" in view.changed else "",
    )
    text.append("\n")
    losses = values.get("losses")
    if losses is not None:
        rows = values["rows"]
        shown = ", ".join(
            f"#{int(row) + 1} {view.number(value).strip()}" for row, value in zip(rows[:8], losses[:8], strict=False)
        )
        more = f" … ({len(losses)} samples)" if len(losses) > 8 else ""
        text.append(f"per sample  {shown}{more}\n")
    epochs = session.epoch_losses
    text.append("epoch loss  ", style="bold")
    text.append(f"{view.number(epochs[-1]).strip()} (epoch {len(epochs)})" if epochs else "(no epoch finished yet)")
    text.append(f"\nsteps done  {session.steps_done}   target {session.scenario.training.target_loss:g}")
    return text


class LossView(VerticalScroll):
    """Loss figures above a sparkline of the loss of every step so far."""

    DEFAULT_CSS = """
    LossView > Sparkline { height: 3; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        """The figures and the sparkline."""
        yield Static(id="loss-figures")
        yield Sparkline([], id="loss-sparkline")

    def show(self, view: View) -> None:
        """Redraw from ``view``."""
        self.query_one("#loss-figures", Static).update(loss_summary(view))
        self.show_history(view.session.step_losses)

    def show_history(self, step_losses: list[float] | Any) -> None:
        """Redraw the sparkline from the loss of every step (thinned to fit)."""
        history = list(step_losses)
        stride = max(len(history) // SPARKLINE_POINTS, 1)
        self.query_one(Sparkline).data = history[::stride] if history else [0.0]
