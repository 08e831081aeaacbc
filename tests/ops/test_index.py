"""The service's index at the root route (``utilmeta.ops.index``): served only where the user's
APIs serve nothing, and only where the docs are. Every backend gives the same bytes: the
``index`` cases of ``tests/conformance``."""

from __future__ import annotations

from typing import Any

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import api
from utilmeta.core.server.service import _clear_service
from utilmeta.ops import Docs
from utilmeta.testing import TestClient

from .apis import make_service


def client(*configs: Any, **kwargs: Any) -> TestClient:
    service = make_service("wsgi", **kwargs)
    for config in configs:
        service.use(config)
    return TestClient(service)


def test_the_index_names_the_service_and_links_its_docs_and_routes() -> None:
    c = client()
    answer = c.get("/api")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert c.get("/api/").content == answer.content
    index = answer.json()
    assert (index["name"], index["version"], index["description"]) == ("people", "1.0.0", "A representative service")
    assert (index["docs"], index["openapi"]) == ("/api/docs", "/api/openapi.json")
    document = c.get(index["openapi"]).json()
    # the routes are the document's operations, with the root route: never a private endpoint
    operations = {(m.upper(), "/api" + p) for p, item in document["paths"].items() for m in item}
    assert {(r["method"], r["path"]) for r in index["routes"]} == operations
    assert c.head("/api").status_code == 200


def test_without_a_docs_page_the_index_says_so() -> None:
    index = client(Docs(docs_path=None, openapi_path="spec.json")).get("/api").json()
    assert (index["docs"], index["openapi"]) == (None, "/api/spec.json")


def test_a_users_endpoint_at_the_root_route_wins() -> None:
    class Own(api.API):
        @api.get
        def get(self) -> dict[str, str]:
            return {"mine": "yes"}

    class PostOnly(api.API):
        @api.post
        def post(self) -> str:
            return "posted"

    own = TestClient(UtilMeta(__name__, backend="wsgi", api=Own, route="/api"))
    assert own.get("/api").json() == {"mine": "yes"}
    _clear_service()
    # the user's API serves /api (with POST): a GET there is its 405, not the index
    post_only = TestClient(UtilMeta(__name__, backend="wsgi", api=PostOnly, route="/api"))
    wrong = post_only.get("/api")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST, OPTIONS"


def test_the_index_follows_the_docs_switches() -> None:
    assert client(Docs(index=False)).get("/api").status_code == 404
    assert client(production=True).get("/api").status_code == 404  # like the docs: off in production
    on = client(Docs(enabled=True), production=True).get("/api")
    assert on.status_code == 200 and on.json()["name"] == "people"
    strict = client(Preference(strict_root_route=True))
    assert strict.get("/api").status_code == 200 and strict.get("/").status_code == 404


def test_without_a_root_route_the_index_is_at_slash() -> None:
    class Root(api.API):
        @api.get
        def hello(self) -> str:
            return "world"

    c = TestClient(UtilMeta(__name__, backend="wsgi", api=Root))
    index = c.get("/").json()
    assert (index["docs"], index["openapi"]) == ("/docs", "/openapi.json")
    assert index["routes"] == [{"method": "GET", "path": "/hello", "summary": None}]


def test_without_a_version_the_index_and_the_document_show_the_same_one() -> None:
    c = TestClient(UtilMeta(__name__, backend="wsgi", name="bare", api=_Plain, route="/api"))
    index = c.get("/api").json()
    assert index["version"] == c.get(index["openapi"]).json()["info"]["version"] == "0.1.0"


class _Plain(api.API):
    @api.get
    def ping(self) -> str:
        return "pong"
