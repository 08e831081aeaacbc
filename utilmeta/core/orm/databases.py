"""Database connections: ``DatabaseConnections({'default': Database(...)})``.

The config is framework-free: it imports no framework, and turning it into Django's
``DATABASES`` is the Django integration's job (``utilmeta/core/orm/backends/django``), which
:meth:`DatabaseConnections.django_settings` asks. Passwords never appear in ``repr``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from utilmeta.conf._lookup import current_config
from utilmeta.conf.base import Config
from utilmeta.core.orm.backends.django.settings import (
    database_entry,
    databases_setting,
    ensure_django,
    settings_source,
)
from utilmeta.core.orm.backends.django.setup_order import guard

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = ["Database", "DatabaseConnections", "ENGINES", "DEFAULT_ALIAS"]

DEFAULT_ALIAS = "default"

#: short engine names → Django database backends
ENGINES: dict[str, str] = {
    "sqlite3": "django.db.backends.sqlite3",
    "sqlite": "django.db.backends.sqlite3",
    "postgresql": "django.db.backends.postgresql",
    "postgres": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "oracle": "django.db.backends.oracle",
}

_MASK = "******"


class Database:
    """One database connection.

    ::

        Database(name='blog', engine='postgresql', host=env.DB_HOST, user=env.DB_USER,
                 password=env.DB_PASSWORD, port=env.DB_PORT)

    - ``name``: the database name; for SQLite a file path, relative paths being taken from the
      service's directory (``':memory:'`` stays in memory).
    - ``engine``: ``'sqlite3'``, ``'postgresql'``, ``'mysql'``, ``'oracle'`` or a full Django
      backend path (``'django.db.backends.postgresql'``).
    - ``options``: driver options (Django ``OPTIONS``); ``max_age``: seconds a connection is
      kept open (Django ``CONN_MAX_AGE``; None keeps it for ever); ``health_checks``: check
      persistent connections before reuse; ``time_zone``, ``test``: Django ``TIME_ZONE``/``TEST``.
    """

    def __init__(
        self,
        name: str,
        engine: str = "sqlite3",
        host: str = "",
        user: str = "",
        password: str = "",
        port: int | str | None = None,
        *,
        options: Mapping[str, Any] | None = None,
        max_age: int | None = 0,
        health_checks: bool = False,
        time_zone: str | None = None,
        test: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"Database(name=...) must be a non-empty string, got {name!r}")
        if not isinstance(engine, str) or not engine:
            raise TypeError(f"Database(engine=...) must be a non-empty string, got {engine!r}")
        if "." not in engine and engine.lower() not in ENGINES:
            raise ValueError(
                f"Database(engine={engine!r}): unknown engine; use one of {', '.join(ENGINES)} "
                "or a full Django backend path such as 'django.db.backends.postgresql'"
            )
        if port is not None and port != "":
            if isinstance(port, bool) or not str(port).isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"Database(port=...) must be a port number, got {port!r}")
            port = int(port)
        else:
            port = None
        if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0):
            raise ValueError(f"Database(max_age=...) must be a number of seconds >= 0 or None, got {max_age!r}")
        self.name = name
        self.engine = engine
        self.host = host or ""
        self.user = user or ""
        self.password = password or ""
        self.port: int | None = port
        self.options = dict(options or {})
        self.max_age = max_age
        self.health_checks = bool(health_checks)
        self.time_zone = time_zone
        self.test = dict(test or {})

    @property
    def backend(self) -> str:
        """The full Django backend path of ``engine``."""
        return ENGINES.get(self.engine.lower(), self.engine) if "." not in self.engine else self.engine

    @property
    def is_sqlite(self) -> bool:
        return "sqlite" in self.backend

    def __repr__(self) -> str:
        fields = [f"name={self.name!r}", f"engine={self.engine!r}"]
        if self.host:
            fields.append(f"host={self.host!r}")
        if self.port is not None:
            fields.append(f"port={self.port!r}")
        if self.user:
            fields.append(f"user={self.user!r}")
        if self.password:
            fields.append(f"password={_MASK!r}")
        return f"Database({', '.join(fields)})"

    def django_settings(self, base_dir: str | None = None) -> dict[str, Any]:
        """This database as one entry of Django's ``DATABASES``."""
        return database_entry(self, base_dir)


class DatabaseConnections(Config):
    """The service's databases by alias; ``'default'`` is the one used unless another is named.

    ::

        service.use(DatabaseConnections({'default': Database(name='db', engine='sqlite3')}))

    With the Django ORM this is Django's ``DATABASES``. When no ``DjangoSettings`` is used and
    Django is installed, ``service.setup()`` configures Django with default settings so that
    models work under any backend.
    """

    def __init__(self, databases: Mapping[str, Database]) -> None:
        if not isinstance(databases, Mapping):
            raise TypeError(f"DatabaseConnections takes a dict of alias -> Database, got {databases!r}")
        for alias, db in databases.items():
            if not isinstance(alias, str) or not alias:
                raise TypeError(f"DatabaseConnections: aliases must be non-empty strings, got {alias!r}")
            if not isinstance(db, Database):
                raise TypeError(f"DatabaseConnections[{alias!r}] must be a Database(...), got {db!r}")
        if databases and DEFAULT_ALIAS not in databases:
            raise ValueError(
                f"DatabaseConnections needs a {DEFAULT_ALIAS!r} database (got {', '.join(map(repr, databases))})"
            )
        self.databases: dict[str, Database] = dict(databases)

    @classmethod
    def current(cls) -> DatabaseConnections | None:
        """The ``DatabaseConnections`` used by the current service, or None."""
        return current_config(cls)

    def get(self, alias: str = DEFAULT_ALIAS) -> Database:
        try:
            return self.databases[alias]
        except KeyError:
            raise KeyError(f"no database {alias!r}; configured: {', '.join(self.databases)}") from None

    def __getitem__(self, alias: str) -> Database:
        return self.get(alias)

    def __contains__(self, alias: object) -> bool:
        return alias in self.databases

    def __iter__(self) -> Iterator[str]:
        return iter(self.databases)

    def __len__(self) -> int:
        return len(self.databases)

    def items(self) -> list[tuple[str, Database]]:
        return list(self.databases.items())

    def django_settings(self, base_dir: str | None = None) -> dict[str, Any]:
        """``{'DATABASES': {...}}`` for Django; relative SQLite names are taken from ``base_dir``."""
        return databases_setting(self, base_dir)

    def hook(self, service: UtilMeta) -> None:
        guard(service)  # setup() sets Django up: a model imported before it names itself and the service

    def setup(self, service: UtilMeta) -> None:
        ensure_django(service)


settings_source(DatabaseConnections, databases_setting)
