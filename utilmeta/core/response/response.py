"""Responses and response templates.

A plain ``Response(result)`` renders its result by type: ``str`` → text/plain, ``bytes`` →
application/octet-stream, ``None`` → an empty body, anything else → JSON. A *template* is a
subclass that sets any of ``result_key`` / ``message_key`` / ``count_key`` / ``state_key``;
its body is a JSON envelope with those keys, for results and errors alike::

    class WrapResponse(Response):
        result_key = 'data'
        message_key = 'msg'
        state_key = 'code'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

from utilmeta.utils.error import Error
from utilmeta.utils.exceptions import HttpError, status_of

if TYPE_CHECKING:
    from http.cookies import SimpleCookie

    from utilmeta.core.response.stream import Stream

#: files up to this size are read into the body; larger ones are streamed
FILE_IN_MEMORY = 256 * 1024

__all__ = ["Response"]

JsonEncode = Callable[[Any], bytes]

_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json"
_PROBLEM = "application/problem+json"
_BINARY = "application/octet-stream"


class Response:
    """What an endpoint returns, or the template it is wrapped in."""

    result_key: ClassVar[str | None] = None
    message_key: ClassVar[str | None] = None
    count_key: ClassVar[str | None] = None
    state_key: ClassVar[str | None] = None
    #: headers that carry the message / count / state as well (UtilMeta's ``*_header`` options)
    message_header: ClassVar[str | None] = None
    count_header: ClassVar[str | None] = None
    state_header: ClassVar[str | None] = None
    #: the type the result must have (``WrapResponse[List[User]]``); used by the docs
    result_type: ClassVar[Any] = None

    status: int = 200
    headers: Any = None
    content_type: str | None = None

    #: a body sent as it is produced (server-sent events, a large file), instead of ``body``
    stream: Stream | None = None
    #: more keys for a template's envelope (its own keys win)
    extra: dict[str, Any] | None = None
    #: set by :meth:`set_cookie` (or ``cookies=``)
    cookies: SimpleCookie | None = None

    def __init__(
        self,
        result: Any = None,
        *,
        status: int | None = None,
        headers: Mapping[str, Any] | None = None,
        message: str | None = None,
        count: int | None = None,
        state: Any = None,
        content_type: str | None = None,
        body: bytes | None = None,
        error: BaseException | Error | None = None,
        cookies: Mapping[str, Any] | None = None,
        file: Any = None,
        attachment: Any = None,
        extra: Mapping[str, Any] | None = None,
        event_stream: Any = None,
    ):
        self.result = result
        if status is not None:
            self.status = status
        base = type(self).headers
        if base:
            self.headers: dict[str, Any] = {**base, **headers} if headers else dict(base)
        else:
            self.headers = dict(headers) if headers else {}
        self.message = message
        self.count = count
        self.state = state
        if content_type is not None:
            self.content_type = content_type
        self.body = body
        self.error: BaseException | None = None
        # one test for the rarely given keywords: the plain answer is the hot path
        rare = error is not None or file is not None or attachment is not None or event_stream is not None
        if rare or cookies or extra:
            if extra:
                self.extra = dict(extra)
            if cookies:
                self._take_cookies(cookies)
            if file is not None or attachment is not None:
                self._take_file(file if file is not None else attachment, attachment=file is None)
            if event_stream is not None:
                from utilmeta.core.response.sse import take_event_stream  # sse builds on this module

                take_event_stream(self, event_stream)
            if error is not None:
                if isinstance(error, Error):  # what an error hook declared ``(self, e: Error)`` got
                    error = error.exception
                self.error = error
                self._take_error(error, status=status, headers=headers)

    def _take_error(self, error: BaseException, status: int | None, headers: Mapping[str, Any] | None) -> None:
        """``Template(data, error=exc)``: what the caller did not set comes from the error."""
        if status is None:
            self.status = status_of(error)
        if isinstance(error, HttpError):
            if error.headers:
                self.headers = {**error.headers, **self.headers}
            if self.message is None:
                self.message = error.message
            if self.state is None:
                self.state = error.state
            if self.result is None:
                self.result = error.result
        elif self.message is None:
            self.message = _title(self.status)

    def _take_cookies(self, cookies: Mapping[str, Any]) -> None:
        from http.cookies import Morsel  # loaded only when cookies are set

        for key, value in cookies.items():
            if isinstance(value, Morsel):
                self.set_cookie(key, value.value, path=value["path"] or "/", samesite=value["samesite"] or None)
            else:
                self.set_cookie(key, str(value))

    def _take_file(self, file: Any, attachment: bool = False) -> None:
        """``Response(file=...)``: a path, an open binary file or a :class:`~utilmeta.core.file.File`
        is the body (read at once up to ``FILE_IN_MEMORY``, streamed beyond), its name the
        ``Content-Disposition`` (``attachment=...``: a download) and the content type. A file
        opened here is closed here."""
        import os

        name = getattr(file, "filename", None)
        owned = isinstance(file, (str, os.PathLike))
        if owned:
            name = os.path.basename(os.fspath(file))
            file = open(file, "rb")  # closed below, or by the stream once sent
        else:
            name = name or os.path.basename(str(getattr(file, "name", "") or "")) or None
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(0)
        if size <= FILE_IN_MEMORY:
            self.body = file.read()
            if owned:
                file.close()
        else:
            from utilmeta.core.response.stream import FileChunks, Stream

            self.body = b""
            self.stream = Stream(FileChunks(file, owned=owned), length=size)
            self.headers["Content-Length"] = str(size)
        if self.content_type is None:
            ctype = getattr(file, "content_type", None)
            if not ctype and name:
                import mimetypes

                ctype = mimetypes.guess_type(name)[0]
            self.content_type = ctype or _BINARY
        if name and not any(k.lower() == "content-disposition" for k in self.headers):
            from urllib.parse import quote

            disposition = "attachment" if attachment else "inline"
            self.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(name)}"

    def __class_getitem__(cls, item: Any) -> type[Response]:
        return type(cls.__name__, (cls,), {"result_type": item, "__module__": cls.__module__})

    @classmethod
    def wraps(cls, result: Any) -> bool:
        """Whether this class can carry ``result`` (an endpoint's or an error hook's); when it
        cannot, the plain ``Response`` does."""
        return True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        keys = [k for k in (cls.result_key, cls.message_key, cls.count_key, cls.state_key) if k]
        if len(set(keys)) < len(keys):
            raise ValueError(f"{cls.__name__}: two template keys share a name: {keys}")

    @classmethod
    def is_template(cls) -> bool:
        return bool(cls.result_key or cls.message_key or cls.count_key or cls.state_key)

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        max_age: int | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = "lax",
    ) -> None:
        if self.cookies is None:
            from http.cookies import SimpleCookie  # loaded when a first cookie is set

            self.cookies = SimpleCookie()
        self.cookies[key] = value
        morsel = self.cookies[key]
        morsel["path"] = path
        if max_age is not None:
            morsel["max-age"] = max_age
        if domain:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite:
            morsel["samesite"] = samesite

    # -- rendering -------------------------------------------------------------------------------

    def render(self, encode: JsonEncode) -> bytes:
        """Fill ``body`` and ``content_type`` (once), make every header value a ``str``
        (:func:`header_value`) and return the body."""
        cls = type(self)
        if cls.message_header or cls.count_header or cls.state_header:
            self._key_headers(self.headers)
        if self.headers:
            self._header_values(self.headers)
        if self.body is not None:
            return self.body
        if cls.result_key or cls.message_key or cls.count_key or cls.state_key:
            envelope: dict[str, Any] = dict(self.extra) if self.extra else {}
            if cls.result_key:
                envelope[cls.result_key] = self.result
            if cls.message_key:
                envelope[cls.message_key] = self.message or ""
            if cls.count_key and self.count is not None:
                envelope[cls.count_key] = self.count
            if cls.state_key:
                envelope[cls.state_key] = self.state if self.state is not None else self.status
            self.body = encode(envelope)
            self.content_type = self.content_type or _JSON
            return self.body
        result = self.result
        if result is None and self.error is not None:
            problem = _problem(self.error, self.message, self.status)
            self.body = encode(problem)
            self.content_type = self.content_type or _PROBLEM
        elif result is None:
            self.body = b""
        elif isinstance(result, str):
            self.body = result.encode()
            self.content_type = self.content_type or _TEXT
        elif isinstance(result, (bytes, bytearray, memoryview)):
            self.body = bytes(result)
            self.content_type = self.content_type or _BINARY
        else:
            self.body = encode(result)
            self.content_type = self.content_type or _JSON
        return self.body

    @staticmethod
    def _header_values(headers: dict[str, Any]) -> None:
        for name, value in headers.items():
            if type(value) is not str or not value.isascii() or "\n" in value or "\r" in value:
                headers[name] = header_value(name, value)

    def _key_headers(self, headers: dict[str, Any]) -> None:
        cls = type(self)
        if cls.message_header and self.message:
            message = str(self.message)
            if not message.isascii():  # percent-encoded UTF-8: what every client reads the same way
                from urllib.parse import quote

                message = quote(message, safe=" !#$&'()*+,/:;=?@[]~")
            headers.setdefault(cls.message_header, message.replace("\r", " ").replace("\n", " "))
        if cls.count_header and self.count is not None:
            headers.setdefault(cls.count_header, self.count)
        if cls.state_header:
            headers.setdefault(cls.state_header, self.state if self.state is not None else self.status)

    def header_items(self, *, content_length: bool = False) -> list[tuple[str, str]]:
        """Every header to send, ``Content-Type`` and ``Set-Cookie`` included; with
        ``content_length``, also the body's ``Content-Length`` unless ``headers`` sets one
        (header names match in any case)."""
        headers = self.headers
        items = list(headers.items())
        has_type = has_length = False
        for name in headers:  # a loop, not a comprehension: this runs for every response
            lower = name.lower()
            if lower == "content-type":
                has_type = True
            elif lower == "content-length":
                has_length = True
        ctype = self.content_type
        if ctype and not has_type:
            items.append(("Content-Type", ctype))
        if self.cookies:
            items.extend(("Set-Cookie", m.OutputString()) for m in self.cookies.values())
        if content_length and not has_length:
            body = self.body
            items.append(("Content-Length", str(len(body)) if body else "0"))
        return items

    # -- errors --------------------------------------------------------------------------------

    @classmethod
    def from_error(cls, error: BaseException, *, request_id: str = "", debug: bool = False) -> Response:
        """The response for an exception: the template's keys when ``cls`` is a template,
        RFC 9457 problem+json otherwise. Only HttpErrors (and debug mode) reveal a message."""
        message = None
        if not isinstance(error, HttpError) and debug:
            message = f"{type(error).__name__}: {error}"
        if cls.is_template():
            return cls(None, message=message, error=error)
        problem = _problem(error, message, status_of(error))
        if request_id:
            problem["request_id"] = request_id
        headers = error.headers if isinstance(error, HttpError) else None
        return Response(problem, status=problem["status"], headers=headers, content_type=_PROBLEM, error=error)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status}>"


def _title(status: int) -> str:
    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"


def _problem(error: BaseException, message: str | None, status: int) -> dict[str, Any]:
    """The RFC 9457 problem document for ``error``: its message only if it is an HttpError
    (or ``message`` is given)."""
    title = _title(status)
    problem: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    detail = message or (error.message if isinstance(error, HttpError) else None)
    if detail:
        problem["detail"] = detail
    if isinstance(error, HttpError) and error.errors:
        problem["errors"] = error.errors
    return problem


def header_value(name: str, value: Any) -> str:
    """A header value as sent, the same on every backend: ``str`` as is, ``bytes`` decoded as
    latin-1, numbers (and other objects) by ``str()``. Refused (a 500 naming the header, as
    every backend then answers): ``None`` (an unset value is a bug, not an empty header), a line
    break anywhere (header injection), characters beyond latin-1 (HTTP cannot carry them)."""
    if value is None:
        raise TypeError(f"response header {name!r} is None")
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("latin-1")
    else:
        text = value if isinstance(value, str) else str(value)
    if "\r" in text or "\n" in text:
        raise ValueError(f"response header {name!r} contains a line break")
    if not text.isascii():
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"response header {name!r} has characters HTTP cannot carry (beyond latin-1)") from None
    return text
