"""A lending library, written the way UtilMeta's request guide writes services (run on Flask)."""

import os
from typing import Literal

import flask
import utype

from utilmeta import UtilMeta
from utilmeta.core import api, request

SHELF = {"dune": 3, "emma": 0}


class BookQuery(utype.Schema):
    genre: Literal["novel", "poetry", "science"] = "novel"
    page: int = utype.Field(ge=1, default=1)


class NewBook(utype.Schema):
    slug: str = utype.Field(regex=r"^[a-z0-9-]{2,30}$")
    copies: int = utype.Field(ge=1, le=50, default=1)


class LibraryHeaders(utype.Schema):
    card: str = utype.Field(alias="X-Library-Card", length=6)
    branch: str = utype.Field(alias="X-Branch", default="central")


class BookAPI(api.API):
    @api.get
    def search(self, query: BookQuery = request.Query) -> dict:
        return {"genre": query.genre, "page": query.page}

    @api.get("{slug}")
    def copies(self, slug: str = request.SlugPathParam, min_copies: int = utype.Param(0, ge=0)) -> dict:
        left = SHELF.get(slug, 0)
        return {"slug": slug, "available": left >= min_copies}

    @api.post
    def donate(self, books: list[NewBook] = request.Body) -> int:
        for book in books:
            SHELF[book.slug] = SHELF.get(book.slug, 0) + book.copies
        return sum(b.copies for b in books)

    @api.post
    def borrow(
        self,
        headers: LibraryHeaders = request.Headers,
        days: int = request.HeaderParam("X-Days", default=14, le=28),
        slug: str = request.BodyParam,
        note: str = request.BodyParam(default="", max_length=40),
    ) -> dict:
        return {"card": headers.card, "branch": headers.branch, "days": days, "slug": slug, "note": note}

    @api.get
    def overdue(self, per_day: float = utype.Param(gt=0), days: int = utype.Param(alias="late-days", ge=1)) -> float:
        return round(per_day * days, 2)


class RootAPI(api.API):
    book: BookAPI


service = UtilMeta(
    __name__, name="library", backend=flask, api=RootAPI, route="/api", port=int(os.environ.get("PORT", 5000))
)
app = service.application()

if __name__ == "__main__":
    service.run()
