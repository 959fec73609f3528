"""Argument types of the public functions, checked from their type hints (issue 13).

Every public function (the names in ``kaptools.__all__`` and in the subpackages'
``__all__``) refuses an argument of the wrong type with an :class:`ArgumentTypeError`
(a :class:`~kaptools.errors.InvalidInputError`, so also a ``ValueError``, and a
``TypeError``) naming the function, the argument, the type it needs, the value
received and the fix, before any of its code runs: never a TypeError or an
AttributeError from deep inside.

One mechanism, driven by the annotations the functions already carry, applied once
per package: :func:`check_exports` at the end of a package's ``__init__`` wraps every
function its ``__all__`` lists (the ``kaptools.x`` names; the private defining modules
stay unwrapped, so internal calls cost nothing). The check is shallow, and fast
(a few ``isinstance`` calls per argument):

* ``int`` takes Python and numpy integers, never a bool; ``float`` takes any real
  number but a bool; ``bool`` takes only True/False; ``str`` only text.
* ``Sequence[...]``, ``Iterable[...]``, ``Mapping[...]`` … check the container, not its
  items (the function checks those, with the item named); a str or bytes is never
  taken for a sequence unless text is allowed too.
* ``Any``, ``object``, type variables and unresolvable names are not checked.
* an argument the function checks itself, with an error more specific than a type
  (``score``'s answers: :class:`~kaptools.errors.InvalidAnswerError` naming the
  measure; ``parse_dosing_session``'s data: a :class:`~kaptools.errors.RecordError`),
  is left to it: :func:`checks_itself` marks it, and tests/test_arguments.py holds an
  example of each such refusal.
* a ``pandas.DataFrame`` parameter also takes a Dask DataFrame (the functions that
  accept one say so).

Values are the function's business (ranges, NaN, identifiers): this module only makes
sure a wrong *type* is named at the door.
"""

from __future__ import annotations

import collections.abc as cabc
import datetime as dt
import enum
import functools
import importlib
import inspect
import os
import sys
import types
import typing
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from kaptools.errors import NOT_GIVEN, ArgumentTypeError, InternalError, Problem, format_problems

__all__ = ["ArgumentTypeError", "check_exports", "checked", "checks_itself", "lazy_exports"]

_Predicate = Callable[[object], bool]


# ---------------------------------------------------------------------------
# type hint -> (predicate, description); predicate None = anything goes

_TEXT = (str, bytes, bytearray)
_CONTAINERS = (
    cabc.Sequence,
    cabc.Iterable,
    cabc.Collection,
    cabc.Set,
    cabc.Sized,
    cabc.Container,
    list,
    tuple,
    set,
    frozenset,
)


def _is_dask_frame(value: object) -> bool:
    return type(value).__module__.startswith("dask.")


def numpy_types(*names: str) -> tuple[type, ...]:
    """numpy's types ``names`` (``"integer"``, ``"bool_"``) once numpy is loaded, none
    before: without numpy loaded no numpy value exists, and a dashboard kernel does not
    load numpy for it (issue 14)."""
    np = sys.modules.get("numpy")
    return () if np is None else tuple(getattr(np, name) for name in names)


def _class_predicate(cls: type) -> tuple[_Predicate | None, str]:
    if cls is object:
        return None, "any value"
    if cls is bool:
        return (lambda v: isinstance(v, (bool, *numpy_types("bool_")))), "True or False"
    if cls is int:
        return (
            lambda v: (
                isinstance(v, (int, *numpy_types("integer")))
                and not isinstance(v, (bool, *numpy_types("bool_")))
            )
        ), "a whole number (int)"
    if cls is float:
        return (
            lambda v: (
                isinstance(v, (int, float, *numpy_types("integer", "floating")))
                and not isinstance(v, (bool, *numpy_types("bool_")))
            )
        ), "a number"
    if cls is str:
        return (lambda v: isinstance(v, str)), "text (str)"
    if cls is dt.date:
        return (lambda v: isinstance(v, dt.date)), "a date (datetime.date)"
    if cls is dt.datetime:
        return (lambda v: isinstance(v, dt.datetime)), "a date and time (datetime.datetime)"
    if getattr(cls, "_is_protocol", False) and not getattr(cls, "_is_runtime_protocol", False):
        return None, cls.__name__  # a typing.Protocol that isinstance cannot check
    module = cls.__module__
    if module.startswith("pandas") and cls.__name__ == "DataFrame":
        return (lambda v: isinstance(v, cls) or _is_dask_frame(v)), "a pandas DataFrame"
    if issubclass(cls, enum.Enum):
        return (lambda v: isinstance(v, cls)), _a(cls.__name__)
    if cls in _CONTAINERS:
        return (lambda v: isinstance(v, cls) and not isinstance(v, _TEXT)), _a(cls.__name__)
    return (lambda v: isinstance(v, cls)), _a(cls.__name__)


def _items_checked(outer: _Predicate, inner: _Predicate) -> _Predicate:
    """The container check, then each item of a list, tuple or set (an iterator is not
    consumed: its items are the function's to check)."""

    def check(value: object) -> bool:
        if not outer(value):
            return False
        if isinstance(value, list | tuple | set | frozenset | dict):
            return all(inner(v) for v in value)
        return True

    return check


def _fixed_tuple(args: tuple[Any, ...]) -> tuple[_Predicate, str]:
    parts = [_predicate(a) for a in args]
    what = f"a tuple of ({', '.join(d for _, d in parts)})"

    def check(value: object) -> bool:
        return (
            isinstance(value, tuple)
            and len(value) == len(parts)
            and all(p is None or p(v) for (p, _), v in zip(parts, value, strict=True))
        )

    return check, what


def _plural(what: str) -> str:
    return f"items each {what}"


def _a(name: str) -> str:
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _predicate(tp: Any) -> tuple[_Predicate | None, str]:
    """How to check a value against the hint ``tp``, and how to say what it needs."""
    if tp is Any or isinstance(tp, typing.TypeVar) or tp is inspect.Parameter.empty:
        return None, "any value"
    if tp is None or tp is type(None):
        return (lambda v: v is None), "None"
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _predicate(typing.get_args(tp)[0])
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        return (lambda v: any(v == a and type(v) is type(a) for a in allowed)), (
            "one of " + ", ".join(map(repr, allowed))
        )
    if origin is typing.Union or origin is types.UnionType:
        members = typing.get_args(tp)
        parts = [_predicate(a) for a in members]
        if any(p is None for p, _ in parts):
            return None, "any value"
        checks = [p for p, _ in parts if p is not None]
        what = " or ".join(d for _, d in parts)
        if str in members and any(typing.get_origin(a) is os.PathLike for a in members):
            what = what.replace("text (str) or a path", "a file path (str or os.PathLike)")
        return (lambda v: any(check(v) for check in checks)), what
    if origin is not None:  # Sequence[X], Mapping[K, V], list[X], Callable[...], type[X]
        if origin is os.PathLike:
            return (lambda v: isinstance(v, os.PathLike)), "a path"
        if origin is cabc.Callable:
            return callable, "a function (callable)"
        if origin is type:
            return (lambda v: isinstance(v, type)), "a class"
        if isinstance(origin, type):
            outer, what = _class_predicate(origin)
            args = typing.get_args(tp)
            if outer is None or origin not in _CONTAINERS or not args:
                return outer, what
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                return _fixed_tuple(args)
            inner, item = _predicate(args[0])
            if inner is None:
                return outer, what
            return _items_checked(outer, inner), f"{what} of {_plural(item)}"
        return None, "any value"
    if isinstance(tp, type):
        if tp is os.PathLike:
            return (lambda v: isinstance(v, os.PathLike)), "a path"
        return _class_predicate(tp)
    return None, "any value"


# ---------------------------------------------------------------------------
# resolving the annotations (``from __future__ import annotations`` keeps them text)


#: Public name -> the module defining it, for every name a package exports lazily
#: (:func:`lazy_exports`): a hint naming one resolves by importing just that module.
_LAZY_HOMES: dict[str, str] = {}
#: Libraries a module imports only for its hints (``if TYPE_CHECKING: import pandas as
#: pd``, issue 14), by the alias kaptools always gives them.
_HINT_MODULES = {"pd": "pandas", "np": "numpy"}


def _kaptools_names() -> Mapping[str, Any]:
    """Public kaptools classes by name: a hint imported only for type checking (``Store``
    under ``if TYPE_CHECKING``) resolves through this. Read from the modules' own
    namespaces: asking a lazy package for a name would import it."""
    import sys

    names: dict[str, Any] = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("kaptools"):
            continue
        own = vars(module)
        for name in own.get("__all__", ()):
            value = own.get(name)
            if isinstance(value, type):
                names.setdefault(name, value)
    return names


def _hint(func: Callable[..., Any], annotation: Any) -> Any:
    if not isinstance(annotation, str):
        return annotation
    namespace: Mapping[str, Any] = getattr(func, "__globals__", {})
    try:
        return eval(annotation, dict(namespace))  # annotations are the package's own source
    except NameError:  # imported only for type checking (``Store``): a public class
        names = {**_kaptools_names(), **namespace}
    except Exception:
        return Any
    while True:
        try:
            return eval(annotation, names)
        except NameError as exc:  # a public class of a module not imported yet
            name = str(exc.name)
            if name in _HINT_MODULES and name not in names:  # a DataFrame argument: pandas
                names[name] = importlib.import_module(_HINT_MODULES[name])
                continue
            home = _LAZY_HOMES.get(name)
            value = None if home is None else vars(importlib.import_module(home)).get(name)
            if name in names or not isinstance(value, type):
                return Any  # a name only a type checker knows: not checked
            names[name] = value
        except Exception:
            return Any


class _Signature:
    """The checks of one function, resolved on its first call."""

    def __init__(self, func: Callable[..., Any]):
        sig = inspect.signature(func)
        own: frozenset[str] = getattr(func, "__kaptools_checks_itself__", frozenset())
        self.name = func.__qualname__
        self.positional: list[tuple[str, _Predicate | None, str]] = []
        self.by_name: dict[str, tuple[_Predicate | None, str]] = {}
        self.required: list[str] = []
        self.varargs = self.varkw = False
        for p in sig.parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                self.varargs = True
                continue
            if p.kind is p.VAR_KEYWORD:
                self.varkw = True
                continue
            check = (None, "any value") if p.name in own else _predicate(_hint(func, p.annotation))
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                self.positional.append((p.name, *check))
            if p.kind is not p.POSITIONAL_ONLY:
                self.by_name[p.name] = check
            if p.default is p.empty:
                self.required.append(p.name)

    def error(
        self, argument: str, rule: str, value: object, fix: str, expected: str
    ) -> ArgumentTypeError:
        problem = Problem(field=argument, rule=rule, value=value, fix=fix, loc=(argument,))
        return ArgumentTypeError(
            format_problems(f"The call {self.name}()", [problem]),
            problem,
            function=self.name,
            argument=argument,
            expected=expected,
        )

    def refuse(self, argument: str, expected: str, value: object) -> ArgumentTypeError:
        rule = f"must be {expected}, not {type(value).__name__}"
        return self.error(argument, rule, value, f"pass {expected} as {argument}", expected)

    def check(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if len(args) > len(self.positional) and not self.varargs:
            rule = f"takes {len(self.positional)} positional arguments, got {len(args)}"
            raise self.error("*", rule, len(args), "pass the others by name", "fewer arguments")
        for (name, check, what), value in zip(self.positional, args, strict=False):
            if check is not None and not check(value):
                raise self.refuse(name, what, value)
        for name, value in kwargs.items():
            found = self.by_name.get(name)
            if found is None:
                if self.varkw:
                    continue
                known = ", ".join(self.by_name)
                raise self.error(
                    name, "is not an argument of this function", value,
                    f"use one of its arguments ({known}) or correct the spelling", "a known name",
                )  # fmt: skip
            check, what = found
            if check is not None and not check(value):
                raise self.refuse(name, what, value)
        given = len(args)
        for name in self.required:
            if name not in kwargs and not any(n == name for n, _, _ in self.positional[:given]):
                raise self.error(
                    name, "is required", NOT_GIVEN, f"pass a value as {name}", "a value"
                )


def checked(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` refusing wrong argument types (from its hints) with ArgumentTypeError."""
    if getattr(func, "__kaptools_checked__", False):
        return func
    resolved: list[_Signature] = []

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not resolved:
            resolved.append(_Signature(func))
        resolved[0].check(args, kwargs)
        return func(*args, **kwargs)

    wrapper.__kaptools_checked__ = True  # type: ignore[attr-defined]
    return wrapper


_F = typing.TypeVar("_F", bound=Callable[..., Any])


def checks_itself(*arguments: str) -> Callable[[_F], _F]:
    """Mark ``arguments`` as checked by the function's own code, which refuses a wrong
    type with a more specific kaptools error than :class:`ArgumentTypeError` (and takes
    values its hint cannot express, such as a numpy array for a sequence of answers).
    The other arguments are still checked from their hints."""

    def mark(func: _F) -> _F:
        names = set(inspect.signature(func).parameters)
        unknown = set(arguments) - names
        if unknown:
            raise InternalError(f"{func.__qualname__} has no argument {sorted(unknown)}")
        func.__kaptools_checks_itself__ = frozenset(arguments)  # type: ignore[attr-defined]
        return func

    return mark


def check_exports(namespace: MutableMapping[str, Any]) -> None:
    """Wrap every function listed in ``namespace["__all__"]`` with :func:`checked`.

    Called at the end of a package's ``__init__`` (``check_exports(globals())``).
    """
    for name in namespace.get("__all__", ()):
        value = namespace.get(name)
        if inspect.isfunction(value):
            namespace[name] = checked(value)


def lazy_exports(
    namespace: MutableMapping[str, Any], homes: Mapping[str, str]
) -> Callable[[str], Any]:
    """A package's module ``__getattr__`` (PEP 562) for the names it re-exports lazily:
    ``homes`` maps each name to the module defining it, imported on first use, so a
    dashboard kernel imports only what its page uses (issue 14: pandas, pyarrow and the
    other heavy libraries stay out of kernels that never need them). A function listed
    in ``namespace["__all__"]`` is wrapped by :func:`checked`, as :func:`check_exports`
    wraps the names imported eagerly. Use ``__getattr__ = lazy_exports(globals(), {...})``
    and list the names under ``if TYPE_CHECKING:`` for type checkers.
    """
    package = str(namespace.get("__name__"))
    for name, home in homes.items():
        _LAZY_HOMES.setdefault(name, home)

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(home), name)
        if inspect.isfunction(value) and name in namespace.get("__all__", ()):
            value = checked(value)
        namespace[name] = value
        return value

    return __getattr__
