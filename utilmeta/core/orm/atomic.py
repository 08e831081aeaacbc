"""``orm.Atomic``: a database transaction, as a context manager (``with`` / ``async with``) or as
a decorator of an endpoint (sync or async).

::

    @api.post
    @orm.Atomic('default')
    def transfer(self, ...): ...            # rolled back whole if it raises

    async with orm.Atomic():
        await order.asave(); await stock.acommit(queryset)

Async: Django runs its ORM in a worker thread, and a transaction belongs to one thread's
connection. ``async with`` gives the block its own thread (asgiref's ``ThreadSensitiveContext``),
so every ORM call awaited inside — and no other request's — runs in the transaction.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Atomic"]

F = TypeVar("F", bound=Callable[..., Any])


class Atomic:
    """A transaction on database ``alias`` (default ``'default'``); ``savepoint``/``durable`` as
    Django's ``transaction.atomic``."""

    def __init__(self, alias: str = "default", *, savepoint: bool = True, durable: bool = False):
        if not isinstance(alias, str) or not alias:
            raise TypeError(f"orm.Atomic() takes a database alias, not {alias!r}")
        self.alias = alias
        self.savepoint = savepoint
        self.durable = durable
        self._entered: list[Any] = []

    def _block(self) -> Any:
        from django.db import transaction

        return transaction.atomic(using=self.alias, savepoint=self.savepoint, durable=self.durable)

    def __enter__(self) -> Atomic:
        block = self._block()
        block.__enter__()
        self._entered.append(block)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._entered.pop().__exit__(*exc)

    async def __aenter__(self) -> Atomic:
        from asgiref.sync import ThreadSensitiveContext, sync_to_async

        context = ThreadSensitiveContext()
        await context.__aenter__()
        block = self._block()
        try:
            await sync_to_async(block.__enter__)()
        except BaseException:
            await context.__aexit__(None, None, None)
            raise
        self._entered.append((context, block))
        return self

    async def __aexit__(self, *exc: Any) -> None:
        from asgiref.sync import sync_to_async

        context, block = self._entered.pop()
        try:
            await sync_to_async(block.__exit__)(*exc)
        finally:
            await context.__aexit__(*exc)

    def __call__(self, func: F) -> F:
        """Run ``func`` in a transaction (a fresh one per call)."""
        if not callable(func) or isinstance(func, type):
            raise TypeError(f"@orm.Atomic decorates a function, not {func!r}")
        settings = (self.alias, self.savepoint, self.durable)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def arun(*args: Any, **kwargs: Any) -> Any:
                async with Atomic(settings[0], savepoint=settings[1], durable=settings[2]):
                    return await func(*args, **kwargs)

            return arun  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with Atomic(settings[0], savepoint=settings[1], durable=settings[2]):
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"orm.Atomic({self.alias!r})"
