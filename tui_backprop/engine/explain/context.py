"""What an explainer reads: the scenario, the names of nodes, the value tables before and after the op."""

from __future__ import annotations

from dataclasses import dataclass

from tui_backprop.engine.explain.record import Equation, Numbers, Table
from tui_backprop.engine.program import activation_name
from tui_backprop.naming import Naming
from tui_backprop.scenario.model import Scenario


@dataclass(frozen=True)
class Context:
    """What an explainer reads: names, number formatting, the focused sample and the values before and after the op."""

    scenario: Scenario
    naming: Naming
    numbers: Numbers
    before: Table
    after: Table
    sample: int

    def node(self, layer: int, unit: int) -> str:
        return self.naming.node(layer, unit)

    def target_label(self, unit: int) -> str:
        return self.naming.targets[unit]

    def at(self, table: Table, name: str, unit: int) -> float:
        """A per-sample, per-unit value of the focused sample."""
        array = table[name]
        return float(array[min(self.sample, len(array) - 1), unit])

    def node_value(self, layer: int, unit: int) -> tuple[str, str]:
        """(symbol, number) of the input to layer ``layer + 1`` from ``unit``: ``x[x1]`` or ``a[h1]``."""
        value = self.at(self.before, activation_name(layer), unit)
        if layer == 0:
            return f"x[{self.node(0, unit)}]", self.numbers.exact(value)
        return f"a[{self.node(layer, unit)}]", self.numbers.value(value)

    def weight_label(self, layer: int, row: int, column: int) -> str:
        return f"W{layer}[{self.node(layer - 1, row)},{self.node(layer, column)}]"

    def parameter_label(self, name: str, index: tuple[int, ...]) -> str:
        layer = int(name[1:])
        if name.startswith("W"):
            return self.weight_label(layer, index[0], index[1])
        return f"b{layer}[{self.node(layer, index[0])}]"

    @property
    def batch_size(self) -> int:
        return len(self.before["x"]) if "x" in self.before else len(self.after["x"])


Parts = tuple[list[Equation], int, str, str]
"""What an op kind's explainer returns: the equations, the main one's index, the plain words, a note."""
