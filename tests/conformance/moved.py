"""Endpoints written the way UtilMeta's guides write them (utype parameters, header schemas,
list bodies, several body parameters, raw and typed files): mounted at ``/api/moved`` in the
conformance service, so each behaviour is answered the same on every backend."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import msgspec
import pydantic
import utype

from utilmeta.core import api, file, request


class Gadget(utype.Schema):
    sku: str = utype.Field(regex=r"^[A-Z]{3}-\d{3}$")
    stock: int = utype.Field(ge=0, default=0)


class GadgetStruct(msgspec.Struct):
    sku: str
    stock: int = 0


class GadgetModel(pydantic.BaseModel):
    sku: str
    stock: int = pydantic.Field(default=0, ge=0)


class TraceHeaders(utype.Schema):
    trace_id: str = utype.Field(alias="X-Trace-Id", length=8)
    region: str = utype.Field(alias="X-Region", default="eu")


class Draft(msgspec.Struct):
    title: str


class Meta(msgspec.Struct):
    tags: list[str] = []


class MovedAPI(api.API):
    @api.get
    def share(self, total: float, people: int = utype.Param(1, gt=0)) -> float:
        return total / people

    @api.get("page/{lang}")
    def page(
        self,
        lang: str = utype.Param(enum=["en", "zh"]),
        cls_name: str = utype.Param(alias="class"),
        at: int = utype.Field(alias="@page", default=1, ge=1),
    ) -> dict:
        return {"lang": lang, "class": cls_name, "page": at}

    @api.get
    def trace(
        self, headers: TraceHeaders = request.Headers, x_hop: int = request.HeaderParam(default=0, le=10)
    ) -> dict:
        return {"trace": headers.trace_id, "region": headers.region, "hop": x_hop}

    @api.post
    def gadgets(self, items: list[Gadget] = request.Body) -> list:
        return [[g.sku, g.stock] for g in items]

    @api.post
    def gadget_structs(self, items: list[GadgetStruct] = request.Body) -> list:
        return [[g.sku, g.stock] for g in items]

    @api.post
    def gadget_models(self, items: list[GadgetModel] = request.Json) -> list:
        return [[g.sku, g.stock] for g in items]

    @api.post
    def draft(self, draft: Draft = request.Json, meta: Meta = request.Json) -> dict:
        return {"title": draft.title, "tags": meta.tags}

    @api.post
    def signup(
        self,
        email: str = request.BodyParam(regex=r"^[^@]+@[^@]+$"),
        form: dict = request.Form,
    ) -> dict:
        return {"email": email, "fields": sorted(form)}

    @api.post
    def note(self, data: Draft = request.Body(content_type=request.Body.FORM_URLENCODED)) -> str:
        return data.title

    @api.post
    def html(self, text: str = request.Body(request.Body.HTML, max_length=64)) -> int:
        return len(text)

    @api.post
    def blob(self, f: file.File = request.Body) -> dict:
        return {"size": f.size, "type": f.content_type, "head": f.read(4).hex()}

    @api.post
    def cover(self, image: file.Image = request.Body) -> dict:
        return {"size": image.size, "type": image.content_type}

    @api.post
    def media(
        self,
        picture: Optional[file.Image] = request.BodyParam(default=None),
        song: Optional[file.Audio] = request.BodyParam(default=None),
        clip: Optional[file.Video] = request.BodyParam(default=None),
    ) -> dict:
        return {k: v.content_type for k, v in (("picture", picture), ("song", song), ("clip", clip)) if v}


class AsyncMovedAPI(MovedAPI):
    @api.get
    async def share(self, total: float, people: int = utype.Param(1, gt=0)) -> float:
        await asyncio.sleep(0)
        return total / people

    @api.post
    async def gadgets(self, items: list[Gadget] = request.Body) -> list:
        await asyncio.sleep(0)
        return [[g.sku, g.stock] for g in items]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)

#: id -> (method, url, httpx keyword arguments, the status the core must answer)
CASES: dict[str, tuple[str, str, dict[str, Any], int]] = {
    "utype-param": ("GET", "/api/moved/share?total=9&people=3", {}, 200),
    "utype-param-default": ("GET", "/api/moved/share?total=9", {}, 200),
    "utype-param-gt": ("GET", "/api/moved/share?total=9&people=0", {}, 400),
    "utype-alias-enum": ("GET", "/api/moved/page/zh?class=tech&%40page=3", {}, 200),
    "utype-enum-refused": ("GET", "/api/moved/page/fr?class=tech", {}, 400),
    "utype-alias-missing": ("GET", "/api/moved/page/en?cls_name=tech", {}, 400),
    "header-schema-any-case": (
        "GET",
        "/api/moved/trace",
        {"headers": {"x-trace-id": "abcd1234", "X-REGION": "us", "X-Hop": "2"}},
        200,
    ),
    "header-schema-invalid": ("GET", "/api/moved/trace", {"headers": {"X-Trace-Id": "short"}}, 400),
    "header-param-beside-schema": (
        "GET",
        "/api/moved/trace",
        {"headers": {"X-Trace-Id": "abcd1234", "X-Hop": "11"}},
        400,
    ),
    "list-utype": ("POST", "/api/moved/gadgets", {"json": [{"sku": "ABC-123", "stock": 2}, {"sku": "XYZ-999"}]}, 200),
    "list-utype-one-object": ("POST", "/api/moved/gadgets", {"json": {"sku": "ABC-123", "stock": 1}}, 200),
    "list-utype-one-form": ("POST", "/api/moved/gadgets", {"data": {"sku": "ABC-123", "stock": "5"}}, 200),
    "list-utype-invalid": ("POST", "/api/moved/gadgets", {"json": [{"sku": "ABC-123"}, {"sku": "nope"}]}, 400),
    "list-msgspec": ("POST", "/api/moved/gadget_structs", {"json": [{"sku": "a", "stock": 1}]}, 200),
    "list-pydantic": ("POST", "/api/moved/gadget_models", {"json": [{"sku": "a"}, {"sku": "b", "stock": 4}]}, 200),
    "list-pydantic-invalid": ("POST", "/api/moved/gadget_models", {"json": [{"sku": "a", "stock": -1}]}, 400),
    "two-json-params": ("POST", "/api/moved/draft", {"json": {"title": "t", "tags": ["x", "y"]}}, 200),
    "body-param-and-form": ("POST", "/api/moved/signup", {"data": {"email": "a@b.c", "plan": "pro"}}, 200),
    "body-param-and-form-invalid": ("POST", "/api/moved/signup", {"data": {"email": "nope"}}, 400),
    "form-urlencoded-constant": ("POST", "/api/moved/note", {"data": {"title": "hello"}}, 200),
    "form-urlencoded-refuses-json": ("POST", "/api/moved/note", {"json": {"title": "hello"}}, 415),
    "html-body": ("POST", "/api/moved/html", {"content": b"<p>hi</p>", "headers": {"Content-Type": "text/html"}}, 200),
    "html-body-wrong-type": ("POST", "/api/moved/html", {"json": "<p>"}, 415),
    "html-body-too-long": (
        "POST",
        "/api/moved/html",
        {"content": b"x" * 65, "headers": {"Content-Type": "text/html"}},
        413,
    ),
    "raw-file-body": (
        "POST",
        "/api/moved/blob",
        {"content": b"%PDF-1.7 tail", "headers": {"Content-Type": "application/pdf"}},
        200,
    ),
    "raw-image-body": ("POST", "/api/moved/cover", {"content": PNG, "headers": {"Content-Type": "image/png"}}, 200),
    "raw-image-wrong-type": (
        "POST",
        "/api/moved/cover",
        {"content": b"plain", "headers": {"Content-Type": "text/plain"}},
        400,
    ),
    "typed-uploads": (
        "POST",
        "/api/moved/media",
        {
            "files": {
                "picture": ("p.png", PNG, "image/png"),
                "song": ("s.ogg", b"OggS", "audio/ogg"),
                "clip": ("c.mp4", b"mp4", "video/mp4"),
            }
        },
        200,
    ),
    "image-upload-wrong-type": ("POST", "/api/moved/media", {"files": {"picture": ("p.txt", b"x", "text/plain")}}, 400),
    "audio-upload-wrong-type": ("POST", "/api/moved/media", {"files": {"song": ("s.png", PNG, "image/png")}}, 400),
    "video-upload-wrong-type": ("POST", "/api/moved/media", {"files": {"clip": ("c.ogg", b"OggS", "audio/ogg")}}, 400),
}
