"""Parameter markers: where an endpoint parameter comes from, and its constraints.

A marker is used as a parameter's default value or inside ``Annotated[...]``::

    def get(self, page: int = request.QueryParam(default=1, ge=1),
            token: str = request.HeaderParam('X-Token'),
            data: UserSchema = request.Body): ...

Bare marker classes (``= request.Body``) are accepted as well as instances.
Parameters without a marker are path parameters when their name is in the route
template, otherwise query parameters.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "Param",
    "Query",
    "QueryParam",
    "PathParam",
    "SlugPathParam",
    "FilePathParam",
    "Body",
    "Json",
    "Form",
    "BodyParam",
    "Headers",
    "HeaderParam",
    "Cookies",
    "CookieParam",
    "MISSING",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class Param:
    """A single parameter, with constraints understood by the validation engine.

    ``alias`` is the name on the wire (``alias='X-Token'``); ``ge/gt/le/lt`` bound numbers;
    ``min_length/max_length`` bound strings, lists and (for files) bytes; ``regex``/``pattern``
    constrains strings (and, for path parameters, what the route segment matches).
    """

    location: str = "query"
    #: a container marker (Query, Body, Headers, Cookies) takes the whole location as one value
    container: bool = False

    def __init__(
        self,
        alias: str | None = None,
        *,
        default: Any = MISSING,
        required: bool | None = None,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        lt: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        regex: str | None = None,
        pattern: str | None = None,
        description: str | None = None,
        example: Any = MISSING,
        deprecated: bool = False,
        enum: Any = None,
    ):
        self.alias = alias
        self.default = default
        if required is True and default is not MISSING:
            raise ValueError(f"{type(self).__name__}: required=True conflicts with a default")
        self.required = required
        self.ge, self.gt, self.le, self.lt = ge, gt, le, lt
        self.min_length, self.max_length = min_length, max_length
        self.pattern = pattern or regex
        self.description = description
        self.example = example
        self.deprecated = deprecated
        self.enum = enum

    @property
    def constraints(self) -> dict[str, Any]:
        """The constraints that were set, by msgspec ``Meta`` name."""
        names = ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def __repr__(self) -> str:
        items = [f"{self.alias!r}"] if self.alias else []
        if self.default is not MISSING:
            items.append(f"default={self.default!r}")
        items += [f"{k}={v!r}" for k, v in self.constraints.items()]
        return f"{type(self).__name__}({', '.join(items)})"


class QueryParam(Param):
    location = "query"


class PathParam(Param):
    """A path parameter. ``regex`` (the first positional argument, as in UtilMeta) is what the
    route segment must match, whole (default: ``[^/]+``); a path that does not match is a 404.
    ``^``/``$`` around it are accepted and mean nothing more."""

    location = "path"
    default_regex = r"[^/]+"

    def __init__(self, regex: str | None = None, *, alias: str | None = None, **kwargs: Any):
        super().__init__(alias, regex=regex, **kwargs)
        if self.pattern is not None:
            self.pattern = _segment_regex(type(self).__name__, self.pattern)

    @property
    def segment_regex(self) -> str:
        return self.pattern or self.default_regex

    @property
    def constraints(self) -> dict[str, Any]:
        # the route regex already enforces the pattern; don't validate it twice
        c = super().constraints
        c.pop("pattern", None)
        return c


class SlugPathParam(PathParam):
    """Lower-case words joined by single hyphens (``how-to-guide``), as UtilMeta matches them."""

    default_regex = r"[a-z0-9]+(?:-[a-z0-9]+)*"


class FilePathParam(PathParam):
    """Matches the rest of the path, slashes included (``files/{path}``)."""

    default_regex = r".+"


class BodyParam(Param):
    """One field of the request body (JSON object or form)."""

    location = "body"


class HeaderParam(Param):
    location = "header"


class CookieParam(Param):
    location = "cookie"


class Query(Param):
    """The whole query string as one object: ``query: QuerySchema = request.Query``."""

    location = "query"
    container = True


class Body(Param):
    """The whole request body. ``content_type`` restricts what is accepted (415 otherwise);
    ``max_length`` limits its size in bytes (413)."""

    location = "body"
    container = True
    #: content types accepted when none is given
    content_types: tuple[str, ...] = (
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    )

    def __init__(self, alias: str | None = None, *, content_type: str | None = None, **kwargs: Any):
        super().__init__(alias, **kwargs)
        if content_type:
            self.content_types = (content_type.lower(),)

    @property
    def constraints(self) -> dict[str, Any]:
        # max_length on a body is a byte limit, enforced before parsing
        c = super().constraints
        c.pop("max_length", None)
        return c


class Json(Body):
    content_types = ("application/json",)


class Form(Body):
    content_types = ("application/x-www-form-urlencoded", "multipart/form-data")


class Headers(Param):
    location = "header"
    container = True


class Cookies(Param):
    location = "cookie"
    container = True


def _segment_regex(where: str, regex: str) -> str:
    """``regex`` as it goes into a route's pattern: compiled once to refuse a bad one now, its
    anchors dropped (the segment is always matched whole), and without named groups of its own."""
    if regex.startswith("^"):
        regex = regex[1:]
    if regex.endswith("$"):
        head = regex[:-1]
        if (len(head) - len(head.rstrip("\\"))) % 2 == 0:  # not an escaped \$
            regex = head
    try:
        compiled = re.compile(regex)
    except re.error as e:
        raise ValueError(f"{where}: regex {regex!r} is not a valid regular expression: {e}") from None
    if compiled.groupindex:
        raise ValueError(f"{where}: regex {regex!r} has named groups; use plain (...) groups")
    return regex


def as_marker(value: Any) -> Param | None:
    """The marker a default value or an ``Annotated`` item stands for, or None."""
    if isinstance(value, Param):
        return value
    if isinstance(value, type) and issubclass(value, Param):
        return value()
    return None
