"""orm.Schema reads: what each shape of schema answers, and exactly how many statements it costs
(one root query; one more per to-many source, whatever the number of rows), on every engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import msgspec
import pytest
from blogdata import TagSchema, UserSchema, fill, statements
from django.db import models
from ormblog.models import Article, Comment, Tag, User

from utilmeta.core import orm
from utilmeta.core.orm.backends.django.compiler import SchemaError
from utilmeta.utils.exceptions import NotFound


class CommentSchema(orm.Schema[Comment]):
    id: int
    body: str
    author_username: str = orm.Field("author.username")


class ArticleSchema(orm.Schema[Article]):
    id: int
    title: str
    author: UserSchema
    editor: Optional[UserSchema]
    tags: list[TagSchema]
    comments_num: int = models.Count("comments")
    latest_comments: list[CommentSchema] = orm.Field(queryset=Comment.objects.order_by("-created")[:2])


@pytest.fixture(scope="module")
def blog(db: str) -> Iterator[tuple[str, dict[str, list]]]:
    yield db, fill(db)


def as_data(objects: Any) -> Any:
    return msgspec.to_builtins(objects)


def test_plain_fields_are_one_query(blog: tuple[str, dict]) -> None:
    alias, data = blog
    with statements(alias) as sql:
        tags = TagSchema.serialize(Tag.objects.using(alias).all())
    assert [t.name for t in tags] == ["db", "ops", "py", "web"]  # the model's ordering
    assert all(isinstance(t, TagSchema) for t in tags)
    assert len(sql) == 1


def test_the_whole_article_shape_costs_one_statement_per_source(blog: tuple[str, dict]) -> None:
    alias, data = blog
    queryset = Article.objects.using(alias).order_by("created")
    with statements(alias) as sql:
        articles = ArticleSchema.serialize(queryset)
    # root (author, editor joined; Count as a subquery) + tags + latest comments
    assert len(sql) == 3, sql
    # on MariaDB the article drives the root query (LEFT JOIN to its author: the optimizer may
    # not start from the users and sort every article); elsewhere a plain INNER JOIN
    author_join = "LEFT OUTER JOIN `blog_user`" if alias == "mariadb" else 'INNER JOIN "blog_user"'
    assert author_join in sql[0], sql[0]
    first, second, third, fourth = as_data(articles)
    assert first["author"] == {"id": data["users"][0].pk, "username": "alice"}
    assert first["editor"] == {"id": data["users"][1].pk, "username": "bob"}
    assert second["editor"] is None
    assert [t["name"] for t in first["tags"]] == ["py", "web"]
    assert [t["name"] for t in third["tags"]] == ["db", "py", "web"]
    assert fourth["tags"] == [] and fourth["latest_comments"] == [] and fourth["comments_num"] == 0
    assert [a["comments_num"] for a in (first, second, third)] == [4, 1, 2]
    assert [c["body"] for c in first["latest_comments"]] == ["comment 3", "comment 2"]  # two per article
    assert first["latest_comments"][0]["author_username"] == "alice"


def test_statements_do_not_grow_with_rows(blog: tuple[str, dict]) -> None:
    alias, _ = blog
    for n in (1, 2, 4):
        with statements(alias) as sql:
            ArticleSchema.serialize(Article.objects.using(alias).order_by("created")[:n])
        assert len(sql) == 3


def test_reverse_relations_and_lookups(blog: tuple[str, dict]) -> None:
    alias, data = blog

    class AuthorSchema(orm.Schema[User]):
        username: str
        articles: list[int]
        tag_names: list[str] = orm.Field("articles.tags.name")
        bio: Optional[str] = orm.Field("profile.bio")
        comments: list[CommentSchema]

    with statements(alias) as sql:
        alice, bob, carol = as_data(AuthorSchema.serialize(User.objects.using(alias).order_by("username")))
    assert len(sql) == 4  # root (profile joined) + article keys + tag names + comments
    assert sorted(alice["articles"]) == sorted(a.pk for a in data["articles"][:2])
    assert sorted(alice["tag_names"]) == ["db", "py", "web"]
    assert alice["bio"] == "writes" and bob["bio"] is None
    assert sorted(c["body"] for c in carol["comments"]) == ["comment 1", "comment 4"]
    assert carol["articles"] == [data["articles"][3].pk] and carol["tag_names"] == []


def test_a_function_of_all_the_keys_is_called_once(blog: tuple[str, dict]) -> None:
    alias, data = blog
    calls: list[tuple[Any, ...]] = []

    def find_commenters(*pks: Any) -> dict[Any, list[Any]]:
        calls.append(pks)
        found: dict[Any, list[Any]] = {}
        for article, user in Comment.objects.using(alias).filter(article__in=pks).values_list("article", "author"):
            found.setdefault(article, [])
            if user not in found[article]:
                found[article].append(user)
        return found

    class WithCommenters(orm.Schema[Article]):
        id: int
        commenters: list[UserSchema] = orm.Field(find_commenters)

    with statements(alias) as sql:
        result = as_data(WithCommenters.serialize(Article.objects.using(alias).order_by("created")))
    assert len(calls) == 1 and len(sql) == 3  # root + the function's own + the users
    assert {u["username"] for u in result[0]["commenters"]} == {"alice", "bob", "carol"}
    assert result[3]["commenters"] == []


def test_init_and_a_list_of_keys(blog: tuple[str, dict]) -> None:
    alias, data = blog
    article = data["articles"][2]
    one = ArticleSchema.init(article.pk, using=alias)
    assert one.title == "article 2" and one.pk == article.pk
    keys = [data["articles"][3].pk, data["articles"][0].pk]
    assert [a.id for a in ArticleSchema.serialize(keys, using=alias)] == keys  # the order given
    with pytest.raises(NotFound) as e:
        ArticleSchema.init(10**9, using=alias)
    assert "Article" in str(e.value) and str(10**9) in str(e.value)
    with pytest.raises(NotFound):
        ArticleSchema.init("not-a-key", using=alias)


def test_async_twins_give_the_same_results_and_statements(blog: tuple[str, dict]) -> None:
    # async_to_sync: Django's async ORM runs its queries in this (the calling) thread, on the
    # connection whose statements are counted
    from asgiref.sync import async_to_sync

    alias, data = blog
    queryset = Article.objects.using(alias).order_by("created")
    with statements(alias) as sync_sql:
        expected = as_data(ArticleSchema.serialize(queryset))
    with statements(alias) as async_sql:
        got = as_data(async_to_sync(ArticleSchema.aserialize)(queryset))
    assert got == expected
    assert len(async_sql) == len(sync_sql)
    one = async_to_sync(ArticleSchema.ainit)(data["articles"][0].pk, using=alias)
    assert one.comments_num == 4
    with pytest.raises(NotFound):
        async_to_sync(ArticleSchema.ainit)(10**9, using=alias)


AGGREGATES: dict[str, Any] = {
    "comments": models.Count("comments"),
    "commenters": models.Count("comments__author", distinct=True),
    "alice_comments": models.Count("comments", filter=models.Q(comments__author__username="alice")),
    "not_alice": models.Count("comments", filter=~models.Q(comments__author__username="alice")),
    "tags_num": models.Count("tags"),
    "last_comment": models.Max("comments__created"),
    "first_commenter": models.Min("comments__author__username"),
    "comment_ids": models.Sum("comments__id"),
    "mean_id": models.Avg("comments__id"),
    # shapes read through the owner again (an expression in the filter, two relations)
    "late_comments": models.Count("comments", filter=models.Q(comments__created__gt=models.F("created"))),
    "tag_comment_pairs": models.Count("tags") + models.Count("comments"),
}


def test_aggregates_over_a_relation_agree_with_django(blog: tuple[str, dict]) -> None:
    alias, data = blog
    namespace = {name: orm.Field(expression) for name, expression in AGGREGATES.items()}
    annotations = {name: Optional[Any] for name in AGGREGATES}
    Aggregates = type(
        "Aggregates", (orm.Schema[Article],), {"__annotations__": {"id": int, **annotations}, **namespace}
    )
    queryset = Article.objects.using(alias).order_by("id")
    with statements(alias) as sql:
        got = as_data(Aggregates.serialize(queryset))
    assert len(sql) == 1, sql
    # each one on its own, as Django annotates it (one aggregate per query: no join fan-out)
    for name, expression in AGGREGATES.items():
        expected = as_data(list(queryset.annotate(value=expression).values_list("value", flat=True)))
        value = [row[name] for row in got]
        if name == "mean_id":  # a float or a decimal, by engine
            value, expected = ([None if v is None else round(float(v), 6) for v in x] for x in (value, expected))
        assert value == expected, name
    # a plain aggregate over one relation reads the related table alone, not the owner again
    (root,) = sql
    count = root.split("COUNT(", 1)[1].split("WHERE", 1)[0]  # Count("comments"), up to its WHERE
    assert "blog_comment" in count and "blog_article" not in count, root


def test_a_schema_is_a_struct_for_encoding_and_validation() -> None:
    class Input(orm.Schema[Tag]):
        name: str
        articles_num: int = models.Count("articles")

    assert msgspec.json.decode(b'{"name": "x"}', type=Input).name == "x"
    assert msgspec.json.encode(Input(name="x")) == b'{"name":"x"}'  # an unqueried expression is unset


@pytest.mark.parametrize(
    "body, message",
    [
        ("tags: str", "annotate it as List"),
        ("title: list[str]", "one value per row"),
        ("author: TagSchema", "TagSchema is a schema of Tag"),
        ("x: list[int] = orm.Field(lambda pk: {})", "*pks"),
    ],
)
def test_declarations_that_cannot_be_queried_are_refused(body: str, message: str) -> None:
    namespace: dict[str, Any] = {}
    source = f"class Bad(orm.Schema[Article]):\n    {body}\n"
    exec(source, dict(globals()), namespace)
    with pytest.raises(SchemaError, match=message.replace("*", r"\*")):
        namespace["Bad"].serialize([])
