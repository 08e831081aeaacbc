"""orm.Schema in an API: as the return annotation (encoded, documented) and as the request body
(validated: 400 on bad input), with sync and async endpoints."""

from __future__ import annotations

import pytest
from blogdata import fill
from django.db import models
from ormblog.models import Article, Tag

from utilmeta import UtilMeta
from utilmeta.core import api, orm, request
from utilmeta.ops.openapi import generate
from utilmeta.testing import TestClient


class TagSchema(orm.Schema[Tag]):
    id: int
    name: str
    articles_num: int = models.Count("articles")


class TagIn(orm.Schema[Tag]):
    name: str


class ArticleSchema(orm.Schema[Article]):
    id: int
    title: str
    author_name: str = orm.Field("author.username")
    tags: list[TagSchema]


class BlogAPI(api.API):
    @api.get
    def tags(self) -> list[TagSchema]:
        return TagSchema.serialize(Tag.objects.all())

    @api.get("articles/{id}")
    def article(self, id: int) -> ArticleSchema:
        return ArticleSchema.init(id)

    @api.post
    def echo(self, tag: TagIn = request.Body) -> TagIn:
        return tag


class AsyncBlogAPI(api.API):
    @api.get
    async def tags(self) -> list[TagSchema]:
        return await TagSchema.aserialize(Tag.objects.all())

    @api.get("articles/{id}")
    async def article(self, id: int) -> ArticleSchema:
        return await ArticleSchema.ainit(id)


@pytest.fixture(scope="module")
def blog(default_db: str) -> dict[str, list]:
    return fill(default_db)


@pytest.mark.parametrize("root", [BlogAPI, AsyncBlogAPI], ids=["sync", "async"])
def test_schemas_as_answers(blog: dict[str, list], root: type[api.API]) -> None:
    service = UtilMeta(__name__, name="blog", backend="asgi", api=root, asynchronous=root is AsyncBlogAPI)
    with TestClient(service) as client:
        tags = client.get("/tags").json()
        assert [(t["name"], t["articles_num"]) for t in tags] == [("db", 2), ("ops", 0), ("py", 2), ("web", 2)]
        article = blog["articles"][0]
        got = client.get(f"/articles/{article.pk}").json()
        assert got == {
            "id": article.pk,
            "title": "article 0",
            "author_name": "alice",
            "tags": [{"id": t.pk, "name": t.name, "articles_num": 2} for t in (blog["tags"][2], blog["tags"][0])],
        }
        missing = client.get("/articles/999999")
        assert missing.status_code == 404 and "Article" in missing.json()["detail"]


def test_a_schema_body_is_validated() -> None:
    client = TestClient(BlogAPI)
    assert client.post("/echo", json={"name": "new"}).json() == {"name": "new"}
    bad = client.post("/echo", json={"name": 3})
    assert bad.status_code == 400 and "name" in bad.text


def test_schemas_are_documented() -> None:
    doc = generate(UtilMeta(__name__, name="blog", backend="asgi", api=BlogAPI, route="/api"))
    schemas = doc["components"]["schemas"]
    assert set(schemas["ArticleSchema"]["properties"]) == {"id", "title", "author_name", "tags"}
    assert schemas["TagSchema"]["properties"]["articles_num"]["type"] == "integer"
