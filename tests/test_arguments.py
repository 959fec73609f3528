"""Every public function refuses wrong argument types by name (issue 13).

The functions are enumerated from ``kaptools.__all__`` and the subpackages' ``__all__``,
so a function added later is covered without touching this file.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import pkgutil
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaptools.arguments import ArgumentTypeError, checked
from kaptools.errors import (
    IncompleteInputError,
    InvalidAnswerError,
    InvalidInputError,
    KaptoolsError,
    ProtocolError,
    RecordError,
)

APP_LAYER = (
    "kaptools.ui",
    "kaptools.server",
    "kaptools.hub",
    "kaptools.migrations",
    "kaptools.demo",
)
"""Dashboards, server and hub: not a Python API (their entry points take no arguments);
kaptools.demo is the ``kaptools demo`` command (its functions take the parsed command
line and build the synthetic demo database; the command line checks its options)."""


def _packages() -> tuple[str, ...]:
    """kaptools and every package directly under it (kaptools.<name>) outside the app
    layer: a package added later is covered. A package split further (kaptools.scheduling.
    constraints) is that package's inside: its public names are re-exported, checked, by
    kaptools.<name>, and its internal calls pay no check."""
    import kaptools

    found = ["kaptools"]
    for info in pkgutil.iter_modules(kaptools.__path__, "kaptools."):
        if info.ispkg and not info.name.startswith(APP_LAYER):
            if not any(part.startswith("_") for part in info.name.split(".")):
                found.append(info.name)
    return tuple(found)


PACKAGES = _packages()


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
    assert {"kaptools.scheduling", "kaptools.scores", "kaptools.sessions"} <= set(PACKAGES)
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
        if untyped or p.kind is p.POSITIONAL_ONLY or p.name in _own_checks(func):
            continue
        try:
            func(**{p.name: _Opaque()})
        except ArgumentTypeError as exc:
            assert exc.argument == p.name and exc.field == p.name, str(exc)
            assert f"{p.name}: must be" in str(exc) and "fix: pass" in str(exc)
            assert isinstance(exc, InvalidInputError) and "<opaque>" in str(exc)
            checked_any = True
        except KaptoolsError:
            pass  # annotated Any/object under another name: the function's own checks
    untyped = (inspect.Parameter.empty, "Any", "object")
    typed = [
        p
        for p in _parameters(func)
        if p.annotation not in untyped and p.name not in _own_checks(func)
    ]
    assert checked_any or not typed, f"{name}: no argument is type-checked"


def _own_checks(func: Callable[..., Any]) -> frozenset[str]:
    return getattr(inspect.unwrap(func), "__kaptools_checks_itself__", frozenset())


OWN_CHECKS: dict[str, tuple[Callable[[], Any], type[Exception], str]] = {
    "score.answers": (lambda: _public("score")("phq9", b"000000000"), InvalidAnswerError,
                      "PHQ-9 answers must be"),
    "item_column.item": (lambda: _public("item_column")("phq9", True), InvalidInputError,
                         "item: the PHQ-9 has items 1 to 9"),
    "calculate_dose.weight_kg": (lambda: _public("calculate_dose")("iv_ketamine", weight_kg="70"),
                                 InvalidInputError, "weight"),
    "parse_dosing_session.data": (lambda: _public("parse_dosing_session")(["x"]), RecordError,
                                  "dosing session: expected a mapping"),
    "save_dosing_session.session": (lambda: _public("save_dosing_session")(_store(), {"a": 1}),
                                    InvalidInputError, "parse_dosing_session"),
    "parse_protocol.text": (lambda: _public("parse_protocol")(b"[x]"), ProtocolError, "a str"),
    "override_finding.reason": (lambda: _public("override_finding")(_store(), "r", "x", None),
                                IncompleteInputError, "reason"),
}  # fmt: skip
"""An example of each argument a function checks itself (kaptools.arguments.checks_itself):
the error it raises instead of ArgumentTypeError, and what its message says."""


def _store() -> Any:
    from kaptools.identity import Identity, Role
    from kaptools.store import Store

    return Store.in_memory(identity=Identity("dr.synthetic", Role.CLINICIAN))


def _public(short: str) -> Callable[..., Any]:
    return next(f for n, f in PUBLIC.items() if n.rsplit(".", 1)[1] == short)


def test_every_argument_a_function_checks_itself_has_an_example() -> None:
    """An argument left out of the hint check must come with a test of its own refusal."""
    declared = {f"{n.rsplit('.', 1)[1]}.{a}" for n, f in PUBLIC.items() for a in _own_checks(f)}
    assert declared == set(OWN_CHECKS)


@pytest.mark.parametrize("which", sorted(OWN_CHECKS))
def test_an_argument_a_function_checks_itself_is_refused_by_it(which: str) -> None:
    """The function's own, more specific kaptools error, naming the argument."""
    call, error, says = OWN_CHECKS[which]
    with pytest.raises(error, match=re.escape(says)) as info:
        call()
    assert not isinstance(info.value, ArgumentTypeError)


def test_score_takes_the_arrays_real_callers_pass() -> None:
    """score's answers as a numpy array or a pandas Series (regression: its Sequence hint
    refused them)."""
    import numpy as np
    import pandas as pd

    score = _public("score")
    answers = [1, 2, 0, 3, 1, 0, 2, 1, 0]
    expected = score("phq9", answers)
    assert score("phq9", np.array(answers)) == expected == score("phq9", pd.Series(answers))


JUNK = st.sampled_from(
    [
        None,
        True,
        False,
        1.5,
        -1,
        0,
        math.nan,
        math.inf,
        "",
        "x",
        "１２",
        b"x",
        [],
        {},
        (),
        frozenset(),
        _Opaque(),
        ["x"],
        {"x": 1},
        10**400,
    ]
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
    with pytest.raises(ArgumentTypeError, match="nn: is not an argument of this function"):
        f(1, 2, [], nn=1)
    with pytest.raises(ArgumentTypeError, match="names: is required"):
        f(1, 2)
    with pytest.raises(ArgumentTypeError, match="positional"):
        f(1, 2, [], None, 5)


def test_a_path_argument_takes_str_and_pathlib(tmp_path: Path) -> None:
    """str | os.PathLike hints take a pathlib.Path."""

    @checked
    def g(path: str | os.PathLike[str]) -> str:
        return os.fspath(path)

    assert g(tmp_path) == str(tmp_path) and g("a") == "a"
    with pytest.raises(
        ArgumentTypeError, match=r"path: must be a file path \(str or os.PathLike\)"
    ):
        g(3)
