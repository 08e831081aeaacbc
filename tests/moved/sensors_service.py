"""Sensor readings for greenhouses: several body parameters, typed lists, content-type constants,
as UtilMeta's guides write them (run on Tornado)."""

import os

import msgspec
import pydantic
import tornado
import utype

from utilmeta import UtilMeta
from utilmeta.core import api, request


class Reading(pydantic.BaseModel):
    sensor: str
    celsius: float = pydantic.Field(ge=-40, le=85)


class Batch(msgspec.Struct):
    site: str


class Tags(msgspec.Struct):
    tags: list[str] = []


class SensorAPI(api.API):
    @api.get("{zone}/{kind}")
    def latest(
        self,
        zone: int = utype.Param(ge=1, le=12),
        kind: str = utype.Param(enum=["temp", "humidity"]),
        window: int = utype.Field(alias="window-min", default=5, le=60),
    ) -> dict:
        return {"zone": zone, "kind": kind, "window": window}

    @api.post
    def readings(self, items: list[Reading] = request.Json) -> float:
        return round(sum(r.celsius for r in items) / len(items), 2)

    @api.post
    def tagged(self, batch: Batch = request.Json, tags: Tags = request.Json) -> dict:
        return {"site": batch.site, "tags": tags.tags}

    @api.post
    def calibrate(self, sensor: str = request.BodyParam, form: dict = request.Form) -> dict:
        return {"sensor": sensor, "keys": sorted(form)}

    @api.post
    def note(self, text: str = request.Body(request.Body.PLAIN, max_length=80)) -> int:
        return len(text.split())

    @api.post
    def legacy(self, data: Batch = request.Body(content_type=request.Body.FORM_URLENCODED)) -> str:
        return data.site


class RootAPI(api.API):
    sensors: SensorAPI


service = UtilMeta(
    __name__,
    name="sensors",
    backend=tornado,
    api=RootAPI,
    route="/api",
    port=int(os.environ.get("PORT", 8000)),
)
app = service.application()

if __name__ == "__main__":
    service.run()
