"""Junk in, ``ScenarioError`` out: the loader never fails any other way.

Hypothesis builds random TOML documents from nested tables, arrays and scalars (keys
drawn from the real key names and from random text, values including inf, nan and
integers too large for a float), mutates valid scenarios one key at a time, throws
random text and random ``--set`` overrides at the parser. Whatever it makes, parsing
either succeeds or raises ``ScenarioError``: never a crash, never a traceback.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_backprop.scenario import ScenarioError, parse_scenario
from tui_backprop.scenario.data_table import DATA_KEYS
from tui_backprop.scenario.loader import LAYER_KEYS, NETWORK_KEYS, TOP_KEYS, TRAINING_KEYS

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

REAL_KEYS = sorted({*TOP_KEYS, *NETWORK_KEYS, *LAYER_KEYS, *DATA_KEYS, *TRAINING_KEYS, "history_mb"})
WORDS = ["sigmoid", "softmax", "tanh", "cross_entropy", "bce", "adam", "full", "xor", "spiral", "data/iris.csv"]

keys = st.one_of(st.sampled_from(REAL_KEYS), st.text(min_size=1, max_size=8))
scalars = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(),  # any size: TOML integers are unbounded in tomllib
    st.sampled_from([0, 1, 2, 4096, 4097, 10**9, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(WORDS),
    st.text(max_size=10),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=30,
)


def toml_key(key: str) -> str:
    """A key as TOML writes it: bare when it can be, quoted otherwise."""
    return key if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key) else json.dumps(key)


def toml_value(value: Any) -> str:
    """A value as inline TOML (the writer the fuzzer needs; tomllib only reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(document: dict[str, Any]) -> str:
    """A document with scalars first, then ``[table]`` sections and ``[[array]]`` tables, as scenarios are."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in document.items() if not _is_section(v)]
    for key, value in document.items():
        if isinstance(value, dict):
            lines.append(f"\n[{toml_key(key)}]")
            for inner_key, inner in value.items():
                if isinstance(inner, list) and inner and all(isinstance(item, dict) for item in inner):
                    for item in inner:
                        lines.append(f"\n[[{toml_key(key)}.{toml_key(inner_key)}]]")
                        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in item.items()]
                else:
                    lines.append(f"{toml_key(inner_key)} = {toml_value(inner)}")
        elif _is_section(value):
            for item in value:
                lines.append(f"\n[[{toml_key(key)}]]")
                lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _is_section(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )


def parses_or_reports(text: str, base_dir: Path, overrides: list[str] | None = None) -> None:
    """Parse ``text``; anything but success or ``ScenarioError`` fails the test."""
    try:
        parse_scenario(text, file="fuzz.toml", base_dir=base_dir, overrides=overrides or [])
    except ScenarioError as error:
        assert error.problems, "a ScenarioError must carry at least one problem"
        assert all(problem.message for problem in error.problems)


# Documents shaped like scenarios: the real tables with real and random keys inside.
layer_tables = st.dictionaries(st.one_of(st.sampled_from(LAYER_KEYS), keys), values, max_size=6)
shaped = st.fixed_dictionaries(
    {},
    optional={
        "title": values,
        "seed": values,
        "network": st.fixed_dictionaries(
            {},
            optional={
                "inputs": values,
                "init": values,
                "init_scale": values,
                "layers": st.one_of(st.lists(layer_tables, min_size=1, max_size=4), values),
            },
        ),
        "data": st.dictionaries(st.one_of(st.sampled_from(DATA_KEYS), keys), values, max_size=6),
        "training": st.dictionaries(st.one_of(st.sampled_from(TRAINING_KEYS), keys), values, max_size=6),
        "debugger": values,
    },
)


@FUZZ
@given(document=st.dictionaries(keys, values, max_size=8))
def test_random_documents(document: dict[str, Any], tmp_path: Path) -> None:
    parses_or_reports(to_toml(document), tmp_path)


@FUZZ
@given(document=shaped)
def test_random_scenario_shaped_documents(document: dict[str, Any], tmp_path: Path) -> None:
    parses_or_reports(to_toml(document), tmp_path)


VALID: dict[str, Any] = {
    "title": "t",
    "network": {
        "inputs": 2,
        "layers": [
            {"units": 2, "activation": "tanh", "weights": [[0.1, 0.2], [0.3, 0.4]], "bias": [0.0, 0.1]},
            {"units": 1, "activation": "sigmoid", "names": ["o"]},
        ],
    },
    "data": {"inputs": [[0, 0], [0, 1], [1, 0], [1, 1]], "targets": [[0], [1], [1], [0]]},
    "training": {"loss": "bce", "optimizer": "adam", "batch_size": 2, "shuffle": True},
}
PATHS = [
    ("title",),
    ("seed",),
    ("network", "inputs"),
    ("network", "init"),
    ("network", "init_scale"),
    ("network", "layers"),
    ("network", "layers", 0, "units"),
    ("network", "layers", 0, "weights"),
    ("network", "layers", 0, "bias"),
    ("network", "layers", 1, "activation"),
    ("network", "layers", 1, "names"),
    ("network", "layers", 1, "use_bias"),
    ("data", "inputs"),
    ("data", "targets"),
    ("data", "generator"),
    ("data", "samples"),
    ("data", "file"),
    ("data", "target_column"),
    ("training", "loss"),
    ("training", "batch_size"),
    ("training", "learning_rate"),
    ("training", "max_epochs"),
]


def test_the_mutation_base_is_valid(tmp_path: Path) -> None:
    parse_scenario(to_toml(VALID), base_dir=tmp_path)


@FUZZ
@given(path=st.sampled_from(PATHS), value=values)
def test_one_key_of_a_valid_scenario_replaced(path: tuple[Any, ...], value: Any, tmp_path: Path) -> None:
    document = json.loads(json.dumps(VALID))
    table = document
    for part in path[:-1]:
        table = table[part]
    table[path[-1]] = value
    parses_or_reports(to_toml(document), tmp_path)


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text(text: str, tmp_path: Path) -> None:
    parses_or_reports(text, tmp_path)


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.sampled_from(["[network]", "[[network.layers]]", "[data]", "[training]", '"""', "'''", "[", "]"]),
            st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(REAL_KEYS), st.text(max_size=12)),
            st.text(max_size=20),
        ),
        max_size=15,
    )
)
def test_random_lines_of_scenario_text(lines: list[str], tmp_path: Path) -> None:
    parses_or_reports("\n".join(lines), tmp_path)


override_paths = st.one_of(
    st.sampled_from(
        [f"{'.'.join(str(p) for p in path)}" for path in PATHS if not any(isinstance(p, int) for p in path)]
        + ["network.layers[1].units", "network.layers[2].activation", "network.layers[3].units", "x[0]"]
    ),
    st.text(max_size=15),
)


@FUZZ
@given(
    overrides=st.lists(
        st.one_of(
            st.builds(lambda path, value: f"{path}={value}", override_paths, st.text(max_size=15)),
            st.builds(lambda path, value: f"{path}={toml_value(value)}", override_paths, values),
            st.text(max_size=20),
        ),
        max_size=4,
    )
)
def test_random_overrides(overrides: list[str], tmp_path: Path) -> None:
    parses_or_reports(to_toml(VALID), tmp_path, overrides)


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 5000 + "]" * 5000,  # deeper than Python's recursion limit
        "a = " + "{b = " * 5000 + "1" + "}" * 5000,
        "seed = 1" + "0" * 5000,  # more digits than Python converts
        'title = "t"\n[network]\ninputs = 2\n[[network.layers]]\nunits = 1\nbias = [[1], 2]\n',
        'title = "t"\n[network]\ninputs = 2\n[[network.layers]]\nunits = 1\n[data]\nfile = "a\\u0000b"\n'
        'input_columns = ["a", "b"]\ntarget_column = "c"\n',
        'title = "t"\n[network]\ninputs = 2\n[[network.layers]]\nunits = 1\n[data]\nfile = "/dev/zero"\n'
        'input_columns = ["a", "b"]\ntarget_column = "c"\n',
        '"\\n0" = []\n',  # a key with a line break in it, reported as unknown
    ],
    ids=["deep-arrays", "deep-tables", "long-integer", "ragged-bias", "nul-in-path", "device-file", "newline-in-key"],
)
def test_crashes_found_so_far_are_scenario_errors(text: str, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError):
        parse_scenario(text, base_dir=tmp_path)
