"""HTTP errors raised by API code and by the framework itself.

The hierarchy::

    Exception
     ├── DeclarationError (TypeError)      a bad API / service declaration, raised at class creation or setup
     ├── SetupError (RuntimeError)          a service that cannot be set up (missing backend, async mismatch)
     └── HttpError                          carries a status; rendered as a response by the core
          ├── Redirect (3xx, with location): MovedPermanently, Found, SeeOther, TemporaryRedirect,
          │                                  PermanentRedirect
          ├── BadRequest 400
          │    └── ParseError               a parameter or body that fails validation (names each problem)
          ├── Unauthorized 401, PaymentRequired 402, PermissionDenied 403, NotFound 404,
          │   MethodNotAllowed 405, NotAcceptable 406, RequestTimeout 408, Conflict 409, Gone 410,
          │   PreconditionFailed 412, RequestEntityTooLarge 413, UnsupportedMediaType 415,
          │   UnprocessableEntity 422, Locked 423, TooManyRequests 429,
          │   RequestHeaderFieldsTooLarge 431
          └── ServerError 500, NotImplementedFeature 501, BadGateway 502, ServiceUnavailable 503,
              GatewayTimeout 504

Plain Python exceptions are mapped by :func:`status_of`: ``NotImplementedError`` 501,
``PermissionError`` 403, ``FileNotFoundError`` 404, ``TimeoutError`` 503, anything else 500.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar

__all__ = [
    "DeclarationError",
    "SetupError",
    "HttpError",
    "Redirect",
    "MovedPermanently",
    "Found",
    "SeeOther",
    "TemporaryRedirect",
    "PermanentRedirect",
    "BadRequest",
    "ParseError",
    "Unauthorized",
    "PaymentRequired",
    "PermissionDenied",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "NotAcceptable",
    "RequestTimeout",
    "Conflict",
    "Gone",
    "PreconditionFailed",
    "RequestEntityTooLarge",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "UnprocessableEntity",
    "Locked",
    "TooManyRequests",
    "RequestHeaderFieldsTooLarge",
    "ServerError",
    "NotImplementedFeature",
    "BadGateway",
    "ServiceUnavailable",
    "GatewayTimeout",
    "status_of",
]


class DeclarationError(TypeError):
    """An API class, endpoint or parameter is declared in a way that cannot work."""


class SetupError(RuntimeError):
    """The service cannot be set up or started as configured."""


class HttpError(Exception):
    """An error with an HTTP status. ``message`` is shown to the client (``detail``)."""

    status: ClassVar[int] = 500

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        errors: Iterable[Mapping[str, Any]] | None = None,
        state: Any = None,
    ):
        if status is not None:
            self.status = status  # type: ignore[misc]
        self.message = message if message is not None else self.title
        self.headers = dict(headers) if headers else {}
        self.errors = list(errors) if errors else []
        self.state = state
        super().__init__(self.message)

    @property
    def title(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class Redirect(HttpError):
    status = 302

    def __init__(self, location: str, message: str | None = None, **kwargs: Any):
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Location"] = location
        self.location = location
        super().__init__(message, headers=headers, **kwargs)


class MovedPermanently(Redirect):
    status = 301


class Found(Redirect):
    status = 302


class SeeOther(Redirect):
    status = 303


class TemporaryRedirect(Redirect):
    status = 307


class PermanentRedirect(Redirect):
    status = 308


class BadRequest(HttpError):
    status = 400


class ParseError(BadRequest):
    """Invalid input. ``errors`` holds ``{"location", "name", "message"}`` items."""

    def __init__(self, errors: Iterable[Mapping[str, Any]], message: str | None = None):
        errors = list(errors)
        if message is None:
            message = "; ".join(
                f"{e.get('location')} parameter {e.get('name')!r}: {e.get('message')}"
                if e.get("name")
                else f"{e.get('location')}: {e.get('message')}"
                for e in errors
            )
        super().__init__(message, errors=errors)


class Unauthorized(HttpError):
    status = 401


class PaymentRequired(HttpError):
    status = 402


class PermissionDenied(HttpError):
    status = 403


Forbidden = PermissionDenied


class NotFound(HttpError):
    status = 404


class MethodNotAllowed(HttpError):
    status = 405

    def __init__(self, message: str | None = None, *, allows: Iterable[str] = (), **kwargs: Any):
        self.allows = list(allows)
        headers = dict(kwargs.pop("headers", None) or {})
        if self.allows:
            headers["Allow"] = ", ".join(self.allows)
        super().__init__(message, headers=headers, **kwargs)


class NotAcceptable(HttpError):
    status = 406


class RequestTimeout(HttpError):
    status = 408


class Conflict(HttpError):
    status = 409


class Gone(HttpError):
    status = 410


class PreconditionFailed(HttpError):
    status = 412


class RequestEntityTooLarge(HttpError):
    status = 413


PayloadTooLarge = RequestEntityTooLarge


class UnsupportedMediaType(HttpError):
    status = 415


class UnprocessableEntity(HttpError):
    status = 422


class Locked(HttpError):
    status = 423


class TooManyRequests(HttpError):
    status = 429


class RequestHeaderFieldsTooLarge(HttpError):
    status = 431


class ServerError(HttpError):
    status = 500


class NotImplementedFeature(HttpError):
    status = 501


class BadGateway(HttpError):
    status = 502


class ServiceUnavailable(HttpError):
    status = 503


class GatewayTimeout(HttpError):
    status = 504


# Order matters: FileNotFoundError and PermissionError are OSErrors; TimeoutError too.
_PYTHON_ERRORS: tuple[tuple[type[BaseException], int], ...] = (
    (NotImplementedError, 501),
    (PermissionError, 403),
    (FileNotFoundError, 404),
    (TimeoutError, 503),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status an exception is answered with."""
    if isinstance(exc, HttpError):
        return exc.status
    for kind, status in _PYTHON_ERRORS:
        if isinstance(exc, kind):
            return status
    return 500
