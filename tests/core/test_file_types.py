"""``Image``, ``Audio`` and ``Video`` accept only their kind of content; a raw body can be a file;
utype schemas may declare file fields (as UtilMeta's guide on uploads writes them)."""

from __future__ import annotations

from typing import Optional

import pytest
from optional import optional_import

from utilmeta.core import api, file, request
from utilmeta.testing import TestClient

utype = optional_import("utype", "pip install 'utilmeta[utype]'")

PNG = b"\x89PNG\r\n\x1a\n" + bytes(8)


def test_typed_files_check_their_content_type_when_built() -> None:
    assert file.Image(PNG, content_type="image/png").size == len(PNG)
    assert file.Audio(b"x", content_type="Audio/OGG").media == "audio"
    with pytest.raises(ValueError, match=r"expected a video/\* file, got 'image/png'"):
        file.Video(PNG, content_type="image/png")
    with pytest.raises(ValueError, match="image"):
        file.Image(PNG)  # no content type: application/octet-stream


def test_accept_reclasses_an_upload_and_leaves_a_refused_one_as_it_was() -> None:
    upload = file.File(b"OggS", filename="s.ogg", content_type="audio/ogg")
    with pytest.raises(ValueError):
        file.Image.accept(upload)
    assert type(upload) is file.File
    assert file.Audio.accept(upload) is upload and type(upload) is file.Audio
    with pytest.raises(ValueError, match="expected Image, got Audio"):
        file.Image.accept(upload)


def test_a_file_built_from_a_file_shares_its_content_and_names() -> None:
    upload = file.File(PNG, filename="a.png", content_type="image/png", name="pic")
    image = file.Image(upload)
    assert (image.filename, image.name, image.size, image.read(4)) == ("a.png", "pic", len(PNG), PNG[:4])
    assert len(image) == len(PNG) and bool(file.File(b""))


class AvatarForm(utype.Schema):
    user_id: int
    avatar: file.Image = utype.Field(max_length=64)


class FileAPI(api.API):
    @api.post
    def avatar(self, data: AvatarForm = request.Body) -> list:
        return [data.user_id, type(data.avatar).__name__, data.avatar.size]

    @api.post
    def raw(self, f: file.File = request.Body) -> list:
        return [f.content_type, f.read().decode()]

    @api.post
    def cover(self, image: Optional[file.Image] = request.Body) -> Optional[str]:
        return image.content_type if image else None

    @api.post
    def typed(self, clip: file.Video = request.BodyParam, note: str = request.BodyParam(default="")) -> list:
        return [clip.content_type, note]


@pytest.fixture()
def c() -> TestClient:
    return TestClient(FileAPI)


def test_file_fields_of_a_utype_schema(c: TestClient) -> None:
    ok = c.post("/avatar", data={"user_id": "7"}, files={"avatar": ("a.png", PNG, "image/png")})
    assert ok.json() == [7, "Image", len(PNG)]
    big = c.post("/avatar", data={"user_id": "7"}, files={"avatar": ("a.png", PNG * 10, "image/png")})
    assert big.status_code == 400 and big.json()["errors"][0]["name"] == "avatar"
    text = c.post("/avatar", data={"user_id": "7"}, files={"avatar": ("a.txt", b"hi", "text/plain")})
    assert text.status_code == 400
    assert text.json()["errors"][0] == {
        "location": "body",
        "name": "avatar",
        "message": "expected an image/* file, got 'text/plain'",
    }


def test_a_raw_body_is_the_file_whatever_its_content_type(c: TestClient) -> None:
    for ctype in ("text/csv", "application/json", "application/x-www-form-urlencoded"):
        assert c.post("/raw", content=b"a=1", headers={"Content-Type": ctype}).json() == [ctype, "a=1"]
    assert c.post("/raw", content=b"x").json() == ["application/octet-stream", "x"]


def test_an_optional_raw_image_body(c: TestClient) -> None:
    assert c.post("/cover").content == b""  # None: an empty 200
    assert c.post("/cover", content=PNG, headers={"Content-Type": "image/png"}).text == "image/png"
    wrong = c.post("/cover", content=b"x", headers={"Content-Type": "text/plain"})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["name"] == "image"


def test_a_typed_upload_field(c: TestClient) -> None:
    ok = c.post("/typed", data={"note": "n"}, files={"clip": ("c.mp4", b"...", "video/mp4")})
    assert ok.json() == ["video/mp4", "n"]
    wrong = c.post("/typed", files={"clip": ("c.ogg", b"...", "audio/ogg")})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["name"] == "clip"


def test_documented_as_a_binary_body_of_its_kind() -> None:
    from utilmeta import UtilMeta
    from utilmeta.core.server.service import _clear_service
    from utilmeta.ops.openapi import generate

    _clear_service()
    try:
        doc = generate(UtilMeta(__name__, backend="wsgi", api=FileAPI, route="/"))
    finally:
        _clear_service()
    assert list(doc["paths"]["/cover"]["post"]["requestBody"]["content"]) == ["image/*"]
    assert list(doc["paths"]["/raw"]["post"]["requestBody"]["content"]) == ["application/octet-stream"]
    assert "multipart/form-data" in doc["paths"]["/typed"]["post"]["requestBody"]["content"]


@pytest.mark.parametrize(
    "first", ["from utilmeta.core import file\nimport utype", "import utype\nfrom utilmeta.core import file"]
)
def test_utype_learns_file_fields_whichever_is_imported_first(first: str) -> None:
    import subprocess
    import sys

    schema = "class S(utype.Schema):\n    pic: file.Image\n"
    code = f"{first}\n{schema}print(S(pic=file.File(b'x', content_type='image/png')).pic)\n"
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("<Image ")
