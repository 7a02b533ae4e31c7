"""Every file in tests/scenario/bad/ is rejected with the message and line we expect, by the loader and the CLI.

The table ``EXPECTED`` maps each bad file to one problem it must report: the key path,
a fragment of the message, and the line (None where the line is not checked or not known).
The CLI half runs ``check FILE`` through the CLI's entry point for each file, and the real
``python -m tui_backprop check`` once over the whole corpus: exit code 2, the messages on
stderr, no traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui_backprop.cli.main import main
from tui_backprop.scenario import Problem, ScenarioError, load_scenario, parse_scenario, resolve_scenario

BAD = Path(__file__).parent / "bad"
ROOT = Path(__file__).parents[2]

Expected = tuple[str, str, int | None]

EXPECTED: dict[str, Expected] = {
    # Malformed TOML: no key path, but the line from the TOML parser.
    "malformed_toml_missing_value.toml": ("", "not valid TOML: Invalid value", 2),
    "malformed_toml_unclosed_header.toml": ("", "not valid TOML: Expected ']'", 3),
    "malformed_toml_duplicate_key.toml": ("", "not valid TOML: Cannot overwrite a value", 5),
    # Unknown keys, with a "did you mean" hint.
    "unknown_top_level_key.toml": ("descripton", "unknown key; did you mean 'description'?", 2),
    "unknown_network_key.toml": ("network.layer", "did you mean 'layers'?", 5),
    "unknown_layer_key.toml": ("network.layers[2].activaton", "did you mean 'activation'?", 13),
    "unknown_data_key.toml": ("data.input_name", "did you mean 'input_names'?", 17),
    "unknown_training_key.toml": ("training.learnig_rate", "did you mean 'learning_rate'?", 21),
    "unknown_activation.toml": ("network.layers[1].activation", "found 'sigmoud'; did you mean 'sigmoid'?", 8),
    "unknown_loss.toml": ("training.loss", "expected one of sse, half_sse, mse, half_mse, bce, cross_entropy", 19),
    "unknown_optimizer.toml": ("training.optimizer", "expected one of sgd, momentum, adam, found 'rmsprop'", 21),
    # Wrong types.
    "title_not_a_string.toml": ("title", "expected a string, found 3", 1),
    "units_not_an_integer.toml": ("network.layers[1].units", "expected an integer, found 2.5", 7),
    "learning_rate_a_string.toml": ("training.learning_rate", "expected a number, found 'fast'", 20),
    "shuffle_not_a_boolean.toml": ("training.shuffle", "expected true or false, found 'yes'", 21),
    "network_not_a_table.toml": ("network", "expected a table, found 2", 2),
    # Explicit parameters of the wrong shape or content.
    "weights_wrong_shape.toml": ("network.layers[1].weights", "expected 2 rows (one per input) of 2 numbers", 8),
    "weights_transposed.toml": ("network.layers[2].weights", "found 1 rows of lengths [2]", 12),
    "weights_not_numbers.toml": ("network.layers[1].weights", "expected numbers, found 'x'", 8),
    "bias_wrong_length.toml": ("network.layers[1].bias", "a list of 2 numbers (one per unit), found a list of 3", 8),
    "bias_nested_list.toml": ("network.layers[1].bias", "expected numbers, found a list of 1", 8),
    "bias_with_use_bias_false.toml": ("network.layers[2].bias", "a bias is given but use_bias = false", 13),
    "names_wrong_count.toml": ("network.layers[1].names", "expected 2 names (one per unit), found 1", 8),
    # Non-finite numbers (TOML allows inf and nan) and integers beyond a float.
    "weights_infinite.toml": ("network.layers[1].weights", "expected finite numbers", 8),
    "learning_rate_nan.toml": ("training.learning_rate", "expected a finite number, found nan", 20),
    "target_loss_infinite.toml": ("training.target_loss", "expected a finite number, found -inf", 21),
    "inputs_nan.toml": ("data.inputs", "expected finite numbers", 15),
    "integer_too_large.toml": ("training.max_epochs", "expected an integer small enough for a float", 21),
    # Missing required keys.
    "missing_title.toml": ("title", "missing; expected a string", None),
    "missing_network.toml": ("network", "missing; expected a table", None),
    "missing_network_inputs.toml": ("network.inputs", "missing; expected an integer", 3),
    "missing_layers.toml": ("network.layers", "expected at least one [[network.layers]] table", 3),
    "missing_units.toml": ("network.layers[2].units", "missing; expected an integer", 10),
    "missing_data.toml": ("data", "missing; expected a table", None),
    "missing_targets.toml": ("data.targets", "missing; inline inputs need targets", 14),
    # Sizes that disagree.
    "targets_wider_than_last_layer.toml": ("data.targets", "expected rows of 1 number (units in the last layer)", 16),
    "input_rows_wider_than_network_inputs.toml": ("data.inputs", "expected rows of 2 numbers (network.inputs)", 15),
    "targets_fewer_rows_than_inputs.toml": ("data.targets", "expected 4 rows (one per input row), found 3", 16),
    "generator_needs_two_inputs.toml": ("network.inputs", "makes 2-D points; expected inputs = 2, found 3", 4),
    # Data files.
    "data_file_missing.toml": ("data.file", "no_such_file.csv: No such file or directory", 15),
    "data_file_not_utf8.toml": ("data.file", "latin1.csv: 'utf-8' codec can't decode", 15),
    "data_file_is_a_directory.toml": ("data.file", "bad/data: Is a directory", 15),
    "csv_non_numeric_cell.toml": ("data.file", "line 3, column 'b': expected a number, found 'abc'", 15),
    "csv_missing_column.toml": ("data.file", "has no column 'c'; its columns are ['a', 'b', 'label']", 15),
    "csv_both_target_keys.toml": ("data", "needs exactly one of target_columns (numbers) or target_column", 14),
    "csv_classes_vs_output_units.toml": ("data.target_column", "the data has 3 classes but the last layer has 2", 17),
    # Data sources.
    "two_data_sources.toml": (
        "data",
        "expected exactly one source: inputs + targets, file, or generator; found inputs, generator",
        14,
    ),
    "no_data_source.toml": ("data", "found none", 14),
    "source_key_of_another_source.toml": ("data.targets", "does not apply to a generator (data.generator)", 16),
    "bad_generator_name.toml": ("data.generator", "expected one of xor, circle, gaussian, spiral, found 'moons'", 15),
    # Activations and losses whose math does not pair up.
    "softmax_not_last_layer.toml": ("network.layers[1].activation", "softmax is only allowed on the last layer", 8),
    "softmax_without_cross_entropy.toml": ("training.loss", 'a softmax output needs loss = "cross_entropy"', 19),
    "softmax_one_unit.toml": ("network.layers[2].units", "a softmax output needs at least 2 units", 11),
    "cross_entropy_without_softmax.toml": (
        "network.layers[2].activation",
        '"cross_entropy" needs a softmax output',
        12,
    ),
    "bce_without_sigmoid.toml": ("network.layers[2].activation", 'loss "bce" needs a sigmoid output layer', 12),
    # Absurd sizes, refused before any memory is spent on them.
    "units_absurd.toml": ("network.layers[1].units", "expected an integer >= 1 and <= 4,096, found 100000", 7),
    "parameters_absurd.toml": ("network.layers", "the network has 33,579,009 parameters; at most 20,000,000", 6),
    "samples_absurd.toml": ("data.samples", "<= 1,000,000, found 1000000000", 16),
    "batch_too_large_for_memory.toml": ("training.batch_size", "a batch of 1,000,000 rows through 4,001 units", 18),
    # Training settings out of range.
    "batch_size_zero.toml": ("training.batch_size", 'expected "full" or an integer >= 1, found 0', 21),
    "batch_size_half.toml": ("training.batch_size", "found 'half'", 21),
    "learning_rate_zero.toml": ("training.learning_rate", "expected a number > 0, found 0", 20),
    "learning_rate_negative.toml": ("training.learning_rate", "expected a number > 0, found -0.1", 20),
    "momentum_above_one.toml": ("training.momentum", "expected a number >= 0 and <= 1, found 1.5", 22),
}

# several_problems.toml reports all of these at once, in file order.
SEVERAL: list[Expected] = [
    ("titel", "unknown key; did you mean 'title'?", 1),
    ("seed", "expected an integer >= 0", 2),
    ("network.layers[1].units", "expected an integer >= 1 and <= 4,096, found 0", 8),
    ("network.layers[2].activation", 'loss "bce" needs a sigmoid output layer', 13),
    ("network.layers[2].bias", "a list of 1 number (one per unit), found a list of 2", 14),
    ("training.batch_size", 'expected "full" or an integer >= 1, found 0', 22),
    ("training.learning_rate", "expected a number > 0, found -1", 23),
    ("title", "missing; expected a string", None),
]


def _find(problems: tuple[Problem, ...], expected: Expected) -> Problem:
    """The problem matching ``expected`` (key, message fragment, line), or a failure listing them all."""
    key, fragment, line = expected
    for problem in problems:
        if problem.key == key and fragment in problem.message and (line is None or problem.line == line):
            return problem
    listing = "\n".join(repr(problem) for problem in problems)
    raise AssertionError(f"no problem at {key!r} with {fragment!r} on line {line}; got:\n{listing}")


def _shown(expected: Expected, file: str, output: str) -> bool:
    """True if ``output`` has a line ``file:line: key: ...fragment...``, as the CLI prints a problem."""
    key, fragment, line = expected
    where = f"{file}:{line}" if line else file
    start = f"{where}: {key}: " if key else f"{where}: "
    return any(text.startswith(start) and fragment in text for text in output.splitlines())


def test_every_bad_file_has_an_expectation() -> None:
    files = {path.name for path in BAD.glob("*.toml")}
    assert files == set(EXPECTED) | {"several_problems.toml"}
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loader_reports_the_expected_problem(name: str) -> None:
    path = BAD / name
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problem = _find(caught.value.problems, EXPECTED[name])
    assert problem.file == str(path)
    assert str(problem) in str(caught.value)
    assert _shown(EXPECTED[name], str(path), str(caught.value))


def test_several_problems_are_all_reported_in_file_order() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BAD / "several_problems.toml")
    problems = caught.value.problems
    found = [_find(problems, expected) for expected in SEVERAL]
    assert len(problems) == len(SEVERAL)
    assert found == list(problems)
    assert len(str(caught.value).splitlines()) == len(SEVERAL)


def test_a_missing_network_is_reported_once() -> None:
    """A missing [network] must not also produce complaints about the keys inside it or the data's width."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BAD / "missing_network.toml")
    assert [problem.key for problem in caught.value.problems] == ["network"]


def test_a_missing_file_is_reported_without_a_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "absent.toml")
    (problem,) = caught.value.problems
    assert "cannot read the file" in problem.message
    assert problem.line is None


def test_unknown_builtin_names_are_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="no built-in scenario of that name"):
        resolve_scenario("no_such_scenario")


# -- line numbers --------------------------------------------------------------------------------------


def test_lines_skip_multiline_strings_and_arrays() -> None:
    """A header-like line inside a description or a row list does not confuse the line finder."""
    text = '''title = "t"
description = """
[training]
loss = "not here"
"""

[network]
inputs = 1

[[network.layers]]
units = 1
weights = [
  [1],
]
activation = "sigmoud"

[data]
inputs = [
  [0],
  [1],
]
targets = [[0], [1]]

[training]
loss = "nope"
'''
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    lines = {problem.key: problem.line for problem in caught.value.problems}
    assert lines == {"network.layers[1].activation": 15, "training.loss": 25}


def test_dotted_keys_and_inline_tables_get_lines() -> None:
    text = """title = "t"
network = { inputs = 0, layers = [{ units = 1 }] }
data.generator = "moons"
"""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    lines = {problem.key: problem.line for problem in caught.value.problems}
    assert lines["network.inputs"] == 2  # inside an inline table: the line of the enclosing key
    assert lines["data.generator"] == 3


# -- --set overrides --------------------------------------------------------------------------------------

BAD_OVERRIDES: dict[str, Expected] = {
    "training.learning_rate": ("--set training.learning_rate", "expected key.path=value", None),
    "=3": ("--set =3", "expected key.path=value", None),
    "network.layers[0].units=3": ("--set network.layers[0].units", "layers[0] does not exist; there are 2", None),
    "network.layers[5].units=3": ("--set network.layers[5].units", "layers[5] does not exist", None),
    "title.x=1": ("--set title.x", "'x' is not inside a table", None),
    "training.learning_rate=-1": (
        "training.learning_rate",
        "expected a number > 0, found -1 (set by --set training.learning_rate=-1)",
        None,
    ),
    "training.batch_size=half": ("training.batch_size", "found 'half' (set by --set training.batch_size=half)", None),
    "network.layers[2].units=100000": ("network.layers[2].units", "<= 4,096, found 100000 (set by --set", None),
    "training.lerning_rate=0.1": ("training.lerning_rate", "did you mean 'learning_rate'? (set by --set", None),
}


@pytest.mark.parametrize("override", sorted(BAD_OVERRIDES))
def test_bad_overrides_are_reported_without_a_file_line(override: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(resolve_scenario("xor"), [override])
    problem = _find(caught.value.problems, BAD_OVERRIDES[override])
    assert problem.line is None  # the file's line holds the old value, not the one that is wrong


def test_bad_override_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(resolve_scenario("xor")), "--set", "training.learning_rate=0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "training.learning_rate: expected a number > 0, found 0 (set by --set training.learning_rate=0)" in err


def test_bad_override_on_trace_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "xor", "--set", "network.layers[3].units=2"]) == 2
    assert "layers[3] does not exist; there are 2" in capsys.readouterr().err


# -- the command line --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*sorted(EXPECTED), "several_problems.toml"])
def test_cli_check_exits_2_with_the_message_and_no_traceback(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``check FILE`` through the CLI's entry point (in-process, for speed): code 2, message on stderr."""
    path = BAD / name
    assert main(["check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    for expected in SEVERAL if name == "several_problems.toml" else [EXPECTED[name]]:
        assert _shown(expected, str(path), err)


def test_python_m_check_on_the_whole_corpus() -> None:
    """The real ``python -m tui_backprop check FILE...``: exit 2, every message, no traceback, nothing ok."""
    names = sorted(path.name for path in BAD.glob("*.toml"))
    result = subprocess.run(
        [sys.executable, "-m", "tui_backprop", "check", *(str(BAD / name) for name in names)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for name in names:
        for expected in SEVERAL if name == "several_problems.toml" else [EXPECTED[name]]:
            assert _shown(expected, str(BAD / name), result.stderr), name


def test_cli_check_reports_each_file(capsys: pytest.CaptureFixture[str]) -> None:
    """``check`` goes on after a bad file, reports the good ones as ok and still exits 2."""
    good = resolve_scenario("xor")
    assert main(["check", str(BAD / "units_absurd.toml"), str(good)]) == 2
    out, err = capsys.readouterr()
    assert f"{good}: ok" in out
    assert "units_absurd.toml:7: network.layers[1].units" in err
