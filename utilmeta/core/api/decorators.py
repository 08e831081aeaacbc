"""The decorators that declare endpoints, routes and hooks. They only attach metadata;
the API class compiles it when it is created."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

import msgspec

__all__ = [
    "HTTP_METHODS",
    "EndpointInfo",
    "HookInfo",
    "RouteInfo",
    "endpoint_route",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "route",
    "before",
    "after",
    "handle",
]

F = TypeVar("F", bound=Callable[..., Any])

HTTP_METHODS = ("get", "post", "put", "patch", "delete")

ENDPOINT_ATTR = "__utilmeta_endpoint__"
HOOK_ATTR = "__utilmeta_hook__"


class EndpointInfo(msgspec.Struct):
    method: str
    route: str | None = None
    summary: str | None = None
    description: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    deprecated: bool = False
    private: bool = False
    operation_id: str | None = None
    extra: dict[str, Any] = msgspec.field(default_factory=dict)


def endpoint_route(name: str, info: EndpointInfo) -> str:
    """The route of endpoint ``name`` relative to its API class: the declared one, or its name
    (none for an endpoint named after an HTTP method: it serves the class's own path)."""
    route = info.route
    if route is None:
        route = "" if name in HTTP_METHODS else name
    return route.strip("/")


class _MethodDecorator:
    """``@api.get``, ``@api.get('{id}')``, ``@api.get('{id}', summary=...)``, ``@api.get(summary=...)``.

    ``@api.delete(follow)``, given an endpoint declared before, serves the same route as it
    (``follow``'s) with another method.
    """

    def __init__(self, method: str):
        self.method = method
        self.__name__ = method

    @overload
    def __call__(self, route: F, /) -> F: ...

    @overload
    def __call__(
        self,
        route: str | None = None,
        /,
        *,
        summary: str | None = None,
        description: str | None = None,
        tags: list[str] | tuple[str, ...] | None = None,
        deprecated: bool = False,
        private: bool = False,
        operation_id: str | None = None,
        **extra: Any,
    ) -> Callable[[F], F]: ...

    def __call__(self, route: Any = None, /, **kwargs: Any) -> Any:
        if callable(route):
            other: EndpointInfo | None = getattr(route, ENDPOINT_ATTR, None)
            if other is None:
                if kwargs:
                    raise TypeError(f"@api.{self.method}({route!r}, ...): the first argument is a route or an endpoint")
                return self._mark(route, EndpointInfo(self.method))
            route = endpoint_route(route.__name__, other)  # the route of the endpoint referred to
        if route is not None and not isinstance(route, str):
            raise TypeError(f"@api.{self.method}: route must be a string, got {type(route).__name__}")
        tags = kwargs.pop("tags", None)
        known = {
            k: kwargs.pop(k) for k in ("summary", "description", "deprecated", "private", "operation_id") if k in kwargs
        }
        if "idempotent" in kwargs:  # UtilMeta's: a fact for clients, stated in the OpenAPI document
            kwargs["x-idempotent"] = bool(kwargs.pop("idempotent"))
        unknown = [k for k in kwargs if k != "responses" and not k.startswith("x-")]
        if unknown:
            raise TypeError(
                f"@api.{self.method}: unknown option {', '.join(map(repr, unknown))}; the options are summary, "
                "description, tags, deprecated, private, operation_id, idempotent, responses and 'x-...' extensions"
            )
        info = EndpointInfo(self.method, route, tags=list(tags or []), extra=kwargs, **known)

        def decorator(func: F) -> F:
            return self._mark(func, info)

        return decorator

    def _mark(self, func: F, info: EndpointInfo) -> F:
        if not callable(func):
            raise TypeError(f"@api.{self.method} decorates a function, got {func!r}")
        name = getattr(func, "__name__", "")
        if name in HTTP_METHODS and name != self.method:
            # a core method (`def get`) serves its own method: `@api.post(get)` is no reference to it
            raise TypeError(f"@api.{self.method} cannot decorate {name}(), which serves {name.upper()}")
        setattr(func, ENDPOINT_ATTR, info)
        return func

    def __repr__(self) -> str:
        return f"api.{self.method}"


get = _MethodDecorator("get")
post = _MethodDecorator("post")
put = _MethodDecorator("put")
patch = _MethodDecorator("patch")
delete = _MethodDecorator("delete")


class RouteInfo:
    """``api.route('path/{slug}')``: the path of a sub-API. Decorates an API class, or is the value of
    an annotated attribute (``user: UserAPI = api.route('u/{slug}')``)."""

    def __init__(
        self,
        path: str,
        *,
        summary: str | None = None,
        tags: list[str] | None = None,
        description: str | None = None,
        deprecated: bool = False,
        private: bool = False,
    ):
        if not isinstance(path, str):
            raise TypeError(f"api.route(path): path must be a string, got {type(path).__name__}")
        self.path = path.strip("/")
        self.summary = summary
        self.tags = list(tags or [])
        self.description = description
        self.deprecated = deprecated
        self.private = private

    def __call__(self, api_class: Any) -> Any:
        from utilmeta.core.api.base import API

        if not (isinstance(api_class, type) and issubclass(api_class, API)):
            raise TypeError(f"@api.route decorates an API class, got {api_class!r}")
        api_class._route_info = self
        return api_class

    def __repr__(self) -> str:
        return f"api.route({self.path!r})"


def route(path: str, **kwargs: Any) -> Any:
    return RouteInfo(path, **kwargs)


class HookInfo(msgspec.Struct):
    kind: str  # 'before' | 'after' | 'handle'
    targets: tuple[Any, ...]
    errors: tuple[type[BaseException], ...] = ()
    priority: int = 0


def _hook(kind: str, args: tuple[Any, ...], priority: int) -> Callable[[F], F]:
    targets: list[Any] = []
    errors: list[type[BaseException]] = []
    for a in args:
        if isinstance(a, type) and issubclass(a, BaseException):
            errors.append(a)
        else:
            targets.append(a)
    if errors and kind != "handle":
        raise TypeError(f"@api.{kind}: exception types only go to @api.handle")
    info = HookInfo(kind, tuple(targets) or ("*",), tuple(errors) or (Exception,), priority)

    def decorator(func: F) -> F:
        if not callable(func):
            raise TypeError(f"@api.{kind} decorates a function, got {func!r}")
        setattr(func, HOOK_ATTR, info)
        return func

    return decorator


def before(*targets: Any, priority: int = 0) -> Callable[[F], F]:
    """Run before the target endpoints (``'*'`` or no target: all, sub-APIs included).
    The hook may declare parameters like an endpoint; raising an error stops the request."""
    return _hook("before", targets, priority)


def after(*targets: Any, priority: int = 0) -> Callable[[F], F]:
    """Run after the targets with ``(self, response)``; a returned value replaces the response."""
    return _hook("after", targets, priority)


def handle(*targets_and_errors: Any, priority: int = 0) -> Callable[[F], F]:
    """Handle errors of the given types (default: all) raised by the targets, with ``(self, error)``."""
    return _hook("handle", targets_and_errors, priority)
