"""Which databases the demo and the trainers' scenarios may write to.

Both ``kaptools demo`` (:mod:`kaptools.demo`) and ``kaptools demo --scenarios``
(:mod:`kaptools.scenarios`) check the database here before writing anything, so the
two generators share one guard and neither imports the other. :mod:`kaptools.demo`
re-exports these names.
"""

from __future__ import annotations

from pathlib import Path

from kaptools.config import default_database_path, default_demo_database_path
from kaptools.errors import InvalidInputError
from kaptools.store import Store

__all__ = ["DEMO_AUTHOR", "check_demo_store", "refuse_non_demo_database", "require_demo_database"]

DEMO_AUTHOR = "synthetic-data-generator"
"""Who the demo records as the author of what it writes."""


def check_demo_store(store: Store) -> None:
    """Refuse a store the demo must never write to.

    The clinic's default store (``KAPTOOLS_HOME/kaptools.sqlite``) is never a demo
    database, and neither is any database holding a patient not marked synthetic.
    Raises InvalidInputError naming the database and what to use instead.
    """
    where = store.url.render_as_string(hide_password=True)
    db = store.url.database
    if store.url.get_backend_name() == "sqlite" and db not in (None, "", ":memory:"):
        path = Path(str(store.url.database)).expanduser().resolve()
        if path == default_database_path().expanduser().resolve():
            raise InvalidInputError(
                f"database: the demo never writes to the clinic's default store ({where}); "
                f"give a demo file with --database, e.g. "
                f"sqlite:///{default_demo_database_path()}, or leave --database out."
            )
    real = store.count_non_synthetic_patients()
    if real:
        raise InvalidInputError(
            f"database: {where} holds {real} patient(s) not marked synthetic; the demo "
            f"writes only to databases of synthetic patients. Name another (empty) demo "
            f"database with --database."
        )


def refuse_non_demo_database(store: Store) -> None:
    """Refuse, before anything is written, a database the demo must not write to.

    :func:`check_demo_store` (the clinic's default store, any non-synthetic patient),
    then any database that holds data (a patient or an audit row) and was not marked a
    demo / training database when it was created: it could be a clinic's.
    """
    check_demo_store(store)
    if store.is_demo_database() or store.is_empty():
        return
    where = store.url.render_as_string(hide_password=True)
    raise InvalidInputError(
        f"database: {where} is not marked as a kaptools demo / training database (it was "
        "not created by 'kaptools demo'), so the demo will not write to it: it could be a "
        "clinic's. Give a new file, e.g. --database sqlite:///training.sqlite. Nothing was "
        "written."
    )


def require_demo_database(
    store: Store, *, who: str | None = None, what: str = "kaptools demo"
) -> None:
    """:func:`refuse_non_demo_database`, then mark a new (empty) database as a demo one.

    A database already marked is accepted as it is. Raises InvalidInputError before
    anything is written. The mark's audit row names the store's signed-in identity
    (``who``, if given, must be it: the seeders act as their named system identity).
    """
    refuse_non_demo_database(store)
    store.mark_demo_database(who=who, detail=what)
