"""A library's loans desk, written the way UtilMeta's guides write a service (flask backend)."""

import os

from utilmeta import UtilMeta
from utilmeta.core import api, request, response
from utilmeta.utils import exceptions

BOOKS = {1: {"title": "Dune", "out": False}, 2: {"title": "Emma", "out": True}}


class LoanResponse(response.Response):
    result_key = "data"
    message_key = "msg"
    state_key = "state"


class BookAPI(api.API):
    @api.get("{id}")
    def get(self, id: int) -> dict:
        if id not in BOOKS:
            raise exceptions.NotFound(path=f"/book/{id}")
        return BOOKS[id]

    @api.post("{id}/loan")
    def loan(self, id: int, member: str = request.HeaderParam("X-Member")) -> LoanResponse:
        book = BOOKS.get(id)
        if book is None:
            return LoanResponse(error=exceptions.NotFound("no such book"))
        if book["out"]:
            raise exceptions.Conflict("already on loan", state="taken")
        book["out"] = True
        resp = LoanResponse({"id": id, "member": member}, message="enjoy")
        resp.set_cookie("last_loan", str(id), httponly=True)
        return resp

    @api.get
    def catalogue(self) -> response.Response:
        return self.response(file=os.path.join(os.path.dirname(__file__), "catalogue.csv"))

    @api.handle("*", Exception)
    def oops(self, e: Exception) -> LoanResponse:
        return LoanResponse(error=e)

    @api.handle("*", exceptions.Conflict)
    def conflict(self, e: exceptions.Conflict) -> LoanResponse:
        return LoanResponse(error=e, state=e.state)


class RootAPI(api.API):
    book: BookAPI

    @api.get
    def secure(self) -> None:
        raise exceptions.UpgradeRequired(scheme="https")


service = UtilMeta(
    __name__,
    name="library",
    backend="flask",
    api=RootAPI,
    route="/api",
    port=int(os.environ["SERVICE_PORT"]),
    production=True,
)
app = service.application()

if __name__ == "__main__":
    service.run()
