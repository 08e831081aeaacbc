"""orm.Atomic (sync and async, block and decorator) and the four ORM Preference options, each
shown by its effect."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from asgiref.sync import async_to_sync
from blogdata import fill
from ormblog.models import Article, Tag, User

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import orm
from utilmeta.core.orm.backends.django.compiler import SchemaError, SchemaWarning


class UserIn(orm.Schema[User]):
    username: str


class Boom(Exception):
    pass


def test_atomic_block_rolls_back(db: str) -> None:
    fill(db)
    with pytest.raises(Boom):
        with orm.Atomic(db):
            UserIn(username="inside").save(using=db)
            assert User.objects.using(db).filter(username="inside").exists()
            raise Boom
    assert not User.objects.using(db).filter(username="inside").exists()
    with orm.Atomic(db):
        UserIn(username="kept").save(using=db)
    assert User.objects.using(db).filter(username="kept").exists()


def test_atomic_decorator_sync_and_async(db: str) -> None:
    fill(db)

    @orm.Atomic(db)
    def create(name: str, fail: bool) -> None:
        UserIn(username=name).save(using=db)
        if fail:
            raise Boom

    @orm.Atomic(db)
    async def acreate(name: str, fail: bool) -> None:
        await UserIn(username=name).asave(using=db)
        await User.objects.using(db).filter(username=name).aexists()
        if fail:
            raise Boom

    for func in (create, async_to_sync(acreate)):
        with pytest.raises(Boom):
            func("dropped", True)
        func("stays", False)
        assert not User.objects.using(db).filter(username="dropped").exists()
        assert User.objects.using(db).filter(username="stays").exists()
        User.objects.using(db).filter(username="stays").delete()
    assert create.__name__ == "create"  # the endpoint's signature and name are kept


def test_atomic_refuses_what_it_cannot_use() -> None:
    with pytest.raises(TypeError):
        orm.Atomic("")
    with pytest.raises(TypeError):
        orm.Atomic()(Tag)  # a class, not a function


def service(**options: Any) -> UtilMeta:
    s = UtilMeta(__name__, name="prefs", backend="asgi")
    s.use(Preference(**options))
    return s


def test_default_query_distinct(default_db: str) -> None:
    fill(default_db)

    def tagged() -> type:
        class Tagged(orm.Query[Article]):
            tag: list[str] = orm.Filter("tags.name__in")

        return Tagged

    query = {"tag": ["py", "web"]}  # article 0 has both: one row per matching tag
    service()
    assert tagged()(**query).get_queryset().count() == 4  # articles 0 and 2, twice each
    service(orm_default_query_distinct=True)
    assert tagged()(**query).get_queryset().count() == 2


class DeepUser(orm.Schema[User]):
    username: str


class DeepArticle(orm.Schema[Article]):
    author: DeepUser


def test_schema_query_max_depth(default_db: str) -> None:
    class C(orm.Schema[Tag]):
        articles: list[DeepArticle]

    service(orm_schema_query_max_depth=1)
    with pytest.raises(SchemaError, match="orm_schema_query_max_depth"):
        C.serialize([])


def test_raise_non_exists_required_field(default_db: str) -> None:
    def declare() -> type:
        class Lax(orm.Schema[Tag]):
            name: str
            popularity: int

        return Lax

    service()
    with pytest.warns(SchemaWarning, match="Tag has no field 'popularity'"):
        lax = declare()
        rows = lax.serialize(Tag.objects.using(default_db).order_by("name")[:1])
    assert rows[0].popularity is msgspec.UNSET and "popularity" not in msgspec.to_builtins(rows[0])
    service(orm_raise_non_exists_required_field=True)
    with pytest.raises(SchemaError, match="Tag has no field 'popularity'"):
        declare().serialize([])


def test_default_gather_async_fields(default_db: str) -> None:
    fill(default_db)
    started: dict[str, asyncio.Event] = {}

    patience = {"seconds": 30.0}  # gathered: the other relation starts at once, this is never reached

    def waiting_for(other: str, mine: str) -> Any:
        async def fetch(*pks: Any) -> dict[Any, Any]:
            started.setdefault(mine, asyncio.Event()).set()
            # gathered, the other relation starts while this one waits; one after the other, never
            await asyncio.wait_for(started.setdefault(other, asyncio.Event()).wait(), timeout=patience["seconds"])
            return {pk: 1 for pk in pks}

        return fetch

    def declare() -> type:
        class Both(orm.Schema[Tag]):
            name: str
            a: int = orm.Field(waiting_for("b", "a"))
            b: int = orm.Field(waiting_for("a", "b"))

        return Both

    service(orm_default_gather_async_fields=True)
    rows = async_to_sync(declare().aserialize)(Tag.objects.using(default_db).all())
    assert [(r.a, r.b) for r in rows][:1] == [(1, 1)]
    started.clear()
    patience["seconds"] = 0.5  # one after the other, the wait can only end by its timeout
    service()
    with pytest.raises(asyncio.TimeoutError):
        async_to_sync(declare().aserialize)(Tag.objects.using(default_db).all())
