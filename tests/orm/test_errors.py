"""What the client gets when the database cannot serve: 503 with a fixed message (no host, port,
user or SQL), on every backend (the translation sits in the core's error path)."""

from __future__ import annotations

import pytest
from conftest import DOWN
from ormblog.models import Tag

from utilmeta import UtilMeta
from utilmeta.core import api, orm
from utilmeta.testing import TestClient
from utilmeta.utils.exceptions import ServiceUnavailable


class TagSchema(orm.Schema[Tag]):
    id: int
    name: str


class DownAPI(api.API):
    @api.get("tags/{alias}")
    def tags(self, alias: str) -> list[TagSchema]:
        return TagSchema.serialize(Tag.objects.using(alias).all())

    @api.handle("tags", ServiceUnavailable)
    def retry_later(self, e: ServiceUnavailable) -> dict:
        return {"retry": True, "status": e.status}


class PlainAPI(api.API):
    @api.get("tags/{alias}")
    def tags(self, alias: str) -> list[TagSchema]:
        return TagSchema.serialize(Tag.objects.using(alias).all())


@pytest.mark.parametrize("alias", list(DOWN))
def test_an_unreachable_database_is_a_503_without_details(alias: str) -> None:
    with TestClient(UtilMeta(__name__, name="down", backend="asgi", api=PlainAPI, production=True)) as client:
        answer = client.get(f"/tags/{alias}")
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["detail"] == "the database is unavailable; try again later"
    port = str(DOWN[alias].port)
    assert port not in answer.text and "127.0.0.1" not in answer.text and "SELECT" not in answer.text


def test_error_hooks_see_the_503(default_db: str) -> None:
    client = TestClient(DownAPI)
    assert client.get("/tags/down-postgresql").json() == {"retry": True, "status": 503}


def test_other_database_errors_stay_500(default_db: str) -> None:
    client = TestClient(PlainAPI)
    answer = client.get("/tags/nonexistent-alias")  # not a database error of the server: a bug here
    assert answer.status_code == 500
