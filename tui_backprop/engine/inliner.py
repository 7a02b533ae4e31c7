"""Writes the op table's functions into op code: their bodies inlined where they are small, a call otherwise.

On a tiny network such as XOR, calling a Python function costs about as much as the numpy operation
inside it, so the fast run would spend a fifth of its time on calls that a hand-written loop does not
make. The table's functions are therefore inlined into the op code: a function whose body is a few
assignments and a ``return`` is rewritten over the op's own names (``a1 = 1.0 / (1.0 + np.exp(-z1))``
for the sigmoid of ``z1``). The inlined code is the function's own source, so it performs the same
numpy operations in the same order and gives the same bits; the stepper and the fast loop both run it.

Anything else (numpy's own functions, lambdas, closures, functions whose source cannot be read) is
called through a bound helper, which is equally exact, just slower.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import count
from typing import Any


@dataclass(frozen=True)
class _Body:
    """A function reduced to what inlining needs."""

    parameters: tuple[str, ...]
    assignments: tuple[tuple[str, ast.expr], ...]
    result: ast.expr
    free: frozenset[str]


@cache
def _body(function: Callable[..., Any]) -> _Body | None:
    """Parse ``function`` if it is a plain ``def`` of assignments and a return; None otherwise."""
    code = getattr(function, "__code__", None)
    if code is None or function.__closure__ or code.co_name == "<lambda>":
        return None
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None
    definition = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(definition, ast.FunctionDef) or definition.name != function.__name__:
        return None
    arguments = definition.args
    if arguments.vararg or arguments.kwarg or arguments.kwonlyargs or arguments.posonlyargs or arguments.defaults:
        return None
    statements = list(definition.body)
    if statements and isinstance(statements[0], ast.Expr) and isinstance(statements[0].value, ast.Constant):
        statements = statements[1:]  # the docstring
    *steps, last = statements
    if not isinstance(last, ast.Return) or last.value is None:
        return None
    assignments = []
    for step in steps:
        if not (isinstance(step, ast.Assign) and len(step.targets) == 1 and isinstance(step.targets[0], ast.Name)):
            return None
        assignments.append((step.targets[0].id, step.value))
    parameters = tuple(argument.arg for argument in arguments.args)
    bound = {*parameters, *(name for name, _ in assignments)}
    loaded = {node.id for node in ast.walk(definition) if isinstance(node, ast.Name) and node.id not in bound}
    return _Body(parameters, tuple(assignments), last.value, frozenset(loaded))


class _Rename(ast.NodeTransformer):
    """Replaces names by expressions (parameters by arguments, locals by temporaries)."""

    def __init__(self, replacements: dict[str, ast.expr]) -> None:
        self.replacements = replacements

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.replacements.get(node.id, node)


def _uses(body: _Body, name: str) -> int:
    nodes = [value for _, value in body.assignments] + [body.result]
    return sum(isinstance(n, ast.Name) and n.id == name for node in nodes for n in ast.walk(node))


class CallWriter:
    """Turns calls of table functions into op code, inlining them where it can.

    Args:
        helpers: The namespace the op code will run in; bound helpers and the globals that inlined
            bodies use are added to it.
    """

    def __init__(self, helpers: dict[str, object]) -> None:
        self.helpers = helpers
        self._serial = count(1)

    def bind(self, name: str, value: object) -> str:
        """Make ``value`` available to the op code as ``name`` (which starts with ``_``); returns the name."""
        assert name.startswith("_") and self.helpers.get(name, value) is value, name
        self.helpers[name] = value
        return name

    def call(self, function: Callable[..., Any], arguments: Sequence[str], helper: str) -> tuple[list[str], str]:
        """Code computing ``function(*arguments)``.

        Args:
            function: A function of the op table.
            arguments: Python expressions over value names, one per parameter.
            helper: The name to bind ``function`` under if it has to be called.

        Returns:
            Statements to run first (possibly none) and the expression giving the result.
        """
        body = _body(function)
        if body is None or len(body.parameters) != len(arguments) or not self._bind_globals(function, body):
            return [], f"{self.bind(helper, function)}({', '.join(arguments)})"
        prefix = f"_tmp{next(self._serial)}_"
        statements: list[str] = []
        replacements: dict[str, ast.expr] = {}
        for parameter, argument in zip(body.parameters, arguments, strict=True):
            expression = ast.parse(argument, mode="eval").body
            if not isinstance(expression, ast.Name) and _uses(body, parameter) > 1:
                # Evaluated once, as a call would; a name or a single use can stand in place.
                statements.append(f"{prefix}{parameter} = {argument}")
                expression = ast.Name(prefix + parameter, ast.Load())
            replacements[parameter] = expression
        rename = _Rename(replacements)
        for name, value in body.assignments:
            statements.append(f"{prefix}{name} = {ast.unparse(rename.visit(_copy(value)))}")
            replacements[name] = ast.Name(prefix + name, ast.Load())
        result = rename.visit(_copy(body.result))
        # Parenthesised, so that it can stand in any expression (a tuple brings its own parentheses).
        return statements, ast.unparse(result) if isinstance(result, ast.Tuple) else f"({ast.unparse(result)})"

    def _bind_globals(self, function: Callable[..., Any], body: _Body) -> bool:
        """Make the globals the body reads available under their own names; False on a clash."""
        namespace: dict[str, Any] = function.__globals__
        found: dict[str, object] = {}
        for name in body.free:
            if name in namespace:
                found[name] = namespace[name]
            elif not hasattr(builtins, name):
                return False
        if any(self.helpers.get(name, value) is not value for name, value in found.items()):
            return False
        self.helpers.update(found)
        return True


def _copy(node: ast.expr) -> ast.expr:
    """A fresh copy: the transformer rewrites in place, and a parsed body is shared by every inlining."""
    copied: ast.expr = ast.parse(ast.unparse(node), mode="eval").body
    return copied
