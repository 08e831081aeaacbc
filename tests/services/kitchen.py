"""A kitchen's order ticker, written the way UtilMeta's guides write a service (starlette, async)."""

import asyncio
import os

from utilmeta import UtilMeta
from utilmeta.core import api, response
from utilmeta.core.response.sse import ServerSentEvent, SSEResponse
from utilmeta.utils import exceptions

ORDERS = {7: ["received", "cooking", "plated"]}


class OrderAPI(api.API):
    @api.get("{id}/progress")
    async def progress(self, id: int) -> SSEResponse:
        if id not in ORDERS:
            raise exceptions.NotFound(f"order {id} unknown")

        async def steps():
            for n, step in enumerate(ORDERS[id]):
                await asyncio.sleep(0)
                yield ServerSentEvent({"order": id, "step": step}, event="step", id=str(n))

        return SSEResponse(steps())

    @api.get
    def queue(self) -> list:
        return sorted(ORDERS)

    @api.after(queue)
    def count(self, resp: response.Response) -> None:
        resp.headers["X-Queue-Length"] = len(ORDERS)

    @api.handle(progress, exceptions.NotFound)
    def unknown(self, e: exceptions.NotFound) -> dict:
        return {"error": e.message}

    @api.handle(progress, Exception)
    def anything(self, e: Exception) -> dict:
        return {"error": "unexpected"}


class RootAPI(api.API):
    order: OrderAPI


service = UtilMeta(
    __name__,
    name="kitchen",
    backend="starlette",
    api=RootAPI,
    route="/api",
    port=int(os.environ["SERVICE_PORT"]),
    production=True,
)
app = service.application()

if __name__ == "__main__":
    service.run()
