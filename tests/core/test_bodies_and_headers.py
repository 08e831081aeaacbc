"""Header schemas match names in any case; bodies: lists of schemas, several body parameters,
UtilMeta's content-type constants, and the declarations that cannot work."""

from __future__ import annotations

import msgspec
import pydantic
import pytest
from optional import optional_import

from utilmeta.core import api, request
from utilmeta.testing import TestClient
from utilmeta.utils.exceptions import DeclarationError

utype = optional_import("utype", "pip install 'utilmeta[utype]'")


class UtypeHeaders(utype.Schema):
    token: str = utype.Field(alias="X-Api-Token")


class StructHeaders(msgspec.Struct):
    token: str = msgspec.field(name="X-Api-Token")


class ModelHeaders(pydantic.BaseModel):
    token: str = pydantic.Field(alias="X-Api-Token")


class Pet(msgspec.Struct):
    name: str


class PetModel(pydantic.BaseModel):
    name: str = pydantic.Field(min_length=2)


class PetSchema(utype.Schema):
    name: str = utype.Field(min_length=2)


class Owner(msgspec.Struct):
    owner: str = ""


class BodyAPI(api.API):
    @api.get
    def utype_headers(self, h: UtypeHeaders = request.Headers) -> str:
        return h.token

    @api.get
    def struct_headers(self, h: StructHeaders = request.Headers) -> str:
        return h.token

    @api.get
    def model_headers(self, h: ModelHeaders = request.Headers, x_limit: int = request.HeaderParam(default=1)) -> list:
        return [h.token, x_limit]

    @api.post
    def pets(self, pets: list[PetSchema] = request.Body) -> list:
        return [p.name for p in pets]

    @api.post
    def pet_models(self, pets: list[PetModel] = request.Body) -> list:
        return [p.name for p in pets]

    @api.post
    def both(
        self, pet: Pet = request.Body, owner: Owner = request.Body, note: str = request.BodyParam(default="")
    ) -> list:
        return [pet.name, owner.owner, note]


@pytest.fixture()
def c() -> TestClient:
    return TestClient(BodyAPI)


@pytest.mark.parametrize("path", ["/utype_headers", "/struct_headers", "/model_headers"])
@pytest.mark.parametrize("name", ["X-Api-Token", "x-api-token", "X-API-TOKEN"])
def test_header_schema_names_match_in_any_case(c: TestClient, path: str, name: str) -> None:
    r = c.get(path, headers={name: "tok"})
    assert r.status_code == 200, r.content
    assert (r.json()[0] if path == "/model_headers" else r.text) == "tok"


def test_a_header_schema_beside_a_header_param(c: TestClient) -> None:
    assert c.get("/model_headers", headers={"X-Api-Token": "t", "X-Limit": "4"}).json() == ["t", 4]
    bad = c.get("/model_headers", headers={"X-Api-Token": "t", "X-Limit": "many"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["name"] == "x-limit"


@pytest.mark.parametrize("path", ["/pets", "/pet_models"])
def test_a_list_of_schemas_as_the_body(c: TestClient, path: str) -> None:
    assert c.post(path, json=[{"name": "rex"}, {"name": "tom"}]).json() == ["rex", "tom"]
    assert c.post(path, json={"name": "rex"}).json() == ["rex"]
    assert c.post(path, data={"name": "rex"}).json() == ["rex"]
    bad = c.post(path, json=[{"name": "rex"}, {"name": "x"}])
    assert bad.status_code == 400 and bad.json()["errors"][0]["name"] == "[1].name"


def test_several_whole_body_parameters_and_a_field(c: TestClient) -> None:
    assert c.post("/both", json={"name": "rex", "owner": "ann", "note": "n"}).json() == ["rex", "ann", "n"]
    assert c.post("/both", data={"name": "rex"}).json() == ["rex", "", ""]
    assert c.post("/both", json={"owner": "ann"}).status_code == 400


def test_content_type_constants_are_utilmetas() -> None:
    body = request.Body
    assert (body.PLAIN, body.JSON, body.FORM_URLENCODED, body.FORM_DATA, body.XML, body.OCTET_STREAM) == (
        "text/plain",
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/xml",
        "application/octet-stream",
    )


def test_declarations_that_cannot_work_are_refused_when_the_class_is_created() -> None:
    with pytest.raises(DeclarationError, match="'application/xml' can only be received as str, bytes or a File"):

        class XmlAPI(api.API):
            @api.post
            def x(self, data: dict = request.Body(request.Body.XML)) -> None: ...

    with pytest.raises(DeclarationError, match="no body can be both"):

        class MixedAPI(api.API):
            @api.post
            def x(self, a: dict = request.Json, b: dict = request.Form) -> None: ...

    with pytest.raises(DeclarationError, match="whole raw body"):

        class RawAPI(api.API):
            @api.post
            def x(self, text: str = request.Body, extra: str = request.BodyParam) -> None: ...

    with pytest.raises(TypeError, match="alias"):
        request.Headers(alias="X-All")
