"""An API class's own ("general") parameters, path templates whose last variables have defaults,
``PathParam``'s segment regex and before hooks that declare path parameters — as UtilMeta's guides
write them. Every declaration mistake fails when the class or the router is built."""

from __future__ import annotations

import cProfile
import pstats
from typing import Annotated, Literal, Optional

import pytest
from test_compiled_once import FORBIDDEN

from utilmeta.core import api, request
from utilmeta.testing import TestClient
from utilmeta.utils.exceptions import DeclarationError


class CommentAPI(api.API):
    @api.get
    def get(self) -> str:
        return "comments"


class PostAPI(api.API):
    slug: str = request.SlugPathParam
    comments: CommentAPI

    @api.get
    def get(self) -> dict:
        return {"slug": self.slug, "viewer": self.viewer}

    @api.get("revisions/{rev}")
    def revision(self, rev: int = request.PathParam(default=1, ge=1)) -> dict:
        return {"slug": self.slug, "rev": rev}

    @api.before("*")
    def load(self, slug: str = request.SlugPathParam, viewer: str = request.QueryParam(default="anon")) -> None:
        if slug == "draft":
            from utilmeta.utils.exceptions import NotFound

            raise NotFound(f"post {slug!r} is not published")
        self.viewer = viewer


class BlogAPI(api.API):
    token: str = request.HeaderParam("X-Token")
    theme: str = request.CookieParam(default="light")
    per_page: Annotated[int, request.QueryParam(default=20, ge=1, le=100)]
    posts: PostAPI = api.route("posts/{slug}")

    @api.get
    def settings(self) -> dict:
        return {"token": self.token, "theme": self.theme, "per_page": self.per_page}

    @api.get("archive/{year}/{month}")
    def archive(self, year: int, month: int = request.PathParam(default=1, ge=1, le=12)) -> dict:
        return {"year": year, "month": month, "per_page": self.per_page}

    @api.get("tag/{name}")
    def tag(self, name: str = request.PathParam("^[a-z]{2,8}$")) -> str:
        return name


@pytest.fixture()
def c() -> TestClient:
    return TestClient(BlogAPI)


AUTH = {"X-Token": "abc"}


def test_class_parameters_are_read_for_every_endpoint(c):
    r = c.get("/settings?per_page=5", headers=AUTH, cookies={"theme": "dark"})
    assert r.json() == {"token": "abc", "theme": "dark", "per_page": 5}
    assert c.get("/settings", headers=AUTH).json() == {"token": "abc", "theme": "light", "per_page": 20}


def test_missing_or_invalid_class_parameters_are_400_naming_each(c):
    r = c.get("/settings?per_page=0")
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {"location": "query", "name": "per_page", "message": "Expected int >= 1"},
        {"location": "header", "name": "x-token", "message": "required, not given"},
    ]


def test_class_parameters_apply_to_sub_apis_and_their_own_path_parameters(c):
    assert c.get("/posts/hello-world", headers=AUTH).json() == {"slug": "hello-world", "viewer": "anon"}
    assert c.get("/posts/hello-world/comments", headers=AUTH).text == "comments"
    assert c.get("/posts/hello-world").status_code == 400  # the parent's X-Token is required there too
    assert c.get("/posts/Hello_World", headers=AUTH).status_code == 404  # not a slug


def test_before_hooks_declare_path_and_query_parameters(c):
    assert c.get("/posts/hello/revisions/3?viewer=bo", headers=AUTH).json() == {"slug": "hello", "rev": 3}
    assert c.get("/posts/hello?viewer=bo", headers=AUTH).json() == {"slug": "hello", "viewer": "bo"}
    assert c.get("/posts/draft", headers=AUTH).status_code == 404


def test_trailing_path_variables_with_defaults_may_be_left_out(c):
    assert c.get("/archive/2024/5", headers=AUTH).json() == {"year": 2024, "month": 5, "per_page": 20}
    assert c.get("/archive/2024", headers=AUTH).json() == {"year": 2024, "month": 1, "per_page": 20}
    assert c.get("/archive/2024/", headers=AUTH).json()["month"] == 1
    assert c.get("/archive", headers=AUTH).status_code == 404  # year has no default
    assert c.get("/archive/2024/13", headers=AUTH).status_code == 400
    assert c.get("/posts/hello/revisions", headers=AUTH).json() == {"slug": "hello", "rev": 1}


def test_path_param_positional_argument_is_the_segment_regex(c):
    assert c.get("/tag/py", headers=AUTH).text == "py"
    for bad in ("/tag/p", "/tag/PY", "/tag/abcdefghi", "/tag/py/x"):
        assert c.get(bad, headers=AUTH).status_code == 404, bad


def test_a_parameter_of_the_root_route_may_be_left_out():
    class Pages(api.API):
        @api.get("{page}")
        def page(self, page: int = request.PathParam(default=1)) -> int:
            return page

    c = TestClient(Pages)
    assert c.get("/").json() == 1
    assert c.get("/4").json() == 4


def test_an_implied_none_does_not_make_a_path_variable_optional():
    class Files(api.API):
        @api.get("f/{name}")
        def f(self, name: Optional[str]) -> Optional[str]:
            return name

    c = TestClient(Files)
    assert c.get("/f/x").text == "x"
    assert c.get("/f").status_code == 404


def test_subclasses_inherit_class_parameters_and_may_drop_them():
    class Base(api.API):
        token: str = request.HeaderParam("X-Token")

        @api.get
        def who(self) -> str:
            return self.token

    class Child(Base):
        pass

    class Open(Base):
        token = "public"  # a plain attribute: no longer a parameter

    assert TestClient(Child).get("/who", headers=AUTH).text == "abc"
    assert TestClient(Child).get("/who").status_code == 400
    assert TestClient(Open).get("/who").text == "public"


def test_hooks_and_init_see_class_parameters():
    from utilmeta.utils.exceptions import NotFound, PermissionDenied

    shelves = {"tools": ["saw"], "toys": []}

    class Shelf(api.API):
        name: str = request.SlugPathParam
        role: Literal["admin", "user"] = request.HeaderParam("X-Role", default="user")

        def __init__(self, *args, **kwargs):  # as UtilMeta's guide writes it
            super().__init__(*args, **kwargs)
            if self.name not in shelves:
                raise NotFound(f"no shelf {self.name!r}")
            self.items = shelves[self.name]

        @api.get
        def get(self) -> list:
            return self.items

        @api.delete
        def delete(self) -> None:
            self.items.clear()

        @api.before(delete)
        def only_admins(self) -> None:
            if self.role != "admin":
                raise PermissionDenied("admins only")

    class Root(api.API):
        shelf: Shelf = api.route("shelves/{name}")

    c = TestClient(Root)
    assert c.get("/shelves/tools").json() == ["saw"]
    assert c.get("/shelves/food").status_code == 404
    assert c.delete("/shelves/tools").status_code == 403
    r = c.get("/shelves/tools", headers={"X-Role": "root"})
    assert r.status_code == 400 and r.json()["errors"][0]["name"] == "x-role"
    assert c.delete("/shelves/tools", headers={"X-Role": "admin"}).status_code == 200
    assert shelves["tools"] == []


# -- declaration errors -------------------------------------------------------------------------


def test_body_parameters_are_refused_on_a_class():
    for marker in (request.Body, request.BodyParam, request.Json()):
        with pytest.raises(DeclarationError, match="Bad.data: an API class's own parameters cannot be in the body"):

            class Bad(api.API):
                data: dict = marker  # type: ignore[assignment]


def test_a_class_parameter_cannot_take_the_apis_own_names():
    with pytest.raises(DeclarationError, match="Bad.request: 'request' is the API's own attribute"):

        class Bad(api.API):
            request: str = request.HeaderParam("X-Request")  # type: ignore[assignment]


def test_a_class_path_parameter_must_be_in_the_route():
    class Item(api.API):
        code: str = request.PathParam()

        @api.get
        def get(self) -> str:
            return self.code

    class Root(api.API):
        item: Item  # mounted at 'item': no {code}

    with pytest.raises(DeclarationError, match=r"Item: parameter 'code': .* not in the route template '/item'"):
        TestClient(Root)


def test_a_hook_path_parameter_must_be_in_every_route_it_runs_for():
    class Root(api.API):
        @api.get("a/{slug}")
        def a(self) -> str:
            return "a"

        @api.get
        def b(self) -> str:
            return "b"

        @api.before("*")
        def load(self, slug: str = request.SlugPathParam) -> None:
            pass

    with pytest.raises(DeclarationError, match=r"Root.load: parameter 'slug': .* template '/b'"):
        TestClient(Root)


def test_only_the_last_path_variables_may_have_defaults():
    class Middle(api.API):
        @api.get("{a}/{b}")
        def get(self, a: int = request.PathParam(default=1), b: int = request.PathParam()) -> int:
            return a + b

    with pytest.raises(DeclarationError, match=r"\{b\} .* has no default but comes after one that has"):
        TestClient(Middle)

    class Suffix(api.API):
        @api.get("{a}/raw")
        def get(self, a: int = request.PathParam(default=1)) -> int:
            return a

    with pytest.raises(DeclarationError, match="the route goes on after it"):
        TestClient(Suffix)


def test_path_variables_are_separated_and_unique():
    class Glued(api.API):
        @api.get("{category}{page}")
        def get(self, category: str, page: int) -> str:
            return category

    with pytest.raises(DeclarationError, match=r"\{page\} of '/\{category\}\{page\}' follows another"):
        TestClient(Glued)

    class Twice(api.API):
        @api.get("{id}/{id}")
        def get(self, id: int) -> int:
            return id

    with pytest.raises(DeclarationError, match=r"\{id\} appears twice"):
        TestClient(Twice)


def test_methods_of_one_path_read_its_variables_the_same_way():
    class Docs(api.API):
        @api.get("doc/{lang}/{page}")
        def read(self, lang: str, page: int = 1) -> int:
            return page

        @api.put("doc/{lang}/{page}")
        def write(self, lang: str, page: int) -> int:
            return page

    with pytest.raises(DeclarationError, match=r"Docs.write \(PUT /doc/\{lang\}/\{page\}\) and .*Docs.read \(/doc"):
        TestClient(Docs)

    class Renamed(api.API):
        @api.get("item/{id}")
        def read(self, id: int) -> int:
            return id

        @api.delete("item/{pk}")
        def remove(self, pk: int) -> int:
            return pk

    with pytest.raises(DeclarationError, match="name, match or default their path variables differently"):
        TestClient(Renamed)


def test_bad_segment_regexes_are_refused_when_declared():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        request.PathParam("[a-z")
    with pytest.raises(ValueError, match="named groups"):
        request.PathParam("(?P<x>a)")


def test_one_path_variable_cannot_have_two_regexes():
    class Root(api.API):
        code: str = request.PathParam(r"\d+")

        @api.get("x/{code}")
        def x(self, code: str = request.PathParam("[a-z]+")) -> str:
            return code

    class Top(api.API):
        root: Root = api.route("r/{code}")

    with pytest.raises(DeclarationError, match=r"path variable \{code\} .* two regexes"):
        TestClient(Top)


# -- documented and compiled once ---------------------------------------------------------------


def test_openapi_lists_class_and_hook_parameters_on_each_operation():
    from utilmeta import UtilMeta
    from utilmeta.core.server.service import _clear_service
    from utilmeta.ops.openapi import generate

    _clear_service()
    try:
        doc = generate(UtilMeta(__name__, backend="starlette", api=BlogAPI, name="blog"))
    finally:
        _clear_service()

    def params(path: str) -> dict:
        return {(p["in"], p["name"]): p for p in doc["paths"][path]["get"]["parameters"]}

    settings = params("/settings")
    assert settings["header", "X-Token"]["required"] is True
    assert settings["cookie", "theme"]["required"] is False
    assert settings["query", "per_page"]["schema"]["maximum"] == 100
    post = params("/posts/{slug}")
    assert post["path", "slug"]["schema"]["pattern"] == "^(?:[a-z0-9]+(?:-[a-z0-9]+)*)$"
    assert ("query", "viewer") in post and ("header", "X-Token") in post
    assert params("/tag/{name}")["path", "name"]["schema"]["pattern"] == "^(?:[a-z]{2,8})$"
    month = params("/archive/{year}/{month}")["path", "month"]
    assert month["required"] is True and month["schema"]["default"] == 1  # OpenAPI path parameters are required
    assert month["description"].startswith("May be left out of the path")
    assert "description" not in params("/archive/{year}/{month}")["path", "year"]


def test_requests_compile_nothing(c):
    c.get("/settings", headers=AUTH)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(20):
        assert c.get("/settings", headers=AUTH).status_code == 200
        assert c.get("/archive/2024", headers=AUTH).status_code == 200
        assert c.get("/posts/hello/revisions/2", headers=AUTH).status_code == 200
    profile.disable()
    called = {func for (_file, _line, func) in pstats.Stats(profile).stats}  # type: ignore[attr-defined]
    assert called & FORBIDDEN == set()
    assert "_instances" in called and "parse" in called


def test_the_parameters_page_sample_answers_as_documented():
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "parameters.md"
    (source,) = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    namespace: dict = {"__name__": "parameters_page"}
    exec(compile(source, str(page), "exec"), namespace)
    c = TestClient(namespace["RootAPI"])
    token = {"X-Token": "t1"}
    assert c.get("/me", headers=token).json() == {"token": "t1", "role": "viewer"}
    r = c.get("/me")
    assert r.status_code == 400 and r.json()["errors"][0] == {
        "location": "header",
        "name": "x-token",
        "message": "required, not given",
    }
    assert c.get("/projects/apollo/tasks", headers=token).json() == {
        "project": "apollo",
        "page": 1,
        "tasks": ["launch", "land"],
    }
    assert c.get("/projects/apollo/tasks/0", headers=token).status_code == 400
    assert c.get("/projects/Apollo/tasks", headers=token).status_code == 404
    assert c.get("/projects/mercury/tasks", headers=token).json()["detail"] == "no project 'mercury'"
    r = c.get("/projects/apollo/tags/fuel", headers={**token, "X-User": "ann"})
    assert r.json() == {"project": "apollo", "tag": "fuel", "by": "ann@apollo"}
    assert c.get("/projects/apollo/tags/Fuel", headers=token).status_code == 404


def test_an_api_built_by_hand_reads_its_own_parameters():
    class CommentAPI(api.API):
        order: Literal["new", "old"] = request.QueryParam(default="new")
        post: str = request.SlugPathParam

        @api.get
        def get(self) -> list:
            return [self.post, self.order]

    class PostAPI(api.API):
        @api.get("{post}/summary")
        def summary(self) -> dict:
            return {"comments": CommentAPI(self.request).get()}  # as UtilMeta's guide calls an API

    c = TestClient(PostAPI)
    assert c.get("/my-post/summary?order=old").json() == {"comments": ["my-post", "old"]}
    r = c.get("/my-post/summary?order=x")
    assert r.status_code == 400 and r.json()["errors"][0]["name"] == "order"


def test_an_endpoint_path_parameter_may_come_from_the_class_route():
    @api.route("{slug}/comments")
    class CommentAPI(api.API):  # as UtilMeta's routing guide writes it
        def get(self, slug: str = request.PathParam):
            return slug

    class ArticleAPI(api.API):
        comments: CommentAPI

    class RootAPI(api.API):
        article: ArticleAPI

    c = TestClient(RootAPI)
    assert c.get("/article/how-to/comments").text == "how-to"
    assert c.get("/article/comments").status_code == 404


def test_class_parameters_from_a_plain_mixin():
    class TokenMixin:  # not an API: UtilMeta takes its markers too
        token: str = request.HeaderParam("X-Token")

    class Root(TokenMixin, api.API):
        @api.get
        def who(self) -> str:
            return self.token

    c = TestClient(Root)
    assert c.get("/who", headers=AUTH).text == "abc"
    assert c.get("/who").status_code == 400


def test_a_hook_may_target_a_sub_api_by_its_route_and_must_target_something():
    from utilmeta.utils.exceptions import NotFound

    class ArticleAPI(api.API):
        def get(self) -> str:
            return "article"

    class Root(api.API):
        article: ArticleAPI = api.route("article/{slug}")

        @api.before(article)
        def load(self, slug: str = request.SlugPathParam) -> None:
            if slug == "gone":
                raise NotFound(slug)

    c = TestClient(Root)
    assert c.get("/article/here").text == "article"
    assert c.get("/article/gone").status_code == 404

    with pytest.raises(DeclarationError, match=r"Typo.load: hook target 'artcle' is not an endpoint or a sub-API"):

        class Typo(api.API):
            article: ArticleAPI

            @api.before("artcle")
            def load(self) -> None:
                pass


def test_error_hooks_answer_bad_class_parameters_and_failing_inits():
    from utilmeta.utils.exceptions import BadRequest, NotFound

    class ShelfAPI(api.API):
        name: str = request.SlugPathParam

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if self.name == "missing":
                raise NotFound("no such shelf")

        def get(self) -> str:
            return self.name

        @api.handle("*", NotFound)
        def own(self, error: NotFound) -> str:
            return "never: this instance was not made"

    class Root(api.API):
        token: str = request.HeaderParam("X-Token")
        shelf: ShelfAPI = api.route("shelves/{name}")

        @api.handle("*", BadRequest)
        def bad(self, error: BadRequest) -> dict:
            return {"bad": [e["name"] for e in error.errors], "has_request": self.request is not None}

        @api.handle(shelf, NotFound)
        def missing(self, error: NotFound) -> dict:
            return {"missing": str(error), "token": self.token}

    c = TestClient(Root)
    assert c.get("/shelves/tools", headers=AUTH).text == "tools"
    r = c.get("/shelves/tools")
    assert (r.status_code, r.json()) == (400, {"bad": ["x-token"], "has_request": True})
    r = c.get("/shelves/missing", headers=AUTH)
    assert (r.status_code, r.json()) == (404, {"missing": "no such shelf", "token": "abc"})
