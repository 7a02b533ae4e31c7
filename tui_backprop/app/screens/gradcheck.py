"""The gradient-check screen: backprop's ∂L/∂θ next to central finite differences, entry by entry.

Failed entries carry a ``✗ FAIL`` marker as well as a colour, so they stand out without colour too;
the summary line says whether the check passed and whether only a sample of the entries was checked.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tui_backprop.engine.gradcheck import GradientCheck
from tui_backprop.naming import Naming
from tui_backprop.numbers import format_number

FAIL_MARK = "✗ FAIL"
PASS_MARK = "✓ ok"


def entry_label(naming: Naming, name: str, index: tuple[int, ...]) -> str:
    """``W2 h1→o1`` or ``b2 o1``, as the parameters panel writes them."""
    columns = naming.columns(name) or ()
    rows = naming.rows(name)
    if rows is not None:
        return f"{name} {rows[index[0]]}→{columns[index[1]]}"
    return f"{name} {columns[index[0]]}"


class GradientCheckScreen(ModalScreen[None]):
    """A table of the check with a summary line; escape, q or G closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,G", "dismiss", "Close")]
    DEFAULT_CSS = """
    GradientCheckScreen { align: center middle; }
    GradientCheckScreen > Vertical {
        width: 95%; max-width: 110; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    GradientCheckScreen #gradcheck-summary { margin-bottom: 1; text-style: bold; }
    GradientCheckScreen #gradcheck-summary.-failed { color: $error; }
    GradientCheckScreen #gradcheck-summary.-passed { color: $success; }
    GradientCheckScreen DataTable { height: 1fr; }
    """

    def __init__(self, check: GradientCheck, naming: Naming) -> None:
        super().__init__()
        self.check = check
        self._naming = naming

    def compose(self) -> ComposeResult:
        """Title, summary, and the table."""
        check = self.check
        with Vertical():
            yield Static(
                f"Gradient check: backprop vs central differences (h = {check.step:g}, five-point stencil)",
                id="gradcheck-title",
            )
            yield Static(
                ("✓ " if check.passed else "✗ ") + check.summary,
                id="gradcheck-summary",
                classes="-passed" if check.passed else "-failed",
            )
            yield DataTable[Text](id="gradcheck-table", cursor_type="row", zebra_stripes=True)
            yield Static("relative error = |analytic − numeric| / max(|analytic|, |numeric|, 1e-7)   escape closes")

    def on_mount(self) -> None:
        """Fill the table, failures marked."""
        table: DataTable[Text] = self.query_one("#gradcheck-table", DataTable)
        table.add_column("check", key="check")
        table.add_column("parameter", key="parameter")
        table.add_column("analytic ∂L/∂θ", key="analytic")
        table.add_column("numeric", key="numeric")
        table.add_column("rel. error", key="error")
        for row in self.check.rows:
            style = "bold red" if row.failed else ""
            table.add_row(
                Text(FAIL_MARK if row.failed else PASS_MARK, style=style or "green"),
                Text(entry_label(self._naming, row.name, row.index), style=style),
                Text(format_number(row.analytic, 10), style=style),
                Text(format_number(row.numeric, 10), style=style),
                Text(f"{row.relative_error:.1e}", style=style),
            )
        table.focus()

    def action_dismiss(self) -> None:  # type: ignore[override]
        """Close the screen."""
        self.dismiss(None)
