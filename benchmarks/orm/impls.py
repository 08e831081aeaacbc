"""The read task, written once per contender: the ``limit`` newest articles with ``id, title,
author {id, username}, tags [{id, name}], comments_num, latest 3 comments [{id, body,
author_username}]``, encoded to JSON bytes.

Each function takes a database alias and the number of rows and returns the bytes. Imported only
after Django is set up (``benchmarks/orm/run.py``).
"""

import json
from typing import Any

import msgspec
from django.db.models import Count, F, OuterRef, Prefetch, Subquery, Window
from django.db.models.functions import Coalesce, RowNumber

from benchmarks.orm.benchapp.models import Article, Comment, Tag, User
from utilmeta.core import orm

# -- hand-written: values_list() and grouping, 3 queries ---------------------------------------


def _comments_num() -> Any:
    counted = Comment.objects.filter(article=OuterRef("pk")).order_by().values("article").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n")), 0)  # no comments: no row, so NULL, so 0


def _latest(ids: list[int], using: str) -> Any:
    rank = Window(RowNumber(), partition_by=F("article_id"), order_by=F("created").desc())
    return (
        Comment.objects.using(using)
        .filter(article_id__in=ids)
        .annotate(rank=rank)
        .filter(rank__lte=3)
        .order_by("article_id", "-created")  # the window's own order: no second sort
        .values_list("article_id", "id", "body", "author__username")
    )


def _hand_build(rows: list[tuple], tags: Any, comments: Any) -> bytes:
    tag_map: dict[int, list[dict]] = {}
    for article_id, tag_id, name in tags:
        tag_map.setdefault(article_id, []).append({"id": tag_id, "name": name})
    comment_map: dict[int, list[dict]] = {}
    for article_id, cid, body, username in comments:
        comment_map.setdefault(article_id, []).append({"id": cid, "body": body, "author_username": username})
    return msgspec.json.encode(
        [
            {
                "id": pk,
                "title": title,
                "author": {"id": author_id, "username": username},
                "tags": tag_map.get(pk, []),
                "comments_num": n,
                "latest_comments": comment_map.get(pk, []),
            }
            for pk, title, author_id, username, n in rows
        ]
    )


def _hand_root(using: str, limit: int) -> Any:
    return (
        Article.objects.using(using)
        .order_by("-created")
        .annotate(n=_comments_num())
        .values_list("id", "title", "author_id", "author__username", "n")[:limit]
    )


def _hand_tags(ids: list[int], using: str) -> Any:
    return (
        Article.tags.through.objects.using(using)
        .filter(article_id__in=ids)
        .values_list("article_id", "tag_id", "tag__name")
    )


def hand(using: str, limit: int) -> bytes:
    rows = list(_hand_root(using, limit))
    ids = [r[0] for r in rows]
    return _hand_build(rows, list(_hand_tags(ids, using)), list(_latest(ids, using)))


async def ahand(using: str, limit: int) -> bytes:
    rows = [r async for r in _hand_root(using, limit)]
    ids = [r[0] for r in rows]
    tags = [r async for r in _hand_tags(ids, using)]
    comments = [r async for r in _latest(ids, using)]
    return _hand_build(rows, tags, comments)


# -- utilmeta -----------------------------------------------------------------------------------


class UserSchema(orm.Schema[User]):
    id: int
    username: str


class TagSchema(orm.Schema[Tag]):
    id: int
    name: str


class CommentSchema(orm.Schema[Comment]):
    id: int
    body: str
    author_username: str = orm.Field("author.username")


class ArticleSchema(orm.Schema[Article]):
    id: int
    title: str
    author: UserSchema
    tags: list[TagSchema]
    comments_num: int = Count("comments")
    latest_comments: list[CommentSchema] = orm.Field(queryset=Comment.objects.order_by("-created")[:3])


def utilmeta(using: str, limit: int) -> bytes:
    return msgspec.json.encode(ArticleSchema.serialize(Article.objects.using(using).order_by("-created")[:limit]))


async def autilmeta(using: str, limit: int) -> bytes:
    return msgspec.json.encode(
        await ArticleSchema.aserialize(Article.objects.using(using).order_by("-created")[:limit])
    )


# -- the ORM-object contenders: one queryset with select_related / Prefetch ---------------------


def _objects(using: str, limit: int) -> Any:
    latest = Comment.objects.annotate(author_username=F("author__username")).order_by("-created")[:3]
    return (
        Article.objects.using(using)
        .order_by("-created")
        .select_related("author")
        .annotate(comments_num=_comments_num())
        .prefetch_related("tags", Prefetch("comments", queryset=latest, to_attr="latest_comments"))[:limit]
    )


async def _aobjects(using: str, limit: int) -> list[Any]:
    return [a async for a in _objects(using, limit)]  # the prefetches run in the same sync_to_async call


def _drf(objects: Any) -> bytes:
    from rest_framework import serializers
    from rest_framework.renderers import JSONRenderer

    global _DRF
    if _DRF is None:

        class UserS(serializers.ModelSerializer):
            class Meta:
                model = User
                fields = ["id", "username"]

        class TagS(serializers.ModelSerializer):
            class Meta:
                model = Tag
                fields = ["id", "name"]

        class CommentS(serializers.ModelSerializer):
            author_username = serializers.CharField()

            class Meta:
                model = Comment
                fields = ["id", "body", "author_username"]

        class ArticleS(serializers.ModelSerializer):
            author = UserS()
            tags = TagS(many=True)
            comments_num = serializers.IntegerField()
            latest_comments = CommentS(many=True)

            class Meta:
                model = Article
                fields = ["id", "title", "author", "tags", "comments_num", "latest_comments"]

        _DRF = ArticleS
    return JSONRenderer().render(_DRF(objects, many=True).data)  # type: ignore[no-any-return]


_DRF: Any = None
_NINJA: Any = None
_PYDANTIC: Any = None


def _ninja(objects: Any) -> bytes:
    from ninja import ModelSchema
    from ninja.responses import NinjaJSONEncoder

    global _NINJA
    if _NINJA is None:

        class UserN(ModelSchema):
            class Meta:
                model = User
                fields = ["id", "username"]

        class TagN(ModelSchema):
            class Meta:
                model = Tag
                fields = ["id", "name"]

        class CommentN(ModelSchema):
            author_username: str

            class Meta:
                model = Comment
                fields = ["id", "body"]

        class ArticleN(ModelSchema):
            author: UserN
            tags: list[TagN]
            comments_num: int
            latest_comments: list[CommentN]

            class Meta:
                model = Article
                fields = ["id", "title"]

        _NINJA = ArticleN
    data = [_NINJA.from_orm(a).model_dump() for a in objects]
    return json.dumps(data, cls=NinjaJSONEncoder).encode()


def _pydantic(objects: Any) -> bytes:
    import pydantic as pd

    global _PYDANTIC
    if _PYDANTIC is None:
        config = pd.ConfigDict(from_attributes=True)

        class UserP(pd.BaseModel):
            model_config = config
            id: int
            username: str

        class TagP(pd.BaseModel):
            model_config = config
            id: int
            name: str

        class CommentP(pd.BaseModel):
            model_config = config
            id: int
            body: str
            author_username: str

        class ArticleP(pd.BaseModel):
            model_config = config
            id: int
            title: str
            author: UserP
            tags: list[TagP]
            comments_num: int
            latest_comments: list[CommentP]

            @pd.field_validator("tags", mode="before")
            @classmethod
            def _all(cls, value: Any) -> Any:
                return list(value.all()) if hasattr(value, "all") else value

        _PYDANTIC = pd.TypeAdapter(list[ArticleP])
    return _PYDANTIC.dump_json(_PYDANTIC.validate_python(objects, from_attributes=True))  # type: ignore[no-any-return]


def drf(using: str, limit: int) -> bytes:
    return _drf(_objects(using, limit))


def ninja(using: str, limit: int) -> bytes:
    return _ninja(_objects(using, limit))


def pydantic(using: str, limit: int) -> bytes:
    return _pydantic(list(_objects(using, limit)))


async def adrf(using: str, limit: int) -> bytes:
    return _drf(await _aobjects(using, limit))


async def aninja(using: str, limit: int) -> bytes:
    return _ninja(await _aobjects(using, limit))


async def apydantic(using: str, limit: int) -> bytes:
    return _pydantic(await _aobjects(using, limit))


READS = {"hand-written": hand, "utilmeta": utilmeta, "DRF": drf, "Ninja": ninja, "pydantic": pydantic}
AREADS = {"hand-written": ahand, "utilmeta": autilmeta, "DRF": adrf, "Ninja": aninja, "pydantic": apydantic}


# -- the write task: N new articles with 5 existing tags each ------------------------------------

WRITE_TITLE = "bench write"


def write_items(n: int, users: list[int], tags: list[int]) -> list[dict[str, Any]]:
    from datetime import datetime, timezone

    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    return [
        {
            "title": WRITE_TITLE,
            "body": "x" * 400,
            "author_id": users[i % len(users)],
            "created": now,
            "tags": [tags[(i + k) % len(tags)] for k in range(5)],
        }
        for i in range(n)
    ]


def hand_write(using: str, items: list[dict[str, Any]]) -> None:
    rows = Article.objects.using(using).bulk_create(
        [Article(**{k: v for k, v in item.items() if k != "tags"}) for item in items]
    )
    through = Article.tags.through
    through.objects.using(using).bulk_create(
        [through(article_id=row.pk, tag_id=t) for row, item in zip(rows, items, strict=True) for t in item["tags"]]
    )


class ArticleIn(orm.Schema[Article]):
    title: str
    body: str
    author_id: int
    created: Any
    tags: list[int]


def utilmeta_write(using: str, items: list[dict[str, Any]]) -> None:
    ArticleIn.bulk_save(items, using=using)


_DRF_IN: Any = None


class Router:
    """Sends the queries that name no database to the one under test: DRF's serializers read the
    tag queryset and save through the default managers, so without it they would write to the
    default database only."""

    alias: str | None = None

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return Router.alias

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return Router.alias


def drf_write(using: str, items: list[dict[str, Any]]) -> None:
    from rest_framework import serializers

    global _DRF_IN
    if _DRF_IN is None:

        class ArticleW(serializers.ModelSerializer):
            tags = serializers.PrimaryKeyRelatedField(many=True, queryset=Tag.objects.all())

            class Meta:
                model = Article
                fields = ["title", "body", "author", "created", "tags"]

        _DRF_IN = ArticleW
    data = [{**{k: v for k, v in item.items() if k != "author_id"}, "author": item["author_id"]} for item in items]
    Router.alias = using
    try:
        serializer = _DRF_IN(data=data, many=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
    finally:
        Router.alias = None


WRITES = {"hand-written": hand_write, "utilmeta": utilmeta_write, "DRF": drf_write}


def cleanup(using: str) -> None:
    Article.objects.using(using).filter(title=WRITE_TITLE).delete()
