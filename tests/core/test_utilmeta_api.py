"""UtilMeta's API-class idioms, served by a real server on each of the six backends (sync and
async endpoints): plugin classes used bare or with arguments (and UtilMeta's plugin method
forms), ``@api.delete(follow)`` serving ``follow``'s route, ``self.<sub_api>`` returning the
mounted API's instance, and ``@service.mount(route=...)``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from backends_table import Cell
from netutil import free_port, serve_script

from utilmeta.core import api
from utilmeta.core.api import Plugin
from utilmeta.core.api.specs.openapi import OpenAPI
from utilmeta.utils.exceptions import DeclarationError

SERVICE = """
from utilmeta import UtilMeta
from utilmeta.core import api, request
from utilmeta.core.api import Plugin
from utilmeta.core.api.specs.openapi import OpenAPI

ASYNC = {style!r} == "async"


class Stamp(Plugin):
    # UtilMeta's form: locals() to the base class, process_response(response, api=None)
    def __init__(self, label: str = "bare", **extra):
        super().__init__(locals())
        self.label = label

    def process_response(self, response, api=None):
        before = response.headers.get("X-Stamp")
        stamp = self.label + "|" + ",".join(sorted(self.__kwargs__))
        response.headers["X-Stamp"] = before + ";" + stamp if before else stamp


class Guard(Plugin):
    def process_request(self, request):
        if request.headers.get("x-blocked"):
            from utilmeta.core.response import Response

            return Response("blocked", status=403)


class Fallback(Plugin):
    def handle_error(self, error, api=None):
        from utilmeta.core.response import Response

        if isinstance(error, KeyError):
            return Response({{"missing": str(error.args[0])}}, status=404)


@api.route("{{slug}}/notes")
class NoteAPI(api.API):
    if ASYNC:
        async def get(self, slug: str) -> list:
            return [slug + ":1", slug + ":2"]
    else:
        def get(self, slug: str) -> list:
            return [slug + ":1", slug + ":2"]


service = UtilMeta(__name__, backend={backend!r}, name="boards", port={port}, asynchronous={asynchronous!r})


@service.mount(route="/board")
@Guard
@Stamp
class BoardAPI(api.API):
    notes: NoteAPI
    spec: OpenAPI.as_api("openapi.json")

    @api.get
    def ping(self) -> str:
        return "pong"

    if ASYNC:
        @Stamp(label="pin", color="red")
        @api.get
        async def pinned(self, slug: str) -> dict:
            notes = await self.notes.get(slug=slug)
            return {{"slug": slug, "notes": notes, "same": self.notes.request is self.request}}

        @api.post
        async def follow(self) -> str:
            return "followed"

        @api.delete(follow)
        async def unfollow(self) -> str:
            return "unfollowed"

        @Fallback
        @api.get
        async def lookup(self, key: str) -> str:
            return {{"a": "A"}}[key]
    else:
        @Stamp(label="pin", color="red")
        @api.get
        def pinned(self, slug: str) -> dict:
            notes = self.notes.get(slug=slug)
            return {{"slug": slug, "notes": notes, "same": self.notes.request is self.request}}

        @api.post
        def follow(self) -> str:
            return "followed"

        @api.delete(follow)
        def unfollow(self) -> str:
            return "unfollowed"

        @Fallback
        @api.get
        def lookup(self, key: str) -> str:
            return {{"a": "A"}}[key]


assert BoardAPI.__name__ == "BoardAPI"  # the decorator returns the class
app = service.application()

if __name__ == "__main__":
    service.run()
"""


@pytest.fixture(scope="module")
def base_url(backend: Cell, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp(f"boards-{backend.name}-{backend.style}")
    port = free_port()
    script = tmp / "boards.py"
    script.write_text(
        SERVICE.format(style=backend.style, backend=backend.name, port=port, asynchronous=backend.asynchronous)
    )
    with serve_script(script, port, stop_timeout=10):
        yield f"http://127.0.0.1:{port}"


def get(base_url: str, method: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.request(method, base_url + path, timeout=10, **kwargs)  # type: ignore[arg-type]


def test_sub_api_instance_shares_the_request(base_url: str) -> None:
    r = get(base_url, "GET", "/board/pinned?slug=s")
    assert r.status_code == 200, r.text
    assert r.json() == {"slug": "s", "notes": ["s:1", "s:2"], "same": True}


def test_plugin_bare_and_with_arguments(base_url: str) -> None:
    r = get(base_url, "GET", "/board/pinned?slug=s")
    # outer plugins process the response last: the endpoint's Stamp, then the class's bare one
    assert r.headers["x-stamp"] == "pin|color,label;bare|label"
    assert get(base_url, "GET", "/board/follow").status_code == 405
    blocked = get(base_url, "GET", "/board/pinned?slug=s", headers={"X-Blocked": "1"})
    assert (blocked.status_code, blocked.text) == (403, "blocked")


def test_plugin_handles_errors_in_utilmeta_form(base_url: str) -> None:
    r = get(base_url, "GET", "/board/lookup?key=zz")
    assert (r.status_code, r.json()) == (404, {"missing": "zz"})
    assert get(base_url, "GET", "/board/lookup?key=a").text == "A"


def test_method_referring_to_another_endpoint(base_url: str) -> None:
    assert get(base_url, "POST", "/board/follow").text == "followed"
    assert get(base_url, "DELETE", "/board/follow").text == "unfollowed"
    assert get(base_url, "GET", "/board/unfollow").status_code == 404


def test_openapi_as_api(base_url: str) -> None:
    r = get(base_url, "GET", "/board/spec")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    # the mounted class is the root API, at the root route
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": "/board"}]
    assert "/{slug}/notes" in doc["paths"] and "/spec" not in doc["paths"]  # private


def test_mount_decorator(base_url: str) -> None:
    assert get(base_url, "GET", "/board/ping").text == "pong"
    assert get(base_url, "GET", "/ping").text == "pong"  # Preference(strict_root_route=False)
    assert get(base_url, "GET", "/board/x/notes").json() == ["x:1", "x:2"]


# -- declarations (no server needed) ---------------------------------------------------------------


class Limit(Plugin):
    def __init__(self, rate: int = 10, *burst: int, **options: object):
        super().__init__(locals())


class Keyed(Plugin):
    def __init__(self, key: str, scope: str = "user"):
        super().__init__(key, scope=scope)


def test_plugin_init_forms_store_arguments_like_utilmeta() -> None:
    assert (Limit().__args__, Limit().__kwargs__) == ((), {"rate": 10})
    plugin = Limit(5, 6, 7, window=60)
    assert (plugin.__args__, plugin.__kwargs__) == ((6, 7), {"rate": 5, "window": 60})
    assert (Keyed("k").__args__, Keyed("k").__kwargs__) == (("k",), {"scope": "user"})
    assert Plugin(a=1).__kwargs__ == {"a": 1}
    assert repr(Limit(5, window=60)) == "Limit(rate=5, window=60)"


def test_bare_plugin_needing_arguments_is_refused() -> None:
    with pytest.raises(DeclarationError, match="@Keyed used without arguments"):

        class Root(api.API):
            @Keyed
            @api.get
            def endpoint(self) -> None: ...


def test_async_plugin_method_is_refused() -> None:
    with pytest.raises(DeclarationError, match="Slow.process_request is async"):

        class Slow(Plugin):
            async def process_request(self, request: object) -> None: ...


def test_reference_keeps_a_declared_route() -> None:
    class Doc(api.API):
        @api.get("{id}/star")
        def star(self, id: int) -> None: ...

        @api.delete(star, summary="unstar")
        def unstar(self, id: int) -> None: ...

        @api.get
        def get(self) -> None: ...

        @api.post(get)
        def create(self) -> None: ...

    routes = {(e.method, e.route) for e in Doc._endpoints}
    assert routes == {("GET", "{id}/star"), ("DELETE", "{id}/star"), ("GET", ""), ("POST", "")}
    assert next(e for e in Doc._endpoints if e.name == "unstar").info.summary == "unstar"


def test_core_method_is_no_reference() -> None:
    # an undecorated `def get` is not marked yet: `@api.post(get)` would re-declare it (UtilMeta refuses too)
    with pytest.raises(TypeError, match=r"@api.post cannot decorate get\(\)"):

        class Doc(api.API):
            def get(self) -> None: ...

            @api.post(get)
            def create(self) -> None: ...


def test_sub_api_attribute_on_the_class_keeps_its_declaration() -> None:
    class Leaf(api.API):
        def get(self) -> str:
            return "leaf"

    class Tree(api.API):
        leaf: Leaf
        branch: Leaf = api.route("b/{n}")

    assert Tree.branch.path == "b/{n}"
    with pytest.raises(AttributeError, match="mounted API"):
        _ = Tree.leaf


def test_openapi_as_api_wins_over_the_docs_page_and_writes_its_file(tmp_path: Path) -> None:
    from utilmeta import UtilMeta
    from utilmeta.testing import TestClient

    target = tmp_path / "spec" / "openapi.yaml"
    target.parent.mkdir()

    class RootAPI(api.API):
        docs: OpenAPI.as_api(str(target), private=False)  # type: ignore[valid-type]

        @api.get
        def bmi(self, weight: float, height: float) -> float:
            return weight / height**2

    service = UtilMeta(__name__, backend="flask", name="bmi", api=RootAPI, route="/api")
    with TestClient(service) as client:
        r = client.get("/api/docs")  # the docs page's path: the API's own endpoint answers
        assert r.headers["content-type"] == "application/json"
        doc = r.json()
    assert doc["info"]["title"] == "bmi" and {"/bmi", "/docs"} <= set(doc["paths"])
    import yaml

    assert yaml.safe_load(target.read_text())["paths"].keys() == doc["paths"].keys()
    assert OpenAPI(service)()["servers"] == [{"url": "http://127.0.0.1:5000/api"}]


def test_mount_without_api_sets_the_root_api_and_route() -> None:
    from utilmeta import UtilMeta
    from utilmeta.testing import TestClient
    from utilmeta.utils.exceptions import SetupError

    class Root(api.API):
        @api.get
        def hello(self) -> str:
            return "world"

    class Other(api.API):
        def get(self) -> str:
            return "other"

    service = UtilMeta(__name__, backend="wsgi", name="t")
    assert service.mount(Root, route="/api") is Root
    assert (service.root_api, service.route) == (Root, "/api")
    with pytest.raises(SetupError, match="Root is this service's root API"):
        service.mount(Other, "/other")
    with TestClient(service) as client:
        assert client.get("/api/hello").text == "world"
        assert client.get("/api/openapi.json").json()["servers"] == [{"url": "/api"}]


class Broken(Plugin):
    def __init__(self, stage: str):
        super().__init__(stage=stage)
        self.stage = stage

    def process_request(self, request: object) -> None:
        if self.stage == "request":
            raise RuntimeError("request stage")

    def process_response(self, request: object, response: object) -> None:
        if self.stage == "response":
            raise PermissionError("response stage")

    def handle_error(self, request: object, error: BaseException) -> None:
        if self.stage == "error":
            raise KeyError("error stage")


@pytest.mark.parametrize(("stage", "status"), [("request", 500), ("response", 403), ("error", 500)])
def test_an_error_in_a_plugin_is_answered_by_the_core(stage: str, status: int) -> None:
    from utilmeta.testing import TestClient

    @Broken(stage)
    class Root(api.API):
        @api.get
        def hello(self) -> str:
            if stage == "error":
                raise ValueError("endpoint")
            return "world"

    r = TestClient(Root).get("/hello")
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"


def test_cors_takes_utilmetas_keywords() -> None:
    from datetime import timedelta

    from utilmeta.testing import TestClient

    @api.CORS(allow_origin="*", cors_max_age=timedelta(hours=6), exclude_statuses=[503], csrf_exempt=True)
    class Root(api.API):
        @api.get
        def hello(self, fail: bool = False) -> str:
            if fail:
                raise TimeoutError("upstream")
            return "world"

    client = TestClient(Root)
    pre = client.options("/hello", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
    assert pre.headers["access-control-max-age"] == str(6 * 3600)
    assert client.get("/hello", headers={"Origin": "https://a.example"}).headers["access-control-allow-origin"] == "*"
    failed = client.get("/hello?fail=true", headers={"Origin": "https://a.example"})
    assert failed.status_code == 503 and "access-control-allow-origin" not in failed.headers
    assert repr(api.CORS(cors_max_age=60)) == "CORS(cors_max_age=60)"
    with pytest.raises(DeclarationError, match="csrf_exempt=False"):
        api.CORS(csrf_exempt=False)
    with pytest.raises(DeclarationError, match="gen_csrf_token=True"):
        api.CORS(gen_csrf_token=True)


def test_api_plugin_applies_several() -> None:
    @api.plugin(Limit(3), Limit)
    class Root(api.API):
        def get(self) -> None: ...

    assert [p.__kwargs__ for p in Root._plugins] == [{"rate": 3}, {"rate": 10}]
    with pytest.raises(TypeError, match="takes plugins"):
        api.plugin("nope")(Root)  # type: ignore[arg-type]


def test_endpoint_options_are_known_or_refused() -> None:
    class Doc(api.API):
        @api.put(idempotent=True, responses={409: "taken"}, **{"x-owner": "team"})
        def item(self) -> None: ...

    assert Doc._endpoints[0].info.extra == {"x-idempotent": True, "responses": {409: "taken"}, "x-owner": "team"}
    for option in ("priority", "eager", "bogus"):
        with pytest.raises(TypeError, match=f"unknown option '{option}'"):
            api.get(**{option: 1})


def check_token(token: str) -> bool:
    return token == "ok"


class Verify(Plugin):
    def __init__(self, check: object = None):
        super().__init__(check)
        self.check = check


def test_a_function_argument_is_no_bare_use() -> None:
    plugin = Verify(check_token)  # a module-level function: the plugin's argument
    assert isinstance(plugin, Verify) and plugin.check is check_token

    class Root(api.API):
        @Verify  # a function of a class body: the target
        @api.get
        def hello(self) -> str:
            return "world"

    assert [type(p) for p in Root._endpoints[0].plugins] == [Verify]


def test_a_routed_attribute_must_be_an_api() -> None:
    with pytest.raises(DeclarationError, match=r"Tree.leaf: annotation 'Missing' cannot be resolved"):

        class Tree(api.API):
            leaf: Missing = api.route("l")  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(DeclarationError, match=r"annotate it with an API class"):

        class Bush(api.API):
            leaf: int = api.route("l")  # type: ignore[assignment]
