"""The benchmark's databases and their data.

Each engine gets two databases of its own: the issue's data set (200 users, 50 tags, 2,000
articles with a ~400-character body and 5 tags, 20,000 comments) and a scaled one for the
time-per-row section (20,000 articles, 200,000 comments, the same proportions). SQLite uses two
files; PostgreSQL and MariaDB the databases ``utilmeta_orm_bench`` and ``utilmeta_orm_bench_scale``,
created when the server lets us (else the data set goes to the server's ``test`` database and the
scaled one is left out, with the reason printed). Data is created once and reused while its row
counts are right.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

USERS, TAGS, TAGS_PER_ARTICLE, COMMENTS_PER_ARTICLE = 200, 50, 5, 10
ARTICLES, SCALE_ARTICLES = 2_000, 20_000
DATABASE = "utilmeta_orm_bench"
SERVERS = {"postgresql": ("127.0.0.1", 5432, "postgres"), "mariadb": ("127.0.0.1", 3306, "root")}


@dataclass
class Target:
    """One engine under test: the alias of its data set and of its scaled data (None: left out)."""

    engine: str
    alias: str
    scale: str | None
    note: str = ""


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _create_postgresql(names: list[str]) -> None:
    import psycopg

    host, port, user = SERVERS["postgresql"]
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as conn:
        present = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        for name in names:
            if name not in present:
                conn.execute(f'CREATE DATABASE "{name}"')


def _create_mariadb(names: list[str]) -> None:
    import pymysql

    host, port, user = SERVERS["mariadb"]
    conn = pymysql.connect(host=host, port=port, user=user, password="")
    try:
        with conn.cursor() as cursor:
            for name in names:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()


_CREATE: dict[str, Callable[[list[str]], None]] = {"postgresql": _create_postgresql, "mariadb": _create_mariadb}
_DJANGO_ENGINE = {"postgresql": "postgresql", "mariadb": "mysql"}


def setup(engines: list[str], sqlite_path: str) -> list[Target]:
    """Configure Django with the databases of ``engines``; print why any engine is left out."""
    from utilmeta import UtilMeta
    from utilmeta.core.orm import Database, DatabaseConnections
    from utilmeta.core.server.backends.django import DjangoSettings

    path = Path(sqlite_path)
    databases = {"default": Database(name=str(path))}
    targets: list[Target] = []
    for engine in engines:
        if engine == "sqlite":
            scale_path = path.with_name(f"{path.stem}-scale{path.suffix}")
            databases["sqlite_scale"] = Database(name=str(scale_path))
            targets.append(Target("sqlite", "default", "sqlite_scale", note=f"files {path}, {scale_path}"))
            continue
        if engine not in SERVERS:
            print(f"{engine}: unknown engine (use sqlite, postgresql, mariadb), left out")
            continue
        host, port, user = SERVERS[engine]
        if not _reachable(host, port):
            print(f"{engine}: not reachable at {host}:{port}, left out")
            continue
        names = [DATABASE, f"{DATABASE}_scale"]
        try:
            _CREATE[engine](names)
            note = f"databases {names[0]}, {names[1]}"
        except Exception as e:  # no right to create databases: the server's test database, no scaling
            print(f"{engine}: cannot create {DATABASE} ({e}); using 'test', the scaled data left out")
            names = ["test"]
            note = "database test"
        for suffix, name in zip(("", "_scale")[: len(names)], names, strict=True):
            databases[engine + suffix] = Database(
                name=name, engine=_DJANGO_ENGINE[engine], host=host, port=port, user=user
            )
        targets.append(Target(engine, engine, f"{engine}_scale" if len(names) == 2 else None, note=note))
    service = UtilMeta("utilmeta_orm_bench", backend="django")
    service.use(
        DjangoSettings(
            apps=["benchmarks.orm.benchapp"],
            # DEBUG off as in production: no query log kept per statement
            extra={"DEBUG": False, "DATABASE_ROUTERS": ["benchmarks.orm.impls.Router"]},
        )
    )
    service.use(DatabaseConnections(databases))
    service.setup()
    return targets


def fill(alias: str, articles: int) -> None:
    """Create the tables and ``articles`` articles' data unless they are there already."""
    from django.apps import apps
    from django.db import connections

    from benchmarks.orm import impls
    from benchmarks.orm.benchapp.models import Article, Comment, Tag, User

    connection = connections[alias]
    models = list(apps.get_app_config("bench").get_models())
    tables = set(connection.introspection.table_names())
    comments = articles * COMMENTS_PER_ARTICLE
    if all(m._meta.db_table in tables for m in models):
        impls.cleanup(alias)  # an interrupted write task's rows
        if (
            Article.objects.using(alias).count() == articles
            and Comment.objects.using(alias).count() == comments
            and Article.tags.through.objects.using(alias).count() == articles * TAGS_PER_ARTICLE
        ):
            analyze(alias)
            return
    print(f"{alias}: creating {articles:,} articles, {comments:,} comments ...", flush=True)
    with connection.schema_editor() as editor:
        for model in reversed(models):
            if model._meta.db_table in tables:
                editor.delete_model(model)
        for model in models:
            editor.create_model(model)
    rnd = random.Random(7)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    users = User.objects.using(alias).bulk_create([User(username=f"user{i}") for i in range(USERS)])
    tags = Tag.objects.using(alias).bulk_create([Tag(name=f"tag{i}") for i in range(TAGS)])
    rows = Article.objects.using(alias).bulk_create(
        [
            Article(
                title=f"article {i}",
                body=" ".join(rnd.choice(("lorem", "ipsum", "dolor", "sit", "amet")) for _ in range(70))[:400],
                author=rnd.choice(users),
                created=t0 + timedelta(minutes=i),
            )
            for i in range(articles)
        ],
        batch_size=500,
    )
    through = Article.tags.through
    through.objects.using(alias).bulk_create(
        [through(article=a, tag=t) for a in rows for t in rnd.sample(tags, TAGS_PER_ARTICLE)], batch_size=2000
    )
    Comment.objects.using(alias).bulk_create(
        [
            Comment(
                article=rnd.choice(rows),
                author=rnd.choice(users),
                body=f"comment {i}",
                created=t0 + timedelta(seconds=i * 7),
            )
            for i in range(comments)
        ],
        batch_size=2000,
    )
    analyze(alias)


def analyze(alias: str) -> None:
    """Fresh planner statistics (the M2M table too), so that the plans do not depend on when the
    server last sampled the tables; SQLite is left as Django leaves it (no statistics)."""
    from django.db import connections

    connection = connections[alias]
    tables = [t for t in connection.introspection.table_names() if t.startswith("bench_")]
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
            elif connection.vendor == "mysql":
                cursor.execute(f"ANALYZE TABLE {connection.ops.quote_name(table)}")
                cursor.fetchall()
