"""Compile an endpoint's signature into a parser, once.

Per location (query, path, header, cookie, body) the declared parameters become one msgspec
``Struct`` type; a request is then validated by one ``msgspec.convert`` per location (lax for
strings from the URL and headers, strict for JSON bodies). Every failing location is reported
together in one :class:`~utilmeta.utils.exceptions.ParseError`.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin, get_type_hints

import msgspec

from utilmeta.core.file import File
from utilmeta.core.request.engines import Converter, Invalid, converter_for, is_list_type, is_pydantic, is_utype
from utilmeta.core.request.params import (
    MISSING,
    Body,
    BodyParam,
    HeaderParam,
    Param,
    PathParam,
    QueryParam,
    as_marker,
)
from utilmeta.core.request.request import Request
from utilmeta.utils.exceptions import (
    BadRequest,
    DeclarationError,
    ParseError,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

__all__ = ["Parser", "Limits", "check_json_depth", "route_vars", "raw_type"]

_ROUTE_VAR = re.compile(r"{(\w+)}")
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_JSON_TYPES = ("application/json",)
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


class Limits(msgspec.Struct, frozen=True):
    max_body_size: int = 10 * 1024 * 1024
    json_max_depth: int = 64
    multipart_max_parts: int = 1000
    multipart_max_files: int = 100
    max_header_size: int = 64 * 1024


def route_vars(route: str) -> list[str]:
    return _ROUTE_VAR.findall(route)


def check_json_depth(body: bytes, limit: int) -> None:
    """Refuse JSON nested deeper than ``limit`` (400) without decoding it.

    A body with fewer brackets than the limit cannot be too deep, so the scan only runs for
    the rare body that has many."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return
    depth = 0
    for m in _JSON_TOKEN.finditer(body):
        tok = m.group()
        if tok in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise BadRequest(f"JSON body nested deeper than the limit of {limit} levels")
        elif tok in (b"]", b"}"):
            depth -= 1


def _is_optional(tp: Any) -> bool:
    import types

    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return type(None) in get_args(tp)
    return tp is Any or tp is None


def _mentions_file(tp: Any) -> bool:
    if isinstance(tp, type) and issubclass(tp, File):
        return True
    return any(_mentions_file(a) for a in get_args(tp))


def _constrain(tp: Any, constraints: dict[str, Any]) -> Any:
    """Attach constraints as msgspec ``Meta``, to the non-None member of an Optional."""
    if not constraints:
        return tp
    if _is_optional(tp) and tp is not Any:
        inner = [a for a in get_args(tp) if a is not type(None)]
        if len(inner) == 1:
            return Union[_constrain(inner[0], constraints), None]
    if _mentions_file(tp):
        return tp  # a file's max_length is a byte limit, checked after upload
    return Annotated[tp, msgspec.Meta(**constraints)]


class Field(msgspec.Struct):
    name: str
    wire: str
    type: Any
    default: Any
    marker: Param

    @property
    def required(self) -> bool:
        return self.default is MISSING


class _Location:
    """The declared single parameters of one location, validated as one Struct."""

    def __init__(self, location: str, fields: list[Field], lax: bool):
        self.location = location
        self.fields = fields
        self.lax = lax
        self.list_wires = [f.wire for f in fields if is_list_type(f.type)]
        spec: list[tuple[str, Any, Any]] = []
        for f in fields:
            kw: dict[str, Any] = {"name": f.wire}
            if not f.required:
                default = f.default
                if isinstance(default, (list, dict, set)):
                    kw["default_factory"] = lambda d=default: type(d)(d)
                else:
                    kw["default"] = default
            spec.append((f.name, f.type, msgspec.field(**kw)))
        self.struct = msgspec.defstruct(f"{location.title()}Params", spec, kw_only=True)
        self.converter: Converter = converter_for(self.struct)
        self.choices = {f.wire: c for f in fields if (c := _choices(f.type))}

    def convert(self, data: dict[str, Any], lax: bool | None = None) -> dict[str, Any]:
        try:
            return msgspec.structs.asdict(self.converter.convert(data, self.lax if lax is None else lax))
        except Invalid as e:
            if e.path in self.choices:
                e.message = f"{e.message}; expected one of {self.choices[e.path]}"
            raise

    def decode_json(self, body: bytes) -> dict[str, Any]:
        return msgspec.structs.asdict(self.converter.decode_json(body))


def _invalid(location: str, e: Invalid, prefix: str = "") -> dict[str, str]:
    name = f"{prefix}.{e.path}" if prefix and e.path else (prefix or e.path)
    return {"location": location, "name": name, "message": e.message}


class Parser:
    """Parses a request into an endpoint's keyword arguments."""

    def __init__(
        self,
        func: Callable[..., Any] | None,
        route: str | None,
        *,
        where: str,
        skip_first: bool = True,
        localns: dict[str, Any] | None = None,
        declared: list[tuple[inspect.Parameter, Any]] | None = None,
        mounted: bool = True,
    ):
        """``func``'s parameters (after ``self`` unless not ``skip_first``), or the ``declared``
        ``(parameter, type)`` pairs when there is no function (an API class's own parameters).
        ``route`` is the whole route, or with ``mounted=False`` only the endpoint's own part (None
        for a hook or a class): a declared path parameter it lacks may come from the routes it is
        mounted under, and :meth:`mounted_at` checks it there."""
        self.func = func
        self.skip_first = skip_first
        self.declared = declared
        self.localns = localns
        self.where = where
        self.route = route or ""
        self.mounted = mounted and route is not None
        self.path_names = set(route_vars(self.route))
        self.path_regex: dict[str, str] = {}
        #: path parameters given a default: the route may end before them
        self.path_defaults: set[str] = set()
        self.fields: dict[str, list[Field]] = {"query": [], "path": [], "header": [], "cookie": [], "body": []}
        self.containers: dict[str, Field] = {}
        #: whole-body parameters after the first (``containers["body"]``)
        self.more_bodies: list[Field] = []
        self.body_limit: int | None = None
        self.body_required = False
        self.content_types: tuple[str, ...] = ()
        if declared is not None:
            for param, tp in declared:
                self._add(param, tp)
        elif func is not None:
            self._collect(func, skip_first)
        self.needs_body = bool(self.fields["body"]) or "body" in self.containers
        self._compile()

    def mounted_at(self, route: str) -> Parser:
        """This parser for its function mounted at ``route``: the route's variables become path
        parameters of the same name, and declared path parameters must be among them. Returns
        ``self`` when nothing changes."""
        names = set(route_vars(route))
        if names == self.path_names and all(f.wire in names for f in self.fields["path"]):
            return self
        return Parser(
            self.func,
            route,
            where=self.where,
            skip_first=self.skip_first,
            localns=self.localns,
            declared=self.declared,
        )

    # -- declaration ---------------------------------------------------------------------------

    def _fail(self, name: str, message: str) -> DeclarationError:
        return DeclarationError(f"{self.where}: parameter {name!r}: {message}")

    def _collect(self, func: Callable[..., Any], skip_first: bool) -> None:
        sig = inspect.signature(func)
        try:
            hints = get_type_hints(func, localns=self.localns, include_extras=True)
        except Exception as e:
            raise DeclarationError(f"{self.where}: cannot resolve type hints: {e}") from e
        params = list(sig.parameters.values())[1 if skip_first else 0 :]
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if p.kind is p.POSITIONAL_ONLY:
                raise self._fail(p.name, "positional-only parameters cannot be filled from a request")
            self._add(p, hints.get(p.name, Any))

    def _add(self, p: inspect.Parameter, tp: Any) -> None:
        marker: Param | None = None
        if get_origin(tp) is Annotated:
            base, *meta = get_args(tp)
            rest = []
            for m in meta:
                found = self._marker(p.name, m)
                if found is not None:
                    marker = found
                else:
                    rest.append(m)
            tp = Annotated[tuple([base, *rest])] if rest else base
        default = p.default
        as_default = self._marker(p.name, default)
        if as_default is not None:
            marker = as_default
            default = MISSING
        elif default is inspect.Parameter.empty:
            default = MISSING
        if marker is None or type(marker) is Param:
            marker = self._locate(p.name, tp, marker)
        if marker.default is not MISSING:
            default = marker.default
        explicit_default = default is not MISSING
        if default is MISSING and marker.required is not True and (marker.required is False or _is_optional(tp)):
            default = None
        if marker.enum is not None:
            tp = self._enum_type(p.name, tp, marker.enum)
        location = marker.location
        if isinstance(marker, PathParam):
            if self.mounted and (marker.alias or p.name) not in self.path_names:
                raise self._fail(p.name, f"declared as a path parameter but not in the route template {self.route!r}")
            self.path_regex[marker.alias or p.name] = marker.segment_regex
            if explicit_default:
                self.path_defaults.add(marker.alias or p.name)
        if _mentions_file(tp) and location != "body":
            raise self._fail(p.name, "files can only come from a multipart body")
        if marker.container:
            field = Field(p.name, p.name, _constrain(tp, marker.constraints), default, marker)
            if isinstance(marker, Body):
                self._add_body(field, marker)
            elif location in self.containers:
                raise self._fail(p.name, f"a second whole-{location} parameter")
            else:
                self.containers[location] = field
            return
        wire = marker.alias or p.name
        if isinstance(marker, HeaderParam):
            wire = (marker.alias or p.name.replace("_", "-")).lower()
        self.fields[location].append(Field(p.name, wire, _constrain(tp, marker.constraints), default, marker))

    def _marker(self, name: str, value: Any) -> Param | None:
        try:
            return as_marker(value)
        except DeclarationError as e:  # a utype option we do not support
            raise self._fail(name, str(e)) from None

    def _locate(self, name: str, tp: Any, marker: Param | None) -> Param:
        """The marker of a parameter declared without a location (no marker, ``request.Param``
        or a utype one): path if the route names it, body if it is a file, else query."""
        wire = marker.alias if marker is not None and marker.alias else name
        cls: type[Param]
        declared = as_marker(getattr(tp, "__default_param__", None))
        if name in self.path_names or wire in self.path_names:
            cls = PathParam
        elif declared is not None and marker is None:
            return declared  # a type that says where it comes from (orm.Query: the whole query string)
        elif _mentions_file(tp):
            cls = BodyParam
        else:
            cls = QueryParam
        located = cls()
        if marker is not None:
            located.__dict__.update(marker.__dict__)
        return located

    def _enum_type(self, name: str, tp: Any, values: Any) -> Any:
        """``tp`` narrowed to the ``enum=`` values (as a Literal, so every engine checks it)."""
        values = tuple(values)
        if not values or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
            raise self._fail(name, f"enum= takes str or int values, got {values!r}; use an Enum or Literal type")
        narrowed: Any = Literal[values]
        if is_list_type(tp):  # ?tag=a&tag=b: each value one of the enum
            narrowed = list[narrowed]
        return Optional[narrowed] if _is_optional(tp) and tp is not Any else narrowed

    def _add_body(self, field: Field, marker: Body) -> None:
        """A whole-body parameter. Several may be declared (each gets the whole body as its own
        type) beside ``BodyParam`` fields; the body must be of a content type all of them take."""
        if "body" in self.containers:
            accepted = tuple(c for c in self.content_types if c in marker.content_types)
            if not accepted:
                raise self._fail(
                    field.name,
                    f"takes {' or '.join(marker.content_types)}, another body parameter "
                    f"{' or '.join(self.content_types)}: no body can be both",
                )
            self.content_types = accepted
            self.more_bodies.append(field)
        else:
            self.containers["body"] = field
            self.content_types = marker.content_types
        if marker.max_length is not None:
            self.body_limit = min(marker.max_length, self.body_limit or marker.max_length)

    # -- compilation ---------------------------------------------------------------------------

    def _compile(self) -> None:
        self.locations = {
            loc: _Location(loc, fields, lax=True) for loc, fields in self.fields.items() if fields and loc != "body"
        }
        self.container_converters = {
            loc: converter_for(f.type)
            for loc, f in self.containers.items()
            if loc != "body"  # body: self.bodies
        }
        body_fields = self.fields["body"]
        self.file_fields = {f.wire: f for f in body_fields if _mentions_file(f.type)}
        self.body_struct = _Location("body", body_fields, lax=False) if body_fields else None
        self._compile_body()

        self._steps: list[tuple[str, Callable[[Request], dict[str, Any]]]] = []
        for loc in ("path", "query", "header", "cookie"):
            step = self._step_for(loc)
            if step is not None:
                self._steps.append((loc, step))
        self.empty = not self._steps and not self.needs_body

    def _compile_body(self) -> None:
        container = self.containers.get("body")
        #: the whole-body parameters with their converters
        self.bodies = [(f, converter_for(f.type)) for f in ([container] if container else []) + self.more_bodies]
        body_fields = self.fields["body"]
        self.body_required = any(f.required for f, _ in self.bodies) or any(f.required for f in body_fields)
        self.raw_body = container is not None and raw_type(container.type) is not None
        #: whole-body parameters of a list type (``List[Schema]``)
        self.list_bodies = {f.name for f, _ in self.bodies if is_list_type(f.type)}
        marker = container.marker if container is not None else None
        explicit = isinstance(marker, Body) and marker.explicit_content_type
        if self.raw_body:
            if self.more_bodies or body_fields:
                raise DeclarationError(
                    f"{self.where}: a str, bytes or File body is the whole raw body; it cannot be "
                    "combined with other body parameters"
                )
            # the raw body is taken whatever its content type, unless one is declared
            self.content_types = self.content_types if explicit else ()
            self.form_list_wires: set[str] = set()
            return
        if not self.content_types:
            self.content_types = (_MULTIPART,) if self.file_fields else Body.content_types
        parsed = (*_JSON_TYPES, _FORM, _MULTIPART)
        odd = [c for c in self.content_types if c not in parsed]
        if odd:
            raise DeclarationError(
                f"{self.where}: a body of content type {odd[0]!r} can only be received as str, bytes or a File"
            )
        has_files = bool(self.file_fields) or any(_mentions_file(f.type) for f, _ in self.bodies)
        if has_files:
            forms = tuple(c for c in self.content_types if c not in _JSON_TYPES)
            if not forms or (explicit and forms != self.content_types):
                raise DeclarationError(f"{self.where}: file parameters need a multipart body, not JSON")
            self.content_types = forms
        wires = set(self.body_struct.list_wires) if self.body_struct is not None else set()
        for f, _ in self.bodies:
            item = get_args(f.type)[0] if f.name in self.list_bodies and get_args(f.type) else f.type
            wires.update(_list_fields(item))
        self.form_list_wires = wires

    def _step_for(self, location: str) -> Callable[[Request], dict[str, Any]] | None:
        source: Callable[[Request], dict[str, Any]]
        if location == "query":

            def source(r: Request) -> dict[str, Any]:
                return r.query
        elif location == "path":

            def source(r: Request) -> dict[str, Any]:
                return r.path_params
        elif location == "header":

            def source(r: Request) -> dict[str, Any]:
                return r.headers
        else:

            def source(r: Request) -> dict[str, Any]:
                return r.cookies

        steps = []
        if location in self.containers:
            steps.append(self._container_step(location, source))
        loc = self.locations.get(location)
        if loc is not None:
            steps.append(self._fields_step(location, loc, source))
        if len(steps) < 2:
            return steps[0] if steps else None
        whole, single = steps

        def both(r: Request) -> dict[str, Any]:  # a Headers schema beside HeaderParams
            return {**whole(r), **single(r)}

        return both

    def _container_step(
        self, location: str, source: Callable[[Request], dict[str, Any]]
    ) -> Callable[[Request], dict[str, Any]]:
        field = self.containers[location]
        conv = self.container_converters[location]
        if location == "query":
            lists = _list_fields(field.type)

            def query(r: Request) -> dict[str, Any]:
                data = _with_lists(r.query, r.query_lists, lists) if lists else r.query
                return {field.name: conv.convert(data, True)}

            return query
        if location == "header":
            # headers arrive lower-cased: give each declared name (X-Auth-Token, auth_token) its value
            names = [n for n in _field_names(field.type) if n != n.lower()]

            def headers(r: Request) -> dict[str, Any]:
                data = source(r)
                data = {**data, **{k.replace("-", "_"): v for k, v in data.items()}}
                for n in names:
                    value = data.get(n.lower())
                    if value is not None:
                        data[n] = value
                return {field.name: conv.convert(data, True)}

            return headers

        def whole(r: Request) -> dict[str, Any]:
            return {field.name: conv.convert(source(r), True)}

        return whole

    @staticmethod
    def _fields_step(
        location: str, loc: _Location, source: Callable[[Request], dict[str, Any]]
    ) -> Callable[[Request], dict[str, Any]]:
        if location == "query" and loc.list_wires:
            wires = loc.list_wires

            def with_lists(r: Request) -> dict[str, Any]:
                return loc.convert(_with_lists(r.query, r.query_lists, wires))

            return with_lists

        def single(r: Request) -> dict[str, Any]:
            return loc.convert(source(r))

        return single

    # -- per request ---------------------------------------------------------------------------

    def parse(self, request: Request, body: bytes | None = None, limits: Limits | None = None) -> dict[str, Any]:
        """The keyword arguments for the endpoint, or a ParseError naming every problem."""
        kwargs: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        for location, step in self._steps:
            try:
                kwargs.update(step(request))
            except Invalid as e:
                errors.append(_invalid(location, e))
        if self.needs_body:
            try:
                kwargs.update(self._parse_body(request, body or b"", limits or Limits()))
            except Invalid as e:
                errors.append(_invalid("body", e))
        if errors:
            raise ParseError(errors)
        return kwargs

    def _parse_body(self, request: Request, body: bytes, limits: Limits) -> dict[str, Any]:
        fields = self.body_struct
        if not body:
            if self.body_required:
                raise Invalid("a request body is required")
            out = {f.name: f.default for f, _ in self.bodies}
            if fields is not None:
                out.update(fields.convert({}, lax=True))
            return out
        ctype = request.content_type
        if ctype.endswith("+json"):
            ctype = "application/json"
        if self.content_types and ctype not in self.content_types:
            given = f"{ctype!r}" if ctype else "no Content-Type header"
            raise UnsupportedMediaType(f"request body has {given}; expected {' or '.join(self.content_types)}")
        if self.raw_body:
            field, conv = self.bodies[0]
            return {field.name: _raw(request, body, field)}
        out = {}
        if ctype == "application/json":
            check_json_depth(body, limits.json_max_depth)
            # a list body also takes one object: the list of that one item
            one = b"[" + body + b"]" if self.list_bodies and body.lstrip()[:1] == b"{" else body
            for f, conv in self.bodies:
                out[f.name] = conv.decode_json(one if f.name in self.list_bodies else body)
            if fields is not None:
                out.update(fields.decode_json(body))
            return out
        data = self._form_data(request, body, ctype, limits)
        for f, conv in self.bodies:
            out[f.name] = conv.convert([data] if f.name in self.list_bodies else data, True)
        if fields is not None:
            out.update(fields.convert(data, lax=True))  # form values are strings
        return out

    def _form_data(self, request: Request, body: bytes, ctype: str, limits: Limits) -> dict[str, Any]:
        """A form body as a dict: the last value of each field, or every value of a list field."""
        from utilmeta.core.request import multipart  # python-multipart loads only when a form arrives

        if ctype == _FORM:
            lists = multipart.parse_urlencoded(body)
            files: dict[str, list[File]] = {}
        else:
            lists, files = multipart.parse_multipart(
                body,
                request.headers.get("content-type", ""),
                max_parts=limits.multipart_max_parts,
                max_files=limits.multipart_max_files,
            )
            request._files = files  # closed by the router once the response is made
        data: dict[str, Any] = {k: v if k in self.form_list_wires else v[-1] for k, v in lists.items()}
        for name, items in files.items():
            f = self.file_fields.get(name)
            data[name] = items if name in self.form_list_wires or (f is None and not self.bodies) else items[-1]
            limit = f.marker.max_length if f is not None else None
            if limit is not None:
                for item in items:
                    if item.size > limit:
                        raise RequestEntityTooLarge(
                            f"file {name!r} is {item.size} bytes, over the limit of {limit} bytes"
                        )
        return data


def raw_type(tp: Any) -> Any:
    """``str``, ``bytes`` or the ``File`` class a raw body is received as (Optional or not), else None."""
    if _is_optional(tp) and tp is not Any:
        inner = [a for a in get_args(tp) if a is not type(None)]
        tp = inner[0] if len(inner) == 1 else None
    if tp in (str, bytes) or (isinstance(tp, type) and issubclass(tp, File)):
        return tp
    return None


def _raw(request: Request, body: bytes, field: Field) -> Any:
    """The raw body as the declared ``str``, ``bytes`` or file type; a file of the wrong kind
    (text for an ``Image``) is an error naming the parameter."""
    kind = raw_type(field.type)
    if kind is bytes:
        return body
    if kind is str:
        return _text(body)
    upload = File(body, content_type=request.header("content-type") or None)
    request._files = {"": [upload]}  # closed by the router once the response is made
    try:
        return kind.accept(upload)
    except ValueError as e:
        raise Invalid(str(e), field.name) from None


def _choices(tp: Any) -> str:
    """The allowed values of a Literal or Enum type, for error messages."""
    if get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if _is_optional(tp) and tp is not Any:
        inner = [a for a in get_args(tp) if a is not type(None)]
        tp = inner[0] if len(inner) == 1 else tp
    if get_origin(tp) is Literal:
        return ", ".join(repr(v) for v in get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return ", ".join(repr(m.value) for m in tp)
    return ""


def _text(body: bytes) -> str:
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise Invalid("the body is not valid UTF-8 text") from None


def _schema_fields(tp: Any) -> list[tuple[str, bool]]:
    """``(name on the wire, takes a list)`` for each field of a schema type (msgspec, dataclass,
    TypedDict, utype or pydantic), [] for other types."""
    if is_utype(tp):
        sequences = (list, tuple, set, frozenset)
        return [(f.name, getattr(f.type, "__origin__", None) in sequences) for f in tp.__parser__.fields.values()]
    if is_pydantic(tp):
        return [(f.alias or n, is_list_type(f.annotation)) for n, f in tp.model_fields.items()]
    try:
        info = msgspec.inspect.type_info(tp)
    except Exception:
        return []
    listy = (msgspec.inspect.ListType, msgspec.inspect.SetType, msgspec.inspect.VarTupleType)

    def bare(t: Any) -> Any:  # a documented field (Annotated[list[str], Meta(description=...)])
        return t.type if isinstance(t, msgspec.inspect.Metadata) else t

    return [(f.encode_name, isinstance(bare(f.type), listy)) for f in getattr(info, "fields", None) or ()]


def _field_names(tp: Any) -> list[str]:
    return [name for name, _ in _schema_fields(tp)]


def _list_fields(tp: Any) -> tuple[str, ...]:
    return tuple(name for name, is_list in _schema_fields(tp) if is_list)


def _with_lists(last: dict[str, str], lists: dict[str, list[str]], wires: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(last)
    for w in wires:
        if w in lists:
            data[w] = lists[w]
    return data
