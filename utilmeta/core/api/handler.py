"""One endpoint at one mounted route, compiled with every hook and plugin that applies to it.

A :class:`Handler` is built once per (route, method) when the service's router is built; per
request it only creates the API instances, runs the hooks, parses, calls and renders.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from utilmeta.core.api.base import API, Endpoint, Hook
from utilmeta.core.request import Request
from utilmeta.core.request.parser import Limits, Parser, route_vars
from utilmeta.core.response import Response
from utilmeta.core.response.encoding import enc_hook
from utilmeta.utils.exceptions import ServerError, status_of

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from utilmeta.core.api.plugin import Plugin

__all__ = ["Handler", "BuildContext", "run_in_thread"]

logger = logging.getLogger("utilmeta")
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


def _targets(hook: Hook, endpoint: Endpoint, level: Level, is_owner: bool) -> bool:
    for t in hook.info.targets:
        if t == "*":
            return True
        if is_owner and (t is endpoint.func or t == endpoint.name):
            return True
        if not is_owner and (t == level.next_attr or t is level.next_api):
            return True
        if t is endpoint.owner:
            return True
    return False


class Handler:
    def __init__(self, endpoint: Endpoint, levels: list[Level], full_route: str, ctx: BuildContext):
        self.endpoint = endpoint
        self.route = full_route
        self.func = endpoint.func
        self.ctx = ctx
        self.parser = endpoint.parser_for(full_route)
        self.classes = [lv.api for lv in levels]
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
                    parser = hook.parser
                    if parser is None or route_vars(full_route):
                        # path variables of the mounted route are path parameters of the hook too
                        localns = hook.parser.localns if hook.parser is not None else None
                        parser = Parser(hook.func, full_route, where=hook.where, localns=localns)
                    befores.append((i, hook, parser))
                elif hook.info.kind == "after":
                    afters.append((i, hook))
                    if template is None and hook.template is not None:
                        template = hook.template
                else:
                    errors.append((i, hook))
        plugins.extend(endpoint.plugins)
        if template is None:
            for level in reversed(levels):
                if level.api.response is not None:
                    template = level.api.response
                    break
        self.template = template
        self.check_result = self._result_checker(endpoint) if ctx.strict_response else None
        self.befores = befores
        self.afters = list(reversed(afters))
        self.errors = list(reversed(errors))
        self.plugins = plugins
        self.simple = not (befores or afters or errors or plugins)
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
        return t(result, status=status) if status else t(result)

    def error_response(self, request: Request, error: BaseException) -> Response:
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

    def _instances(self, request: Request) -> list[API]:
        return [cls(request) for cls in self.classes]

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
        insts = self._instances(request)
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

    def _handle(self, request: Request, insts: list[API], error: Exception) -> Response:
        for i, hook in self.errors:
            if isinstance(error, hook.info.errors):
                try:
                    r = hook.func(insts[i], error)
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
        insts = self._instances(request)
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

    async def _ahandle(self, request: Request, insts: list[API], error: Exception) -> Response:
        for i, hook in self.errors:
            if isinstance(error, hook.info.errors):
                try:
                    r = await self._invoke(hook.is_async, hook.func, insts[i], error)
                except Exception as e:
                    return self.error_response(request, e)
                if r is not None:
                    return self.make(r, status=status_of(error))
        return self.error_response(request, error)
