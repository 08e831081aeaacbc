"""orm.Query[Model]: query parameters → QuerySet (filters, ordering, paging), through an API:
bad values are 400s naming the parameter, and the OpenAPI document lists every field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from blogdata import T0, fill, serving
from django.db.models import Count, Q
from ormblog.models import Article

from utilmeta import UtilMeta
from utilmeta.core import api, orm, response
from utilmeta.core.orm.backends.django.queries import QueryError
from utilmeta.ops.openapi import generate
from utilmeta.testing import TestClient


class ArticleSchema(orm.Schema[Article]):
    id: int
    title: str


class ArticleQuery(orm.Query[Article]):
    author_id: int
    author: str = orm.Filter("author.username")
    title: str = orm.Filter("title__icontains", max_length=20)
    tag: str = orm.Filter("tags.name")
    comments_num: int = orm.Filter(Count("comments"))
    within_days: int = orm.Filter(query=lambda v: Q(created__lt=T0 + timedelta(days=v)), ge=0)
    order: list[str] = orm.OrderBy(
        {
            "created": orm.Order(),
            "id": orm.Order(desc=False),
            "comments_num": orm.Order(Count("comments"), document="most discussed first with -"),
        },
        default=["id"],
    )
    offset: int = orm.Offset()
    limit: int = orm.Limit(default=2, le=3)


class Listed(response.Response):
    result_key = "result"
    count_key = "count"
    message_key = "error"


class ArticleAPI(api.API):
    @api.get
    def articles(self, query: ArticleQuery) -> Listed:
        return Listed(result=ArticleSchema.serialize(query), count=query.count())


@pytest.fixture(scope="module")
def client(default_db: str) -> Iterator[TestClient]:
    with serving(default_db, "blog", ArticleAPI) as client:
        yield client


def titles(client: TestClient, query: str) -> tuple[list[str], int]:
    answer = client.get(f"/articles?{query}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return [a["title"] for a in body["result"]], body["count"]


@pytest.mark.parametrize(
    "query, expected, count",
    [
        ("", ["article 0", "article 1"], 4),  # the default order and limit
        ("limit=3&offset=1", ["article 1", "article 2", "article 3"], 4),
        ("author=alice", ["article 0", "article 1"], 2),
        ("title=E 3", ["article 3"], 1),
        ("tag=py&order=-created", ["article 2", "article 0"], 2),
        ("comments_num=0", ["article 3"], 1),
        ("within_days=2", ["article 0", "article 1"], 2),
        ("order=-comments_num,id&limit=3", ["article 0", "article 2", "article 1"], 4),
        ("order=-comments_num&order=id&limit=3", ["article 0", "article 2", "article 1"], 4),
    ],
)
def test_filters_ordering_and_paging(client: TestClient, query: str, expected: list[str], count: int) -> None:
    assert titles(client, query) == (expected, count)


def test_a_plain_model_field_filters(client: TestClient, default_db: str) -> None:
    bob = Article.objects.get(title="article 2").author_id
    assert titles(client, f"author_id={bob}") == (["article 2"], 1)


@pytest.mark.parametrize(
    "query, name",
    [
        ("limit=4", "limit"),
        ("limit=-1", "limit"),
        ("offset=-1", "offset"),
        ("order=title", "order"),
        ("order=-id", "order"),
        ("within_days=x", "within_days"),
        ("title=" + "x" * 21, "title"),
    ],
)
def test_bad_values_are_400_naming_the_parameter(client: TestClient, query: str, name: str) -> None:
    answer = client.get(f"/articles?{query}")
    assert answer.status_code == 400, answer.text
    assert f"query parameter '{name}': " in answer.json()["error"]


def test_pages(default_db: str) -> None:
    class Paged(orm.Query[Article]):
        page: int = orm.Page()
        rows: int = orm.Limit(default=3)
        order: list[str] = orm.OrderBy(["id"], default=["id"])

    fill(default_db)
    assert [a.title for a in ArticleSchema.serialize(Paged(page=2))] == ["article 3"]
    assert [a.title for a in ArticleSchema.serialize(Paged(page=1, rows=2))] == ["article 0", "article 1"]


def test_every_field_is_documented_with_its_limits() -> None:
    doc = generate(UtilMeta(__name__, name="blog", backend="asgi", api=ArticleAPI))
    parameters = {p["name"]: p for p in doc["paths"]["/articles"]["get"]["parameters"]}
    assert set(parameters) == {
        "author_id", "author", "title", "tag", "comments_num", "within_days", "order", "offset", "limit",
    }  # fmt: skip
    assert parameters["limit"]["schema"]["maximum"] == 3
    assert parameters["title"]["schema"]["maxLength"] == 20
    ordering = parameters["order"].get("description", "") + parameters["order"]["schema"].get("description", "")
    assert "`id` (asc only)" in ordering and "`comments_num` (asc, desc): most discussed first with -" in ordering
    assert all(not p.get("required") for p in parameters.values())


class ByAuthor(orm.Query[Article]):
    author: str = orm.Filter("author.username", required=True)


class RequiredAPI(api.API):
    @api.get
    def articles(self, query: ByAuthor) -> list[ArticleSchema]:
        return ArticleSchema.serialize(query)


def test_a_required_filter_must_be_sent_and_is_documented_so(default_db: str) -> None:
    fill(default_db)
    service = UtilMeta(__name__, name="required", backend="asgi", api=RequiredAPI)
    with TestClient(service) as client:
        answer = client.get("/articles")
        assert answer.status_code == 400 and "query parameter 'author': required" in answer.text, answer.text
        answer = client.get("/articles?author=bob")
        assert [a["title"] for a in answer.json()] == ["article 2"]
    (parameter,) = generate(service)["paths"]["/articles"]["get"]["parameters"]
    assert parameter["name"] == "author" and parameter["required"] is True
    with pytest.raises(TypeError, match="a required filter has no default"):
        orm.Filter("title", required=True, default="x")


@pytest.mark.parametrize(
    "body, message",
    [
        ("missing: int", "Article has no field 'missing'"),
        ("p: int = orm.Page()", r"orm.Page\(\) needs an orm.Limit"),
        ("a: int = orm.Offset()\n    b: int = orm.Offset()", "a second orm.Offset"),
    ],
)
def test_declarations_that_cannot_apply_are_refused(body: str, message: str) -> None:
    namespace: dict = {}
    exec(f"class Bad(orm.Query[Article]):\n    {body}\n", dict(globals()), namespace)
    with pytest.raises(QueryError, match=message):
        namespace["Bad"]().get_queryset()


def test_unknown_options_are_refused_at_declaration() -> None:
    with pytest.raises(TypeError, match="unknown option"):
        orm.Filter("title", regex="x")
    with pytest.raises(TypeError):
        orm.Limit(default=2, maximum=3)  # type: ignore[call-arg]
