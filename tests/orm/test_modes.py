"""Schema modes (``Schema[orm.A]``), ``no_input`` and ``@property`` outputs."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Optional

import msgspec
import pytest
from blogdata import fill
from django.db import models
from ormblog.models import Article, Comment, User

from utilmeta.core import orm
from utilmeta.utils.exceptions import ParseError


class ArticleSchema(orm.Schema[Article]):
    id: int = orm.Field(mode="r")
    title: str
    author_id: int = orm.Field(no_input="a")
    created: datetime = datetime(2026, 6, 1, tzinfo=timezone.utc)

    @property
    def shout(self) -> str:
        return self.title.upper()


def test_a_mode_variant_keeps_the_fields_of_its_mode() -> None:
    create = ArticleSchema[orm.A]
    assert create is ArticleSchema[orm.A]  # built once
    assert "id" not in create.__struct_fields__ and "title" in create.__struct_fields__
    body = msgspec.json.decode(b'{"title": "t", "author_id": 9, "id": 3}', type=create)
    assert body.author_id is msgspec.UNSET  # dropped from the input in mode 'a'
    body.author_id = 1  # the code sets it
    assert body.author_id == 1
    partial = ArticleSchema[orm.WP]
    assert msgspec.json.decode(b"{}", type=partial).title is msgspec.UNSET
    with pytest.raises(TypeError, match="a mode is one of"):
        ArticleSchema["x"]


def test_properties_are_output_and_no_input_fields_are_read(db: str) -> None:
    data = fill(db)
    article = data["articles"][0]
    got = ArticleSchema.init(article.pk, using=db)
    assert got.shout == "ARTICLE 0" and got.author_id == article.author_id
    assert msgspec.to_builtins(got)["shout"] == "ARTICLE 0"


def test_a_create_in_mode_a(db: str) -> None:
    fill(db)
    user = User.objects.using(db).get(username="bob")
    new = msgspec.json.decode(b'{"title": "made", "author_id": 999}', type=ArticleSchema[orm.A])
    new.author_id = user.pk
    key = new.save(using=db)
    assert Article.objects.using(db).get(pk=key).author_id == user.pk


class PostSchema(orm.Schema[Article]):
    """UtilMeta's RealWorld article shape: aliases and ``no_output`` for some modes."""

    id: int = orm.Field(no_input=True)
    title: str
    body: str = orm.Field(no_output="a", default="")  # a create leaves it to the code
    author_id: int = orm.Field(mode="a", no_input=True)
    editor_id: Optional[int] = orm.Field(no_output=True, default=None)  # read for `edited`, never output nor written
    tag_list: list[str] = orm.Field("tags.name", alias="tagList", mode="rwa", no_output="aw", default_factory=list)
    comments_count: int = orm.Field(models.Count("comments"), alias="commentsCount")
    created: datetime = datetime(2026, 6, 1, tzinfo=timezone.utc)

    @property
    def edited(self) -> bool:  # as UtilMeta's own ops schemas read a no_output field
        return self.editor_id is not None


def test_aliases_name_the_fields_in_json_and_no_output_applies_in_its_modes(db: str) -> None:
    data = fill(db)
    first = data["articles"][0]
    got = PostSchema.init(first.pk, using=db)
    assert sorted(got.tag_list) == ["py", "web"] and got.comments_count == 4 and got.body == "x" * 10
    assert got.edited is True and got.editor_id is msgspec.UNSET  # no_output=True: read, then left out
    out = msgspec.json.decode(msgspec.json.encode(got))
    assert "tagList" in out and "commentsCount" in out and out["edited"] is True
    assert not {"tag_list", "comments_count", "editor_id"} & set(out)
    # the client names a field as the JSON does (the attribute's name works too)
    picked = PostSchema.serialize(Article.objects.using(db).filter(pk=first.pk), context={"includes": ["tagList"]})
    assert sorted(picked[0].tag_list) == ["py", "web"] and picked[0].title is msgspec.UNSET
    with pytest.raises(ParseError, match="commentsCount"):  # the fields listed by their JSON names
        PostSchema.serialize(Article.objects.using(db).all(), context={"includes": ["nope"]})

    create = PostSchema[orm.A]
    new = msgspec.json.decode(b'{"title": "made", "body": "kept out", "tagList": ["web"], "editor_id": 1}', type=create)
    assert new.tag_list == ["web"] and new.body == "kept out"  # input in mode 'a'...
    new.author_id = first.author_id
    key = new.save(using=db)
    row = Article.objects.using(db).get(pk=key)
    assert row.body == "" and row.editor_id is None  # ... but not written: no_output 'a' and True
    assert list(row.tags.all()) == []  # a lookup through a relation is never written

    update = msgspec.json.decode(b'{"title": "changed", "body": "written"}', type=PostSchema[orm.W])
    update.id = key
    update.save(using=db, must_update=True)
    assert Article.objects.using(db).get(pk=key).body == "written"  # 'w' is not in no_output 'a'


def test_the_openapi_schema_uses_the_aliases() -> None:
    properties = msgspec.json.schema(PostSchema)["$defs"]["PostSchema"]["properties"]
    assert "tagList" in properties and "commentsCount" in properties and "tag_list" not in properties
    created = msgspec.json.schema(PostSchema[orm.A])
    assert "tagList" in next(iter(created["$defs"].values()))["properties"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"no_output": "x"}, r"orm.Field\(no_output='x'\): a mode is made of the letters r, w and a"),
        ({"alias": ""}, r"orm.Field\(alias=''\): the name on the wire is a non-empty string"),
        ({"alias": 3}, r"orm.Field\(alias=3\)"),
    ],
)
def test_bad_field_options_fail_when_declared(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        orm.Field(**options)


def test_a_utype_option_on_orm_field_is_refused_and_a_constraint_goes_in_the_annotation(db: str) -> None:
    with pytest.raises(TypeError, match="description"):
        orm.Field("title", description="the title")

    class Titled(orm.Schema[Article]):
        id: int
        title: Annotated[str, msgspec.Meta(max_length=12)]

    data = fill(db)
    assert Titled.init(data["articles"][0].pk, using=db).title == "article 0"
    with pytest.raises(msgspec.ValidationError, match="title"):
        msgspec.json.decode(b'{"id": 1, "title": "far too long a title"}', type=Titled)


def test_utypes_alias_generator_in_options_names_every_field(db: str) -> None:
    import utype
    from utype.utils.style import AliasGenerator

    class CamelSchema(orm.Schema[Article]):  # UtilMeta's RealWorld base schema declares this
        __options__ = utype.Options(alias_generator=AliasGenerator.camel)
        id: int
        title: str
        author_id: int
        comments_num: int = orm.Field(models.Count("comments"), alias="commentsTotal")  # its own alias wins

    data = fill(db)
    got = msgspec.json.decode(msgspec.json.encode(CamelSchema.init(data["articles"][0].pk, using=db)))
    assert got == {"id": got["id"], "title": "article 0", "authorId": got["authorId"], "commentsTotal": 4}
    create = CamelSchema[orm.A]  # a variant keeps the names
    assert msgspec.json.decode(b'{"id": 1, "title": "t", "authorId": 7}', type=create).author_id == 7
    assert "authorId" in next(iter(msgspec.json.schema(create)["$defs"].values()))["properties"]

    with pytest.raises(TypeError, match=r"case_insensitive is not supported by orm.Schema \(alias_generator is\)"):

        class Loose(orm.Schema[Article]):
            __options__ = utype.Options(case_insensitive=True)
            id: int

    with pytest.raises(TypeError, match="expected utype.Options"):

        class Odd(orm.Schema[Article]):
            __options__ = 3
            id: int


def test_the_users_post_init_and_validate_run_beside_no_input_in_every_variant(db: str) -> None:
    seen: list[str] = []

    class Checked(orm.Schema[Article]):
        id: int = orm.Field(no_input=True)
        title: str
        tag_names: list[str] = orm.Field("tags.name", default_factory=list)

        def __post_init__(self) -> None:
            seen.append("post_init")
            if self.title is not msgspec.UNSET and not self.title.strip():
                raise ValueError("title: must not be blank")

        def __validate__(self) -> None:  # UtilMeta's (utype's) hook, as the RealWorld schema sorts its tags
            seen.append("validate")
            self.tag_names.sort()

    body = msgspec.json.decode(b'{"id": 5, "title": "t", "tag_names": ["b", "a"]}', type=Checked)
    assert body.id is msgspec.UNSET and body.tag_names == ["a", "b"] and seen == ["post_init", "validate"]
    with pytest.raises(msgspec.ValidationError, match="must not be blank"):
        msgspec.json.decode(b'{"title": "  "}', type=Checked[orm.A])  # a variant keeps the hooks

    class Child(Checked):  # inherited hooks run too
        body: str = ""

    seen.clear()
    data = fill(db)
    got = Child.init(data["articles"][0].pk, using=db)
    assert got.tag_names == ["py", "web"] and seen == ["post_init", "validate"]


def test_a_runtime_subclass_turns_a_default_into_a_query(db: str) -> None:
    """UtilMeta's RealWorld ``get_runtime``: a subclass made per request overrides a field."""

    class Listed(orm.Schema[Article]):
        id: int
        commented: bool = orm.Field(mode="r", default=False)

    def runtime(user_id: int) -> type[Listed]:
        class ListedFor(Listed):
            commented: bool = models.Exists(  # type: ignore[assignment]
                Comment.objects.filter(article=models.OuterRef("pk"), author=user_id)
            )

        return ListedFor

    data = fill(db)
    first, last = data["articles"][0].pk, data["articles"][3].pk
    bob = data["users"][1].pk
    assert [a.commented for a in Listed.serialize(Article.objects.using(db).filter(pk__in=[first, last]))] == [
        False,
        False,
    ]
    got = runtime(bob).serialize(Article.objects.using(db).filter(pk__in=[first, last]).order_by("pk"))
    assert [a.commented for a in got] == [True, False]


def test_an_expression_in_annotated_is_the_fields_source(db: str) -> None:
    """UtilMeta's form ``views: Annotated[int, exp.Sum(...)] = 0``: never a default in silence."""

    class Counted(orm.Schema[Article]):
        id: int
        comments_num: Annotated[int, models.Count("comments")] = 0
        tag_count: Annotated[int, orm.Field(models.Count("tags"), default=0)]

    data = fill(db)
    got = Counted.init(data["articles"][0].pk, using=db)
    assert (got.comments_num, got.tag_count) == (4, 2)
    assert Counted.__orm_fields__["comments_num"].default == 0

    with pytest.raises(TypeError, match="keep one"):

        class Twice(orm.Schema[Article]):
            n: Annotated[int, models.Count("comments")] = models.Count("tags")


def test_an_annotated_source_that_cannot_be_read_yet_fails_when_the_plan_compiles(db: str) -> None:
    from utilmeta.core.orm.backends.django.compiler import SchemaError

    class Late(orm.Schema[Article]):
        id: int
        n: Annotated[int, LATER_SOURCE] = 0  # noqa: F821 - defined below, after the class

    globals()["LATER_SOURCE"] = models.Count("comments")
    try:
        with pytest.raises(SchemaError, match=r"Late.n: the query source in its Annotated\[...\]"):
            Late.serialize(Article.objects.using(db).all())
    finally:
        del globals()["LATER_SOURCE"]
