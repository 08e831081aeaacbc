"""``awaitable``: one name for a sync function and its async twin, chosen by the caller.

    def fetch(key): ...

    @awaitable(fetch)
    async def fetch(key): ...

``fetch(k)`` called from synchronous code runs the first; ``await fetch(k)`` inside a coroutine
(or an async generator) runs the second. The two must have the same signature.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["awaitable"]

F = TypeVar("F", bound=Callable[..., Any])
_ASYNC_CODE = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR


def _called_from_async(depth: int = 2) -> bool:
    frame = sys._getframe(depth)
    # a comprehension or generator expression inside a coroutine has a frame of its own
    while frame.f_code.co_name.startswith("<") and frame.f_code.co_flags & inspect.CO_NESTED and frame.f_back:
        if frame.f_code.co_flags & _ASYNC_CODE:
            return True
        frame = frame.f_back
    return bool(frame.f_code.co_flags & _ASYNC_CODE)


def awaitable(sync_func: Callable[..., Any]) -> Callable[[F], F]:
    """Pair ``sync_func`` with the decorated ``async def``; the caller's context picks one."""
    plain = sync_func.__func__ if isinstance(sync_func, (classmethod, staticmethod)) else sync_func

    def decorate(async_func: F) -> F:
        if not (inspect.iscoroutinefunction(async_func) or inspect.isasyncgenfunction(async_func)):
            raise TypeError(f"@awaitable decorates an async def function, got {async_func!r}")
        if inspect.signature(plain) != inspect.signature(async_func):
            raise TypeError(f"{plain.__name__} and its async twin have different signatures")

        @functools.wraps(async_func)
        def either(*args: Any, **kwargs: Any) -> Any:
            if _called_from_async():
                return async_func(*args, **kwargs)
            return plain(*args, **kwargs)

        either.__doc__ = plain.__doc__ or async_func.__doc__
        return either  # type: ignore[return-value]

    return decorate
