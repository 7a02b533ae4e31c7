"""Valid scenarios load into what they say: defaults, aliases, biases, names, overrides, CSV, generators, built-ins."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tui_backprop.scenario import Scenario, builtin_names, load_scenario, parse_scenario, resolve_scenario
from tui_backprop.scenario.builtin import builtin_dir
from tui_backprop.scenario.loader import DEFAULT_INIT_SCALE
from tui_backprop.scenario.overrides import parse_value

ROOT = Path(__file__).parents[2]

MINIMAL = """
title = "minimal"

[network]
inputs = 2

[[network.layers]]
units = 1

[data]
inputs = [[0, 0], [1, 1]]
targets = [0, 1]
"""


def scenario(network: str = "", layers: str = "", data: str = "", training: str = "", top: str = "") -> Scenario:
    """A small scenario text with pieces swapped in, parsed."""
    text = f'title = "t"\n{top}\n[network]\ninputs = 2\n{network}\n'
    text += layers or "[[network.layers]]\nunits = 2\n\n[[network.layers]]\nunits = 1\n"
    text += f"\n[data]\n{data or 'inputs = [[0, 0], [1, 1]]' + chr(10) + 'targets = [[0], [1]]'}\n"
    text += f"\n[training]\n{training}\n"
    return parse_scenario(text)


def test_defaults() -> None:
    loaded = parse_scenario(MINIMAL, name="minimal")
    assert loaded.name == "minimal"
    assert loaded.title == "minimal"
    assert loaded.description == ""
    assert loaded.seed == 0
    (layer,) = loaded.network.layers
    assert (layer.units, layer.activation, layer.use_bias, layer.train_bias) == (1, "sigmoid", True, True)
    assert layer.weights is None and layer.bias is None
    assert (layer.init, layer.init_scale) == ("xavier", 1.0)
    assert layer.names == ("o",)
    training = loaded.training
    assert (training.loss, training.reduction, training.optimizer) == ("half_sse", "mean", "sgd")
    assert (training.learning_rate, training.momentum) == (0.5, 0.9)
    assert (training.beta1, training.beta2, training.epsilon) == (0.9, 0.999, 1e-8)
    assert training.batch_size is None  # "full"
    assert training.shuffle is False
    assert (training.max_epochs, training.target_loss) == (10000, 1e-4)
    assert loaded.debugger.history_mb == 256.0
    assert loaded.data.input_names == ("x1", "x2")
    assert loaded.data.target_names == ("y",)
    assert loaded.data.origin == "inline"
    assert loaded.data.targets.tolist() == [[0.0], [1.0]]  # a plain list is one target per row
    assert loaded.layer_sizes == (2, 1)


def test_loaded_arrays_are_read_only() -> None:
    loaded = scenario(layers="[[network.layers]]\nunits = 1\nweights = [[1], [2]]\nbias = 0.5\n")
    for array in (loaded.data.inputs, loaded.data.targets, loaded.network.layers[0].weights):
        assert array is not None
        assert not array.flags.writeable


@pytest.mark.parametrize(("init", "scale"), sorted(DEFAULT_INIT_SCALE.items()))
def test_init_scale_defaults_per_initialiser(init: str, scale: float) -> None:
    layer = scenario(network=f'init = "{init}"').network.layers[0]
    assert (layer.init, layer.init_scale) == (init, scale)


def test_linear_is_an_alias_of_identity() -> None:
    layers = '[[network.layers]]\nunits = 1\nactivation = "linear"\n'
    assert scenario(layers=layers, training='loss = "sse"').network.layers[0].activation == "identity"


def test_bias_as_one_number_is_repeated_per_unit() -> None:
    layers = "[[network.layers]]\nunits = 3\nbias = 0.35\n\n[[network.layers]]\nunits = 1\n"
    bias = scenario(layers=layers).network.layers[0].bias
    assert bias is not None
    assert bias.tolist() == [0.35, 0.35, 0.35]


def test_explicit_weights_keep_the_file_shape() -> None:
    layers = "[[network.layers]]\nunits = 3\nweights = [[1, 2, 3], [4, 5, 6]]\nbias = [0.1, 0.2, 0.3]\n"
    layers += "\n[[network.layers]]\nunits = 1\n"
    layer = scenario(layers=layers).network.layers[0]
    assert layer.weights is not None and layer.bias is not None
    assert layer.weights.shape == (2, 3)  # (inputs, units): weights[i][j] connects input i to unit j
    assert layer.weights[1, 0] == 4.0
    assert layer.bias.tolist() == [0.1, 0.2, 0.3]


def test_use_bias_false_and_train_bias_false() -> None:
    layers = "[[network.layers]]\nunits = 2\nuse_bias = false\n\n[[network.layers]]\nunits = 1\ntrain_bias = false\n"
    hidden, output = scenario(layers=layers).network.layers
    assert (hidden.use_bias, hidden.train_bias, hidden.bias) == (False, True, None)
    assert (output.use_bias, output.train_bias) == (True, False)


def test_names_default_and_explicit() -> None:
    three = "[[network.layers]]\nunits = 2\n\n[[network.layers]]\nunits = 2\nnames = ['p', 'q']\n\n"
    three += "[[network.layers]]\nunits = 2\n"
    loaded = scenario(layers=three, data="inputs = [[0, 0]]\ntargets = [[0, 1]]\ninput_names = ['a', 'b']")
    assert [layer.names for layer in loaded.network.layers] == [("h1.1", "h1.2"), ("p", "q"), ("o1", "o2")]
    assert loaded.data.input_names == ("a", "b")
    assert loaded.data.target_names == ("y1", "y2")
    two = scenario().network.layers
    assert [layer.names for layer in two] == [("h1", "h2"), ("o",)]


# -- overrides --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.1", 0.1),
        ("3", 3),
        ("-2", -2),
        ("1e-3", 1e-3),
        ("true", True),
        ("false", False),
        ("[1, 2]", [1, 2]),
        ("[[0.5], [1]]", [[0.5], [1]]),
        ('"tanh"', "tanh"),
        ("tanh", "tanh"),  # bare words are strings, so --set network.layers[1].activation=tanh works
        ("full", "full"),
        ("data/iris.csv", "data/iris.csv"),
        ("inf", float("inf")),
        ("", ""),
        ("1\nseed = 2", "1\nseed = 2"),  # one value only: no smuggled keys
    ],
)
def test_parse_value(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_overrides_change_keys_and_are_validated_like_the_file() -> None:
    path = resolve_scenario("xor")
    loaded = load_scenario(
        path,
        [
            "training.learning_rate=0.1",
            "training.batch_size=1",
            "training.shuffle=true",
            "network.layers[1].units=8",
            "network.layers[1].activation=tanh",
            "seed=42",
            'title="changed"',
        ],
    )
    assert loaded.training.learning_rate == 0.1
    assert loaded.training.batch_size == 1
    assert loaded.training.shuffle is True
    assert loaded.network.layers[0].units == 8
    assert loaded.network.layers[0].activation == "tanh"
    assert loaded.seed == 42
    assert loaded.title == "changed"
    assert loaded.layer_sizes == (2, 8, 1)
    # xor.toml names its two hidden units; with 8 units those labels no longer fit and the defaults apply.
    assert loaded.network.layers[0].names == tuple(f"h{unit}" for unit in range(1, 9))


def test_override_with_index_into_a_deeper_net() -> None:
    text = MINIMAL.replace(
        "[[network.layers]]\nunits = 1\n", "[[network.layers]]\nunits = 2\n" * 2 + "[[network.layers]]\nunits = 1\n"
    )
    loaded = parse_scenario(text, overrides=["network.layers[2].units=8"])
    assert loaded.layer_sizes == (2, 2, 8, 1)


def test_override_can_create_a_missing_table_and_key() -> None:
    loaded = parse_scenario(MINIMAL, overrides=["training.optimizer=momentum", "training.momentum=0.5"])
    assert (loaded.training.optimizer, loaded.training.momentum) == ("momentum", 0.5)


def test_later_overrides_win() -> None:
    loaded = parse_scenario(MINIMAL, overrides=["seed=1", "seed=2"])
    assert loaded.seed == 2


# -- data from a CSV file ---------------------------------------------------------------------------------

CSV = """a,b,t1,t2,label
0.5,1,0,1,red
1.5,2,1,0,green
2.5,3,0,1,blue
3.5,4,1,0,red
"""


def csv_scenario(
    tmp_path: Path, outputs: int, data: str, activation: str = "sigmoid", loss: str = "half_sse"
) -> Scenario:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "table.csv").write_text(CSV)
    text = f"""title = "csv"
[network]
inputs = 2
[[network.layers]]
units = {outputs}
activation = "{activation}"
[data]
file = "data/table.csv"
input_columns = ["a", "b"]
{data}
[training]
loss = "{loss}"
"""
    path = tmp_path / "csv.toml"
    path.write_text(text)
    return load_scenario(path)


def test_csv_with_target_columns(tmp_path: Path) -> None:
    loaded = csv_scenario(tmp_path, 2, 'target_columns = ["t1", "t2"]')
    assert loaded.data.inputs.tolist() == [[0.5, 1], [1.5, 2], [2.5, 3], [3.5, 4]]
    assert loaded.data.targets.tolist() == [[0, 1], [1, 0], [0, 1], [1, 0]]
    assert loaded.data.input_names == ("x1", "x2")
    assert loaded.data.target_names == ("y1", "y2")
    assert loaded.data.origin == "data/table.csv"


def test_csv_with_target_column_is_one_hot_with_class_names(tmp_path: Path) -> None:
    loaded = csv_scenario(tmp_path, 3, 'target_column = "label"', "softmax", "cross_entropy")
    # classes sorted by name: blue, green, red
    assert loaded.data.target_names == ("blue", "green", "red")
    assert loaded.data.targets.tolist() == [[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 1]]


def test_csv_two_classes_into_one_sigmoid_unit(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "table.csv").write_text("a,b,label\n0,0,no\n1,1,yes\n0,1,no\n")
    text = (
        'title = "two"\n[network]\ninputs = 2\n[[network.layers]]\nunits = 1\n[data]\nfile = "data/table.csv"\n'
        'input_columns = ["a", "b"]\ntarget_column = "label"\n'
    )
    (tmp_path / "two.toml").write_text(text)
    two = load_scenario(tmp_path / "two.toml")
    assert two.data.targets.tolist() == [[0], [1], [0]]  # no = 0, yes = 1 (sorted)


def test_absolute_csv_path(tmp_path: Path) -> None:
    (tmp_path / "table.csv").write_text(CSV)
    text = MINIMAL.split("[data]")[0].replace("units = 1", "units = 2")
    text += f'[data]\nfile = "{tmp_path / "table.csv"}"\ninput_columns = ["a", "b"]\ntarget_columns = ["t1", "t2"]\n'
    assert parse_scenario(text).data.inputs.shape == (4, 2)


# -- generators -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("generator", ["xor", "circle", "gaussian", "spiral"])
def test_generators_are_reproducible_from_the_seed(generator: str) -> None:
    data = f'generator = "{generator}"\nsamples = 50\nnoise = 0.1'
    first = scenario(data=data, top="seed = 3").data
    again = scenario(data=data, top="seed = 3").data
    other = scenario(data=data, top="seed = 4").data
    assert first.inputs.shape == (50, 2)
    assert first.targets.shape == (50, 1)
    assert set(np.unique(first.targets)) == {0.0, 1.0}
    assert np.array_equal(first.inputs, again.inputs) and np.array_equal(first.targets, again.targets)
    assert not np.array_equal(first.inputs, other.inputs)
    assert first.origin == f"generator {generator} (50 samples, noise 0.1)"


def test_generator_defaults_and_class_balance() -> None:
    data = scenario(data='generator = "circle"').data
    assert data.inputs.shape == (200, 2)
    assert data.targets.sum() == 100


def test_generator_one_hot_for_two_softmax_units() -> None:
    layers = '[[network.layers]]\nunits = 2\nactivation = "softmax"\n'
    data = scenario(layers=layers, data='generator = "xor"\nsamples = 10', training='loss = "cross_entropy"').data
    assert data.targets.shape == (10, 2)
    assert np.all(data.targets.sum(axis=1) == 1)


def test_circle_labels_inside_as_one() -> None:
    data = scenario(data='generator = "circle"\nnoise = 0').data
    radius = np.hypot(data.inputs[:, 0], data.inputs[:, 1])
    assert np.all(radius[data.targets[:, 0] == 1] <= 0.5)
    assert np.all(radius[data.targets[:, 0] == 0] >= 0.7)


# -- built-ins --------------------------------------------------------------------------------------------

SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))


def test_scenarios_folder_is_not_empty() -> None:
    assert {"xor", "iris", "circle", "spiral"} <= {path.stem for path in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_every_shipped_scenario_loads(path: Path) -> None:
    loaded = load_scenario(path)
    assert loaded.title
    assert loaded.name == path.stem
    assert len(loaded.data.inputs) == len(loaded.data.targets) > 0


def test_resolve_builtin_by_name() -> None:
    path = resolve_scenario("xor")
    assert path == builtin_dir() / "xor.toml"
    assert resolve_scenario("xor.toml") == path
    assert "xor" in builtin_names()
    assert load_scenario(path).title == "XOR, 2-2-1 sigmoid"


def test_resolve_prefers_an_existing_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "xor").write_text(MINIMAL)
    monkeypatch.chdir(tmp_path)
    assert resolve_scenario("xor") == Path("xor")


def test_iris_scenario() -> None:
    iris = load_scenario(resolve_scenario("iris"))
    assert iris.data.inputs.shape == (150, 4)
    assert iris.data.targets.sum(axis=0).tolist() == [50, 50, 50]
    assert iris.data.target_names == ("setosa", "versicolor", "virginica")
    assert iris.data.input_names == ("x1", "x2", "x3", "x4")
    assert iris.layer_sizes == (4, 8, 3)
    assert iris.data.inputs[0].tolist() == [5.1, 3.5, 1.4, 0.2]  # Fisher's first flower


@pytest.mark.slow
def test_wheel_ships_the_builtin_scenarios(tmp_path: Path) -> None:
    """A non-editable install finds built-ins because the wheel force-includes ``scenarios``."""
    pytest.importorskip("hatchling", reason="building the wheel needs hatchling (pip install hatchling)")
    source = tmp_path / "src"
    # Build from a copy of what the build reads, so that it leaves nothing behind in the checkout.
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    for folder in ("tui_backprop", "scenarios"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode and "hatchling" in result.stderr and "No module named" in result.stderr:
        pytest.skip(f"hatchling is missing: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr
    (wheel,) = wheels.glob("tui_backprop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tui_backprop/scenarios/xor.toml" in names
    assert "tui_backprop/scenarios/data/iris.csv" in names
    assert "tui_backprop/scenarios/iris.toml" in names
    assert "tui_backprop/py.typed" in names


def test_the_documented_example_loads() -> None:
    """The complete example in docs/scenario-format.md is a valid scenario."""
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    loaded = parse_scenario(example)
    assert loaded.layer_sizes == (2, 2, 1)
    weights = loaded.network.layers[0].weights
    assert weights is not None
    assert weights.tolist() == [[0.15, 0.25], [0.20, 0.30]]
