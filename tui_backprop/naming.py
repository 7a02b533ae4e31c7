"""Labels for the rows and columns of every named value, from the scenario's node names.

``z1`` has one column per unit of layer 1 (``h1``, ``h2``), ``W2`` has a row per
unit of layer 1 and a column per unit of layer 2, and so on. Shared by the text
trace and the app so both call a node by the same name.
"""

from __future__ import annotations

import re

from tui_backprop.scenario.model import Scenario

_LAYER_VALUE = re.compile(r"^(z|a|delta|dA)(\d+)$")
_PARAMETER = re.compile(r"^(d|v|m|s)?([Wb])(\d+)$")


class Naming:
    """Node labels per layer (layer 0 = inputs) and the axes of each value.

    Args:
        scenario: Supplies ``names`` of each layer and the data's column names.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.layers: list[tuple[str, ...]] = [scenario.data.input_names]
        self.layers += [layer.names for layer in scenario.network.layers]
        self.targets = scenario.data.target_names

    def columns(self, name: str) -> tuple[str, ...] | None:
        """Labels of the last axis of value ``name``, or None for scalars and per-sample vectors."""
        if name == "x":
            return self.layers[0]
        if name == "y":
            return self.targets
        match = _LAYER_VALUE.match(name) or _PARAMETER.match(name)
        if match:
            layer = int(match.groups()[-1])
            if 0 <= layer < len(self.layers):
                return self.layers[layer]
        return None

    def rows(self, name: str) -> tuple[str, ...] | None:
        """Labels of the first axis of a weight-shaped value (``W2``, ``dW2``, ``vW2``), else None."""
        match = _PARAMETER.match(name)
        if match and match.group(2) == "W":
            return self.layers[int(match.group(3)) - 1]
        return None

    def node(self, layer: int, unit: int) -> str:
        """The label of one node, e.g. ``h1``."""
        return self.layers[layer][unit]
