"""The demo's APIs: a small to-do service with typed parameters, bodies, templates and errors."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timezone
from typing import Annotated, Literal, Optional

import msgspec
from blog.api import PostAPI

from utilmeta.core import api, request, response
from utilmeta.utils import exceptions

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Tag = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9-]{1,20}$")]


class TodoIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    tags: list[Tag] = []
    priority: Literal["low", "normal", "high"] = "normal"


class TodoPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Optional[Title] = None
    done: Optional[bool] = None
    priority: Optional[Literal["low", "normal", "high"]] = None


class Todo(msgspec.Struct):
    id: int
    title: str
    tags: list[str]
    priority: str
    done: bool
    created_at: datetime


class Envelope(response.Response):
    """Every to-do answer is wrapped: ``{"data": ..., "message": ..., "count": ...}``."""

    result_key = "data"
    message_key = "message"
    count_key = "count"


class Store:
    """An in-memory store (the blog, ``blog/``, keeps its data in SQLite through utilmeta.core.orm)."""

    def __init__(self) -> None:
        self.items: dict[int, Todo] = {}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def add(self, data: TodoIn) -> Todo:
        with self.lock:
            todo = Todo(next(self.ids), data.title, data.tags, data.priority, False, datetime.now(timezone.utc))
            self.items[todo.id] = todo
            return todo

    def get(self, id: int) -> Todo:
        try:
            return self.items[id]
        except KeyError:
            raise exceptions.NotFound(f"to-do {id} does not exist") from None


store = Store()


class TodoAPI(api.API):
    response = Envelope

    @api.get("", summary="List to-dos")
    def list(
        self,
        done: Optional[bool] = None,
        tag: Optional[str] = None,
        limit: int = request.QueryParam(default=20, ge=1, le=100),
        offset: int = request.QueryParam(default=0, ge=0),
    ) -> Envelope:
        items = [t for t in store.items.values() if (done is None or t.done == done) and (not tag or tag in t.tags)]
        return Envelope(items[offset : offset + limit], count=len(items))

    @api.post("", summary="Create a to-do")
    def create(self, data: TodoIn = request.Body) -> Envelope:
        return Envelope(store.add(data), status=201, message="created")

    @api.get("{id}", summary="Get one to-do")
    def one(self, id: int) -> Todo:
        return store.get(id)

    @api.patch("{id}", summary="Update a to-do")
    def update(self, id: int, data: TodoPatch = request.Body) -> Todo:
        todo = store.get(id)
        for field in ("title", "done", "priority"):
            value = getattr(data, field)
            if value is not None:
                setattr(todo, field, value)
        return todo

    @api.delete("{id}", summary="Delete a to-do")
    def remove(self, id: int) -> Envelope:
        store.get(id)
        del store.items[id]
        return Envelope(message=f"to-do {id} deleted")

    @api.before(create, update, remove)
    def require_key(self, key: Optional[str] = request.HeaderParam("X-API-Key", default=None)) -> None:
        from config import env

        if env.API_KEY and key != env.API_KEY:
            raise exceptions.Unauthorized("send the X-API-Key header to change to-dos")


class RootAPI(api.API):
    todos: TodoAPI
    posts: PostAPI

    @api.get(summary="Liveness")
    def health(self) -> dict:
        return {"status": "ok", "time": datetime.now(timezone.utc)}

    @api.get("hello/{name}", summary="Say hello")
    def hello(self, name: str, excited: bool = False) -> str:
        return f"Hello, {name}{'!' if excited else '.'}"
