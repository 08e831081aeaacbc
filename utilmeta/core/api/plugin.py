"""Plugins: reusable request/response processing attached to API classes or endpoints.

A plugin instance decorates an API class (all its endpoints, sub-APIs included) or one endpoint
function. For each request the core calls, outer plugins first::

    process_request(request)          -> a Response to answer at once, or None to go on
    process_response(request, resp)   -> a replacement Response, or None to keep it
    handle_error(request, error)      -> a Response for the error, or None to let it propagate
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from utilmeta.core.request import Request
from utilmeta.core.response import Response
from utilmeta.utils.exceptions import DeclarationError
from utilmeta.utils.plugin import Plugin as BasePlugin

__all__ = ["Plugin", "CORS"]

T = TypeVar("T")


class Plugin(BasePlugin):
    """Base class of API plugins. Subclasses override the three processing methods they need."""

    def __call__(self, target: T) -> T:
        from utilmeta.core.api.base import API

        if isinstance(target, type) and issubclass(target, API):
            target._plugins = [*target._plugins, self]
        elif callable(target):
            plugins = list(getattr(target, "__utilmeta_plugins__", []))
            setattr(target, "__utilmeta_plugins__", [*plugins, self])
            # an endpoint compiled before the decorator ran (decorators apply bottom-up) is fine:
            # the API class collects function plugins when it is created
        else:
            raise TypeError(f"{type(self).__name__} decorates an API class or an endpoint, got {target!r}")
        return target

    def process_request(self, request: Request) -> Response | None:
        return None

    def process_response(self, request: Request, response: Response) -> Response | None:
        return None

    def handle_error(self, request: Request, error: BaseException) -> Response | None:
        return None


def _as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)


class CORS(Plugin):
    """Cross-origin resource sharing. Off unless applied; never answers ``*`` with credentials."""

    def __init__(
        self,
        allow_origin: str | Iterable[str] = "*",
        *,
        allow_methods: str | Iterable[str] | None = None,
        allow_headers: str | Iterable[str] = "*",
        allow_credentials: bool = False,
        expose_headers: str | Iterable[str] | None = None,
        max_age: int | None = None,
    ):
        self.origins = _as_tuple(allow_origin)
        self.any_origin = "*" in self.origins
        if self.any_origin and allow_credentials:
            raise DeclarationError(
                "CORS: allow_credentials=True needs explicit origins; '*' with credentials is refused by browsers"
            )
        self.methods = tuple(m.upper() for m in _as_tuple(allow_methods))
        self.headers = _as_tuple(allow_headers)
        self.credentials = allow_credentials
        self.expose = _as_tuple(expose_headers)
        self.max_age = max_age

    def _allowed(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    def _base_headers(self, origin: str) -> dict[str, str]:
        headers = {"Access-Control-Allow-Origin": "*" if self.any_origin else origin}
        if not self.any_origin:
            headers["Vary"] = "Origin"
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    def preflight(self, request: Request, allow: list[str]) -> Response:
        """The answer to an OPTIONS preflight for a route allowing ``allow`` methods."""
        origin = request.headers.get("origin")
        response = Response(status=204, headers={"Allow": ", ".join(allow)})
        if not origin or not self._allowed(origin):
            return response
        headers = self._base_headers(origin)
        headers["Access-Control-Allow-Methods"] = ", ".join(self.methods or allow)
        requested = request.headers.get("access-control-request-headers")
        if "*" in self.headers:
            if requested:
                headers["Access-Control-Allow-Headers"] = requested
        elif self.headers:
            headers["Access-Control-Allow-Headers"] = ", ".join(self.headers)
        if self.max_age is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age)
        response.headers.update(headers)
        return response

    def process_response(self, request: Request, response: Response) -> Response | None:
        origin = request.headers.get("origin")
        if origin and self._allowed(origin):
            response.headers.update(self._base_headers(origin))
            if self.expose:
                response.headers["Access-Control-Expose-Headers"] = ", ".join(self.expose)
        return None

    def _repr_args(self) -> dict[str, Any]:
        return {"allow_origin": self.origins, "allow_credentials": self.credentials}
