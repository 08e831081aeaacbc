"""orm.Schema writes on every engine: save (insert/update, many-to-many links replaced), bulk_save
within its statement budget, commit, nested saves in one transaction, and the client's errors a
database constraint stands for (409 / 400, no SQL)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from asgiref.sync import async_to_sync
from blogdata import fill, statements
from ormblog.models import Article, Comment, User

from utilmeta.core import orm
from utilmeta.utils.exceptions import BadRequest, Conflict, NotFound

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


class ArticleIn(orm.Schema[Article]):
    title: str
    author_id: int
    created: datetime = NOW
    tags: list[int] = []


class ArticleEdit(orm.Schema[Article]):
    id: int
    title: str


class UserIn(orm.Schema[User]):
    id: int | None = None
    username: str


class CommentIn(orm.Schema[Comment]):
    body: str
    author_id: int
    created: datetime = NOW


class ArticleTree(orm.Schema[Article]):
    title: str
    created: datetime = NOW
    author: UserIn
    comments: list[CommentIn] = []


@pytest.fixture
def blog(db: str) -> tuple[str, dict[str, list]]:
    return db, fill(db)


def tag_names(alias: str, article_id: int) -> list[str]:
    return sorted(Article.objects.using(alias).get(pk=article_id).tags.values_list("name", flat=True))


def test_save_inserts_then_updates_and_replaces_links(blog: tuple[str, dict]) -> None:
    alias, data = blog
    web, db_, py, _ = data["tags"]
    new = ArticleIn(title="fresh", author_id=data["users"][0].pk, tags=[web.pk, py.pk])
    key = new.save(using=alias)
    assert new.pk == key and Article.objects.using(alias).get(pk=key).title == "fresh"
    assert tag_names(alias, key) == ["py", "web"]
    again = ArticleIn(title="fresh", author_id=data["users"][0].pk, tags=[db_.pk])
    again.__dict__["_pk"] = key  # the schema has no key field: the instance keeps the one it was saved under
    assert again.pk == key
    again.save(using=alias)
    assert tag_names(alias, key) == ["db"]  # replaced: the removed links are deleted
    ArticleEdit(id=key, title="renamed").save(using=alias)
    assert Article.objects.using(alias).get(pk=key).title == "renamed"


def test_must_update_and_must_create(blog: tuple[str, dict]) -> None:
    alias, data = blog
    with pytest.raises(NotFound, match="Article not found"):
        ArticleEdit(id=10**9, title="x").save(must_update=True, using=alias)
    user = UserIn(id=10**6, username="dave")
    assert user.save(must_create=True, using=alias) == 10**6
    with pytest.raises(Conflict, match="already exists"):
        UserIn(id=10**6, username="erin").save(must_create=True, using=alias)


def test_constraint_errors_name_the_field(blog: tuple[str, dict]) -> None:
    alias, data = blog
    with pytest.raises(Conflict) as taken:
        UserIn(username="alice").save(using=alias)
    assert str(taken.value) == "User: username already taken" and taken.value.status == 409
    with pytest.raises(BadRequest) as missing:
        ArticleIn(title="orphan", author_id=10**9).save(using=alias)
    assert "author: no User with key" in str(missing.value) and missing.value.status == 400
    assert not Article.objects.using(alias).filter(title="orphan").exists()


def test_bulk_save_costs_two_statements_per_table(blog: tuple[str, dict]) -> None:
    alias, data = blog
    author = data["users"][1].pk
    tags = [t.pk for t in data["tags"][:3]]
    items = [{"title": f"bulk {i}", "author_id": author, "tags": tags} for i in range(20)]
    with statements(alias) as sql:
        saved = ArticleIn.bulk_save(items, using=alias)
    inserts = [s for s in sql if s.startswith("INSERT")]
    assert len(sql) == 2 and len(inserts) == 2, sql  # the rows, then every link
    assert all(a.pk for a in saved)
    assert tag_names(alias, saved[-1].pk) == ["db", "py", "web"]


def test_bulk_save_updates_and_replaces_links(blog: tuple[str, dict]) -> None:
    alias, data = blog
    saved = ArticleIn.bulk_save(
        [{"title": "a", "author_id": data["users"][0].pk, "tags": [data["tags"][0].pk]}], using=alias
    )
    key = saved[0].pk

    class Retag(orm.Schema[Article]):
        id: int
        title: str
        tags: list[int]

    with statements(alias) as sql:
        Retag.bulk_save([Retag(id=key, title="b", tags=[data["tags"][3].pk])], using=alias)
    # which keys exist, the UPDATE, the replaced links' DELETE, the new links' INSERT
    assert [s.split()[0] for s in sql] == ["SELECT", "UPDATE", "DELETE", "INSERT"], sql
    assert tag_names(alias, key) == ["ops"]
    assert Article.objects.using(alias).get(pk=key).title == "b"


def test_commit_updates_the_queryset(blog: tuple[str, dict]) -> None:
    alias, data = blog

    class Title(orm.Schema[Article]):
        title: str

    queryset = Article.objects.using(alias).filter(author=data["users"][0])
    assert Title(title="same").commit(queryset) == 2
    assert set(queryset.values_list("title", flat=True)) == {"same"}


def test_nested_save_is_one_transaction(blog: tuple[str, dict]) -> None:
    alias, data = blog
    tree = ArticleTree(
        title="tree",
        author=UserIn(username="zoe"),
        comments=[CommentIn(body="first", author_id=data["users"][0].pk)],
    )
    key = tree.save(with_relations=True, using=alias)
    article = Article.objects.using(alias).get(pk=key)
    assert article.author.username == "zoe" and [c.body for c in article.comments.all()] == ["first"]
    broken = ArticleTree(
        title="broken",
        author=UserIn(username="yann"),
        comments=[CommentIn(body="bad", author_id=10**9)],
    )
    with pytest.raises(BadRequest, match="author: no User"):
        broken.save(with_relations=True, using=alias)
    assert not User.objects.using(alias).filter(username="yann").exists()  # rolled back whole
    assert not Article.objects.using(alias).filter(title="broken").exists()


def test_async_twins(blog: tuple[str, dict]) -> None:
    alias, data = blog
    new = ArticleIn(title="async", author_id=data["users"][2].pk, tags=[data["tags"][1].pk])
    key = async_to_sync(new.asave)(using=alias)
    assert tag_names(alias, key) == ["db"]
    saved = async_to_sync(ArticleIn.abulk_save)(
        [{"title": "async bulk", "author_id": data["users"][2].pk}], using=alias
    )
    assert Article.objects.using(alias).filter(pk=saved[0].pk).exists()
    with pytest.raises(Conflict):
        async_to_sync(UserIn(username="bob").asave)(using=alias)
    assert async_to_sync(ArticleEdit(id=key, title="t").acommit)(Article.objects.using(alias).filter(pk=key)) == 1


def test_bad_items_are_a_400() -> None:
    with pytest.raises(BadRequest, match="ArticleIn"):
        ArticleIn.bulk_save([{"title": 3}])


def test_a_missing_required_column_is_a_400_naming_it(blog: tuple[str, dict]) -> None:
    alias, data = blog

    class NoDate(orm.Schema[Article]):
        title: str
        author_id: int

    with pytest.raises(BadRequest) as missing:
        NoDate(title="undated", author_id=data["users"][0].pk).save(using=alias)
    assert str(missing.value) == "created: a value is required for a new Article" and missing.value.status == 400
