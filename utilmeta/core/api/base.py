"""The ``API`` class. Subclassing it declares endpoints; everything about them — routes,
parameter parsers, hooks — is checked and compiled when the class is created."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, get_args, get_origin, get_type_hints

import msgspec

from utilmeta.core.api.decorators import (
    ENDPOINT_ATTR,
    HOOK_ATTR,
    HTTP_METHODS,
    EndpointInfo,
    HookInfo,
    RouteInfo,
    endpoint_route,
)
from utilmeta.core.request.params import Body, BodyParam, Param, as_marker
from utilmeta.core.request.parser import Parser
from utilmeta.core.response import Response
from utilmeta.utils.exceptions import DeclarationError

if TYPE_CHECKING:
    from utilmeta.core.api.plugin import Plugin
    from utilmeta.core.request import Request

__all__ = ["API", "Endpoint", "Hook", "SubAPI", "join_route", "result_type"]


#: set in an instance's ``__dict__`` by the handler, which parsed the class's own parameters already
PARSED = "_utilmeta_params_parsed"


def join_route(*parts: str) -> str:
    path = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
    return "/" + path


class Endpoint(msgspec.Struct):
    """One declared endpoint, compiled."""

    owner: type[API]
    func: Callable[..., Any]
    name: str
    method: str
    route: str
    info: EndpointInfo
    parser: Parser
    template: type[Response] | None
    is_async: bool
    plugins: list[Plugin]
    result_type: Any = Any

    @property
    def where(self) -> str:
        return f"{self.owner.__qualname__}.{self.name}"


class Hook(msgspec.Struct):
    owner: type[API]
    func: Callable[..., Any]
    info: HookInfo
    is_async: bool
    parser: Parser | None = None
    template: type[Response] | None = None

    @property
    def where(self) -> str:
        return f"{self.owner.__qualname__}.{self.func.__name__}"


class SubAPI(msgspec.Struct):
    attr: str
    route: str
    api: type[API]
    info: RouteInfo | None


class _Mounted:
    """A sub-API attribute: on an instance, the sub-API's instance sharing its request (made on
    first access: ``self.comments.get(slug=...)`` calls the endpoint as a method); on the class,
    what was declared (an ``api.route(...)`` or nothing)."""

    def __init__(self, sub: SubAPI, declared: Any):
        self.sub = sub
        self.declared = declared

    def __get__(self, instance: API | None, owner: type[API]) -> Any:
        if instance is None:
            if self.declared is _NOTHING:
                raise AttributeError(f"{owner.__qualname__}.{self.sub.attr} is a mounted API: use it on an instance")
            return self.declared
        value = self.sub.api(instance.request)
        instance.__dict__[self.sub.attr] = value  # later look-ups find it without the descriptor
        return value


_NOTHING = object()


def _is_async(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)


_NO_RESULT = object()


def _return_annotation(func: Callable[..., Any], localns: dict[str, Any] | None = None) -> Any:
    """The resolved return annotation, or ``_NO_RESULT`` when there is none (or it cannot resolve)."""
    ann = getattr(func, "__annotations__", {}).get("return", _NO_RESULT)
    if isinstance(ann, str):
        try:
            ann = get_type_hints(func, localns=localns).get("return", _NO_RESULT)
        except Exception:
            return _NO_RESULT
    return ann


def _return_template(func: Callable[..., Any], localns: dict[str, Any] | None = None) -> type[Response] | None:
    ann = _return_annotation(func, localns)
    if isinstance(ann, type) and issubclass(ann, Response):
        return ann
    return None


def result_type(func: Callable[..., Any], localns: dict[str, Any] | None = None) -> Any:
    """The type an endpoint's result must have: its return annotation, or a template's ``result_type``;
    ``Any`` when it declares none."""
    ann = _return_annotation(func, localns)
    if ann is _NO_RESULT or ann is None:
        return Any if ann is _NO_RESULT else None
    if isinstance(ann, type) and issubclass(ann, Response):
        return ann.result_type if ann.result_type is not None else Any
    return ann


class API:
    """Base class of every API. Endpoints are methods decorated with ``@api.get`` & co. or named
    after an HTTP method; sub-APIs are class attributes annotated with another API class.

    Inside an endpoint, ``self.request`` is the current :class:`~utilmeta.core.request.Request`.
    Set ``response = SomeTemplate`` on the class to wrap every result of its endpoints.
    """

    response: ClassVar[type[Response] | None] = Response

    _endpoints: ClassVar[list[Endpoint]] = []
    _subs: ClassVar[list[SubAPI]] = []
    _hooks: ClassVar[list[Hook]] = []
    _plugins: ClassVar[list[Plugin]] = []
    _route_info: ClassVar[RouteInfo | None] = None
    #: the class's own ("general") parameters — ``token: str = request.HeaderParam('X-Token')`` —
    #: parsed for every endpoint of the class and its sub-APIs and set on the instance
    _params: ClassVar[Parser | None] = None
    _param_decls: ClassVar[dict[str, tuple[inspect.Parameter, Any]]] = {}

    def __init__(self, request: Request):
        self.request = request
        if self._params is not None and PARSED not in self.__dict__:
            # built by hand (``CommentAPI(self.request)``): read the class's own parameters now
            self.__dict__.update(self._params.parse(request))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._plugins = list(cls._plugins)  # class decorators append after creation
        cls._route_info = None
        # postponed annotations may name classes local to the function defining this class
        frame = sys._getframe(1)
        localns = dict(frame.f_locals) if frame.f_code.co_name != "<module>" else None
        endpoints: dict[str, Endpoint] = {}
        hooks: dict[str, Hook] = {}
        for base in reversed(cls.__mro__[1:]):
            if isinstance(base, type) and issubclass(base, API) and base is not API:
                endpoints.update({e.name: e for e in base._endpoints})
                hooks.update({h.func.__name__: h for h in base._hooks})
        for name, value in list(cls.__dict__.items()):
            func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if not callable(func) or isinstance(func, type):
                continue
            info: EndpointInfo | None = getattr(func, ENDPOINT_ATTR, None)
            hook: HookInfo | None = getattr(func, HOOK_ATTR, None)
            if info is None and hook is None and name in HTTP_METHODS and inspect.isfunction(func):
                info = EndpointInfo(name)
            if info is not None and hook is not None:
                raise DeclarationError(f"{cls.__qualname__}.{name}: an endpoint cannot also be a hook")
            if info is not None:
                endpoints[name] = cls._compile_endpoint(name, func, info, localns)
            elif hook is not None:
                hooks[name] = cls._compile_hook(func, hook, localns)
            elif name in endpoints:
                del endpoints[name]  # overridden by a plain attribute
        cls._endpoints = list(endpoints.values())
        cls._hooks = sorted(hooks.values(), key=lambda h: -h.info.priority)
        cls._subs = cls._collect_subs(frame.f_globals, localns)
        for sub in cls._subs:
            declared = cls.__dict__.get(sub.attr, _NOTHING)
            if declared is not _NOTHING and not isinstance(declared, RouteInfo):
                continue  # the class gives the attribute a value of its own
            setattr(cls, sub.attr, _Mounted(sub, declared))
        cls._params = cls._collect_params(frame.f_globals, localns)
        cls._check_conflicts()
        cls._check_hook_targets()

    @classmethod
    def __as__(cls, backend: Any, route: str, asynchronous: bool | None = None) -> Any:
        """Serve this API below ``route`` in an existing app (UtilMeta's progressive migration):
        a Flask / Starlette / FastAPI / Sanic app (returned, now serving the API), the ``django``
        module (returns a URL pattern) or the ``tornado`` module (returns a rule). Creates the
        process's service: call it once, for one API class."""
        from utilmeta.conf._lookup import provided

        embed = provided("embed")  # the service layer's: utilmeta.core.server.embed
        return embed(cls, backend, route, asynchronous, sys._getframe(1).f_globals.get("__name__", "__main__"))

    # -- compilation -------------------------------------------------------------------------

    @classmethod
    def _compile_endpoint(
        cls, name: str, func: Callable[..., Any], info: EndpointInfo, localns: dict[str, Any] | None = None
    ) -> Endpoint:
        where = f"{cls.__qualname__}.{name}"
        if not inspect.isfunction(func):
            raise DeclarationError(f"{where}: an endpoint must be a plain function")
        route = endpoint_route(name, info)
        parser = Parser(func, route, where=where, localns=localns, mounted=False)
        plugins = list(getattr(func, "__utilmeta_plugins__", []))
        template = _return_template(func, localns)
        result = result_type(func, localns)
        return Endpoint(
            cls, func, name, info.method.upper(), route, info, parser, template, _is_async(func), plugins, result
        )

    @classmethod
    def _compile_hook(cls, func: Callable[..., Any], info: HookInfo, localns: dict[str, Any] | None = None) -> Hook:
        hook = Hook(cls, func, info, _is_async(func))
        if info.kind == "before":
            hook.parser = Parser(func, None, where=hook.where, localns=localns)
        elif info.kind == "after":
            hook.template = _return_template(func, localns)
        return hook

    @classmethod
    def _collect_params(cls, globalns: dict[str, Any], localns: dict[str, Any] | None) -> Parser | None:
        """The parser of the class's own parameters (its bases' and plain mixins' too): class
        attributes whose value, or ``Annotated`` metadata, is a request marker. None when there
        are none."""
        declared: dict[str, tuple[inspect.Parameter, Any]] = {}
        for base in reversed(cls.__mro__[1:]):
            if base is object or base is API:
                continue
            if issubclass(base, API):
                declared.update(base._param_decls)
            else:  # a plain mixin class holding markers
                module = sys.modules.get(base.__module__)
                _own_params(base, declared, vars(module) if module else {}, None)
        _own_params(cls, declared, globalns, localns)
        cls._param_decls = declared
        if not declared:
            return None
        return Parser(None, None, where=cls.__qualname__, localns=localns, declared=list(declared.values()))

    @classmethod
    def _collect_subs(cls, globalns: dict[str, Any], local_ns: dict[str, Any] | None = None) -> list[SubAPI]:
        subs: dict[str, SubAPI] = {}
        for base in reversed(cls.__mro__[1:]):
            if isinstance(base, type) and issubclass(base, API) and base is not API:
                subs.update({s.attr: s for s in base._subs})
        annotations = cls.__dict__.get("__annotations__", {})
        if not annotations:
            return list(subs.values())
        # the defining frame's globals: the class's module may not be in sys.modules (exec'd code)
        namespace = {**globalns, **(local_ns or {}), **dict(vars(cls))}
        for attr, ann in annotations.items():
            value = cls.__dict__.get(attr)
            if isinstance(ann, str):
                try:
                    ann = eval(ann, namespace)
                except Exception as e:
                    if isinstance(value, RouteInfo):  # surely meant as a sub-API: never dropped silently
                        raise DeclarationError(
                            f"{cls.__qualname__}.{attr}: annotation {ann!r} cannot be resolved: {e}"
                        ) from None
                    continue
            if not (isinstance(ann, type) and issubclass(ann, API)):
                if isinstance(value, RouteInfo):
                    raise DeclarationError(f"{cls.__qualname__}.{attr} = api.route(...): annotate it with an API class")
                continue
            info = value if isinstance(value, RouteInfo) else ann._route_info
            path = info.path if info is not None else attr
            subs[attr] = SubAPI(attr, path, ann, info)
        return list(subs.values())

    @classmethod
    def _check_conflicts(cls) -> None:
        seen: dict[tuple[str, str], str] = {}
        for full, method, where in cls._walk_routes():
            shape = _shape(full)
            key = (method, shape)
            if key in seen:
                raise DeclarationError(
                    f"{cls.__qualname__}: {method} {full} is declared twice: by {seen[key]} and by {where}"
                )
            seen[key] = where

    @classmethod
    def _check_hook_targets(cls) -> None:
        """Every hook target names something of the class: an endpoint (function or name), a
        sub-API (attribute name, class or its ``api.route``) or an API class; never silently nothing."""
        names = {e.name for e in cls._endpoints} | {s.attr for s in cls._subs}
        objects = [e.func for e in cls._endpoints] + [s.info for s in cls._subs if s.info is not None]
        for hook in cls._hooks:
            for t in hook.info.targets:
                if t == "*" or t in names or any(t is o for o in objects):
                    continue
                if isinstance(t, type) and issubclass(t, API):
                    continue  # the endpoints it owns, wherever it is mounted
                raise DeclarationError(
                    f"{hook.where}: hook target {t!r} is not an endpoint or a sub-API of {cls.__qualname__}"
                )

    @classmethod
    def _walk_routes(cls, prefix: str = "", depth: int = 0) -> list[tuple[str, str, str]]:
        if depth > 32:
            raise DeclarationError(f"{cls.__qualname__}: sub-APIs nest too deep (a cycle?)")
        items = [(join_route(prefix, e.route), e.method, e.where) for e in cls._endpoints]
        for sub in cls._subs:
            items += sub.api._walk_routes(join_route(prefix, sub.route), depth + 1)
        return items


#: instance attributes every API has: a class parameter cannot take their names
_RESERVED = ("request", "response")


def _own_params(
    klass: type,
    declared: dict[str, tuple[inspect.Parameter, Any]],
    globalns: dict[str, Any],
    localns: dict[str, Any] | None,
) -> None:
    """Add to ``declared`` the parameters ``klass`` itself declares; drop those it replaces by a
    plain attribute."""
    raw = klass.__dict__.get("__annotations__", {})
    for name in dict.fromkeys([*raw, *klass.__dict__]):
        if name.startswith("_"):
            continue
        value = klass.__dict__.get(name, inspect.Parameter.empty)
        ann = raw.get(name, Any)
        if isinstance(ann, str) and (as_marker(value) is not None or "Annotated" in ann):
            try:  # postponed (``from __future__ import annotations``); sub-API names may not resolve yet
                ann = eval(ann, globalns, {**(localns or {}), **vars(klass)})
            except Exception as e:
                raise DeclarationError(f"{klass.__qualname__}.{name}: cannot resolve {ann!r}: {e}") from e
        marker = as_marker(value) or _annotated_marker(ann)
        if marker is None:
            if name in klass.__dict__:
                declared.pop(name, None)  # a plain attribute replaces an inherited parameter
            continue
        if isinstance(marker, (Body, BodyParam)):
            raise DeclarationError(
                f"{klass.__qualname__}.{name}: an API class's own parameters cannot be in the body; "
                "declare the body on the endpoints"
            )
        if name in _RESERVED:
            raise DeclarationError(f"{klass.__qualname__}.{name}: {name!r} is the API's own attribute; rename it")
        declared[name] = (inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value), ann)


def _annotated_marker(ann: Any) -> Param | None:
    """The marker in ``Annotated[T, <marker>]``, or None."""
    if get_origin(ann) is not Annotated:
        return None
    for meta in get_args(ann)[1:]:
        marker = as_marker(meta)
        if marker is not None:
            return marker
    return None


def _shape(route: str) -> str:
    """Routes that match the same paths: variable names don't matter."""
    import re

    return re.sub(r"{\w+}", "{}", route)
