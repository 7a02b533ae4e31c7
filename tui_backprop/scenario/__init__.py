"""Scenario files: TOML in, validated frozen dataclasses out."""

from tui_backprop.scenario.builtin import DEFAULT_SCENARIO, builtin_names, builtin_titles, resolve_scenario
from tui_backprop.scenario.errors import Problem, ScenarioError
from tui_backprop.scenario.loader import load_scenario, parse_scenario
from tui_backprop.scenario.model import Dataset, LayerSpec, NetworkSpec, Scenario, TrainingSpec

__all__ = [
    "DEFAULT_SCENARIO",
    "Dataset",
    "LayerSpec",
    "NetworkSpec",
    "Problem",
    "Scenario",
    "ScenarioError",
    "TrainingSpec",
    "builtin_names",
    "builtin_titles",
    "load_scenario",
    "parse_scenario",
    "resolve_scenario",
]
