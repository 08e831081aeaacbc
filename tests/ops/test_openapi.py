"""The OpenAPI document: what it says about every parameter kind and location, body kind,
response template, nested and reused schema and error, that it validates as 3.1 (and 3.0 after
down-conversion) and that it is deterministic. ``meta gen_openapi`` is in ``test_gen_openapi.py``."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import datetime
from typing import Annotated, Any, Literal, Optional, TypedDict
from uuid import UUID

import msgspec
import pydantic
import pytest
import utype
import yaml
from openapi_spec_validator import OpenAPIV30SpecValidator, validate

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import api, request, response
from utilmeta.core.file import File
from utilmeta.ops import generate, render

from .apis import make_service


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Address(msgspec.Struct):
    city: str
    zip: Annotated[str, msgspec.Meta(pattern=r"^\d{5}$")] = "00000"


class User(msgspec.Struct, kw_only=True):
    id: int
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    home: Address
    work: Optional[Address] = None
    color: Color = Color.red
    joined: Optional[datetime] = None


class Filters(msgspec.Struct, kw_only=True):
    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    order: Literal["asc", "desc"] = "asc"


class Auth(TypedDict):
    x_api_key: str


@dataclasses.dataclass
class Point:
    x: float
    y: Annotated[float, msgspec.Meta(gt=0, lt=10)]


class PydAddress(pydantic.BaseModel):
    street: str


class PydUser(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=5)
    address: PydAddress


class UtypeLogin(utype.Schema):
    username: str = utype.Field(max_length=10)
    remember: bool = False


def other_item() -> type:
    class Item(msgspec.Struct):  # same name as the module's Item, a different schema
        sku: str

    return Item


class Item(msgspec.Struct):
    name: str


OtherItem = other_item()


class Wrap(response.Response):
    result_key = "data"
    message_key = "msg"
    count_key = "total"
    state_key = "code"


class Created(response.Response):
    status = 201


class TeamAPI(api.API):
    response = Wrap  # the class template wraps results and errors

    @api.get
    def get(self, slug: str) -> list[User]:
        return []

    @api.delete("members/{member}")
    def remove(self, slug: str, member: UUID) -> None:
        return None


class AdminAPI(api.API):
    @api.get
    def stats(self) -> dict[str, int]:
        return {}


class UserAPI(api.API):
    @api.before("*")
    def auth(self, token: str = request.HeaderParam("X-Token", description="your API token")) -> None:
        pass

    @api.get("{id}", summary="Get a user", operation_id="getUser")
    def get(self, id: int = request.PathParam(ge=1)) -> User:
        """Ignored first line.

        A user, with addresses."""
        raise NotImplementedError

    @api.post
    def post(self, user: User = request.Json) -> Created[User]:
        """Create a user."""
        return user  # type: ignore[return-value]

    @api.put("{id}", deprecated=True)
    def put(self, id: int, user: User = request.Body) -> User:
        return user


class RootAPI(api.API):
    user: UserAPI
    team: TeamAPI = api.route("teams/{slug}", tags=["teams"], deprecated=True)
    admin: AdminAPI = api.route("admin", private=True)

    @api.get
    def search(
        self,
        q: Annotated[str, request.QueryParam(min_length=1, max_length=30, description="words", example="cats")],
        tags: Annotated[list[str], request.QueryParam(default=[])],
        ids: Annotated[list[int], request.QueryParam(alias="id", max_length=3, default=[])],
        color: Color = Color.blue,
        mode: Literal["any", "all"] = "any",
        since: Optional[datetime] = None,
        session: Optional[str] = request.CookieParam(default=None),
        lang: str = request.HeaderParam("Accept-Language", default="en"),
    ) -> list[Item]:
        return []

    @api.get
    def page(self, filters: Filters = request.Query, auth: Auth = request.Headers) -> list[OtherItem]:  # type: ignore[valid-type]
        return []

    @api.get("files/{path}")
    def file(self, path: str = request.FilePathParam()) -> bytes:
        return b""

    @api.post
    def upload(self, avatar: File, extra: list[File] = request.BodyParam(default=[]), note: str = "") -> str:
        return ""

    @api.post
    def login(self, form: UtypeLogin = request.Form) -> str:
        return ""

    @api.post
    def pyd(self, user: PydUser = request.Json) -> PydUser:
        return user

    @api.post
    def point(self, point: Point = request.Body) -> Point:
        return point

    @api.post
    def fields(self, a: int = request.BodyParam(ge=0), b: Optional[str] = request.BodyParam(default=None)) -> None:
        return None

    @api.put
    def raw(self, data: bytes = request.Body) -> bytes:
        return data

    @api.put
    def csv(self, text: str = request.Body(content_type="text/csv")) -> Wrap[int]:
        return 0  # type: ignore[return-value]

    @api.get(private=True)
    def hidden(self) -> str:
        return ""

    @api.get(tags=["misc"], responses={409: "when it conflicts"}, **{"x-internal": False})
    def anything(self):  # type: ignore[no-untyped-def]
        return None


def rich(**kwargs: Any) -> UtilMeta:
    return UtilMeta(
        __name__,
        backend="asgi",
        name="rich",
        title="Rich API",
        description="Every kind of parameter",
        version=(1, 2, 3),
        api=RootAPI,
        route="/api",
        port=8100,
        info={"license": {"name": "MIT", "identifier": "MIT"}},
        **kwargs,
    )


@pytest.fixture
def doc() -> dict[str, Any]:
    return generate(rich())


def op(doc: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return doc["paths"][path][method]


def params(operation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["in"], p["name"]): p for p in operation.get("parameters", [])}


def deref(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, _, section, name = node["$ref"].split("/")
        node = doc["components"][section][name]
    return node


# -- the document as a whole ---------------------------------------------------------------------


def test_validates_as_openapi_31_and_30(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    down = generate(rich(), openapi_version="3.0")
    assert down["openapi"] == "3.0.3"
    errors = list(OpenAPIV30SpecValidator(down).iter_errors())
    assert not errors, errors[0]


def test_info_servers_and_tags(doc: dict[str, Any]) -> None:
    assert doc["info"] == {
        "title": "Rich API",
        "description": "Every kind of parameter",
        "version": "1.2.3",
        "license": {"name": "MIT", "identifier": "MIT"},
    }
    assert doc["servers"] == [{"url": "http://127.0.0.1:8100/api"}]
    assert generate(rich(), servers=["/api"])["servers"] == [{"url": "/api"}]
    assert [t["name"] for t in doc["tags"]] == ["misc", "user", "teams"]


def test_paths_follow_routes_and_leave_out_private_endpoints(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    assert "/user/{id}" in paths and "/teams/{slug}/members/{member}" in paths and "/files/{path}" in paths
    assert "/hidden" not in paths and "/admin/stats" not in paths
    assert set(paths["/user/{id}"]) == {"get", "put"}
    assert "/openapi.json" not in paths and "/docs" not in paths  # the docs endpoints are private
    ids = [o["operationId"] for item in paths.values() for o in item.values()]
    assert len(ids) == len(set(ids))
    assert op(doc, "/user/{id}")["operationId"] == "getUser"
    assert op(doc, "/user", "post")["operationId"] == "user_post"


def test_summary_description_tags_and_deprecation(doc: dict[str, Any]) -> None:
    get = op(doc, "/user/{id}")
    assert get["summary"] == "Get a user"
    assert get["description"] == "Ignored first line.\n\nA user, with addresses."
    assert get["tags"] == ["user"]  # from the sub-API
    post = op(doc, "/user", "post")
    assert post["summary"] == "Create a user." and "description" not in post
    assert op(doc, "/user/{id}", "put")["deprecated"] is True
    team = op(doc, "/teams/{slug}")
    assert team["tags"] == ["teams"] and team["deprecated"] is True  # from api.route(...)
    anything = op(doc, "/anything")
    assert anything["tags"] == ["misc"] and anything["x-internal"] is False
    assert anything["responses"]["409"] == {"description": "when it conflicts"}


def test_deterministic_and_the_same_on_every_backend() -> None:
    first = render(generate(rich()))
    assert render(generate(rich())) == first
    from utilmeta.core.server.service import _clear_service

    _clear_service()
    sync = UtilMeta(__name__, backend="wsgi", name="rich", title="Rich API", description="Every kind of parameter",
                    version="1.2.3", api=RootAPI, route="/api", port=8100,
                    info={"license": {"name": "MIT", "identifier": "MIT"}})  # fmt: skip
    assert render(generate(sync)) == first


# -- parameters ------------------------------------------------------------------------------------


def test_query_parameters_carry_constraints_defaults_enums_and_formats(doc: dict[str, Any]) -> None:
    p = params(op(doc, "/search"))
    q = p["query", "q"]
    assert q["required"] is True and q["description"] == "words" and q["example"] == "cats"
    assert q["schema"] == {"type": "string", "minLength": 1, "maxLength": 30}
    assert p["query", "tags"]["schema"] == {"type": "array", "items": {"type": "string"}, "default": []}
    assert p["query", "tags"]["required"] is False
    color = p["query", "color"]["schema"]
    assert color["default"] == "blue"
    assert deref(doc, color) == {"type": "string", "title": "Color", "enum": ["blue", "red"]}
    assert p["query", "mode"]["schema"] == {"type": "string", "enum": ["all", "any"], "default": "any"}
    assert p["query", "since"]["schema"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    ids = p["query", "id"]["schema"]  # the alias is the name on the wire
    assert ids["type"] == "array" and ids["items"] == {"type": "integer"} and ids["maxItems"] == 3


def test_header_cookie_and_hook_parameters(doc: dict[str, Any]) -> None:
    p = params(op(doc, "/search"))
    assert p["cookie", "session"]["required"] is False
    assert p["header", "Accept-Language"]["schema"] == {"type": "string", "default": "en"}
    user = params(op(doc, "/user/{id}"))
    token = user["header", "X-Token"]  # declared by the before hook
    assert token["required"] is True and token["description"] == "your API token"
    assert user["path", "id"] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }


def test_path_parameters_say_what_the_route_segment_matches(doc: dict[str, Any]) -> None:
    file = params(op(doc, "/files/{path}"))["path", "path"]
    assert file["schema"] == {"type": "string", "pattern": "^(?:.+)$"}
    team = params(op(doc, "/teams/{slug}/members/{member}", "delete"))
    assert team["path", "slug"]["schema"]["pattern"] == "^(?:[^/]+)$"
    assert team["path", "member"]["schema"] == {"type": "string", "format": "uuid"}


def test_whole_location_parameters_become_one_parameter_per_field(doc: dict[str, Any]) -> None:
    p = params(op(doc, "/page"))
    assert p["query", "page"] == {
        "name": "page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "default": 1},
    }
    assert p["query", "order"]["schema"]["enum"] == ["asc", "desc"]
    assert p["header", "x-api-key"]["required"] is True  # Headers: x_api_key is the x-api-key header


# -- bodies ----------------------------------------------------------------------------------------


def test_json_body_from_a_struct_is_a_shared_component(doc: dict[str, Any]) -> None:
    body = op(doc, "/user", "post")["requestBody"]
    assert body["required"] is True
    assert body["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}
    user = doc["components"]["schemas"]["User"]
    assert user["required"] == ["id", "name", "home"]
    assert user["properties"]["home"] == {"$ref": "#/components/schemas/Address"}
    assert user["properties"]["work"]["anyOf"][1] == {"type": "null"}
    assert doc["components"]["schemas"]["Address"]["properties"]["zip"]["pattern"] == r"^\d{5}$"
    # a nested object cannot travel in a form: the body that accepts all three offers JSON only
    assert list(op(doc, "/user/{id}", "put")["requestBody"]["content"]) == ["application/json"]


def test_flat_bodies_are_offered_as_json_form_and_multipart(doc: dict[str, Any]) -> None:
    content = op(doc, "/point", "post")["requestBody"]["content"]
    assert list(content) == ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]
    point = doc["components"]["schemas"]["Point"]
    assert point["properties"]["y"] == {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10}
    fields = op(doc, "/fields", "post")["requestBody"]
    assert fields["required"] is True
    schema = fields["content"]["application/json"]["schema"]
    assert schema == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "minimum": 0},
            "b": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["a"],
    }


def test_multipart_with_files(doc: dict[str, Any]) -> None:
    body = op(doc, "/upload", "post")["requestBody"]
    assert list(body["content"]) == ["multipart/form-data"]
    schema = body["content"]["multipart/form-data"]["schema"]
    binary = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
    assert schema["properties"]["avatar"] == binary
    assert schema["properties"]["extra"] == {"type": "array", "items": binary, "default": []}
    assert schema["required"] == ["avatar"]
    assert "note" not in schema["properties"]  # not marked: a query parameter, as everywhere
    assert params(op(doc, "/upload", "post"))["query", "note"]["required"] is False


def test_raw_bodies(doc: dict[str, Any]) -> None:
    raw = op(doc, "/raw", "put")
    assert list(raw["requestBody"]["content"]) == ["application/octet-stream"]
    assert "415" not in raw["responses"]  # any content type is taken as is
    assert raw["responses"]["200"]["content"]["application/octet-stream"]["schema"]["format"] == "binary"
    csv = op(doc, "/csv", "put")["requestBody"]["content"]
    assert csv == {"text/csv": {"schema": {"type": "string"}}}


def test_pydantic_and_utype_bodies_by_their_own_schemas(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    pyd = op(doc, "/pyd", "post")
    assert pyd["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PydUser"}
    assert schemas["PydUser"]["properties"]["name"]["maxLength"] == 5
    assert schemas["PydUser"]["properties"]["address"] == {"$ref": "#/components/schemas/PydAddress"}
    login = op(doc, "/login", "post")["requestBody"]["content"]
    assert list(login) == ["application/x-www-form-urlencoded", "multipart/form-data"]
    schema = deref(doc, login["multipart/form-data"]["schema"])
    assert schema["properties"]["username"]["maxLength"] == 10


def test_same_named_schemas_get_distinct_components(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["Item"]["properties"] == {"name": {"type": "string"}}
    assert schemas["Item2"]["properties"] == {"sku": {"type": "string"}}
    page = op(doc, "/page")["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"type": "array", "items": {"$ref": "#/components/schemas/Item2"}}


# -- responses -------------------------------------------------------------------------------------


def test_results_by_type(doc: dict[str, Any]) -> None:
    def content(path: str, method: str = "get") -> Any:
        return op(doc, path, method)["responses"]["200"].get("content")

    assert content("/search") == {
        "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}
    }
    assert content("/upload", "post") == {"text/plain": {"schema": {"type": "string"}}}
    assert content("/fields", "post") is None  # -> None: an empty body
    assert content("/anything") == {"*/*": {"schema": {}}}  # nothing declared
    success = op(doc, "/search")["responses"]["200"]
    assert success["headers"] == {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}


def test_templates_wrap_results_and_errors(doc: dict[str, Any]) -> None:
    created = op(doc, "/user", "post")["responses"]
    assert "201" in created and "200" not in created
    csv = op(doc, "/csv", "put")["responses"]
    envelope = csv["200"]["content"]["application/json"]["schema"]
    assert envelope == {
        "type": "object",
        "properties": {
            "data": {"type": "integer"},
            "msg": {"type": "string"},
            "total": {"type": "integer"},
            "code": {"description": "the response status, unless the endpoint sets a state"},
        },
        "required": ["data", "msg", "code"],
    }
    assert csv["400"] == {"$ref": "#/components/responses/WrapBadRequest"}
    error = doc["components"]["responses"]["WrapBadRequest"]["content"]["application/json"]["schema"]
    assert deref(doc, error)["properties"]["data"] == {"type": "null"}
    team = op(doc, "/teams/{slug}")["responses"]  # the class's template
    assert team["200"]["content"]["application/json"]["schema"]["properties"]["data"]["items"] == {
        "$ref": "#/components/schemas/User"
    }
    assert team["404"] == {"$ref": "#/components/responses/WrapNotFound"}


def test_error_responses_name_every_status_the_core_can_answer(doc: dict[str, Any]) -> None:
    def codes(path: str, method: str = "get") -> list[str]:
        return list(op(doc, path, method)["responses"])

    assert codes("/search") == ["200", "400", "500"]
    assert codes("/user/{id}") == ["200", "400", "404", "500"]
    assert codes("/user", "post") == ["201", "400", "413", "415", "500"]
    assert codes("/raw", "put") == ["200", "400", "413", "500"]
    assert codes("/anything") == ["200", "409", "500"]
    problem = doc["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "errors", "request_id"}
    bad = doc["components"]["responses"]["BadRequest"]
    assert bad["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_host_validation_makes_every_operation_a_possible_400() -> None:
    service = rich()
    service.use(Preference(allowed_hosts=["example.com"]))
    assert "400" in generate(service)["paths"]["/anything"]["get"]["responses"]


def test_openapi_30_down_conversion() -> None:
    down = generate(rich(), openapi_version="3.0")
    schemas = down["components"]["schemas"]
    assert schemas["User"]["properties"]["work"] == {
        "allOf": [{"$ref": "#/components/schemas/Address"}],
        "nullable": True,
        "default": None,
    }
    assert schemas["User"]["properties"]["joined"] == {"type": "string", "nullable": True, "default": None}
    assert schemas["Point"]["properties"]["y"] == {
        "type": "number",
        "exclusiveMinimum": True,
        "minimum": 0,
        "exclusiveMaximum": True,
        "maximum": 10,
    }
    avatar = down["paths"]["/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert avatar["properties"]["avatar"] == {"type": "string", "format": "binary"}
    assert "identifier" not in down["info"]["license"]
    with pytest.raises(ValueError, match="openapi_version"):
        generate(rich(), openapi_version="2.0")


def test_representative_service_validates() -> None:
    validate(generate(make_service("asgi")))


# -- rendering -------------------------------------------------------------------------------------


def test_render_json_and_yaml(doc: dict[str, Any]) -> None:
    pretty = render(doc)
    assert pretty.endswith(b"\n") and json.loads(pretty) == doc
    compact = render(doc, indent=0)
    assert b"\n" not in compact and json.loads(compact) == doc
    as_yaml = render(doc, "yaml")
    assert yaml.safe_load(as_yaml) == doc
    assert b"&id" not in as_yaml and b"*id" not in as_yaml  # no anchors: every tool reads it
    with pytest.raises(ValueError, match="format"):
        render(doc, "xml")
