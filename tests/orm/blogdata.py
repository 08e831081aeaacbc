"""A known blog, written into a database alias: 3 users (one with a profile), 4 tags, 4 articles
(one with an editor, one without tags or comments), 7 comments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from ormblog.models import Article, Comment, Profile, Tag, User

from utilmeta import UtilMeta
from utilmeta.core import orm
from utilmeta.testing import TestClient

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class TagSchema(orm.Schema[Tag]):
    id: int
    name: str


class UserSchema(orm.Schema[User]):
    id: int
    username: str


@contextmanager
def serving(alias: str, name: str, api: type) -> Iterator[TestClient]:
    """A client of a service around ``api``, the known blog written into ``alias`` first."""
    fill(alias)
    with TestClient(UtilMeta(__name__, name=name, backend="asgi", api=api)) as client:
        yield client


def fill(alias: str) -> dict[str, list]:
    for model in (Comment, Article, Tag, Profile, User):
        model.objects.using(alias).all().delete()
    users = [User.objects.using(alias).create(username=name) for name in ("alice", "bob", "carol")]
    Profile.objects.using(alias).create(user=users[0], bio="writes")
    tags = [Tag.objects.using(alias).create(name=name) for name in ("web", "db", "py", "ops")]
    articles = []
    for i, (author, tag_ids) in enumerate([(0, [0, 2]), (0, [1]), (1, [0, 1, 2]), (2, [])]):
        article = Article.objects.using(alias).create(
            title=f"article {i}",
            body="x" * 10,
            author=users[author],
            editor=users[1] if i == 0 else None,
            created=T0 + timedelta(days=i),
        )
        article.tags.set([tags[t] for t in tag_ids])
        articles.append(article)
    comments = []
    for i, (article, author) in enumerate([(0, 1), (0, 2), (0, 1), (0, 0), (1, 2), (2, 0), (2, 1)]):
        comments.append(
            Comment.objects.using(alias).create(
                article=articles[article], author=users[author], body=f"comment {i}", created=T0 + timedelta(hours=i)
            )
        )
    return {"users": users, "tags": tags, "articles": articles, "comments": comments}


@contextmanager
def statements(alias: str) -> Iterator[list[str]]:
    """The SQL statements run on ``alias`` inside the block (filled when it ends); transaction
    control (BEGIN, COMMIT, savepoints) is not a statement of data and is left out."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connections[alias]) as ctx:
        sql: list[str] = []
        yield sql
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    sql.extend(q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(control))
