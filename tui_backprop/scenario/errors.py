"""The loader's one exception, carrying every problem found in a scenario file.

A scenario is checked as a whole, so one failed load reports all of its problems
at once; each problem names the file, the key path and, where known, the line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file.

    Attributes:
        file: The scenario file as the user named it (or "<string>").
        key: Dotted key path, e.g. ``network.layers[2].weights``; empty for the whole file.
        message: What was expected and what was found.
        line: 1-based line in the file, when it can be known.
    """

    file: str
    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario could not be loaded; ``problems`` lists every reason, one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in problems))
