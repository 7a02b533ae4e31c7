"""Writing the current network as a scenario file: it reopens to the same network, and writing is safe.

Every shipped scenario is trained a little (and edited), written, and reopened: the
reopened file must start from exactly the parameters that were written, train the
same way, and keep the data and settings. Writing never replaces an existing file
unless asked, and never leaves a temporary file behind, on success or failure.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tui_backprop.engine import Session
from tui_backprop.engine.network import initial_parameters
from tui_backprop.scenario import Scenario, load_scenario, parse_scenario
from tui_backprop.scenario.writer import scenario_toml, toml_value, write_atomically

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))


def written(session: Session, path: Path) -> Scenario:
    text = scenario_toml(session.scenario, session.params, session.learning_rate, "Written by a test")
    write_atomically(path, text)
    return load_scenario(path)


def test_every_shipped_scenario_is_found() -> None:
    assert len(SHIPPED) >= 5
    assert "xor.toml" in {path.name for path in SHIPPED}


@pytest.mark.parametrize("source", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_a_trained_and_edited_network_round_trips(source: Path, tmp_path: Path) -> None:
    scenario = load_scenario(source)
    session = Session(scenario)
    session.run_steps(25)
    session.goto(session.position + 3)  # mid-step: the parameters of the step being shown
    session.edit("W1", (0, 0), 0.123456789012345678)
    session.edit("learning_rate", (), scenario.training.learning_rate / 3)
    path = tmp_path / f"{source.stem}-saved.toml"

    reopened = written(session, path)

    start = initial_parameters(reopened)
    assert start.keys() == session.params.keys()
    for name, value in session.params.items():
        assert start[name].dtype == value.dtype
        assert np.array_equal(start[name], value), name
    assert reopened.training.learning_rate == session.learning_rate
    assert np.array_equal(reopened.data.inputs, scenario.data.inputs)
    assert np.array_equal(reopened.data.targets, scenario.data.targets)
    assert reopened.data.input_names == scenario.data.input_names
    assert reopened.data.target_names == scenario.data.target_names
    assert reopened.network.inputs == scenario.network.inputs
    for layer, again in zip(scenario.network.layers, reopened.network.layers, strict=True):
        for field in ("units", "activation", "use_bias", "train_bias", "names"):
            assert getattr(again, field) == getattr(layer, field), field
    for field in ("loss", "reduction", "optimizer", "momentum", "beta1", "beta2", "epsilon", "batch_size", "shuffle"):
        assert getattr(reopened.training, field) == getattr(scenario.training, field), field
    assert (reopened.title, reopened.description, reopened.seed) == (
        scenario.title,
        scenario.description,
        scenario.seed,
    )
    assert reopened.debugger == scenario.debugger
    assert path.read_text(encoding="utf-8").startswith("# Written by a test\n")

    # Written again from the reopened file, the text is the same (but for where the rows came from).
    again = scenario_toml(reopened, initial_parameters(reopened), reopened.training.learning_rate, "Written by a test")
    assert without_origin(again) == without_origin(path.read_text(encoding="utf-8"))


def without_origin(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("# rows from")]


def test_the_reopened_scenario_trains_like_the_original_from_the_point_it_was_written(tmp_path: Path) -> None:
    scenario = load_scenario(SHIPPED[[path.stem for path in SHIPPED].index("xor")])
    session = Session(scenario)
    session.run_steps(40)
    reopened = Session(written(session, tmp_path / "xor-40.toml"))
    session.run_steps(30)
    reopened.run_steps(30)
    for name, value in session.params.items():
        assert np.array_equal(reopened.params[name], value), name
    assert reopened.step_losses == session.step_losses[40:]


@pytest.mark.parametrize("value", [0.1, 1 / 3, -2.5e-300, 1e300, 5e-324, 123456789.0, -0.0, 2.0**60])
def test_floats_are_written_exactly(value: float) -> None:
    text = f"x = {toml_value(value)}\n"
    import tomllib

    assert tomllib.loads(text)["x"] == value
    assert str(tomllib.loads(text)["x"]) == str(value)


def test_text_with_quotes_backslashes_and_newlines_survives() -> None:
    base = load_scenario(SHIPPED[[path.stem for path in SHIPPED].index("xor")])
    tricky = 'A "quoted" \\ back\\slash,\r\nand a second line with a tab\t, a bell \x07 and a DEL \x7f.'
    scenario = replace(base, title='The "best" net', description=tricky)
    session = Session(scenario)
    reopened = parse_scenario(scenario_toml(scenario, session.params, session.learning_rate, "origin"))
    assert reopened.description == tricky
    assert reopened.title == 'The "best" net'


def test_an_existing_file_is_never_overwritten_without_asking(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("precious", encoding="utf-8")
    with pytest.raises(FileExistsError, match="exists"):
        write_atomically(path, "new text")
    assert path.read_text(encoding="utf-8") == "precious"
    assert sorted(tmp_path.iterdir()) == [path]

    write_atomically(path, "new text", overwrite=True)
    assert path.read_text(encoding="utf-8") == "new text"
    assert sorted(tmp_path.iterdir()) == [path]


def test_a_new_file_is_written_whole_with_no_temporary_left(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    write_atomically(path, "title = 'é'\n")
    assert path.read_text(encoding="utf-8") == "title = 'é'\n"
    assert sorted(tmp_path.iterdir()) == [path]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.toml"
    folder.mkdir()
    with pytest.raises(FileExistsError):
        write_atomically(folder, "text")
    with pytest.raises(OSError):
        write_atomically(folder, "text", overwrite=True)  # a directory cannot be replaced by a file
    assert folder.is_dir()
    assert sorted(tmp_path.iterdir()) == [folder]

    target = tmp_path / "half.toml"
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "fine so far \udc80 then not")  # fails in the middle of writing
    assert sorted(tmp_path.iterdir()) == [folder]

    with pytest.raises(OSError):
        write_atomically(tmp_path / "missing-folder" / "x.toml", "text")
    assert sorted(tmp_path.iterdir()) == [folder]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a read-only folder (not as root)")
def test_a_read_only_folder_is_reported_not_half_written(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            write_atomically(folder / "x.toml", "text")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)
