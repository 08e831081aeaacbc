"""Parameter markers: where an endpoint parameter comes from, and its constraints.

A marker is used as a parameter's default value or inside ``Annotated[...]``::

    def get(self, page: int = request.QueryParam(default=1, ge=1),
            token: str = request.HeaderParam('X-Token'),
            data: UserSchema = request.Body): ...

Bare marker classes (``= request.Body``) are accepted as well as instances, and so are
``utype.Param(...)`` / ``utype.Field(...)`` (as UtilMeta writes them): their options become the
same constraints. Parameters without a marker (or with a plain ``Param`` / utype one) are path
parameters when their name is in the route template, otherwise query parameters.

Every keyword a marker takes is enforced (or, for ``description``/``example``/``deprecated``,
documented); an option we do not support fails when the API class is created, naming it.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from utilmeta.utils.exceptions import DeclarationError

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

    ``alias`` is the name on the wire (``alias='X-Token'``); ``ge/gt/le/lt/multiple_of`` bound
    numbers; ``min_length/max_length`` (or ``length`` for both) bound strings, lists and (for
    files) bytes; ``regex``/``pattern`` constrains strings (and, for path parameters, what the
    route segment matches); ``enum`` lists the allowed values (str or int). ``required=False``
    without a default makes the parameter optional, None when absent.
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
        length: int | None = None,
        multiple_of: float | None = None,
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
        self.multiple_of = multiple_of
        if length is not None:
            if min_length is not None or max_length is not None:
                raise ValueError(f"{type(self).__name__}: length= conflicts with min_length/max_length")
            min_length = max_length = length
        self.min_length, self.max_length = min_length, max_length
        self.pattern = pattern or regex
        self.description = description
        self.example = example
        self.deprecated = deprecated
        self.enum = enum

    @property
    def constraints(self) -> dict[str, Any]:
        """The constraints that were set, by msgspec ``Meta`` name."""
        names = ("ge", "gt", "le", "lt", "multiple_of", "min_length", "max_length", "pattern")
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

    def __init__(
        self,
        regex: str | None = None,
        *,
        alias: str | None = None,
        default: Any = MISSING,
        required: bool | None = None,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        lt: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        length: int | None = None,
        multiple_of: float | None = None,
        pattern: str | None = None,
        description: str | None = None,
        example: Any = MISSING,
        deprecated: bool = False,
        enum: Any = None,
    ):
        # every option spelt out (no **kwargs): each is checked to be enforced or refused
        super().__init__(
            alias,
            default=default,
            required=required,
            ge=ge,
            gt=gt,
            le=le,
            lt=lt,
            min_length=min_length,
            max_length=max_length,
            length=length,
            multiple_of=multiple_of,
            regex=regex,
            pattern=pattern,
            description=description,
            example=example,
            deprecated=deprecated,
            enum=enum,
        )
        if self.pattern is not None:
            self.pattern = _segment_regex(type(self).__name__, self.pattern)

    @property
    def segment_regex(self) -> str:
        """What the route segment matches; anchors (``^[a-z]+$``) are dropped, the segment is
        matched whole anyway."""
        regex = self.pattern or self.default_regex
        if regex.startswith("^"):
            regex = regex[1:]
        if regex.endswith("$") and not regex.endswith("\\$"):
            regex = regex[:-1]
        return regex

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


class _Whole(Param):
    """A whole location as one value (a schema, a dict). It takes no options: the name on the
    wire, constraints and documentation belong to the schema's fields, and the location is
    always there (if empty), so it has no default."""

    container = True

    def __init__(self) -> None:
        super().__init__()


class Query(_Whole):
    """The whole query string as one object: ``query: QuerySchema = request.Query``."""

    location = "query"


class Body(Param):
    """The whole request body. ``content_type`` restricts what is accepted (415 otherwise);
    ``max_length`` limits its size in bytes (413).

    A ``str`` or ``bytes`` body is the raw content; a ``File`` (``Image``, ...) body is the
    content as one file, of any content type unless one is given. Other types are parsed from
    JSON or a form."""

    PLAIN = "text/plain"
    HTML = "text/html"
    JSON = "application/json"
    FORM_URLENCODED = "application/x-www-form-urlencoded"
    FORM_DATA = "multipart/form-data"
    XML = "application/xml"
    OCTET_STREAM = "application/octet-stream"

    location = "body"
    container = True
    #: content types accepted when none is given
    content_types: tuple[str, ...] = (JSON, FORM_URLENCODED, FORM_DATA)
    #: whether ``content_types`` was chosen for this parameter (else: the class's default)
    explicit_content_type = False

    def __init__(
        self,
        content_type: str | None = None,
        *,
        max_length: int | None = None,
        default: Any = MISSING,
        required: bool | None = None,
        description: str | None = None,
        example: Any = MISSING,
    ):
        super().__init__(
            default=default, required=required, max_length=max_length, description=description, example=example
        )
        if content_type:
            self.content_types = (content_type.lower(),)
            self.explicit_content_type = True

    @property
    def constraints(self) -> dict[str, Any]:
        # max_length on a body is a byte limit, enforced before parsing
        c = super().constraints
        c.pop("max_length", None)
        return c


class _TypedBody(Body):
    """A body marker whose content types are fixed by its class."""

    def __init__(
        self,
        *,
        max_length: int | None = None,
        default: Any = MISSING,
        required: bool | None = None,
        description: str | None = None,
        example: Any = MISSING,
    ):
        super().__init__(
            max_length=max_length, default=default, required=required, description=description, example=example
        )


class Json(_TypedBody):
    content_types = (Body.JSON,)


class Form(_TypedBody):
    content_types = (Body.FORM_URLENCODED, Body.FORM_DATA)


class Headers(_Whole):
    """All headers as one object; a schema's field names and aliases match case-insensitively."""

    location = "header"


class Cookies(_Whole):
    location = "cookie"


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
    """The marker a default value or an ``Annotated`` item stands for, or None.

    A utype ``Param``/``Field`` becomes a plain :class:`Param` (located like an unmarked
    parameter); one of its options we do not support is a DeclarationError naming it."""
    if isinstance(value, Param):
        return value
    if isinstance(value, type) and issubclass(value, Param):
        return value()
    utype = sys.modules.get("utype")
    if utype is not None and isinstance(value, utype.Field):
        return from_utype(value)
    return None


#: utype ``Field`` options that have a :class:`Param` equivalent (``const`` becomes a one-value enum)
UTYPE_OPTIONS = frozenset(
    {
        "alias",
        "default",
        "required",
        "gt",
        "ge",
        "lt",
        "le",
        "multiple_of",
        "regex",
        "length",
        "min_length",
        "max_length",
        "enum",
        "const",
        "description",
        "example",
        "deprecated",
    }
)


def from_utype(field: Any) -> Param:
    """The :class:`Param` for a ``utype.Param(...)`` / ``utype.Field(...)`` parameter default."""
    given: dict[str, Any] = dict(field.__spec_kwargs__)
    unsupported = sorted(set(given) - UTYPE_OPTIONS)
    if unsupported:
        raise DeclarationError(
            f"utype.{type(field).__name__} option(s) {', '.join(unsupported)} not supported on a request "
            f"parameter; supported: {', '.join(sorted(UTYPE_OPTIONS))}"
        )
    if not isinstance(given.get("alias", ""), str):
        raise DeclarationError("utype alias= must be a string on a request parameter (not a function)")
    if not isinstance(given.get("required", False), bool):
        raise DeclarationError("utype required= must be True or False on a request parameter")
    if "const" in given:
        if "enum" in given:
            raise DeclarationError("utype const= and enum= together")
        given["enum"] = [given.pop("const")]
    if "enum" in given:
        given["enum"] = list(given["enum"])
    if isinstance(given.get("deprecated"), str):
        given["deprecated"] = True
    default = given.pop("default", MISSING)
    if default is not MISSING and given.get("required") is True:
        raise DeclarationError("utype required=True conflicts with a default")
    return Param(default=default, **given)
