"""The explain panel: the chain rule with live numbers, for one op and one node or weight.

It shows the last executed op of the step (or, before the step's first op, the op about to run;
``o`` switches to the op about to run at any time) for the node selected in the network panel and
the sample shown there, or for the parameter highlighted in the parameters panel. The arithmetic
comes from the engine's ``explain``; this widget only lays it out. ``e`` hides or shows the line in
plain words.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui_backprop.app.view import View
from tui_backprop.app.widgets.parameters import ParametersView
from tui_backprop.engine import Op
from tui_backprop.engine.explain import Explanation, explain

ParameterEntry = tuple[str, tuple[int, ...]]


class ExplainView(VerticalScroll, can_focus=True):
    """The formula, the same with numbers, the result, and what it means."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "toggle_words", "Words on/off"),
        Binding("o", "toggle_next", "Last/next op"),
    ]
    DEFAULT_CSS = """
    ExplainView > Static { width: 100%; }
    """
    ALLOW_MAXIMIZE = True  # z maximises it, to read long formulas on a small terminal

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.words = True
        self.next_op = False
        self.explanation: Explanation | None = None
        self._view: View | None = None
        self._parameter: ParameterEntry | None = None

    def compose(self) -> ComposeResult:
        """The single Static holding the text."""
        yield Static(id="explain-body")

    def action_toggle_words(self) -> None:
        """Show or hide the plain-language line."""
        self.words = not self.words
        self._draw()

    def action_toggle_next(self) -> None:
        """Explain the op about to run instead of the last executed one, or back."""
        self.next_op = not self.next_op
        self._draw()

    def explained_op(self, view: View) -> Op | None:
        """The op shown: the last executed one, or the op about to run (by choice, or at a step's start)."""
        done = view.session.cursor.op_index
        upcoming = view.current_op
        if (self.next_op or not done) and upcoming is not None:
            return upcoming
        return view.session.ops[done - 1] if done else None

    def show(self, view: View, parameter: ParameterEntry | None = None) -> None:
        """Redraw for ``view`` and a parameter entry (by default, the one highlighted in the parameters panel)."""
        if parameter is None:
            panels = self.screen.query(ParametersView)
            parameter = panels.first().entry_at_cursor() if panels else None
        self._view = view
        self._parameter = parameter
        self._draw()

    def _draw(self) -> None:
        view = self._view
        body = self.query_one("#explain-body", Static)
        op = self.explained_op(view) if view is not None else None
        if view is None or op is None:
            self.explanation = None
            body.update(Text("Nothing to explain yet.", style="dim"))
            return
        explanation = explain(view.session, op, view.selected, view.sample, self._parameter, view.digits)
        self.explanation = explanation
        body.update(render_explanation(explanation, op, self.words))


def render_explanation(explanation: Explanation, op: Op, words: bool) -> Text:
    """The explanation as styled text: a heading, the equations (the main one bold), note and words."""
    text = Text()
    when = "last op" if explanation.executed else "about to run"
    text.append(f"op {op.index + 1} · {op.phase} · {op.kind} · {explanation.focus}", style="bold underline")
    text.append(f"  ({when}; o switches)\n", style="dim")
    for number, equation in enumerate(explanation.equations):
        style = "bold" if number == explanation.main else ""
        for index, line in enumerate(equation.lines()):
            text.append(line + "\n", style="bold yellow" if index == len(equation.lines()) - 1 and style else style)
    if explanation.note:
        text.append(explanation.note + "\n", style="dim")
    if words:
        text.append(explanation.plain, style="italic")
    return text
