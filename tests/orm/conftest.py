"""The ORM tests' Django: the ``blog`` app (``tests/ormblog``) on SQLite, PostgreSQL and MariaDB.

Django is configured once per process; this conftest does it at collection (before any test
runs), through a service like any other, with one database alias per engine. The ``db`` fixture
runs a test once per engine: an engine whose server is unreachable is skipped, and under
``CI=true`` fails (the servers run on every machine of this project).
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from optional import unavailable

from utilmeta import UtilMeta
from utilmeta.core.orm import Database, DatabaseConnections
from utilmeta.core.server.backends.django import DjangoSettings
from utilmeta.core.server.service import _clear_service

ENGINES = {
    "sqlite": (None, Database(name=os.path.join(tempfile.mkdtemp(prefix="utilmeta-orm-"), "blog.sqlite3"))),
    "postgresql": (
        ("127.0.0.1", 5432),
        Database(name="test", engine="postgresql", host="127.0.0.1", port=5432, user="postgres"),
    ),
    "mariadb": (
        ("127.0.0.1", 3306),
        Database(name="test", engine="mysql", host="127.0.0.1", port=3306, user="root"),
    ),
}


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: databases nobody serves: what a request meets when the database is down
DOWN = {
    "down-postgresql": Database(
        name="test", engine="postgresql", host="127.0.0.1", port=_closed_port(), user="postgres"
    ),
    "down-mariadb": Database(name="test", engine="mysql", host="127.0.0.1", port=_closed_port(), user="root"),
}


def _reachable(address: tuple[str, int] | None) -> bool:
    if address is None:
        return True
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


REACHABLE = {alias: _reachable(address) for alias, (address, _) in ENGINES.items()}


def _configure() -> None:
    from django.conf import settings

    if settings.configured:
        return
    _clear_service()
    service = UtilMeta("utilmeta_orm_tests", backend="django")
    databases = {"default": ENGINES["sqlite"][1]}
    databases.update({alias: db for alias, (_, db) in ENGINES.items() if alias != "sqlite" and REACHABLE[alias]})
    databases.update(DOWN)
    service.use(DjangoSettings(apps=["ormblog"]))
    service.use(DatabaseConnections(databases))
    service.setup()
    _clear_service()


_configure()


def alias_of(engine: str) -> str:
    return "default" if engine == "sqlite" else engine


@pytest.fixture(scope="session")
def tables() -> Iterator[Callable[[str], str]]:
    """``tables(engine)``: that engine's alias, with the blog's tables created once per session
    (dropped at the end)."""
    from django.conf import settings
    from django.db import connections

    if "ormblog" not in settings.INSTALLED_APPS:
        pytest.fail("Django was configured before tests/orm/conftest.py could add the blog app")
    ready: list[str] = []

    def create(engine: str) -> str:
        if not REACHABLE[engine]:
            host, port = ENGINES[engine][0]  # type: ignore[misc]
            unavailable(f"{engine} is not reachable at {host}:{port}")
        alias = alias_of(engine)
        if alias not in ready:
            connection = connections[alias]
            _drop(connection, blog_models())  # left by an interrupted run
            with connection.schema_editor() as editor:
                for model in blog_models():
                    editor.create_model(model)
            ready.append(alias)
        return alias

    yield create
    for alias in ready:
        _drop(connections[alias], blog_models())


@pytest.fixture(scope="session", params=list(ENGINES), ids=str)
def db(request: pytest.FixtureRequest, tables: Callable[[str], str]) -> str:
    """A test runs once per engine, on its alias (the blog's tables created)."""
    return tables(request.param)


@pytest.fixture(scope="session")
def default_db(tables: Callable[[str], str]) -> str:
    """The default database (SQLite), for tests of what does not depend on the engine."""
    return tables("sqlite")


def blog_models() -> list[Any]:
    from django.apps import apps

    return list(apps.get_app_config("blog").get_models())


def _drop(connection: Any, models: list[Any]) -> None:
    """Drop the blog's tables (their many-to-many tables with them), dependents first."""
    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:
        for model in reversed(models):
            if model._meta.db_table in existing:
                editor.delete_model(model)
