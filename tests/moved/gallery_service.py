"""A photo and sound gallery: uploads as UtilMeta's guide declares them (run on Starlette, async)."""

import os
from typing import Optional

import starlette
import utype

from utilmeta import UtilMeta
from utilmeta.core import api, file, request


class AlbumUpload(utype.Schema):
    title: str = utype.Field(min_length=1, max_length=30)
    cover: file.Image = utype.Field(max_length=64 * 1024)
    photos: list[file.Image] = []


class GalleryAPI(api.API):
    @api.post
    async def album(self, data: AlbumUpload = request.Body) -> dict:
        return {"title": data.title, "cover": data.cover.size, "photos": [p.filename for p in data.photos]}

    @api.put("cover/{album}")
    async def cover(self, album: str, image: file.Image = request.Body) -> dict:
        return {"album": album, "type": image.content_type, "size": image.size}

    @api.post
    async def voice(
        self,
        memo: file.Audio = request.BodyParam(max_length=1024),
        caption: Optional[str] = request.BodyParam(default=None),
    ) -> dict:
        return {"type": memo.content_type, "caption": caption}

    @api.post
    async def archive(self, blob: file.File = request.Body(max_length=4096)) -> dict:
        return {"type": blob.content_type, "size": blob.size}


class RootAPI(api.API):
    gallery: GalleryAPI


service = UtilMeta(
    __name__, name="gallery", backend=starlette, api=RootAPI, route="/api", port=int(os.environ.get("PORT", 8000))
)
app = service.application()

if __name__ == "__main__":
    service.run()
