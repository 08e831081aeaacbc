"""``Database`` / ``DatabaseConnections``: Django ``DATABASES`` from the config, the Django ORM under
another backend, and a real PostgreSQL (``UTILMETA_TEST_POSTGRES``, default the local server;
skipped when unreachable, except under ``CI=true``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from netutil import listening
from optional import unavailable

from utilmeta import UtilMeta
from utilmeta.core.orm import Database, DatabaseConnections

POSTGRES_URL = os.environ.get("UTILMETA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


# -- Database ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine, backend",
    [
        ("sqlite3", "django.db.backends.sqlite3"),
        ("sqlite", "django.db.backends.sqlite3"),
        ("postgresql", "django.db.backends.postgresql"),
        ("postgres", "django.db.backends.postgresql"),
        ("mysql", "django.db.backends.mysql"),
        ("MySQL", "django.db.backends.mysql"),
        ("oracle", "django.db.backends.oracle"),
        ("django.contrib.gis.db.backends.postgis", "django.contrib.gis.db.backends.postgis"),
    ],
)
def test_engine_names(engine: str, backend: str) -> None:
    assert Database("x", engine=engine).backend == backend


def test_a_postgresql_database_as_django_settings() -> None:
    db = Database(
        name="blog",
        engine="postgresql",
        host="db.internal",
        user="blog",
        password="pw",
        port=5432,
        options={"sslmode": "require"},
        max_age=60,
    )
    assert db.django_settings() == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "blog",
        "USER": "blog",
        "PASSWORD": "pw",
        "HOST": "db.internal",
        "PORT": "5432",
        "OPTIONS": {"sslmode": "require"},
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "TEST": {},
    }


def test_sqlite_names_are_files_in_the_service_directory(tmp_path: Path) -> None:
    assert Database("db").django_settings(str(tmp_path))["NAME"] == str(tmp_path / "db")
    assert Database("/var/db.sqlite3").django_settings(str(tmp_path))["NAME"] == "/var/db.sqlite3"
    assert Database(":memory:").django_settings(str(tmp_path))["NAME"] == ":memory:"
    assert Database("db", engine="postgresql").django_settings(str(tmp_path))["NAME"] == "db"


def test_ports_from_environment_strings_and_no_port() -> None:
    assert Database("x", port="5433").port == 5433
    assert Database("x", port="").django_settings()["PORT"] == ""
    assert Database("x", port=None).django_settings()["PORT"] == ""


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"name": ""}, TypeError, "name"),
        ({"name": "x", "engine": "mongo"}, ValueError, "unknown engine"),
        ({"name": "x", "port": "abc"}, ValueError, "port"),
        ({"name": "x", "port": 70000}, ValueError, "port"),
        ({"name": "x", "max_age": -1}, ValueError, "max_age"),
    ],
)
def test_bad_databases(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Database(**kwargs)


def test_passwords_are_never_in_repr() -> None:
    db = Database("blog", engine="postgresql", host="h", user="u", password="s3cr3t", port=5432)
    conns = DatabaseConnections({"default": db})
    for text in (repr(db), repr(conns), str(conns)):
        assert "s3cr3t" not in text
    assert repr(db) == "Database(name='blog', engine='postgresql', host='h', port=5432, user='u', password='******')"


# -- DatabaseConnections ---------------------------------------------------------------------


def test_connections_by_alias(tmp_path: Path) -> None:
    default, replica = Database("db"), Database("replica", engine="postgresql")
    conns = DatabaseConnections({"default": default, "replica": replica})
    assert conns.get() is default and conns["replica"] is replica
    assert "replica" in conns and len(conns) == 2 and list(conns) == ["default", "replica"]
    assert conns.django_settings(str(tmp_path))["DATABASES"]["default"]["NAME"] == str(tmp_path / "db")
    with pytest.raises(KeyError, match="no database 'other'"):
        conns.get("other")


def test_a_default_database_is_required() -> None:
    with pytest.raises(ValueError, match="needs a 'default' database"):
        DatabaseConnections({"main": Database("db")})
    with pytest.raises(TypeError, match="must be a Database"):
        DatabaseConnections({"default": {"ENGINE": "x"}})  # type: ignore[dict-item]


def test_the_used_connections_are_current() -> None:
    s = UtilMeta("djtest_orm_current", backend="wsgi")
    conns = DatabaseConnections({"default": Database("db")})
    assert DatabaseConnections.current() is None
    s.use(conns)
    assert DatabaseConnections.current() is conns


# -- the Django ORM under another backend, in fresh interpreters ------------------------------


def run(tmp_path: Path, files: dict[str, str], driver: str) -> Any:
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())
    (tmp_path / "driver.py").write_text(textwrap.dedent(driver).lstrip())
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "driver.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=environ
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


#: a driver with Django made uninstallable (``sys.modules['django'] = None``: find_spec says None,
#: importing raises ImportError), as on an install without the django extra
WITHOUT_DJANGO = """
    import json, sys
    sys.modules["django"] = None
    from utilmeta import UtilMeta
    from utilmeta.core.orm import Database, DatabaseConnections

    service = UtilMeta("server", backend="wsgi")
    connections = DatabaseConnections({"default": Database("db")})
    service.use(connections)
    before = connections.django_settings()
    service.setup()
    print(json.dumps({
        "same": connections.django_settings() == before and DatabaseConnections.current() is connections,
        "loaded": sorted(m for m in sys.modules if m == "django" or m.startswith("django.")),
    }))
"""


def test_without_django_setup_leaves_the_config_alone(tmp_path: Path) -> None:
    # setup() has nothing to configure: it neither fails nor imports Django (the ORM integration
    # that finds Django missing is framework-free)
    out = run(tmp_path, {}, WITHOUT_DJANGO)
    assert out == {"same": True, "loaded": ["django"]}  # only the blocking None entry itself


def test_django_models_on_a_flask_service(tmp_path: Path) -> None:
    files = {
        "domain/__init__.py": "",
        "domain/note/__init__.py": "",
        "domain/note/models.py": """
            from django.db import models

            class Note(models.Model):
                text = models.CharField(max_length=100)
            """,
        "server.py": """
            import flask
            from utilmeta import UtilMeta
            from utilmeta.core.orm import Database, DatabaseConnections
            from utilmeta.core.server.backends.django import DjangoSettings

            service = UtilMeta(__name__, name="notes", backend=flask, api="api.RootAPI", route="/api")
            service.use(DjangoSettings(apps_package="domain"))
            service.use(DatabaseConnections({"default": Database(name="notes.sqlite3")}))
            app = service.application()
            """,
        "api.py": """
            from utilmeta.core import api, request
            from domain.note.models import Note

            class RootAPI(api.API):
                @api.post
                def notes(self, data: dict = request.Body) -> dict:
                    note = Note.objects.create(text=data["text"])
                    return {"id": note.pk, "count": Note.objects.count()}
            """,
    }
    driver = """
        import json
        import httpx
        import server
        from django.core.management import call_command

        call_command("migrate", run_syncdb=True, verbosity=0)
        client = httpx.Client(transport=httpx.WSGITransport(app=server.app), base_url="http://t")
        r = client.post("/api/notes", json={"text": "hi"})
        print(json.dumps({"status": r.status_code, "body": r.json(), "flask": type(server.app).__name__}))
        """
    out = run(tmp_path, files, driver)
    assert out == {"status": 200, "body": {"id": 1, "count": 1}, "flask": "Flask"}
    assert (tmp_path / "notes.sqlite3").is_file()


def _postgres() -> dict[str, Any]:
    url = urlsplit(POSTGRES_URL)
    target: dict[str, Any] = {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "user": unquote(url.username or "postgres"),
        "password": unquote(url.password or ""),
        "name": url.path.lstrip("/") or "postgres",
    }
    problem = None
    if find_spec("psycopg") is None and find_spec("psycopg2") is None:
        problem = "no PostgreSQL driver installed (pip install 'psycopg[binary]')"
    elif not listening(target["host"], target["port"]):
        problem = f"no PostgreSQL reachable at {target['host']}:{target['port']} (UTILMETA_TEST_POSTGRES)"
    if problem:
        unavailable(problem)
    return target


def test_a_real_postgresql_through_the_generated_databases(tmp_path: Path) -> None:
    pg = _postgres()
    files = {
        "server.py": f"""
            from utilmeta import UtilMeta
            from utilmeta.core.orm import Database, DatabaseConnections

            service = UtilMeta(__name__, name="pg", backend="starlette")
            service.use(DatabaseConnections({{
                "default": Database(
                    name={pg["name"]!r},
                    engine="postgresql",
                    host={pg["host"]!r},
                    user={pg["user"]!r},
                    password={pg["password"]!r},
                    port={pg["port"]!r},
                    max_age=30,
                )
            }}))
            service.setup()  # no DjangoSettings: Django is set up with the defaults
            """,
    }
    driver = """
        import asyncio
        import json
        import server
        from django.db import connection
        from django.contrib.contenttypes.models import ContentType

        with connection.cursor() as cursor:
            cursor.execute("select current_database(), current_user")
            database, user = cursor.fetchone()
            cursor.execute("create temporary table utilmeta_probe (id serial primary key, name text)")
            cursor.execute("insert into utilmeta_probe (name) values (%s), (%s)", ["a", "b"])
            cursor.execute("select count(*) from utilmeta_probe")
            count = cursor.fetchone()[0]
        # the ORM compiles and runs queries for postgresql (the table may not exist: any answer will do)
        sql = str(ContentType.objects.filter(app_label="x").query)

        async def version():
            from asgiref.sync import sync_to_async

            def fetch():
                with connection.cursor() as cursor:
                    cursor.execute("select version()")
                    return cursor.fetchone()[0]

            return await sync_to_async(fetch)()

        print(json.dumps({
            "vendor": connection.vendor,
            "database": database,
            "user": user,
            "count": count,
            "max_age": connection.settings_dict["CONN_MAX_AGE"],
            "sql": "django_content_type" in sql,
            "async": (asyncio.run(version())).startswith("PostgreSQL"),
        }))
        """
    out = run(tmp_path, files, driver)
    assert out == {
        "vendor": "postgresql",
        "database": pg["name"],
        "user": pg["user"],
        "count": 2,
        "max_age": 30,
        "sql": True,
        "async": True,
    }
