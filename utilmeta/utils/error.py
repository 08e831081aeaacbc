"""``Error``: one exception with what the core and its hooks want to know about it.

``Error(exc)`` (or ``Error()`` inside an ``except`` block, for the exception being handled)
gives the status it is answered with, its message, the template ``state`` / ``result`` and the
headers of an :class:`~utilmeta.utils.exceptions.HttpError`, and its formatted traceback;
``raise Error(exc).throw(NotFound)`` re-raises it as another class, chained to the original.
"""

from __future__ import annotations

import builtins
import sys
from typing import Any

from utilmeta.utils.exceptions import HttpError, status_of

__all__ = ["Error"]


class Error:
    def __init__(self, exception: BaseException | None = None):
        if exception is None:
            exception = sys.exc_info()[1]
            if exception is None:
                raise ValueError("Error() outside an except block needs the exception")
        self.exception = exception

    @property
    def type(self) -> type[BaseException]:
        return type(self.exception)

    @property
    def status(self) -> int:
        return status_of(self.exception)

    @property
    def message(self) -> str:
        e = self.exception
        return e.message if isinstance(e, HttpError) else str(e)

    @property
    def state(self) -> Any:
        return getattr(self.exception, "state", None) if isinstance(self.exception, HttpError) else None

    @property
    def result(self) -> Any:
        return getattr(self.exception, "result", None) if isinstance(self.exception, HttpError) else None

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.exception.headers) if isinstance(self.exception, HttpError) else {}

    @property
    def traceback(self) -> str:
        import traceback

        return "".join(traceback.format_exception(self.type, self.exception, self.exception.__traceback__))

    @property
    def full_info(self) -> str:
        """The exception's type, message and traceback, for a log."""
        return f"{self}\n{self.traceback}"

    def throw(self, kind: builtins.type[BaseException] | None = None, prepend: str = "") -> BaseException:
        """The exception to raise: itself, or a ``kind`` with the same message, chained to it."""
        if kind is None or isinstance(self.exception, kind):
            return self.exception
        error = kind(prepend + self.message)
        error.__cause__ = self.exception
        return error

    def __str__(self) -> str:
        return f"{self.type.__name__}: {self.message}"

    def __repr__(self) -> str:
        return f"Error({self.exception!r})"
