"""HTTP errors raised by API code and by the framework itself.

The hierarchy (UtilMeta's names and shape, so code written for UtilMeta raises and catches the
same classes)::

    Exception
     ├── DeclarationError (TypeError)      a bad API / service declaration, raised at class creation or setup
     ├── SetupError (RuntimeError)          a service that cannot be set up (missing backend, async mismatch)
     └── HttpError                          carries a status; rendered as a response by the core
          ├── Redirect (3xx, with location): MovedPermanently (MovePermanently), Found, SeeOther,
          │                                  TemporaryRedirect, PermanentRedirect; NotModified 304
          ├── RequestError                  the client's fault (4xx)
          │    ├── BadRequest 400
          │    │    └── ParseError          a parameter or body that fails validation (names each problem)
          │    ├── Unauthorized 401 (``auth_scheme`` → WWW-Authenticate), PaymentRequired 402,
          │    │   PermissionDenied 403 (Forbidden), SessionRejected 403, NotFound 404,
          │    │   MethodNotAllowed 405, NotAcceptable 406, RequestTimeout 408, Conflict 409, Gone 410,
          │    │   PreconditionFailed 412, RequestEntityTooLarge 413 (PayloadTooLarge),
          │    │   RequestURITooLong 414, UnsupportedMediaType 415, UnprocessableEntity 422, Locked 423,
          │    │   TooEarly 425, UpgradeRequired 426 (``scheme``: the protocol to switch to),
          │    │   PreconditionRequired 428, TooManyRequests 429, RequestHeaderFieldsTooLarge 431
          └── ServerError 500 (InternalServerError)
               ├── BadResponse 500, MaxRetriesExceed 500 (also a RuntimeError),
               │   MaxRetriesTimeoutExceed 500 (also a TimeoutError)
               └── NotImplementedFeature 501, BadGateway 502, ServiceUnavailable 503, GatewayTimeout 504

Plain Python exceptions are mapped by :func:`status_of`: ``NotImplementedError`` 501,
``PermissionError`` 403, ``FileNotFoundError`` 404, ``TimeoutError`` 503, anything else 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar, overload

__all__ = [
    "DeclarationError",
    "SetupError",
    "HttpError",
    "Redirect",
    "MovedPermanently",
    "MovePermanently",
    "Found",
    "SeeOther",
    "NotModified",
    "TemporaryRedirect",
    "PermanentRedirect",
    "RequestError",
    "BadRequest",
    "ParseError",
    "Unauthorized",
    "PaymentRequired",
    "PermissionDenied",
    "Forbidden",
    "SessionRejected",
    "NotFound",
    "MethodNotAllowed",
    "NotAcceptable",
    "RequestTimeout",
    "Conflict",
    "Gone",
    "PreconditionFailed",
    "RequestEntityTooLarge",
    "PayloadTooLarge",
    "RequestURITooLong",
    "UnsupportedMediaType",
    "UnprocessableEntity",
    "Locked",
    "TooEarly",
    "UpgradeRequired",
    "PreconditionRequired",
    "TooManyRequests",
    "RequestHeaderFieldsTooLarge",
    "ServerError",
    "InternalServerError",
    "BadResponse",
    "MaxRetriesExceed",
    "MaxRetriesTimeoutExceed",
    "NotImplementedFeature",
    "BadGateway",
    "ServiceUnavailable",
    "GatewayTimeout",
    "status_of",
    "translate",
    "TRANSLATIONS",
]


class DeclarationError(TypeError):
    """An API class, endpoint or parameter is declared in a way that cannot work."""


class SetupError(RuntimeError):
    """The service cannot be set up or started as configured. ``location``, when known, is the
    ``(filename, line)`` of the declaration at fault (the ``UtilMeta(...)`` call of a wrong
    ``api=``), for an error raised later than that declaration ran."""

    location: tuple[str, int] | None = None


class HttpError(Exception):
    """An error with an HTTP status. ``message`` is shown to the client (``detail``).

    ``state`` fills a template's ``state_key``, ``result`` its ``result_key``; ``extra`` and
    ``detail`` are kept for hooks and plugins (UtilMeta's keywords)."""

    status: ClassVar[int] = 500

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        errors: Iterable[Mapping[str, Any]] | None = None,
        state: Any = None,
        result: Any = None,
        extra: Mapping[str, Any] | None = None,
        detail: Any = None,
    ):
        if status is not None:
            self.status = status  # type: ignore[misc]
        self.message = message if message is not None else self.title
        self.headers = dict(headers) if headers else {}
        self.errors = list(errors) if errors else []
        self.state = state
        self.result = result
        self.extra = dict(extra) if extra else {}
        self.detail = detail
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


#: UtilMeta's spelling
MovePermanently = MovedPermanently


class Found(Redirect):
    status = 302


class SeeOther(Redirect):
    status = 303


class NotModified(Redirect):
    """304: the client's cached copy is current; no body and no ``Location``."""

    status = 304

    def __init__(self, message: str | None = None, **kwargs: Any):
        self.location = ""
        HttpError.__init__(self, message, **kwargs)


class TemporaryRedirect(Redirect):
    status = 307


class PermanentRedirect(Redirect):
    status = 308


class RequestError(HttpError):
    """The base of the client errors (4xx)."""

    status = 400


class BadRequest(RequestError):
    status = 400


class ParseError(BadRequest):
    """Invalid input. ``errors`` (and ``detail``) hold ``{"location", "name", "message"}`` items."""

    def __init__(self, errors: Iterable[Mapping[str, Any]], message: str | None = None):
        errors = list(errors)
        if message is None:
            message = "; ".join(
                f"{e.get('location')} parameter {e.get('name')!r}: {e.get('message')}"
                if e.get("name")
                else f"{e.get('location')}: {e.get('message')}"
                for e in errors
            )
        super().__init__(message, errors=errors, detail=errors)  # ``detail``: UtilMeta's name


class Unauthorized(RequestError):
    """401. With ``auth_scheme`` (and ``auth_params``), the answer carries ``WWW-Authenticate``."""

    status = 401

    def __init__(
        self,
        message: str | None = None,
        *,
        auth_scheme: str | None = None,
        auth_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        headers = dict(kwargs.pop("headers", None) or {})
        if auth_scheme:
            challenge = auth_scheme.capitalize()
            if auth_params:
                challenge += " " + ",".join(f'{k}="{v}"' for k, v in auth_params.items())
            headers["WWW-Authenticate"] = challenge
        super().__init__(message, headers=headers, **kwargs)


class PaymentRequired(RequestError):
    status = 402


class PermissionDenied(RequestError):
    """403. ``scope`` / ``required_scope`` / ``name`` are kept for hooks (UtilMeta's keywords)."""

    status = 403

    def __init__(
        self,
        message: str | None = None,
        *,
        scope: Any = None,
        required_scope: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        self.scope = scope
        self.required_scope = required_scope
        self.name = name
        super().__init__(message, **kwargs)


Forbidden = PermissionDenied


class SessionRejected(RequestError):
    """403: a session refused for where or what it comes from (address, user agent)."""

    status = 403


class NotFound(RequestError):
    """404. ``path`` / ``query`` name what was not found in the message."""

    status = 404

    def __init__(
        self,
        message: str | None = None,
        *,
        path: str | None = None,
        query: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        parts = [message] if message else []
        if path:
            parts.append(f"path {path!r} not found")
        if query:
            from urllib.parse import urlencode

            parts.append(f"query {urlencode(query)!r} not found")
        super().__init__("; ".join(parts) or None, **kwargs)


class MethodNotAllowed(RequestError):
    status = 405

    def __init__(
        self, message: str | None = None, method: str | None = None, allows: Iterable[str] = (), **kwargs: Any
    ):
        self.method = method
        self.allows = list(allows)
        headers = dict(kwargs.pop("headers", None) or {})
        if self.allows:
            headers["Allow"] = ", ".join(self.allows)
        if message is None and method:
            message = f"method {method} is not allowed"
        super().__init__(message, headers=headers, **kwargs)


class NotAcceptable(RequestError):
    status = 406


class RequestTimeout(RequestError):
    status = 408


class Conflict(RequestError):
    status = 409


class Gone(RequestError):
    status = 410


class PreconditionFailed(RequestError):
    status = 412


class RequestEntityTooLarge(RequestError):
    status = 413


PayloadTooLarge = RequestEntityTooLarge


class RequestURITooLong(RequestError):
    status = 414


class UnsupportedMediaType(RequestError):
    status = 415


class UnprocessableEntity(RequestError):
    status = 422


class Locked(RequestError):
    status = 423


class TooEarly(RequestError):
    status = 425


class UpgradeRequired(RequestError):
    """426. ``scheme`` names the protocol to switch to (``'ws'`` means websocket, nothing means
    TLS); the message says it. No ``Upgrade`` header: WSGI forbids hop-by-hop headers, and the
    answer must be the same on every backend."""

    status = 426

    def __init__(self, message: str | None = None, scheme: str | None = None, **kwargs: Any):
        self.scheme = scheme
        if scheme in ("ws", "wss", "websocket"):
            self.protocol = "websocket"
        else:
            self.protocol = scheme.upper() if scheme else "TLS/1.2"
        super().__init__(message or f"upgrade to {self.protocol} required", **kwargs)


class PreconditionRequired(RequestError):
    status = 428


class TooManyRequests(RequestError):
    status = 429


class RequestHeaderFieldsTooLarge(RequestError):
    status = 431


class ServerError(HttpError):
    """500, and the base of the server errors (5xx). ``response`` keeps an upstream answer."""

    status = 500

    def __init__(self, message: str | None = None, response: Any = None, **kwargs: Any):
        self.response = response
        super().__init__(message, **kwargs)


InternalServerError = ServerError


class BadResponse(ServerError):
    """An upstream answer that cannot be used."""


class MaxRetriesExceed(ServerError, RuntimeError):
    def __init__(self, message: str | None = None, max_retries: int | None = None, **kwargs: Any):
        self.max_retries = max_retries
        super().__init__(message or f"max retries exceeded: {max_retries}", **kwargs)


class MaxRetriesTimeoutExceed(ServerError, TimeoutError):
    def __init__(self, message: str | None = None, max_retries_timeout: float | None = None, **kwargs: Any):
        self.max_retries_timeout = max_retries_timeout
        super().__init__(message or f"max retries timeout exceeded: {max_retries_timeout}", **kwargs)


class NotImplementedFeature(ServerError):
    status = 501


class BadGateway(ServerError):
    status = 502


class ServiceUnavailable(ServerError):
    status = 503


class GatewayTimeout(ServerError):
    status = 504


# Order matters: FileNotFoundError and PermissionError are OSErrors; TimeoutError too.
_PYTHON_ERRORS: tuple[tuple[type[BaseException], int], ...] = (
    (NotImplementedError, 501),
    (PermissionError, 403),
    (FileNotFoundError, 404),
    (TimeoutError, 503),
)


#: functions turning a library's exception into the HTTP error it stands for (or None): a database
#: that cannot be reached is a 503, not a 500. Registered by the integration that knows the
#: library (the Django ORM's: ``utilmeta/core/orm/backends/django/errors.py``).
TRANSLATIONS: list[Callable[[BaseException], HttpError | None]] = []


@overload
def translate(exc: Exception) -> Exception: ...
@overload
def translate(exc: BaseException) -> BaseException: ...
def translate(exc: BaseException) -> BaseException:
    """``exc``, or the HTTP error a registered translation says it stands for (its cause kept)."""
    if isinstance(exc, HttpError):
        return exc
    for translation in TRANSLATIONS:
        found = translation(exc)
        if found is not None:
            found.__cause__ = exc
            return found
    return exc


def status_of(exc: BaseException) -> int:
    """The HTTP status an exception is answered with."""
    if isinstance(exc, HttpError):
        return exc.status
    for kind, status in _PYTHON_ERRORS:
        if isinstance(exc, kind):
            return status
    return 500
