"""One endpoint at one mounted route, compiled with every hook and plugin that applies to it.

A :class:`Handler` is built once per (route, method) when the service's router is built; per
request it only creates the API instances, runs the hooks, parses, calls and renders.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from utilmeta.core.api.base import API, PARSED, Endpoint, Hook
from utilmeta.core.request import Request
from utilmeta.core.request.params import PathParam
from utilmeta.core.request.parser import Limits, Parser, route_vars
from utilmeta.core.response import Response
from utilmeta.core.response.encoding import enc_hook
from utilmeta.utils.error import Error
from utilmeta.utils.exceptions import DeclarationError, ParseError, ServerError, status_of, translate

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from utilmeta.core.api.decorators import RouteInfo
    from utilmeta.core.api.plugin import Plugin

__all__ = ["Handler", "BuildContext", "run_in_thread"]

logger = logging.getLogger("utilmeta")
_DEFAULT_SEGMENT = PathParam.default_regex
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None
_executor_pid = 0


def _get_executor() -> ThreadPoolExecutor:
    # one pool per process: a pool inherited through fork() has no threads behind it
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        _executor = ThreadPoolExecutor(max_workers=40, thread_name_prefix="utilmeta-sync")
        _executor_pid = os.getpid()
    return _executor


async def run_in_thread(func: Callable[..., R], *args: Any) -> R:
    """Run blocking code off the event loop, keeping context variables."""
    import asyncio  # on a running loop, already loaded: WSGI services never need it

    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    return await loop.run_in_executor(_get_executor(), ctx.run, func, *args)


def _takes_error(func: Callable[..., Any]) -> bool:
    """Whether an error hook's parameter is annotated ``Error`` (``utilmeta.utils.Error``)."""
    params = list(inspect.signature(func).parameters.values())
    if len(params) < 2:
        return False
    annotation = params[1].annotation
    if isinstance(annotation, str):  # postponed annotations: the name is enough here
        return annotation == "Error" or annotation.endswith(".Error")
    return annotation is Error


def _awaited(func: Callable[..., Any]) -> Callable[..., Any]:
    """An ``async def`` endpoint that yields (an event stream, ``-> SSEResponse``) as a
    coroutine returning its async generator, as the async call paths expect."""

    async def call(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return call


class BuildContext(msgspec.Struct, frozen=True):
    limits: Limits
    encode: Callable[[Any], bytes]
    debug: bool
    #: validate results against the endpoints' declared types (Preference.api_default_strict_response)
    strict_response: bool = False


class Level(msgspec.Struct):
    """One API class on the way from the root to the endpoint, and the attribute leading on."""

    api: type[API]
    next_attr: str | None
    next_api: type[API] | None
    #: the ``api.route(...)`` the attribute was given (a hook may name it as its target)
    next_info: RouteInfo | None = None


def _targets(hook: Hook, endpoint: Endpoint, level: Level, is_owner: bool) -> bool:
    for t in hook.info.targets:
        if t == "*":
            return True
        if is_owner and (t is endpoint.func or t == endpoint.name):
            return True
        if not is_owner and (t == level.next_attr or t is level.next_api or t is level.next_info):
            return True
        if t is endpoint.owner:
            return True
    return False


def _path_rules(parsers: list[Parser], route: str, where: str) -> tuple[dict[str, str], set[str]]:
    """What each path variable of ``route`` matches, and which may be left out, from everything
    that declares it (the classes' own parameters, before hooks, the endpoint). A regex other than
    the default must be the same wherever it is declared; a variable may be left out when every
    declaration gives it a default."""
    regex: dict[str, str] = {}
    declared: dict[str, bool] = {}
    for parser in parsers:
        for name, pattern in parser.path_regex.items():
            known = regex.get(name)
            if known is None or known == _DEFAULT_SEGMENT:
                regex[name] = pattern
            elif pattern != known and pattern != _DEFAULT_SEGMENT:
                raise DeclarationError(
                    f"{where}: path variable {{{name}}} of {route!r} is declared with two regexes: "
                    f"{known!r} and {pattern!r} ({parser.where})"
                )
            declared[name] = declared.get(name, True) and name in parser.path_defaults
    names = set(route_vars(route))
    return regex, {name for name, optional in declared.items() if optional and name in names}


def _bare(cls: type[API], request: Request) -> API:
    """An instance whose own ``__init__`` did not run (it could not, or raised): only ``self.request``
    is set, for the error hooks that may still answer."""
    inst = cls.__new__(cls)
    inst.__dict__[PARSED] = True
    API.__init__(inst, request)
    return inst


class Handler:
    def __init__(self, endpoint: Endpoint, levels: list[Level], full_route: str, ctx: BuildContext):
        self.endpoint = endpoint
        self.route = full_route
        self.func = _awaited(endpoint.func) if inspect.isasyncgenfunction(endpoint.func) else endpoint.func
        self.ctx = ctx
        self.parser = endpoint.parser.mounted_at(full_route)  # parents' path variables are parameters too
        self.classes = [lv.api for lv in levels]
        #: (level, parser) of the API classes' own parameters, set on their instances
        self.generals: list[tuple[int, Parser]] = [
            (i, level.api._params.mounted_at(full_route)) for i, level in enumerate(levels) if level.api._params
        ]
        befores: list[tuple[int, Hook, Parser]] = []
        afters: list[tuple[int, Hook]] = []
        errors: list[tuple[int, Hook]] = []
        plugins: list[Plugin] = []
        template: type[Response] | None = endpoint.template
        last = len(levels) - 1
        for i, level in enumerate(levels):
            plugins.extend(level.api._plugins)
            for hook in level.api._hooks:
                if not _targets(hook, endpoint, level, i == last):
                    continue
                if hook.info.kind == "before":
                    assert hook.parser is not None
                    # path variables of the mounted route are path parameters of the hook too
                    befores.append((i, hook, hook.parser.mounted_at(full_route)))
                elif hook.info.kind == "after":
                    afters.append((i, hook))
                    if template is None and hook.template is not None:
                        template = hook.template
                else:
                    errors.append((i, hook))
        plugins.extend(endpoint.plugins)
        if template is None:
            for level in reversed(levels):
                if level.api.response is not None and level.api.response is not Response:
                    template = level.api.response
                    break
        self.template = template
        self.check_result = self._result_checker(endpoint) if ctx.strict_response else None
        self.befores = befores
        self.afters = list(reversed(afters))
        self.errors = list(reversed(errors))
        self._error_hooks: dict[type[BaseException], list[tuple[int, Hook]]] = {}
        #: hooks declared ``(self, e: Error)``, which get the exception wrapped (as UtilMeta's do)
        self._wants_error = {id(hook) for _, hook in errors if _takes_error(hook.func)}
        self.plugins = plugins
        self.simple = not (befores or afters or errors or plugins or self.generals)
        parsers = [p for _, p in self.generals] + [p for _, _, p in befores] + [self.parser]
        self.path_regex, self.path_defaults = _path_rules(parsers, full_route, endpoint.where)
        self.needs_body = self.parser.needs_body or any(p.needs_body for _, _, p in befores)
        self.body_limit = self.parser.body_limit or ctx.limits.max_body_size
        callables = [endpoint.is_async] + [h.is_async for _, h, _ in befores] + [h.is_async for _, h in afters]
        callables += [h.is_async for _, h in errors]
        self.is_async = any(callables)
        self.all_sync = not self.is_async

    # -- shared pieces -----------------------------------------------------------------------

    @staticmethod
    def _result_checker(endpoint: Endpoint) -> Callable[[Any], Any] | None:
        tp = endpoint.result_type
        if tp is Any or tp is None:
            return None
        import msgspec

        def check(result: Any) -> Any:
            try:
                msgspec.convert(msgspec.to_builtins(result, enc_hook=enc_hook), tp, strict=True)
            except (msgspec.ValidationError, TypeError) as e:
                raise ServerError(f"the response of {endpoint.where} does not match its declared type: {e}") from e
            return result

        return check

    def make(self, result: Any, template: type[Response] | None = None, status: int | None = None) -> Response:
        if isinstance(result, Response):
            if self.check_result is not None and template is None:
                self.check_result(result.result)
            return result
        if self.check_result is not None and template is None:
            self.check_result(result)
        t = template or self.template or Response
        if t is not Response and not t.wraps(result):  # the plain Response carries anything
            t = Response
        return t(result, status=status) if status else t(result)

    def error_response(self, request: Request, error: BaseException) -> Response:
        error = translate(error)  # e.g. a database that cannot be reached: 503
        for plugin in reversed(self.plugins):
            try:
                r = plugin.handle_error(request, error)
            except Exception as e:  # the plugin failed too: the default answer (and log) for its error
                error = e
                break
            if r is not None:
                if r.error is None:
                    r.error = error  # observers see the exception the plugin answered for
                return r
        status = status_of(error)
        if status >= 500:
            logger.error("%s %s failed [request %s]", request.method, request.path, request.request_id, exc_info=error)
        return (self.template or Response).from_error(error, request_id=request.request_id, debug=self.ctx.debug)

    def render(self, request: Request, response: Response) -> Response:
        try:
            response.render(self.ctx.encode)
        except Exception as e:  # e.g. a result that cannot be encoded as JSON
            response = self.error_response(request, e)
            response.render(self.ctx.encode)
        return response

    def finish(self, request: Request, response: Response) -> Response:
        try:
            for plugin in reversed(self.plugins):
                r = plugin.process_response(request, response)
                if r is not None:
                    response = r
        except Exception as e:  # a plugin's error is answered like an endpoint's, never by the server
            response = self.error_response(request, e)
        return self.render(request, response)

    def _process_request(self, request: Request) -> Response | None:
        """The plugins' ``process_request``: a response of theirs (or for their error), or None."""
        try:
            for plugin in self.plugins:
                r = plugin.process_request(request)
                if r is not None:
                    return self.finish(request, r)
        except Exception as e:
            return self.finish(request, self.error_response(request, e))
        return None

    def _instances(self, request: Request) -> tuple[list[API], Exception | None, int]:
        """One instance per API class on the way, the error that stopped making them, and how many
        levels' error hooks may answer it.

        The classes' own parameters are parsed first and set before ``__init__`` runs, which may
        read them (as UtilMeta's guides do). A bad one stops everything before any ``__init__``:
        the instances are then bare (only ``self.request``) and every level's error hooks may
        answer. An ``__init__`` that raises leaves the instances after it bare: only the levels
        before it answer."""
        values: dict[int, dict[str, Any]] = {}
        if self.generals:
            problems: list[Mapping[str, Any]] = []
            for i, parser in self.generals:
                try:
                    values[i] = parser.parse(request, None, self.ctx.limits)
                except ParseError as e:
                    problems += e.errors
            if problems:
                return [_bare(cls, request) for cls in self.classes], ParseError(problems), len(self.classes)
        insts: list[API] = []
        for i, cls in enumerate(self.classes):
            try:
                if self.generals:
                    inst = cls.__new__(cls)
                    inst.__dict__.update(values.get(i, ()))
                    inst.__dict__[PARSED] = True
                    inst.__init__(request)  # type: ignore[misc]
                else:
                    inst = cls(request)
            except Exception as e:
                return insts + [_bare(c, request) for c in self.classes[i:]], e, i
            insts.append(inst)
        return insts, None, 0

    # -- sync ----------------------------------------------------------------------------------

    def call(self, request: Request) -> Response:
        if self.simple:
            try:
                body = request.read(self.body_limit) if self.needs_body else None
                kwargs = self.parser.parse(request, body, self.ctx.limits) if not self.parser.empty else {}
                response = self.make(self.func(self.classes[-1](request), **kwargs))
            except Exception as e:
                response = self.error_response(request, e)
            return self.render(request, response)
        answered = self._process_request(request)
        if answered is not None:
            return answered
        try:
            body = request.read(self.body_limit) if self.needs_body else None
        except Exception as e:
            return self.finish(request, self.error_response(request, e))
        return self.run(request, body)

    def run(self, request: Request, body: bytes | None) -> Response:
        """Hooks, parsing, the call and rendering, once the body is read (sync code only)."""
        insts, failed, levels = self._instances(request)
        if failed is not None:  # a bad class parameter, or an API's __init__ raised
            return self.finish(request, self._handle(request, insts, failed, levels))
        limits = self.ctx.limits
        try:
            for i, hook, parser in self.befores:
                hook.func(insts[i], **(parser.parse(request, body, limits) if not parser.empty else {}))
            kwargs = self.parser.parse(request, body, limits) if not self.parser.empty else {}
            response = self.make(self.func(insts[-1], **kwargs))
            for i, hook in self.afters:
                r = hook.func(insts[i], response)
                if r is not None:
                    response = self.make(r, hook.template)
        except Exception as e:
            response = self._handle(request, insts, e)
        return self.finish(request, response)

    def error_hooks(self, error: BaseException) -> list[tuple[int, Hook]]:
        """The ``@api.handle`` hooks for this error, most specific first: a hook for a class
        nearer in the error's MRO wins whatever the declaration order; between equally specific
        hooks, the innermost API's, then the last declared."""
        kind = type(error)
        found = self._error_hooks.get(kind)
        if found is None:
            mro = kind.__mro__
            ranked = []
            for n, (i, hook) in enumerate(self.errors):
                depths = [mro.index(t) for t in hook.info.errors if t in mro]
                if depths:
                    ranked.append((min(depths), n, (i, hook)))
            found = self._error_hooks[kind] = [entry for _, _, entry in sorted(ranked, key=lambda r: r[:2])]
        return found

    def _hook_arg(self, hook: Hook, error: Exception) -> Any:
        return Error(error) if id(hook) in self._wants_error else error

    def _handle(self, request: Request, insts: list[API], error: Exception, levels: int | None = None) -> Response:
        """The most specific error hook (of the first ``levels`` levels) that answers ``error``,
        else the error response."""
        error = translate(error)
        for i, hook in self.error_hooks(error):
            if levels is not None and i >= levels:
                continue
            try:
                r = hook.func(insts[i], self._hook_arg(hook, error))
            except Exception as e:
                return self.error_response(request, e)
            if r is not None:
                return self.make(r, status=status_of(error))
        return self.error_response(request, error)

    # -- async ---------------------------------------------------------------------------------

    async def acall(self, request: Request) -> Response:
        if self.simple and self.endpoint.is_async:
            # no hooks, no plugins: what arun() would do, without its general machinery
            try:
                body = await request.aread(self.body_limit) if self.needs_body else None
                kwargs = self.parser.parse(request, body, self.ctx.limits) if not self.parser.empty else {}
                response = self.make(await self.func(self.classes[-1](request), **kwargs))
            except Exception as e:
                response = self.error_response(request, e)
            return self.render(request, response)
        answered = self._process_request(request)
        if answered is not None:
            return answered
        try:
            body = await request.aread(self.body_limit) if self.needs_body else None
        except Exception as e:
            return self.finish(request, self.error_response(request, e))
        if self.all_sync:
            # sync code never runs on the event loop: the whole chain goes to one worker thread
            return await run_in_thread(self.run, request, body)
        return await self.arun(request, body)

    async def _invoke(self, is_async: bool, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if is_async:
            return await func(*args, **kwargs)
        return await run_in_thread(lambda: func(*args, **kwargs))

    async def arun(self, request: Request, body: bytes | None) -> Response:
        insts, failed, levels = self._instances(request)
        if failed is not None:  # a bad class parameter, or an API's __init__ raised
            return self.finish(request, await self._ahandle(request, insts, failed, levels))
        limits = self.ctx.limits
        try:
            for i, hook, parser in self.befores:
                kw = parser.parse(request, body, limits) if not parser.empty else {}
                await self._invoke(hook.is_async, hook.func, insts[i], **kw)
            kwargs = self.parser.parse(request, body, limits) if not self.parser.empty else {}
            result = await self._invoke(self.endpoint.is_async, self.func, insts[-1], **kwargs)
            response = self.make(result)
            for i, hook in self.afters:
                r = await self._invoke(hook.is_async, hook.func, insts[i], response)
                if r is not None:
                    response = self.make(r, hook.template)
        except Exception as e:
            response = await self._ahandle(request, insts, e)
        return self.finish(request, response)

    async def _ahandle(
        self, request: Request, insts: list[API], error: Exception, levels: int | None = None
    ) -> Response:
        error = translate(error)
        for i, hook in self.error_hooks(error):
            if levels is not None and i >= levels:
                continue
            try:
                r = await self._invoke(hook.is_async, hook.func, insts[i], self._hook_arg(hook, error))
            except Exception as e:
                return self.error_response(request, e)
            if r is not None:
                return self.make(r, status=status_of(error))
        return self.error_response(request, error)
