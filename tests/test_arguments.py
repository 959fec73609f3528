"""Every public function refuses wrong argument types by name (issue 13).

The functions are enumerated from ``kaptools.__all__`` and the subpackages' ``__all__``,
so a function added later is covered without touching this file.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaptools.arguments import ArgumentTypeError, checked
from kaptools.errors import InvalidInputError, KaptoolsError

PACKAGES = (
    "kaptools",
    "kaptools.protocol",
    "kaptools.scheduling",
    "kaptools.scores",
    "kaptools.screening",
    "kaptools.sessions",
)


def _public_functions() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isfunction(value):
                found.setdefault(f"{package}.{name}", value)
    return found


PUBLIC = _public_functions()


class _Opaque:
    """A value of no type any kaptools function takes."""

    def __repr__(self) -> str:
        return "<opaque>"


def _parameters(func: Callable[..., Any]) -> list[inspect.Parameter]:
    return [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def test_every_public_function_is_checked() -> None:
    """Each function of the public surface goes through the argument check."""
    assert len(PUBLIC) > 50
    unchecked = [n for n, f in PUBLIC.items() if not getattr(f, "__kaptools_checked__", False)]
    assert unchecked == []


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_an_opaque_object_for_any_typed_argument_is_named(name: str) -> None:
    """Passing an object of no accepted type to any annotated argument raises
    ArgumentTypeError (a kaptools InvalidInputError) naming that argument."""
    func = PUBLIC[name]
    checked_any = False
    for p in _parameters(func):
        untyped = p.annotation in (inspect.Parameter.empty, "Any", "object")
        if untyped or p.kind is p.POSITIONAL_ONLY:
            continue
        try:
            func(**{p.name: _Opaque()})
        except ArgumentTypeError as exc:
            assert exc.argument == p.name and f"argument {p.name}" in str(exc)
            assert isinstance(exc, InvalidInputError) and "<opaque>" in str(exc)
            checked_any = True
        except KaptoolsError:
            pass  # annotated Any/object under another name: the function's own checks
    untyped = (inspect.Parameter.empty, "Any", "object")
    typed = [p for p in _parameters(func) if p.annotation not in untyped]
    assert checked_any or not typed, f"{name}: no argument is type-checked"


JUNK = st.sampled_from(
    [None, True, False, 1.5, -1, 0, math.nan, math.inf, "", "x", "１２", b"x", [], {}, (),
     frozenset(), _Opaque(), ["x"], {"x": 1}, 10**400]
)


@pytest.mark.parametrize("name", sorted(PUBLIC))
@settings(max_examples=30, suppress_health_check=list(HealthCheck), deadline=None)
@given(data=st.data())
def test_wrong_typed_arguments_never_escape_as_another_exception(
    name: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any mix of wrong-typed values for a public function's arguments: it returns or
    raises a kaptools error; never a TypeError, AttributeError or other exception."""
    func = PUBLIC[name]
    kwargs: dict[str, Any] = {}
    for p in _parameters(func):
        if p.kind is p.POSITIONAL_ONLY:
            continue
        if p.default is p.empty or data.draw(st.booleans(), label=f"give {p.name}"):
            kwargs[p.name] = data.draw(JUNK, label=p.name)
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("junk"))  # a function that writes a file writes here
    try:
        func(**kwargs)
    except KaptoolsError as exc:
        assert str(exc).strip()
    finally:
        os.chdir(cwd)


def test_checked_reads_hints_and_says_what_is_wanted() -> None:
    """int refuses bools, float takes ints, a sequence refuses text, Optional takes None."""

    @checked
    def f(n: int, x: float, names: Sequence[str], when: str | None = None) -> int:
        return n

    assert f(1, 2, ["a"]) == 1 and f(n=1, x=2.5, names=(), when=None) == 1
    for kwargs, argument in [
        ({"n": True, "x": 1, "names": []}, "n"),
        ({"n": 1, "x": "1", "names": []}, "x"),
        ({"n": 1, "x": 1, "names": "abc"}, "names"),
        ({"n": 1, "x": 1, "names": [], "when": 3}, "when"),
    ]:
        with pytest.raises(ArgumentTypeError) as info:
            f(**kwargs)
        assert info.value.argument == argument
        assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    with pytest.raises(ArgumentTypeError, match="no argument 'nn'"):
        f(1, 2, [], nn=1)
    with pytest.raises(ArgumentTypeError, match="argument names is required"):
        f(1, 2)
    with pytest.raises(ArgumentTypeError, match="positional"):
        f(1, 2, [], None, 5)


def test_a_path_argument_takes_str_and_pathlib(tmp_path: Path) -> None:
    """str | os.PathLike hints take a pathlib.Path."""

    @checked
    def g(path: str | os.PathLike[str]) -> str:
        return os.fspath(path)

    assert g(tmp_path) == str(tmp_path) and g("a") == "a"
    with pytest.raises(ArgumentTypeError, match="argument path"):
        g(3)
