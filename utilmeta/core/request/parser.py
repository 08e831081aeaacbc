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
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import msgspec

from utilmeta.core.file import File
from utilmeta.core.request.engines import Converter, Invalid, converter_for, is_list_type
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

__all__ = ["Parser", "Limits", "check_json_depth", "route_vars"]

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
    if tp is File:
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
        func: Callable[..., Any],
        route: str,
        *,
        where: str,
        skip_first: bool = True,
        localns: dict[str, Any] | None = None,
    ):
        self.localns = localns
        self.where = where
        self.path_names = set(route_vars(route))
        self.path_regex: dict[str, str] = {}
        self.fields: dict[str, list[Field]] = {"query": [], "path": [], "header": [], "cookie": [], "body": []}
        self.containers: dict[str, Field] = {}
        self.body_limit: int | None = None
        self.body_required = False
        self.content_types: tuple[str, ...] = ()
        self._collect(func, skip_first)
        self.needs_body = bool(self.fields["body"]) or "body" in self.containers
        self._compile()

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
                found = as_marker(m)
                if found is not None:
                    marker = found
                else:
                    rest.append(m)
            tp = Annotated[tuple([base, *rest])] if rest else base
        default = p.default
        as_default = as_marker(default)
        if as_default is not None:
            marker = as_default
            default = MISSING
        elif default is inspect.Parameter.empty:
            default = MISSING
        if marker is None:
            if p.name in self.path_names:
                marker = PathParam()
            elif (declared := as_marker(getattr(tp, "__default_param__", None))) is not None:
                marker = declared  # a type that says where it comes from (orm.Query: the query string)
            elif _mentions_file(tp):
                marker = BodyParam()
            else:
                marker = QueryParam()
        if marker.default is not MISSING:
            default = marker.default
        if default is MISSING and marker.required is not True and _is_optional(tp):
            default = None
        location = marker.location
        if isinstance(marker, PathParam):
            if p.name not in self.path_names and (marker.alias or p.name) not in self.path_names:
                raise self._fail(p.name, "declared as a path parameter but not in the route template")
            self.path_regex[marker.alias or p.name] = marker.segment_regex
        if _mentions_file(tp) and location != "body":
            raise self._fail(p.name, "files can only come from a multipart body")
        if marker.container:
            if location in self.containers:
                raise self._fail(p.name, f"a second whole-{location} parameter")
            if self.fields[location]:
                raise self._fail(p.name, f"mixes a whole-{location} parameter with single {location} fields")
            self.containers[location] = Field(p.name, p.name, _constrain(tp, marker.constraints), default, marker)
            if isinstance(marker, Body):
                self.content_types = marker.content_types
                if marker.max_length is not None:
                    self.body_limit = marker.max_length
            return
        if location in self.containers:
            raise self._fail(p.name, f"mixes single {location} fields with a whole-{location} parameter")
        wire = marker.alias or p.name
        if isinstance(marker, HeaderParam):
            wire = (marker.alias or p.name.replace("_", "-")).lower()
        self.fields[location].append(Field(p.name, wire, _constrain(tp, marker.constraints), default, marker))

    # -- compilation ---------------------------------------------------------------------------

    def _compile(self) -> None:
        self.locations = {
            loc: _Location(loc, fields, lax=True) for loc, fields in self.fields.items() if fields and loc != "body"
        }
        self.container_converters = {loc: converter_for(f.type) for loc, f in self.containers.items()}
        body_fields = self.fields["body"]
        self.file_fields = {f.wire: f for f in body_fields if _mentions_file(f.type)}
        self.body_struct = _Location("body", body_fields, lax=False) if body_fields else None
        container = self.containers.get("body")
        if container is not None:
            self.body_required = container.required
            self.raw_body = container.type in (bytes, str)
        else:
            self.body_required = any(f.required for f in body_fields)
            self.raw_body = False
        if not self.content_types:
            if self.file_fields:
                self.content_types = (_MULTIPART,)
            else:
                self.content_types = Body.content_types
        has_files = bool(self.file_fields) or (container is not None and _mentions_file(container.type))
        if has_files and any(c in _JSON_TYPES for c in self.content_types):
            raise DeclarationError(f"{self.where}: file parameters need a multipart body, not JSON")
        if self.body_struct is not None:
            self.form_list_wires = set(self.body_struct.list_wires)
        else:
            self.form_list_wires = set(_list_fields(container.type)) if container is not None else set()
        self._steps: list[tuple[str, Callable[[Request], dict[str, Any]]]] = []
        for loc in ("path", "query", "header", "cookie"):
            step = self._step_for(loc)
            if step is not None:
                self._steps.append((loc, step))
        self.empty = not self._steps and not self.needs_body

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

        if location in self.containers:
            field = self.containers[location]
            conv = self.container_converters[location]
            lists = _list_fields(field.type) if location == "query" else ()

            def container(r: Request) -> dict[str, Any]:
                data = source(r)
                if location == "query" and lists:
                    data = _with_lists(data, r.query_lists, lists)
                elif location == "header":
                    data = {**data, **{k.replace("-", "_"): v for k, v in data.items()}}
                return {field.name: conv.convert(data, True)}

            return container
        loc = self.locations.get(location)
        if loc is None:
            return None
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
        container = self.containers.get("body")
        if not body:
            if self.body_required:
                raise Invalid("a request body is required")
            if container is not None:
                return {container.name: container.default}
            return self.body_struct.convert({}, lax=True) if self.body_struct else {}
        if container is not None and self.raw_body:
            return {container.name: body if container.type is bytes else _text(body)}
        ctype = request.content_type
        if ctype.endswith("+json"):
            ctype = "application/json"
        if ctype not in self.content_types:
            given = f"{ctype!r}" if ctype else "no Content-Type header"
            raise UnsupportedMediaType(f"request body has {given}; expected {' or '.join(self.content_types)}")
        if ctype == "application/json":
            check_json_depth(body, limits.json_max_depth)
            if container is not None:
                return {container.name: self.container_converters["body"].decode_json(body)}
            assert self.body_struct is not None
            return self.body_struct.decode_json(body)
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
            data[name] = items if (f is None or is_list_type(f.type)) else items[-1]
            limit = f.marker.max_length if f is not None else None
            if limit is not None:
                for item in items:
                    if item.size > limit:
                        raise RequestEntityTooLarge(
                            f"file {name!r} is {item.size} bytes, over the limit of {limit} bytes"
                        )
        if container is not None:
            return {container.name: self.container_converters["body"].convert(data, True)}
        assert self.body_struct is not None
        return self.body_struct.convert(data, lax=True)  # form values are strings


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


def _list_fields(tp: Any) -> tuple[str, ...]:
    try:
        info = msgspec.inspect.type_info(tp)
    except Exception:
        return ()
    fields = getattr(info, "fields", None) or ()
    return tuple(
        f.encode_name
        for f in fields
        if isinstance(f.type, (msgspec.inspect.ListType, msgspec.inspect.SetType, msgspec.inspect.VarTupleType))
    )


def _with_lists(last: dict[str, str], lists: dict[str, list[str]], wires: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(last)
    for w in wires:
        if w in lists:
            data[w] = lists[w]
    return data
