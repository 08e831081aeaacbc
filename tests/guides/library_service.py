# ruff: noqa: UP006, UP035  (typing.List, as UtilMeta's guides write it)
"""A library catalogue, written the way UtilMeta's guides write a service (flask backend):
general parameters on the API classes, a class route with a slug, a path template whose last
variable has a default, and a shelf looked up in ``__init__``."""

import os
from typing import List, Literal

import flask
import utype

from utilmeta import UtilMeta
from utilmeta.core import api, request
from utilmeta.utils import exceptions

SHELVES = {
    "sci-fi": [{"isbn": "9780441013593", "title": "Dune"}, {"isbn": "9780553283686", "title": "Hyperion"}],
    "poetry": [],
}


class BookSchema(utype.Schema):
    isbn: str
    title: str


@api.route("shelves/{shelf}")
class ShelfAPI(api.API):
    shelf: str = request.SlugPathParam

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.shelf not in SHELVES:
            raise exceptions.NotFound(f"no shelf named {self.shelf}")
        self.books = SHELVES[self.shelf]

    def get(self) -> List[BookSchema]:
        return self.books

    def post(self, book: BookSchema = request.Body) -> BookSchema:
        self.books.append(dict(isbn=book.isbn, title=book.title))
        return book

    @api.get("page/{page}")
    def page(self, page: int = request.PathParam(default=1, ge=1), size: int = 1) -> List[BookSchema]:
        return self.books[(page - 1) * size : page * size]


class CatalogAPI(api.API):
    shelves: ShelfAPI

    @api.get("search/{field}")
    def search(self, field: Literal["title", "isbn"], q: str = request.QueryParam(min_length=1)) -> List[str]:
        return [b[field] for books in SHELVES.values() for b in books if q.lower() in b[field].lower()]


class RootAPI(api.API):
    api_key: str = request.HeaderParam("X-Api-Key")
    catalog: CatalogAPI

    @api.before("*")
    def check_key(self):
        if self.api_key != "reader-key":
            raise exceptions.Unauthorized("unknown API key")


service = UtilMeta(
    __name__,
    name="library",
    backend=flask,
    api=RootAPI,
    route="/api",
    port=int(os.environ.get("GUIDE_PORT", "5000")),
)
app = service.application()

if __name__ == "__main__":
    service.run()
