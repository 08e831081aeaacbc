"""The framework-free request: what a backend adaptor hands to the core.

An adaptor builds one :class:`Request` per HTTP request from its native object, giving the
method, the (percent-decoded) path, the raw query string, the headers with lower-cased names,
the peer address and a body: the bytes themselves, or a reader that the core calls only when
the endpoint needs a body — after the size limit was checked against Content-Length.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Container, Iterable, Mapping
from datetime import datetime, timezone
from time import time as _now
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import msgspec

from utilmeta.utils.exceptions import BadRequest, HttpError, RequestEntityTooLarge

if TYPE_CHECKING:
    from utilmeta.core.file import File

__all__ = ["Request", "Headers", "HeaderSource", "fold", "BodyReader", "AsyncBodyReader"]

_LOOPBACK = frozenset(("127.0.0.1", "::1"))

#: ``reader(limit)`` returns the body, reading at most ``limit + 1`` bytes
BodyReader = Callable[[int], bytes]
AsyncBodyReader = Callable[[int], Awaitable[bytes]]


class Headers(dict[str, str]):
    """Request headers: a dict with lower-cased names, looked up case-insensitively."""

    __slots__ = ()

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        """Fold repeated headers the way HTTP allows: joined by ', ' (cookies by '; ')."""
        headers = cls()
        for name, value in pairs:
            name = name.lower()
            if name in headers:
                sep = "; " if name == "cookie" else ", "
                dict.__setitem__(headers, name, dict.__getitem__(headers, name) + sep + value)
            else:
                dict.__setitem__(headers, name, value)
        return headers


def fold(name: str, values: list[str]) -> str | None:
    """One header's repeated values as :class:`Headers` holds them (``name`` lower-case)."""
    if not values:
        return None
    if len(values) == 1:
        return str(values[0])
    return ("; " if name == "cookie" else ", ").join(values)


class HeaderSource:
    """Headers still in the server's own form (an ASGI scope's pairs, a WSGI environ), turned
    into :class:`Headers` only when the whole mapping is asked for: most requests only look up
    one or two headers, and building a dict of all of them costs more than those look-ups."""

    __slots__ = ()

    def get(self, name: str) -> str | None:
        """The value of the header ``name`` (lower-case), repeated ones folded as in :class:`Headers`."""
        raise NotImplementedError

    def build(self) -> Headers:
        raise NotImplementedError


def _pairs(query: str) -> list[tuple[str, str]]:
    """``a=1&b=%20x`` → pairs, blank values kept; only components with escapes are unquoted
    (most are plain, and unquoting costs more than the split)."""
    if not query:
        return []
    if "%" not in query and "+" not in query:  # nothing to unquote: the common case
        return [(key, value) for key, _, value in (item.partition("=") for item in query.split("&") if item)]
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        pairs.append((key, value))
    return pairs


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:8080"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "1.2.3.4:8080"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def parse_cookies(header: str) -> dict[str, str]:
    """Parse a Cookie header leniently: one malformed pair is skipped, never the whole header.

    Browsers send values the RFC 6265 grammar forbids (spaces, commas, non-ASCII); they still
    reach validation, which then names the cookie in its error. The last of repeated names wins.
    """
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        name, eq, value = chunk.partition("=")
        name = name.strip()
        if not eq or not name:
            continue
        value = value.strip()
        if len(value) > 1 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies[name] = value
    return cookies


class Request:
    """One HTTP request, as the APIs see it (``self.request`` inside an endpoint)."""

    __slots__ = (
        "method",
        "path",
        "query_string",
        "_headers",
        "_header_source",
        "client_addr",
        "_scheme",
        "server_host",
        "native",
        "path_params",
        "route",
        "request_id",
        "_body",
        "_reader",
        "_areader",
        "_received",
        "_query",
        "_query_lists",
        "_cookies",
        "_data",
        "_files",
        "_ip",
        "_trusted",
        "_context",
        "refusal",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str = "",
        headers: Mapping[str, str] | HeaderSource | None = None,
        *,
        body: bytes | None = None,
        reader: BodyReader | None = None,
        areader: AsyncBodyReader | None = None,
        client_addr: str = "",
        scheme: str = "http",
        server_host: str = "",
        native: Any = None,
    ):
        self.method = method.upper()
        self.path = path or "/"
        self.query_string = query_string
        self._headers: Headers | None
        self._header_source: HeaderSource | None
        if isinstance(headers, HeaderSource):  # what the adaptors pass: checked first
            self._headers = None
            self._header_source = headers
        else:
            self._headers = headers if isinstance(headers, Headers) else Headers.from_pairs((headers or {}).items())
            self._header_source = None
        self.client_addr = client_addr
        self._scheme = scheme
        self.server_host = server_host
        self.native = native
        self.path_params: dict[str, str] = {}
        self.route = ""
        self.request_id = ""
        self._body = body
        self._reader = reader
        self._areader = areader
        self._received = _now()
        self._query: dict[str, str] | None = None
        self._query_lists: dict[str, list[str]] | None = None
        self._cookies: dict[str, str] | None = None
        self._data: Any = None
        self._files: dict[str, list[File]] | None = None
        self._ip: str | None = None
        self._trusted: Container[str] = _LOOPBACK
        self._context: dict[str, Any] | None = None
        #: set by an adaptor that found the request malformed where its server did not look: the
        #: core answers with this error and runs no endpoint
        self.refusal: HttpError | None = None

    # -- headers -----------------------------------------------------------------------------

    @property
    def headers(self) -> Headers:
        """Every header, names lower-cased (repeated ones joined by ', ', cookies by '; ')."""
        headers = self._headers
        if headers is None:
            assert self._header_source is not None
            headers = self._headers = self._header_source.build()
        return headers

    @headers.setter
    def headers(self, value: Mapping[str, str]) -> None:
        self._headers = value if isinstance(value, Headers) else Headers.from_pairs(value.items())

    def header(self, name: str) -> str | None:
        """One header's value by its lower-case name, without building :attr:`headers`."""
        headers = self._headers
        if headers is not None:
            return dict.get(headers, name)
        assert self._header_source is not None
        return self._header_source.get(name)

    # -- addressing --------------------------------------------------------------------------

    @property
    def query_lists(self) -> dict[str, list[str]]:
        """Every value of every query parameter."""
        if self._query_lists is None:
            lists: dict[str, list[str]] = {}
            for k, v in _pairs(self.query_string):
                if k in lists:
                    lists[k].append(v)
                else:
                    lists[k] = [v]
            self._query_lists = lists
        return self._query_lists

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; a repeated one gives its last value."""
        if self._query is None:
            self._query = dict(_pairs(self.query_string))  # later pairs overwrite earlier ones
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            raw = self.header("cookie")
            cookies: dict[str, str] = {}
            if raw:
                cookies = parse_cookies(raw)
            self._cookies = cookies
        return self._cookies

    def _peer_is_trusted(self) -> bool:
        return self.client_addr in self._trusted

    @property
    def ip_address(self) -> str:
        """The client's IP: the peer's, or — when the peer is a trusted proxy — the right-most
        ``X-Forwarded-For`` entry that is not itself a trusted proxy."""
        if self._ip is None:
            ip = self.client_addr
            forwarded = self.header("x-forwarded-for")
            if forwarded and self._peer_is_trusted():
                for hop in reversed(forwarded.split(",")):
                    addr = _parse_ip(hop)
                    if addr is None:
                        break
                    ip = str(addr)
                    if ip not in self._trusted:
                        break
            self._ip = ip
        return self._ip

    @property
    def scheme(self) -> str:
        proto = self.header("x-forwarded-proto")
        if proto and self._peer_is_trusted():
            value = proto.split(",")[-1].strip().lower()
            if value in ("http", "https"):
                return value
        return self._scheme

    @property
    def host(self) -> str:
        return self.header("host") or self.server_host

    @property
    def url(self) -> str:
        url = f"{self.scheme}://{self.host}{self.path}"
        return f"{url}?{self.query_string}" if self.query_string else url

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-cased, without parameters."""
        value = self.header("content-type")
        if not value:
            return ""
        return value.split(";", 1)[0].strip().lower()

    @property
    def time(self) -> datetime:
        """When the request arrived."""
        return datetime.fromtimestamp(self._received, tz=timezone.utc)

    @property
    def context(self) -> dict[str, Any]:
        """Free space for hooks and plugins to pass values along one request."""
        if self._context is None:
            self._context = {}
        return self._context

    # -- body --------------------------------------------------------------------------------

    def _check_length(self, limit: int) -> None:
        length = self.header("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                raise BadRequest(f"invalid Content-Length header: {length!r}") from None
            if n > limit:
                raise RequestEntityTooLarge(f"request body of {n} bytes exceeds the limit of {limit} bytes")

    @staticmethod
    def _checked(body: bytes, limit: int) -> bytes:
        if len(body) > limit:
            raise RequestEntityTooLarge(f"request body exceeds the limit of {limit} bytes")
        return body

    def read(self, limit: int) -> bytes:
        """The body, refused with 413 when over ``limit`` bytes (checked before reading)."""
        self._check_length(limit)  # refuse before reading, the same way whether or not the body is here yet
        if self._body is None:
            if self._reader is not None:
                self._body = self._checked(self._reader(limit), limit)
            elif self._areader is not None:
                raise RuntimeError("this request's body can only be read asynchronously: use aread()")
            else:
                self._body = b""
        return self._checked(self._body, limit)

    async def aread(self, limit: int) -> bytes:
        self._check_length(limit)
        if self._body is None:
            if self._areader is not None:
                self._body = self._checked(await self._areader(limit), limit)
            elif self._reader is not None:
                self._body = self._checked(self._reader(limit), limit)
            else:
                self._body = b""
        return self._checked(self._body, limit)

    @property
    def body(self) -> bytes:
        """The raw body (already read by the core when the endpoint declares a body)."""
        if self._body is None:
            return self.read(1 << 62)
        return self._body

    @property
    def data(self) -> Any:
        """The parsed body: a JSON value, or a dict of form fields (files in ``files``)."""
        if self._data is None:
            self._data = self._parse_body()
        return self._data

    @property
    def files(self) -> dict[str, list[File]]:
        if self._files is None:
            self._data = self._parse_body()
        return self._files or {}

    def _parse_body(self) -> Any:
        from utilmeta.core.request import multipart

        body = self.body
        ctype = self.content_type
        self._files = {}
        if not body:
            return None
        if ctype == "application/json" or ctype.endswith("+json"):
            try:
                return msgspec.json.decode(body)
            except msgspec.DecodeError as e:
                raise BadRequest(f"malformed JSON body: {e}") from None
        if ctype == "application/x-www-form-urlencoded":
            lists = multipart.parse_urlencoded(body)
            return {k: v[-1] for k, v in lists.items()}
        if ctype == "multipart/form-data":
            fields, files = multipart.parse_multipart(body, self.headers.get("content-type", ""))
            self._files = files
            return {k: v[-1] for k, v in fields.items()}
        return body

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}{'?' + self.query_string if self.query_string else ''}>"
