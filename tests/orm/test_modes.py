"""Schema modes (``Schema[orm.A]``), ``no_input`` and ``@property`` outputs."""

from __future__ import annotations

from datetime import datetime, timezone

import msgspec
import pytest
from blogdata import fill
from ormblog.models import Article, User

from utilmeta.core import orm


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
