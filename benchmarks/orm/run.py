"""The ORM benchmark: the same read task by hand and by each serializer, side by side, in one run.

    python -m benchmarks.orm.run [--engines sqlite,postgresql] [--seconds 2] [--rows 500]

Data (created once per database, seeded): 200 users, 50 tags, 2,000 articles (a ~400-character
body, an author, 5 tags each), 20,000 comments (index on article, created). The read task is in
``benchmarks/orm/impls.py``. Every contender's answer is checked equal to the hand-written one
before timing. Per contender: the time per call (best of ``--repeat`` rounds, each as many calls
as fit in ``--seconds``), its ratio to hand-written, the SQL statements of one call and the peak
Python memory of one call (tracemalloc, in a separate call so it slows no timing).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import socket
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

USERS, TAGS, ARTICLES, COMMENTS, TAGS_PER_ARTICLE = 200, 50, 2_000, 20_000, 5
POSTGRES = ("127.0.0.1", 5432)


def _reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


def setup(engines: list[str], sqlite_path: str) -> dict[str, str]:
    """Configure Django with one alias per engine; return engine → alias."""
    from utilmeta import UtilMeta
    from utilmeta.core.orm import Database, DatabaseConnections
    from utilmeta.core.server.backends.django import DjangoSettings

    databases = {"default": Database(name=sqlite_path)}
    aliases = {"sqlite": "default"}
    if "postgresql" in engines:
        if _reachable(POSTGRES):
            databases["postgresql"] = Database(
                name="test", engine="postgresql", host=POSTGRES[0], port=POSTGRES[1], user="postgres"
            )
            aliases["postgresql"] = "postgresql"
        else:
            print(f"postgresql: not reachable at {POSTGRES[0]}:{POSTGRES[1]}, left out")
    service = UtilMeta("utilmeta_orm_bench", backend="django")
    service.use(DjangoSettings(apps=["benchmarks.orm.benchapp"]))
    service.use(DatabaseConnections(databases))
    service.setup()
    return {e: aliases[e] for e in engines if e in aliases}


def fill(alias: str) -> None:
    """Create the tables and the data unless they are there already."""
    from django.apps import apps
    from django.db import connections

    from benchmarks.orm.benchapp.models import Article, Comment, Tag, User

    connection = connections[alias]
    models = list(apps.get_app_config("bench").get_models())
    tables = set(connection.introspection.table_names())
    if all(m._meta.db_table in tables for m in models) and Comment.objects.using(alias).count() == COMMENTS:
        return
    print(f"{alias}: creating the data ...", flush=True)
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
    articles = Article.objects.using(alias).bulk_create(
        [
            Article(
                title=f"article {i}",
                body=" ".join(rnd.choice(("lorem", "ipsum", "dolor", "sit", "amet")) for _ in range(70))[:400],
                author=rnd.choice(users),
                created=t0 + timedelta(minutes=i),
            )
            for i in range(ARTICLES)
        ],
        batch_size=500,
    )
    through = Article.tags.through
    through.objects.using(alias).bulk_create(
        [through(article=a, tag=t) for a in articles for t in rnd.sample(tags, TAGS_PER_ARTICLE)], batch_size=2000
    )
    Comment.objects.using(alias).bulk_create(
        [
            Comment(
                article=rnd.choice(articles),
                author=rnd.choice(users),
                body=f"comment {i}",
                created=t0 + timedelta(seconds=i * 7),
            )
            for i in range(COMMENTS)
        ],
        batch_size=2000,
    )


def _normal(data: bytes) -> Any:
    import msgspec

    items = msgspec.json.decode(data)
    for item in items:
        item["tags"].sort(key=lambda t: t["id"])
    return items


def _timed(call: Callable[[], Any], seconds: float, repeat: int) -> float:
    """Best mean seconds per call over ``repeat`` rounds."""
    call()  # warm up (plans compiled, connections open)
    best = float("inf")
    for _ in range(repeat):
        n, start = 0, time.perf_counter()
        while True:
            call()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / repeat:
                break
        best = min(best, elapsed / n)
    return best


def _statements(alias: str, call: Callable[[], Any]) -> int:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connections[alias]) as ctx:
        call()
    return len(ctx.captured_queries)


def _peak(call: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write(engine: str, alias: str, args: argparse.Namespace) -> None:
    """The write task: ``--writes`` new articles with 5 existing tags each, per contender; each
    call from the same state (its rows deleted after it, outside the timing)."""
    from benchmarks.orm import impls
    from benchmarks.orm.benchapp.models import Article, Tag, User

    users = list(User.objects.using(alias).values_list("pk", flat=True)[:50])
    tags = list(Tag.objects.using(alias).values_list("pk", flat=True))
    items = impls.write_items(args.writes, users, tags)
    print(f"{engine:<11} write: {args.writes:,} articles, 5 tags each")
    base = None
    for name, func in impls.WRITES.items():
        if name == "DRF" and alias != "default":
            print(f"{engine:<11} {name:<13} {'sync':<5} n/a: DRF serializers write to the default database only")
            continue
        impls.cleanup(alias)
        call = functools.partial(func, alias, items)
        statements = _statements(alias, call)
        assert Article.objects.using(alias).filter(title=impls.WRITE_TITLE).count() == args.writes
        best = float("inf")
        for _ in range(args.repeat):
            impls.cleanup(alias)
            start = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - start)
        impls.cleanup(alias)
        base = base or best
        print(f"{engine:<11} {name:<13} {'sync':<5} {best * 1000:8.2f} {best / base:7.2f} {statements:5d}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per contender and mode")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "utilmeta-orm-bench.sqlite3"))
    args = parser.parse_args(argv)
    aliases = setup(args.engines.split(","), args.data)

    from asgiref.sync import async_to_sync

    from benchmarks.orm import impls

    print(f"read: the {args.rows} newest of {ARTICLES:,} articles with author, tags, comment count, latest 3 comments")
    print(f"{'engine':<11} {'contender':<13} {'mode':<5} {'ms/call':>8} {'× hand':>7} {'stmts':>5} {'peak MiB':>8}")
    for engine, alias in aliases.items():
        fill(alias)
        expected = _normal(impls.hand(alias, args.rows))
        base: dict[str, float] = {}
        for mode, table in (("sync", impls.READS), ("async", impls.AREADS)):
            for name, func in table.items():
                runner = func if mode == "sync" else async_to_sync(func)
                call: Callable[[], Any] = functools.partial(runner, alias, args.rows)
                try:
                    got = _normal(call())
                except ImportError as e:
                    print(f"{engine:<11} {name:<13} {mode:<5} unavailable: {e}")
                    continue
                if got != expected:
                    print(f"{engine:<11} {name:<13} {mode:<5} WRONG ANSWER (differs from hand-written)")
                    continue
                seconds = _timed(call, args.seconds, args.repeat)
                base.setdefault(mode, seconds) if name == "hand-written" else None
                ratio = seconds / base.get(mode, base.get("sync", seconds))
                print(
                    f"{engine:<11} {name:<13} {mode:<5} {seconds * 1000:8.2f} {ratio:7.2f} "
                    f"{_statements(alias, call):5d} {_peak(call) / 2**20:8.2f}",
                    flush=True,
                )
        if "sync" in base and "async" in base:
            print(f"{engine:<11} async ÷ sync (hand-written): {base['async'] / base['sync']:.2f}")
        write(engine, alias, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
