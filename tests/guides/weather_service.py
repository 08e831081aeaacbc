"""Weather stations, written the way UtilMeta's guides write a service (starlette backend, async
endpoints): a general query and cookie parameter, a before hook that declares the station's
path parameter and a header, a date path parameter and a file-path parameter."""

import os
from datetime import date
from typing import Literal

import starlette
import utype

from utilmeta import UtilMeta
from utilmeta.core import api, request, response
from utilmeta.utils import exceptions

READINGS = {("oslo-blindern", date(2024, 1, 15)): [-7.5, -3.0, -9.25]}


class ReadingsSchema(utype.Schema):
    station: str
    day: date
    unit: str
    temperatures: list


class StationAPI(api.API):
    unit: Literal["c", "f"] = request.QueryParam(default="c")
    station: str = request.SlugPathParam

    def convert(self, value: float) -> float:
        return value if self.unit == "c" else round(value * 9 / 5 + 32, 2)

    @api.get("readings/{day}")
    async def readings(self, day: date) -> ReadingsSchema:
        values = READINGS.get((self.station, day))
        if values is None:
            raise exceptions.NotFound(f"no readings on {day}")
        return ReadingsSchema(
            station=self.station, day=day, unit=self.unit, temperatures=[self.convert(v) for v in values]
        )

    @api.get("exports/{path}")
    async def export(self, path: str = request.FilePathParam) -> str:
        return f"{self.station}:{path}"

    @api.before("*")
    def check_station(
        self, station: str = request.SlugPathParam, client: str = request.HeaderParam("X-Client", default="")
    ):
        if station.startswith("closed-"):
            raise exceptions.Gone(f"{station} is closed")
        self.client = client


class WrapResponse(response.Response):
    result_key = "data"
    message_key = "msg"


class RootAPI(api.API):
    response = WrapResponse
    session: str = request.CookieParam(default="guest")
    stations: StationAPI = api.route("stations/{station}")

    @api.get
    async def whoami(self):
        return self.session


service = UtilMeta(
    __name__,
    name="weather",
    backend=starlette,
    api=RootAPI,
    route="/api",
    port=int(os.environ.get("GUIDE_PORT", "8000")),
)
app = service.application()

if __name__ == "__main__":
    service.run()
