"""Plugins: reusable request/response processing attached to API classes or endpoints.

A plugin instance decorates an API class (all its endpoints, sub-APIs included) or one endpoint
function; the class itself does too (``@MyPlugin``: an instance made with no arguments). For
each request the core calls, outer plugins first::

    process_request(request)          -> a Response to answer at once, or None to go on
    process_response(request, resp)   -> a replacement Response, or None to keep it
    handle_error(request, error)      -> a Response for the error, or None to let it propagate

UtilMeta's forms are accepted as they are: ``process_response(self, response, api=None)`` and
``handle_error(self, error, api=None)`` (no request) are told apart by their signature when the
plugin class is created, ``api`` is then None. The methods are synchronous: an ``async def`` one
is refused when the class is created. ``Plugin.__init__`` stores its arguments as UtilMeta does
(``__args__``, ``__kwargs__``), from ``super().__init__(locals())`` or ``super().__init__(*args, **kwargs)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from utilmeta.core.request import Request
from utilmeta.core.response import Response
from utilmeta.utils.exceptions import DeclarationError
from utilmeta.utils.plugin import Plugin as BasePlugin

__all__ = ["Plugin", "CORS", "plugin"]

T = TypeVar("T")


def _is_target(value: Any) -> bool:
    """Whether ``value`` is what a plugin decorates: an API class, or a function defined in a
    class body (an endpoint, decorated or about to be). A module-level function is an argument
    (``MyPlugin(check)``), not a target."""
    from utilmeta.core.api.base import API

    if isinstance(value, type):
        return issubclass(value, API)
    if not inspect.isfunction(value):
        return False
    scopes = value.__qualname__.split(".")
    return len(scopes) > 1 and scopes[-2] != "<locals>"


def _request_free(method: Callable[..., Any]) -> bool:
    """Whether a ``process_response`` / ``handle_error`` is UtilMeta's ``(self, value, api=None)``
    rather than ours ``(self, request, value)``: one required argument, or a second named ``api``."""
    params = [
        p
        for p in list(inspect.signature(method).parameters.values())[1:]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    required = [p for p in params if p.default is p.empty]
    return len(required) <= 1 or params[1].name == "api"


def _without_request(method: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: Plugin, request: Request, value: Any) -> Any:
        return method(self, value)

    call.__name__ = method.__name__
    call.__qualname__ = method.__qualname__
    return call


def _from_locals(init: Callable[..., Any], values: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments in ``locals()`` of a subclass's ``__init__``: its parameters, ``*args`` and
    ``**kwargs`` spread (``self`` and ``__class__`` left out)."""
    if init is Plugin.__init__:
        return (), {k: v for k, v in values.items() if k not in ("self", "__class__")}
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    for p in list(inspect.signature(init).parameters.values())[1:]:
        if p.name not in values:
            continue
        if p.kind is p.VAR_POSITIONAL:
            args = tuple(values[p.name])
        elif p.kind is p.VAR_KEYWORD:
            kwargs.update(values[p.name])
        else:
            kwargs[p.name] = values[p.name]
    return args, kwargs


class Plugin(BasePlugin):
    """Base class of API plugins (a :class:`utilmeta.utils.Plugin`); subclasses override the
    processing methods they need.

    ``@MyPlugin`` (the class) and ``@MyPlugin(x=1)`` (an instance) both decorate an API class or
    an endpoint."""

    __args__: tuple[Any, ...] = ()
    __kwargs__: dict[str, Any] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("process_request", "process_response", "handle_error"):
            method = cls.__dict__.get(name)
            if method is None:
                continue
            if inspect.iscoroutinefunction(method):
                raise DeclarationError(
                    f"{cls.__qualname__}.{name} is async: plugin methods are synchronous "
                    f"(use an async @api.before / @api.after hook for asynchronous work)"
                )
            if name != "process_request" and _request_free(method):
                setattr(cls, name, _without_request(method))

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and _is_target(args[0]):
            # `@MyPlugin` without arguments: the plugin made with its defaults, applied at once
            try:
                plugin = cls()
            except TypeError as e:
                raise DeclarationError(f"@{cls.__name__} used without arguments: {e}") from None
            return plugin(args[0])
        return super().__new__(cls)

    def __init__(self, _kw: Any = None, *args: Any, **kwargs: Any):
        """``super().__init__(locals())`` (UtilMeta's form: the parameters of the subclass's
        ``__init__`` are kept) or ``super().__init__(*args, **kwargs)``."""
        if isinstance(_kw, Mapping):
            declared_args, declared = _from_locals(type(self).__init__, _kw)
            args = (*declared_args, *args)
            kwargs = {**declared, **kwargs}
        elif _kw is not None:
            args = (_kw, *args)
        self.__args__ = args
        self.__kwargs__ = kwargs

    def __repr__(self) -> str:
        # the arguments given, as UtilMeta shows them: those that differ from the defaults
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        given = {k: v for k, v in self.__kwargs__.items() if k not in defaults or defaults[k] != v}
        shown = [repr(a) for a in self.__args__] + [f"{k}={v!r}" for k, v in given.items()]
        return f"{type(self).__name__}({', '.join(shown)})"

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


def plugin(*plugins: Plugin | type[Plugin]) -> Callable[[T], T]:
    """``@api.plugin(CORS(...), MyPlugin)``: several plugins (instances, or classes used bare) at once."""

    def decorator(target: T) -> T:
        for p in plugins:
            if not (isinstance(p, Plugin) or (isinstance(p, type) and issubclass(p, Plugin))):
                raise TypeError(f"@api.plugin takes plugins, got {p!r}")
            p(target)
        return target

    return decorator


def _as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)


class CORS(Plugin):
    """Cross-origin resource sharing. Off unless applied; never answers ``*`` with credentials.

    UtilMeta's keywords are accepted: ``cors_max_age`` (seconds or a ``timedelta``: ``max_age``),
    ``exclude_statuses`` (statuses answered without CORS headers) and ``csrf_exempt=True`` (APIs
    check no CSRF token here anyway); ``csrf_exempt=False`` and ``gen_csrf_token`` ask for CSRF
    handling this plugin does not do, and are refused."""

    def __init__(
        self,
        allow_origin: str | Iterable[str] = "*",
        *,
        allow_methods: str | Iterable[str] | None = None,
        allow_headers: str | Iterable[str] = "*",
        allow_credentials: bool = False,
        expose_headers: str | Iterable[str] | None = None,
        max_age: int | None = None,
        cors_max_age: float | timedelta | None = None,
        exclude_statuses: Iterable[int] = (),
        csrf_exempt: bool | None = None,
        gen_csrf_token: bool | None = None,
    ):
        super().__init__(locals())
        if csrf_exempt is False or gen_csrf_token:
            option = "csrf_exempt=False" if csrf_exempt is False else "gen_csrf_token=True"
            raise DeclarationError(f"CORS({option}): CSRF tokens are not handled by the CORS plugin")
        if cors_max_age is not None:
            if max_age is not None:
                raise DeclarationError("CORS: give max_age or cors_max_age, not both")
            seconds = cors_max_age.total_seconds() if isinstance(cors_max_age, timedelta) else cors_max_age
            max_age = int(seconds)
        self.excluded = frozenset(exclude_statuses)
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
        if origin and self._allowed(origin) and response.status not in self.excluded:
            response.headers.update(self._base_headers(origin))
            if self.expose:
                response.headers["Access-Control-Expose-Headers"] = ", ".join(self.expose)
        return None
