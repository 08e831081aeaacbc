"""orm.Search: keywords over fields, in each match mode, case-insensitive by default and
case-sensitive on demand (the same on SQLite, PostgreSQL and MariaDB); full-text on PostgreSQL.
Also ``defer_default`` and ``get_instance``, on every engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import msgspec
import pytest
from asgiref.sync import async_to_sync
from blogdata import T0, fill, serving
from ormblog.models import Article, User

from utilmeta import UtilMeta
from utilmeta.core import api, orm, request
from utilmeta.core.orm.backends.django.queries import QueryError
from utilmeta.ops.openapi import generate
from utilmeta.testing import TestClient
from utilmeta.utils.exceptions import NotFound

TEXTS = [  # (title, body)
    ("Django tips", "models and views"),
    ("Flask notes", "views and routes about Django"),
    ("django ORM", "queries"),
    ("Async Python", "event loops"),
]


@pytest.fixture(scope="module")
def blog(db: str) -> Iterator[str]:
    data = fill(db)
    for article, (title, body) in zip(data["articles"], TEXTS, strict=True):
        Article.objects.using(db).filter(pk=article.pk).update(title=title, body=body)
    yield db


def search(alias: str, field: orm.Search, value: str) -> list[str]:
    class Searched(orm.Query[Article]):
        q: str = field

    query = msgspec.convert({"q": value}, Searched)
    return sorted(query.get_queryset(Article.objects.using(alias)).values_list("title", flat=True))


@pytest.mark.parametrize(
    "mode, value, expected",
    [
        # some field holds every keyword (the default)
        ("any_all", "django views", ["Flask notes"]),
        ("any_all", "django", ["Django tips", "Flask notes", "django ORM"]),
        # every keyword, each in some field
        ("union_all", "django views", ["Django tips", "Flask notes"]),
        # some keyword in some field
        ("any_any", "python|queries", ["Async Python", "django ORM"]),
        # every keyword in every field
        ("all_all", "o", ["Django tips", "Flask notes", "Async Python"]),
        ("all_all", "django", []),
    ],
)
def test_match_modes(blog: str, mode: str, value: str, expected: list[str]) -> None:
    assert search(blog, orm.Search("title", "body", match_mode=mode), value) == sorted(expected)


def test_case_is_ignored_unless_asked_on_every_engine(blog: str) -> None:
    assert search(blog, orm.Search("title"), "DJANGO") == ["Django tips", "django ORM"]
    assert search(blog, orm.Search("title", case_sensitive=True), "Django") == ["Django tips"]
    assert search(blog, orm.Search("title", case_sensitive=True), "django") == ["django ORM"]


def test_an_empty_search_selects_everything_and_a_lookup_searches_a_relation(blog: str) -> None:
    assert len(search(blog, orm.Search("title"), " , ")) == 4
    assert search(blog, orm.Search("author.username"), "carol") == ["Async Python"]


def test_full_text_ranks_on_postgresql(blog: str) -> None:
    field = orm.Search("title", "body", match_mode=orm.Search.FULL_TEXT)
    if blog != "postgresql":
        with pytest.raises(QueryError, match="needs PostgreSQL"):
            search(blog, field, "django")
        return

    class Searched(orm.Query[Article]):
        q: str = field

    query = msgspec.convert({"q": "django"}, Searched)
    ranked = list(query.get_queryset(Article.objects.using(blog)).values_list("title", "_um_rank_q"))
    assert sorted(title for title, _ in ranked) == ["Django tips", "Flask notes", "django ORM"]
    assert [rank for _, rank in ranked] == sorted((rank for _, rank in ranked), reverse=True)  # best first


def test_search_options_are_checked_when_declared() -> None:
    with pytest.raises(TypeError, match="match_mode"):
        orm.Search("title", match_mode="fuzzy")
    with pytest.raises(TypeError, match="the fields to search"):
        orm.Search()
    with pytest.raises(TypeError, match="min_rank"):
        orm.Search("title", min_rank=0.1)
    with pytest.raises(TypeError):
        orm.Search("title", weight="A")  # type: ignore[call-arg]

    class Unknown(orm.Query[Article]):
        q: str = orm.Search("titel")

    with pytest.raises(QueryError, match="no field 'titel'"):
        Unknown().get_queryset()


class SearchQuery(orm.Query[Article]):
    q: str = orm.Search("title", "body", max_keywords=3, max_length=50)


class TitleSchema(orm.Schema[Article]):
    title: str


class SearchAPI(api.API):
    @api.get
    def articles(self, query: SearchQuery) -> list[TitleSchema]:
        return TitleSchema.serialize(query)


@pytest.fixture(scope="module")
def client(default_db: str) -> Iterator[TestClient]:
    with serving(default_db, "search", SearchAPI) as client:
        yield client


def test_search_through_an_api(client: TestClient) -> None:
    answer = client.get("/articles", params={"q": "article 2"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"title": "article 2"}]
    answer = client.get("/articles", params={"q": "a b c d"})
    assert answer.status_code == 400 and "query parameter 'q': at most 3 keywords" in answer.text
    answer = client.get("/articles", params={"q": "x" * 51})
    assert answer.status_code == 400 and "query parameter 'q': " in answer.text
    document = generate(UtilMeta(__name__, name="doc", backend="asgi", api=SearchAPI))
    (parameter,) = document["paths"]["/articles"]["get"]["parameters"]
    assert "Search title, body (any all)" in parameter.get("description", "") + parameter["schema"].get(
        "description", ""
    )


# -- defer_default ------------------------------------------------------------------------------


class ArticleIn(orm.Schema[Article]):
    title: str
    author_id: int
    created: datetime
    body: str = orm.Field(default="(empty)", defer_default=True)


def test_a_deferred_default_is_not_filled_in_nor_saved(db: str) -> None:
    data = fill(db)
    article = ArticleIn(title="t", author_id=data["users"][0].pk, created=T0)
    assert article.body is msgspec.UNSET and "body" not in msgspec.to_builtins(article)
    pk = article.save(using=db)
    assert Article.objects.using(db).get(pk=pk).body == ""  # the model's default, not ours
    Article.objects.using(db).filter(pk=pk).update(body="kept")
    ArticleIn[orm.WP](title="t2").commit(Article.objects.using(db).filter(pk=pk))
    assert Article.objects.using(db).get(pk=pk).body == "kept"  # an update leaves it alone


def test_a_deferred_default_is_documented() -> None:
    class BodyAPI(api.API):
        def post(self, article: ArticleIn = request.Body) -> int:
            return 0

    document = generate(UtilMeta(__name__, name="doc", backend="asgi", api=BodyAPI))
    schemas = document["components"]["schemas"]
    (schema,) = [s for name, s in schemas.items() if "ArticleIn" in name]
    assert schema["properties"]["body"]["default"] == "(empty)"
    assert "body" not in schema.get("required", [])
    with pytest.raises(ValueError, match="defers a default"):
        orm.Field(defer_default=True)


# -- get_instance --------------------------------------------------------------------------------


class UserIO(orm.Schema[User]):
    id: int = orm.Field(default=None)
    username: str


def test_get_instance_builds_or_reads_the_model_instance(db: str) -> None:
    fill(db)
    saved = UserIO.init(User.objects.using(db).get(username="bob").pk, using=db)
    built = saved.get_instance()
    assert isinstance(built, User) and built.pk == saved.id and built.username == "bob"
    User.objects.using(db).filter(pk=saved.id).update(username="robert")
    assert saved.get_instance(fresh=True, using=db).username == "robert"
    assert async_to_sync(saved.aget_instance)(fresh=True, using=db).username == "robert"
    User.objects.using(db).filter(pk=saved.id).delete()
    with pytest.raises(NotFound, match=f"id={saved.id}"):
        saved.get_instance(fresh=True, using=db)
    new = UserIO(username="new")
    assert new.get_instance().pk is None
    with pytest.raises(ValueError, match="save\\(\\) it before"):
        new.get_instance(fresh=True)
