"""FastAPI backend: the Starlette adaptor with a ``FastAPI`` app (FastAPI apps are Starlette
apps: the same raw API route, fallback, mounts and lifespan wiring apply)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from utilmeta.core.server.backends.starlette import StarletteServerAdaptor

__all__ = ["FastAPIServerAdaptor"]


class FastAPIServerAdaptor(StarletteServerAdaptor):
    name = "fastapi"

    @classmethod
    def accepts(cls, app: Any) -> bool:
        return isinstance(app, FastAPI)

    def create(self) -> Any:
        # the service documents its own APIs; an empty FastAPI schema and /docs page would only
        # mislead (an injected FastAPI app keeps its docs for its own routes)
        return FastAPI(debug=not self.service.production, openapi_url=None)
