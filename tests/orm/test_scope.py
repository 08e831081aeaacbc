"""Field selection (``orm.Scope`` / ``context={'includes'|'excludes': ...}``), relational functions
with context parameters, and a correlated ``[:1]`` queryset as a field: what is output, and that
the SQL selects only what was asked (counted statements), on every engine, sync and async."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import msgspec
import pytest
from asgiref.sync import async_to_sync
from blogdata import TagSchema, UserSchema, fill, serving, statements
from django.db import models
from django.db.models import OuterRef
from ormblog.models import Article, Comment, User

from utilmeta import UtilMeta
from utilmeta.core import api, orm
from utilmeta.core.orm.backends.django.compiler import SchemaError
from utilmeta.ops.openapi import generate
from utilmeta.testing import TestClient
from utilmeta.utils.exceptions import ParseError


class CommentSchema(orm.Schema[Comment]):
    id: int
    body: str


class ArticleSchema(orm.Schema[Article]):
    id: int
    title: str
    author: UserSchema
    tags: list[TagSchema]
    comments_num: int = models.Count("comments")
    latest_comments: list[CommentSchema] = orm.Field(queryset=Comment.objects.order_by("-created")[:2])

    @property
    def shout(self) -> str:
        return self.title.upper()


@pytest.fixture(scope="module")
def blog(db: str) -> Iterator[tuple[str, dict[str, list]]]:
    yield db, fill(db)


def data(objects: Any) -> Any:
    return msgspec.to_builtins(objects)


def articles(alias: str) -> Any:
    return Article.objects.using(alias).order_by("created")


def test_includes_query_and_output_only_those_fields(blog: tuple[str, dict]) -> None:
    alias, _ = blog
    with statements(alias) as sql:
        found = ArticleSchema.serialize(articles(alias), context={"includes": ["id", "title"]})
    assert data(found)[0] == {"id": found[0].id, "title": "article 0"}
    assert len(sql) == 1
    assert "COUNT" not in sql[0].upper() and "author" not in sql[0].lower()


def test_a_dotted_path_selects_inside_a_relation(blog: tuple[str, dict]) -> None:
    alias, _ = blog
    with statements(alias) as sql:
        found = ArticleSchema.serialize(articles(alias), context={"includes": "title,tags.name,author.username"})
    first = data(found)[0]
    assert first == {"title": "article 0", "author": {"username": "alice"}, "tags": [{"name": "py"}, {"name": "web"}]}
    assert len(sql) == 2  # the root (author joined) and the tags


def test_excludes_leave_out_relations_and_their_statements(blog: tuple[str, dict]) -> None:
    alias, _ = blog
    with statements(alias) as sql:
        found = ArticleSchema.serialize(
            articles(alias), context={"excludes": ["tags", "latest_comments", "author.id", "shout"]}
        )
    first = data(found)[0]
    assert set(first) == {"id", "title", "author", "comments_num"}
    assert first["author"] == {"username": "alice"}
    assert len(sql) == 1


def test_a_selected_property_reads_what_it_needs_but_outputs_only_itself(blog: tuple[str, dict]) -> None:
    alias, _ = blog
    found = ArticleSchema.serialize(articles(alias), context={"includes": ["shout"]})
    assert data(found)[0] == {"shout": "ARTICLE 0"}  # a property may read any field: all are queried
    found = ArticleSchema.serialize(articles(alias), context={"excludes": ["tags"]})
    assert set(data(found)[0]) == {"id", "title", "author", "comments_num", "latest_comments", "shout"}


def test_a_plan_is_kept_per_selection(blog: tuple[str, dict]) -> None:
    alias, _ = blog
    ArticleSchema.serialize(articles(alias), context={"includes": ["id", "title"]})
    plans = dict(ArticleSchema.__plans__)
    ArticleSchema.serialize(articles(alias), context={"includes": "title,id"})  # the same selection
    assert ArticleSchema.__plans__ == plans


@pytest.mark.parametrize(
    "context, message",
    [
        ({"includes": ["id", "nope"]}, "ArticleSchema has no field 'nope'"),
        ({"includes": ["author.nope"]}, "UserSchema has no field 'nope'"),
        ({"includes": ["title.x"]}, "ArticleSchema.title is not a schema"),
        ({"excludes": ["nope"]}, "ArticleSchema has no field 'nope'"),
        ({"includes": ["a..b"]}, "'a..b' is not a field path"),
    ],
)
def test_an_unknown_field_is_a_400_naming_it(blog: tuple[str, dict], context: dict, message: str) -> None:
    alias, _ = blog
    with pytest.raises(ParseError) as error:
        ArticleSchema.serialize(articles(alias), context=context)
    assert error.value.status == 400 and message in error.value.message


def test_async_selection_costs_the_same_statements(blog: tuple[str, dict]) -> None:
    alias, _ = blog
    context = {"includes": ["title", "tags.name"]}
    with statements(alias) as sync_sql:
        expected = data(ArticleSchema.serialize(articles(alias), context=context))
    with statements(alias) as async_sql:
        # async_to_sync: Django's async ORM runs its queries in this thread, where they are counted
        found = data(async_to_sync(ArticleSchema.aserialize)(articles(alias), context=context))
    assert found == expected and len(async_sql) == len(sync_sql) == 2


# -- relational functions with context parameters ------------------------------------------------


def commented_by(*pks: int, username: str, using: str = "default") -> dict[int, bool]:
    comments = Comment.objects.using(using).filter(article__in=pks, author__username=username)
    mine = set(comments.values_list("article", flat=True))
    return {pk: pk in mine for pk in pks}


class ContextSchema(orm.Schema[Article]):
    id: int
    commented: bool = orm.Field(commented_by, default=False)

    @classmethod
    def comment_authors(cls, *pks: int, exclude: str = "", using: str = "default") -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        rows = Comment.objects.using(using).filter(article__in=pks).exclude(author__username=exclude)
        for article, author in rows.values_list("article", "author").order_by("author"):
            if author not in found.setdefault(article, []):
                found[article].append(author)
        return found

    commenters: list[UserSchema] = orm.Field(comment_authors)


def test_a_function_takes_its_keyword_parameters_from_the_context(blog: tuple[str, dict]) -> None:
    alias, _ = blog
    context = {"username": "carol", "exclude": "bob", "using": alias}  # two functions take "using"
    found = data(ContextSchema.serialize(articles(alias), context=context))
    assert [a["commented"] for a in found] == [True, True, False, False]
    assert [[u["username"] for u in a["commenters"]] for a in found] == [["alice", "carol"], ["carol"], ["alice"], []]
    by_default = data(ContextSchema.serialize(articles(alias), context={"username": "carol", "using": alias}))
    assert [len(a["commenters"]) for a in by_default] == [3, 1, 2, 0]  # exclude's default ""


def test_context_a_function_needs_or_nobody_takes_is_refused(default_db: str) -> None:
    fill(default_db)
    with pytest.raises(TypeError, match="need 'username'"):
        ContextSchema.serialize(Article.objects.all())
    with pytest.raises(TypeError, match="'usrname' is taken by none"):
        ContextSchema.serialize(Article.objects.all(), context={"username": "a", "usrname": "a"})


def test_a_function_must_take_keys_then_keyword_parameters() -> None:
    class Bad(orm.Schema[Article]):
        id: int
        liked: bool = orm.Field(lambda *pks, user_id=None, **more: {})

    with pytest.raises(SchemaError, match="keyword-only parameters"):
        Bad.serialize([])


# -- a correlated queryset as a field: its first row ------------------------------------------------


class LatestSchema(orm.Schema[Article]):
    id: int
    latest: Optional[CommentSchema] = orm.Field(
        Comment.objects.filter(article=OuterRef("pk")).order_by("-created", "-id")[:1]
    )
    latest_body: Optional[str] = orm.Field(
        Comment.objects.filter(article=OuterRef("pk")).order_by("-created", "-id").values("body")
    )


class AuthorLatest(orm.Schema[Article]):
    id: int
    author: LatestAuthor


class LatestAuthor(orm.Schema[User]):
    username: str
    newest_title: Optional[str] = orm.Field(
        Article.objects.filter(author=OuterRef("pk")).order_by("-created").values("title")[:1]
    )


def test_a_correlated_queryset_gives_each_row_its_first_match(blog: tuple[str, dict]) -> None:
    alias, _ = blog
    with statements(alias) as sql:
        found = data(LatestSchema.serialize(articles(alias)))
    assert [a["latest"] and a["latest"]["body"] for a in found] == ["comment 3", "comment 4", "comment 6", None]
    assert [a["latest_body"] for a in found] == ["comment 3", "comment 4", "comment 6", None]
    assert len(sql) == 2  # the root (both subqueries) and the latest comments by key
    with statements(alias) as sql:
        nested = data(AuthorLatest.serialize(articles(alias)))
    assert [a["author"]["newest_title"] for a in nested] == ["article 1", "article 1", "article 2", "article 3"]
    assert len(sql) == 1


def test_a_correlated_queryset_field_is_checked_when_compiled() -> None:
    class Many(orm.Schema[Article]):
        id: int
        latest: list[CommentSchema] = orm.Field(Comment.objects.filter(article=OuterRef("pk"))[:1])

    class Wide(orm.Schema[Article]):
        id: int
        latest: list[CommentSchema] = orm.Field(Comment.objects.filter(article=OuterRef("pk"))[:3])

    class Columns(orm.Schema[Article]):
        id: int
        latest: Optional[str] = orm.Field(Comment.objects.filter(article=OuterRef("pk")).values("body", "id"))

    with pytest.raises(SchemaError, match="for a list per row declare orm.Field"):
        Many.serialize([])
    with pytest.raises(SchemaError, match="for a list per row|slice it"):
        Wide.serialize([])
    with pytest.raises(SchemaError, match="selects one column"):
        Columns.serialize([])


# -- orm.Scope through an API: the client selects ----------------------------------------------------


class ScopedQuery(orm.Query[Article]):
    scope: list[str] = orm.Scope(max_depth=2)
    exclude: dict = orm.Scope(excluded=True)  # UtilMeta's documented spelling
    order: list[str] = orm.OrderBy(["created"], default=["created"])


class ScopedAPI(api.API):
    @api.get
    def articles(self, query: ScopedQuery) -> list[ArticleSchema]:
        return ArticleSchema.serialize(query)

    @api.get
    def based(self, query: ScopedQuery) -> list[ArticleSchema]:
        return ArticleSchema.serialize(
            query.get_queryset(Article.objects.exclude(comments=None)), context=query.get_context()
        )


@pytest.fixture(scope="module")
def client(default_db: str) -> Iterator[TestClient]:
    with serving(default_db, "scoped", ScopedAPI) as client:
        yield client


def test_the_client_selects_the_fields(client: TestClient) -> None:
    answer = client.get("/articles?scope=id,title&scope=author.username")
    assert answer.status_code == 200, answer.text
    assert set(answer.json()[0]) == {"id", "title", "author"} and answer.json()[0]["author"] == {"username": "alice"}
    answer = client.get("/articles?exclude=tags,latest_comments,author")
    assert set(answer.json()[0]) == {"id", "title", "comments_num", "shout"}
    answer = client.get("/articles?exclude=tags,latest_comments&scope=id,tags,author")
    assert set(answer.json()[0]) == {"id", "author"}  # both: the scope, less what is excluded
    answer = client.get("/based?scope=title")
    assert answer.json() == [{"title": "article 0"}, {"title": "article 1"}, {"title": "article 2"}]
    assert len(client.get("/articles").json()[0]) == 7  # no scope: every field


@pytest.mark.parametrize(
    "query, wording",
    [
        ("scope=id,nope", "ArticleSchema has no field 'nope'"),
        ("exclude=nope", "ArticleSchema has no field 'nope'"),
        ("scope=author.username.x", "deeper than 2"),
        ("scope=title..x", "is not a field path"),
    ],
)
def test_a_bad_scope_is_a_400_naming_the_parameter(client: TestClient, query: str, wording: str) -> None:
    answer = client.get(f"/articles?{query}")
    assert answer.status_code == 400, answer.text
    error = answer.text
    assert f"query parameter '{query.split('=')[0]}': " in error and wording in error, error


def test_scopes_are_documented_as_lists_of_fields() -> None:
    document = generate(UtilMeta(__name__, name="doc", backend="asgi", api=ScopedAPI))
    parameters = {p["name"]: p for p in document["paths"]["/articles"]["get"]["parameters"]}
    for name in ("scope", "exclude"):
        schema = parameters[name]["schema"]
        assert schema["type"] == "array" and schema["items"]["type"] == "string"
        assert "comma-separated" in parameters[name].get("description", "") + schema.get("description", "")


def test_scope_options_are_checked_when_declared() -> None:
    with pytest.raises(TypeError, match="both orm.Scope"):

        class Twice(orm.Query[Article]):
            a: list[str] = orm.Scope()
            b: list[str] = orm.Scope()

    with pytest.raises(TypeError, match="declared List"):

        class Typed(orm.Query[Article]):
            a: int = orm.Scope()

    with pytest.raises(TypeError):
        orm.Scope(templates=True)  # type: ignore[call-arg]
