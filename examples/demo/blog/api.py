"""The blog API: lists with filters, ordering and paging, nested relations, validated writes.

Try:  curl 'http://127.0.0.1:8000/api/posts?tag=orm&order=-comments_num&limit=2'
      curl 'http://127.0.0.1:8000/api/posts?search=schemas&scope=id,title,author.name'
      curl http://127.0.0.1:8000/api/posts/1
      curl -X POST http://127.0.0.1:8000/api/posts -H 'content-type: application/json' \\
           -d '{"title": "hello", "author_id": 1, "tags": [1, 2]}'
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from utilmeta.core import api, orm, request, response

from .models import Author, Comment, Post, Tag


class AuthorSchema(orm.Schema[Author]):
    id: int
    name: str


class TagSchema(orm.Schema[Tag]):
    id: int
    name: str


class CommentSchema(orm.Schema[Comment]):
    id: int
    body: str
    author_name: str = orm.Field("author.name")
    created: datetime


class PostSchema(orm.Schema[Post]):
    id: int
    title: str
    author: AuthorSchema  # JOINed into the same query
    tags: list[TagSchema]  # one more query for every post of the page
    comments_num: int = Count("comments")
    latest_comments: list[CommentSchema] = orm.Field(queryset=Comment.objects.order_by("-created")[:2])
    created: datetime


class PostIn(orm.Schema[Post]):
    title: str
    body: str = ""
    author_id: int
    tags: list[int] = []


class PostQuery(orm.Query[Post]):
    author: str = orm.Filter("author.name")
    tag: str = orm.Filter("tags.name")
    search: str = orm.Search("title", "body", max_length=50, description="Words in the title or body")
    order: list[str] = orm.OrderBy(
        {"created": orm.Order(), "title": orm.Order(), "comments_num": orm.Order(Count("comments"))},
        default=["-created"],
    )
    offset: int = orm.Offset()
    limit: int = orm.Limit(default=10, le=50)
    scope: list[str] = orm.Scope(max_depth=2, description="Only these fields (only they are queried)")
    __distinct__ = True


class Page(response.Response):
    result_key = "data"
    count_key = "count"
    message_key = "message"


class PostAPI(api.API):
    @api.get("", summary="List posts")
    def list(self, query: PostQuery) -> Page:
        return Page(PostSchema.serialize(query), count=query.count())

    @api.get("{id}", summary="Get one post")
    def one(self, id: int) -> PostSchema:
        return PostSchema.init(id)

    @api.post("", summary="Create a post")
    def create(self, data: PostIn = request.Body) -> PostSchema:
        return PostSchema.init(data.save())
