"""The service's compiled route table and the request dispatch every backend calls.

Built once from the root API: literal paths go into a dict, templated ones into an ordered
list of regexes (a literal segment ranks before a variable at the same position, otherwise
declaration order). Dispatch is then a dict lookup or a few regex matches.

:func:`make_router` picks the dispatch path once: a service without observers gets the plain
:class:`Router`; with observers, :class:`ObservedRouter` reports every request to them
(``core/api/observer.py``), so observing costs nothing unless something observes.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any

import msgspec

from utilmeta.core.api.base import API, SubAPI, join_route
from utilmeta.core.api.handler import BuildContext, Handler, Level
from utilmeta.core.api.observer import Observers
from utilmeta.core.api.plugin import CORS
from utilmeta.core.request import Request
from utilmeta.core.response import Response
from utilmeta.utils.exceptions import BadRequest, DeclarationError, HttpError, MethodNotAllowed, NotFound
from utilmeta.utils.text import shown

__all__ = ["Router", "ObservedRouter", "make_router", "RouteEntry", "Match", "TrustedProxies"]

_VAR = re.compile(r"{(\w+)}")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_id_prefix = ""


def _new_id_prefix() -> None:
    """Request ids are a random per-process prefix and a counter: unique across workers, cheap to make."""
    global _id_prefix
    _id_prefix = f"{os.urandom(4).hex()}{os.getpid():x}-"


_new_id_prefix()
os.register_at_fork(after_in_child=_new_id_prefix)


class TrustedProxies:
    """Membership test for trusted proxy peers, remembering each address's answer."""

    def __init__(self, check: Callable[[str], bool]):
        self.check = check
        self.known: dict[str, bool] = {}

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        found = self.known.get(address)
        if found is None:
            found = self.check(address)
            if len(self.known) < 4096:  # peers are few; a flood of new ones must not grow this forever
                self.known[address] = found
        return found


class RouteEntry(msgspec.Struct):
    template: str
    regex: re.Pattern[str] | None
    methods: dict[str, Handler] = msgspec.field(default_factory=dict)
    allow: str = ""
    allow_list: list[str] = msgspec.field(default_factory=list)
    cors: CORS | None = None
    #: served only under the root route, even when ``strict_root_route`` is off (the docs)
    prefixed_only: bool = False
    #: some variables may be left out of the path (they have defaults)
    optional: bool = False


#: what :meth:`Router.match` finds: the route entry and the path's variables
Match = tuple[RouteEntry, dict[str, str]]


def _rank(template: str) -> tuple[int, ...]:
    return tuple(1 if "{" in seg else 0 for seg in template.strip("/").split("/"))


def _route_regex(template: str, segments: dict[str, str], optional: set[str], where: str) -> re.Pattern[str]:
    """The template as a regex: each variable matches its segment regex (``[^/]+`` by default).
    The ``optional`` variables must be the template's last ones, after a separator each: the path
    may end before any of them (``doc/{lang}/{page}`` also matches ``doc/en``)."""
    out = []
    pos = 0
    opened = 0
    seen: set[str] = set()
    for m in _VAR.finditer(template):
        literal = template[pos : m.start()]
        name = m.group(1)
        if name in seen:
            raise DeclarationError(f"{where}: path variable {{{name}}} appears twice in {template!r}")
        seen.add(name)
        if not literal and pos:
            raise DeclarationError(
                f"{where}: path variable {{{name}}} of {template!r} follows another with nothing between them"
            )
        if name in optional:
            # the separator goes with the variable, so '/doc/en' matches without a trailing '/'
            # (but the root path is '/' itself)
            sep = "" if literal == "/" and pos == 0 else literal[-1] if literal.endswith("/") else literal
            out.append(re.escape(literal[: len(literal) - len(sep)]) + "(?:" + re.escape(sep))
            opened += 1
        elif opened:
            raise DeclarationError(
                f"{where}: path variable {{{name}}} of {template!r} has no default but comes after one that has: "
                "only the last variables of a route may be left out"
            )
        else:
            out.append(re.escape(literal))
        out.append(f"(?P<{name}>{segments.get(name, '[^/]+')})")
        pos = m.end()
    if opened and template[pos:]:
        raise DeclarationError(
            f"{where}: a path variable of {template!r} has a default, but the route goes on after it "
            f"({template[pos:]!r}): only the last variables of a route may be left out"
        )
    out.append(re.escape(template[pos:]) + ")?" * opened)
    return re.compile("".join(out) + r"\Z")


class Router:
    """Maps ``(method, path)`` to a handler and answers what no handler does (404/405/OPTIONS/HEAD)."""

    def __init__(
        self,
        root: type[API],
        *,
        prefix: str = "/",
        strict_root_route: bool = False,
        ctx: BuildContext,
        trusted_proxies: Container[str] = frozenset(("127.0.0.1", "::1")),
        host_allowed: Callable[[str], bool] | None = None,
        mounts: Iterable[SubAPI] = (),
        side_mounts: Iterable[SubAPI] = (),
        response_headers: Mapping[str, str] | None = None,
    ):
        self.root = root
        self.mounts = list(mounts)
        #: APIs served beside the root API (the docs, the index), each named by its ``attr``: under
        #: the root route only, without the root API's hooks, plugins and response template, and
        #: only at paths the user's APIs leave free (the user's endpoint wins)
        self.side_mounts = list(side_mounts)
        #: the side mounts' handlers → the name of the feature serving them (``'docs'``), so that
        #: listings tell them from the user's endpoints
        self.served_by: dict[Handler, str] = {}
        self.prefix = join_route(prefix) if prefix.strip("/") else ""
        self.strict = strict_root_route
        self.ctx = ctx
        self.trusted = trusted_proxies
        self.host_allowed = host_allowed
        #: set on every response (``X-Content-Type-Options`` ...)
        self.response_headers = dict(response_headers or {})
        self.static: dict[str, RouteEntry] = {}
        self.dynamic: list[RouteEntry] = []
        self.handlers: list[Handler] = []
        self._ids = itertools.count(1)
        self._build()

    # -- build -----------------------------------------------------------------------------------

    def _walk(
        self, api: type[API], prefix: str, levels: list[Level], extra: Iterable[SubAPI] = ()
    ) -> Iterable[tuple[str, Any, list[Level]]]:
        for endpoint in api._endpoints:
            yield join_route(prefix, endpoint.route), endpoint, [*levels, Level(api, None, None)]
        for sub in [*api._subs, *extra]:
            level = Level(api, sub.attr, sub.api, sub.info)
            yield from self._walk(sub.api, join_route(prefix, sub.route), [*levels, level])

    def _build(self) -> None:
        entries: dict[str, RouteEntry] = {}
        order: list[str] = []
        walked: list[tuple[str | None, tuple[str, Any, list[Level]]]]
        walked = [(None, item) for item in self._walk(self.root, "", [], self.mounts)]
        taken = {_VAR.sub("{}", template) for _, (template, _, _) in walked}
        for sub in self.side_mounts:
            walked += [
                (sub.attr, item) for item in self._walk(sub.api, sub.route, []) if _VAR.sub("{}", item[0]) not in taken
            ]
        for feature, (template, endpoint, levels) in walked:
            prefixed_only = feature is not None
            handler = Handler(endpoint, levels, template, self.ctx)
            self.handlers.append(handler)
            if feature is not None:
                self.served_by[handler] = feature
            key = _VAR.sub("{}", template)
            entry = entries.get(key)
            regex = None
            if "{" in template:
                regex = _route_regex(template, handler.path_regex, handler.path_defaults, endpoint.where)
            if entry is None:
                entry = entries[key] = RouteEntry(
                    template, regex, prefixed_only=prefixed_only, optional=bool(handler.path_defaults)
                )
                order.append(key)
            elif regex is not None and entry.regex is not None and regex.pattern != entry.regex.pattern:
                # one entry serves every method of the path: they must read it the same way
                first = next(iter(entry.methods.values())).endpoint.where
                raise DeclarationError(
                    f"{endpoint.where} ({endpoint.method} {template}) and {first} ({entry.template}) match the "
                    "same paths but name, match or default their path variables differently"
                )
            if endpoint.method in entry.methods:
                other = entry.methods[endpoint.method].endpoint.where
                raise DeclarationError(
                    f"{endpoint.method} {template} is declared twice: by {other} and by {endpoint.where}"
                )
            entry.methods[endpoint.method] = handler
            cors = next((p for p in handler.plugins if isinstance(p, CORS)), None)
            if cors is not None and entry.cors is None:
                entry.cors = cors
        for key in order:
            entry = entries[key]
            allow = list(entry.methods)
            if "GET" in allow:
                allow.append("HEAD")
            allow.append("OPTIONS")
            entry.allow_list = allow
            entry.allow = ", ".join(allow)
            if entry.regex is None:
                self.static[entry.template] = entry
            else:
                self.dynamic.append(entry)
        self.dynamic.sort(key=lambda e: _rank(e.template))  # stable: declaration order otherwise

    # -- dispatch --------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Handler]]:
        """``(method, path, handler)`` for every endpoint, paths including the root route."""
        out = []
        for entry in [*self.static.values(), *self.dynamic]:
            for method, handler in entry.methods.items():
                out.append((method, (self.prefix + entry.template).rstrip("/") or "/", handler))
        return out

    def _local_path(self, path: str) -> str | None:
        prefix = self.prefix
        if prefix:
            if path == prefix or path.startswith(prefix + "/"):
                path = path[len(prefix) :] or "/"
            elif self.strict:
                return None
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        return path

    def match(self, path: str) -> Match | None:
        """The route entry serving ``path`` and the path's variables, or None."""
        local = self._local_path(path)
        if local is None:
            return None
        entry = self.static.get(local)
        if entry is not None:
            if entry.prefixed_only and not self._under_prefix(path):
                return None
            return entry, {}
        for entry in self.dynamic:
            assert entry.regex is not None
            m = entry.regex.match(local)
            if m is not None:
                if entry.prefixed_only and not self._under_prefix(path):
                    return None
                if entry.optional:  # a variable left out takes its default
                    return entry, {k: v for k, v in m.groupdict().items() if v is not None}
                return entry, m.groupdict()
        return None

    def _outside(self, path: str) -> str:
        """For a path outside the root route, where the API is (a user who typed ``/``)."""
        return f"; the API is at {self.prefix}" if not self._under_prefix(path) else ""

    def _under_prefix(self, path: str) -> bool:
        prefix = self.prefix
        return not prefix or path == prefix or path.startswith(prefix + "/")

    def prepare(self, request: Request) -> None:
        """Per-request settings: trusted proxies and the request id (echoed in the response)."""
        request._trusted = self.trusted
        given = request.header("x-request-id")
        if given and _REQUEST_ID.match(given):
            request.request_id = given
        else:
            request.request_id = f"{_id_prefix}{next(self._ids):x}"

    def resolve(self, request: Request, found: Match | None = None) -> Handler | Response:
        """The handler for the request, or the response when no endpoint is to run. ``found``
        is ``match(request.path)`` when the caller already has it."""
        if request.refusal is not None:
            return self.error(request, request.refusal)
        if self.host_allowed is not None and not self.host_allowed(request.host):
            return self.error(request, BadRequest(f"host {request.host!r} is not allowed"))
        if found is None:
            found = self.match(request.path)
        if found is None:
            return self.error(request, NotFound(f"no API at {shown(request.path)}{self._outside(request.path)}"))
        entry, params = found
        request.path_params = params
        request.route = entry.template
        method = request.method
        handler = entry.methods.get(method)
        if handler is not None:
            return handler
        if method == "HEAD" and "GET" in entry.methods:
            return entry.methods["GET"]
        if method == "OPTIONS":
            if entry.cors is not None:
                response = entry.cors.preflight(request, entry.allow_list)
            else:
                response = Response(status=204, headers={"Allow": entry.allow})
            response.render(self.ctx.encode)
            return response
        return self.error(
            request, MethodNotAllowed(f"method {method} is not allowed at {request.path}", allows=entry.allow_list)
        )

    def error(self, request: Request, error: HttpError) -> Response:
        template = self.root.response
        response = (template or Response).from_error(error, request_id=request.request_id, debug=self.ctx.debug)
        response.render(self.ctx.encode)
        return response

    def finalize(self, request: Request, response: Response) -> Response:
        if request._files:
            for items in request._files.values():
                for f in items:
                    f.close()
        headers = response.headers
        headers["X-Request-ID"] = request.request_id
        for name, value in self.response_headers.items():
            headers.setdefault(name, value)  # an endpoint's own value stays
        if request.method == "HEAD":
            stream = response.stream
            if stream is None:
                response.headers["Content-Length"] = str(len(response.body or b""))
            else:  # never started; a known length (a file's) stays announced
                stream.close()
                response.stream = None
                response.headers.setdefault("Content-Length", str(stream.length or 0))
            response.body = b""
        return response

    def __call__(self, request: Request, found: Match | None = None) -> Response:
        """Dispatch a request in a synchronous service (``found``: as for :meth:`resolve`)."""
        self.prepare(request)
        target = self.resolve(request, found)
        response = target if isinstance(target, Response) else target.call(request)
        return self.finalize(request, response)

    async def acall(self, request: Request, found: Match | None = None) -> Response:
        """Dispatch a request in an asynchronous service (``found``: as for :meth:`resolve`)."""
        self.prepare(request)
        target = self.resolve(request, found)
        response = target if isinstance(target, Response) else await target.acall(request)
        return self.finalize(request, response)


class ObservedRouter(Router):
    """A router that reports each request to its observers (started, failed, finished)."""

    def __init__(self, root: type[API], *, observers: Observers, **options: Any):
        self.observers = observers
        super().__init__(root, **options)

    def _report(self, request: Request, response: Response) -> Response:
        observers = self.observers
        error = response.error
        if error is not None:
            for failed in observers.failed:
                failed(request, error)
        if observers.finished:
            duration = time.time() - request._received
            for finished in observers.finished:
                finished(request, response, duration)
        return response

    def _escaped(self, request: Request, error: BaseException) -> None:
        for failed in self.observers.failed:
            failed(request, error)

    def __call__(self, request: Request, found: Match | None = None) -> Response:
        self.prepare(request)
        for started in self.observers.started:
            started(request)
        try:
            target = self.resolve(request, found)
            response = target if isinstance(target, Response) else target.call(request)
        except BaseException as error:
            self._escaped(request, error)
            raise
        return self._report(request, self.finalize(request, response))

    async def acall(self, request: Request, found: Match | None = None) -> Response:
        self.prepare(request)
        for started in self.observers.started:
            started(request)
        try:
            target = self.resolve(request, found)
            response = target if isinstance(target, Response) else await target.acall(request)
        except BaseException as error:  # a cancelled request too: observers see it go
            self._escaped(request, error)
            raise
        return self._report(request, self.finalize(request, response))


def make_router(root: type[API], *, observers: Iterable[Any] = (), **options: Any) -> Router:
    """The router for ``root`` (``options``: as for :class:`Router`): the plain one when nothing
    observes, else an :class:`ObservedRouter` over the compiled ``observers``."""
    compiled = Observers(observers)
    if not compiled:
        return Router(root, **options)
    return ObservedRouter(root, observers=compiled, **options)
